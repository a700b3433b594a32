// Why: KEYS and SCAN MATCH take a Redis glob pattern (*, ?, [abc], [^a-z], \ escapes), matched
// against a key's bytes as Redis does. A pattern comes from a client, so it is compiled once, its
// length bounded, and matched in time proportional to pattern times key (a single backtracking
// point, never the exponential recursion a naive matcher allows on "a*a*a*a*b").
import { EverwriteError } from '../../core/base/errors.ts';

type Token =
  | { readonly kind: 'star' }
  | { readonly kind: 'any' }
  | { readonly kind: 'byte'; readonly byte: number }
  | { readonly kind: 'class'; readonly negated: boolean; readonly ranges: ReadonlyArray<readonly [number, number]> };

/** Longest pattern accepted, in bytes. */
export const globBytesMax = 4096;

const star = 0x2a;
const question = 0x3f;
const open = 0x5b;
const close = 0x5d;
const backslash = 0x5c;
const caret = 0x5e;
const dash = 0x2d;

export interface GlobMatcher {
  matches(key: Uint8Array): boolean;
}

function badPattern(message: string): never {
  throw new EverwriteError('EVERWRITE_BAD_REQUEST', `invalid pattern: ${message}`);
}

/** A class's body from just after '['; answers the token and the index after ']'. */
function compileClass(pattern: Uint8Array, start: number): { token: Token; next: number } {
  let index = start;
  const negated = pattern[index] === caret;
  if (negated) index += 1;
  const ranges: Array<readonly [number, number]> = [];
  while (index < pattern.length && pattern[index] !== close) {
    if (pattern[index] === backslash && index + 1 < pattern.length) index += 1;
    const low = pattern[index] as number;
    if (pattern[index + 1] === dash && index + 2 < pattern.length && pattern[index + 2] !== close) {
      const high = pattern[index + 2] as number;
      ranges.push(low <= high ? [low, high] : [high, low]);
      index += 3;
    } else {
      ranges.push([low, low]);
      index += 1;
    }
  }
  if (index >= pattern.length) badPattern("'[' without its ']'");
  return { token: { kind: 'class', negated, ranges }, next: index + 1 };
}

function compile(pattern: Uint8Array): Token[] {
  const tokens: Token[] = [];
  for (let index = 0; index < pattern.length;) {
    const byte = pattern[index] as number;
    if (byte === star) {
      if (tokens.at(-1)?.kind !== 'star') tokens.push({ kind: 'star' });
      index += 1;
    } else if (byte === question) {
      tokens.push({ kind: 'any' });
      index += 1;
    } else if (byte === open) {
      const { token, next } = compileClass(pattern, index + 1);
      tokens.push(token);
      index = next;
    } else if (byte === backslash && index + 1 < pattern.length) {
      tokens.push({ kind: 'byte', byte: pattern[index + 1] as number });
      index += 2;
    } else {
      tokens.push({ kind: 'byte', byte });
      index += 1;
    }
  }
  return tokens;
}

function matchesOne(token: Token, byte: number): boolean {
  switch (token.kind) {
    case 'any':
      return true;
    case 'byte':
      return token.byte === byte;
    case 'class':
      return token.ranges.some(([low, high]) => byte >= low && byte <= high) !== token.negated;
    case 'star':
      return false;
  }
}

/** Compiles a client's pattern; EVERWRITE_BAD_REQUEST when it is too long or has an unclosed class. */
export function compileGlob(pattern: Uint8Array): GlobMatcher {
  if (pattern.length > globBytesMax) badPattern(`${pattern.length} bytes; at most ${globBytesMax}`);
  const tokens = compile(pattern);
  if (tokens.length === 1 && tokens[0]?.kind === 'star') return { matches: () => true };
  return { matches: (key) => matchTokens(tokens, key) };
}

/** Wildcard matching with one backtracking point: the last star seen, retried one byte further each time. */
function matchTokens(tokens: readonly Token[], key: Uint8Array): boolean {
  let tokenIndex = 0;
  let keyIndex = 0;
  let starToken = -1;
  let starKey = 0;
  while (keyIndex < key.length) {
    const token = tokens[tokenIndex];
    if (token !== undefined && token.kind !== 'star' && matchesOne(token, key[keyIndex] as number)) {
      tokenIndex += 1;
      keyIndex += 1;
    } else if (token?.kind === 'star') {
      starToken = tokenIndex;
      starKey = keyIndex;
      tokenIndex += 1;
    } else if (starToken >= 0) {
      tokenIndex = starToken + 1;
      starKey += 1;
      keyIndex = starKey;
    } else {
      return false;
    }
  }
  while (tokens[tokenIndex]?.kind === 'star') tokenIndex += 1;
  return tokenIndex === tokens.length;
}
