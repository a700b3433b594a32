// Why: clients carry the causal context of what they read back on their next write. It must be
// opaque (clients never interpret it), versioned (we can change the layout), compact (it rides in
// an HTTP header) and safe to accept from anyone: decoding rejects every malformed token with
// EVERWRITE_BAD_CONTEXT, bounds its work by the limits, and builds only Maps (no prototype keys).
//
// Layout (then base64url without padding): version byte 1, varint entry count, then per entry a
// varint byte length + UTF-8 actor name and a varint counter (a safe integer >= 1). Entries are
// written sorted by actor so equal vectors give equal tokens. The empty vector is the empty string.

import { assert } from '../base/assert.ts';
import { EverwriteError } from '../base/errors.ts';
import { defaultLimits } from '../base/limits.ts';
import { base64UrlDecode, base64UrlEncode } from './base64url.ts';
import { actorBytesMax, type Actor, type VersionVector } from './dvv.ts';
import { ByteReader, toUtf8Text, varintSize, writeUtf8Text, writeVarint, type Utf8Text } from './wire.ts';

export const contextTokenVersion = 1;

export interface ContextLimits {
  /** Entries (actors) a token may carry; default defaultLimits.contextEntriesMax. */
  entriesMax: number;
  /** Length of the token text, in bytes (it is ASCII); checked before any decoding work. */
  tokenBytesMax: number;
}

export const defaultContextLimits: Readonly<ContextLimits> = Object.freeze({
  entriesMax: defaultLimits.contextEntriesMax,
  /** Room for the default entry count with short actor names, far below a header's size limit. */
  tokenBytesMax: 64 * 1024,
});

function sortedEntries(vector: VersionVector): Array<[Actor, number]> {
  const entries = [...vector];
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return entries;
}

export function encodeContext(vector: VersionVector): string {
  if (vector.size === 0) return '';
  const entries = sortedEntries(vector);
  const names: Utf8Text[] = [];
  let size = 1 + varintSize(entries.length);
  for (const [actor, counter] of entries) {
    assert(Number.isSafeInteger(counter) && counter >= 1, 'context counters are positive integers');
    const name = toUtf8Text(actor);
    assert(name.length >= 1 && name.length <= actorBytesMax, 'actor name length within bounds');
    names.push(name);
    size += varintSize(name.length) + name.length + varintSize(counter);
  }
  const bytes = new Uint8Array(size);
  bytes[0] = contextTokenVersion;
  let offset = writeVarint(bytes, 1, entries.length);
  entries.forEach(([, counter], index) => {
    const name = names[index] as Utf8Text;
    offset = writeVarint(bytes, offset, name.length);
    offset = writeUtf8Text(bytes, offset, name);
    offset = writeVarint(bytes, offset, counter);
  });
  return base64UrlEncode(bytes);
}

function decodeEntries(reader: ByteReader, entriesMax: number): Map<Actor, number> {
  const version = reader.byte();
  if (version !== contextTokenVersion) reader.fail(`unknown version ${version}`);
  // Each entry takes at least 3 bytes: a length, one byte of name, a counter.
  const count = reader.count(3);
  if (count > entriesMax) reader.fail(`more than ${entriesMax} entries`);
  const vector = new Map<Actor, number>();
  for (let i = 0; i < count; i++) {
    const actor = reader.string(actorBytesMax);
    if (actor.length === 0) reader.fail('empty actor name');
    const counter = reader.varint();
    if (counter < 1) reader.fail('counter is not positive');
    if (vector.has(actor)) reader.fail('duplicate actor');
    vector.set(actor, counter);
  }
  reader.end();
  return vector;
}

/** Decodes a client's token; anything malformed is EverwriteError('EVERWRITE_BAD_CONTEXT'). */
export function decodeContext(token: string, limits: ContextLimits = defaultContextLimits): VersionVector {
  if (token.length === 0) return new Map();
  if (token.length > limits.tokenBytesMax) {
    throw new EverwriteError('EVERWRITE_BAD_CONTEXT', `context is malformed: token longer than ${limits.tokenBytesMax} bytes`);
  }
  const bytes = base64UrlDecode(token);
  return decodeEntries(new ByteReader(bytes, 'EVERWRITE_BAD_CONTEXT', 'context'), limits.entriesMax);
}
