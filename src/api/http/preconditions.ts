// Why: HTTP's conditional requests (RFC 9110 section 13) on the key route, so a client can create a
// key only if it is absent (If-None-Match: *), update it only if it is unchanged since it read it
// (If-Match with the ETag it got), and revalidate a cached read (304). Before this, every If-*
// header was ignored and "create only" silently made a sibling. What a precondition can promise
// in a leaderless store is decision 0028: it is checked against the state the coordinator read at
// quorum, not against a lock. Every conditional header is either honoured or refused with 400;
// none is ignored. The ETag is derived from the sealed causal context, so it changes exactly when
// the set of versions a read sees changes.
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { EverwriteError } from '../../core/base/errors.ts';
import type { GetResult } from '../../runtime/service.ts';

/** Longest If-Match / If-None-Match / If-Modified-Since value accepted, in bytes: a few tags, never a flood. */
export const conditionalHeaderBytesMax = 1024;
/** Most entity tags one If-Match or If-None-Match list may name. */
export const entityTagsMax = 16;
/** Characters of base64url kept from the SHA-256 of the context: 132 bits, two quotes around them. */
const entityTagCharacters = 22;

/** `*`, or the opaque tags of a list (without W/ and quotes), with whether each was weak. */
export type TagCondition =
  | { readonly any: true }
  | { readonly any: false; readonly tags: ReadonlyArray<{ readonly opaque: string; readonly weak: boolean }> };

export interface Preconditions {
  readonly ifMatch?: TagCondition;
  readonly ifNoneMatch?: TagCondition;
  readonly ifModifiedSinceMs?: number;
}

/** What a request's preconditions decided: go on, answer 304 (reads only), or answer 412. */
export type PreconditionOutcome = 'proceed' | 'notModified' | 'failed';

/** The headers refused wherever they appear, and the conditional ones the key route honours. */
const refusedHeaders = ['if-unmodified-since'] as const;
const conditionalHeaders = ['if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since'] as const;

function badHeader(message: string): EverwriteError {
  return new EverwriteError('EVERWRITE_BAD_REQUEST', message);
}

/** True when the request carries any conditional header (for routes that honour none). */
export function hasConditionalHeader(headers: IncomingHttpHeaders): boolean {
  for (const name of conditionalHeaders) if (headers[name] !== undefined) return true;
  return false;
}

/**
 * A strong ETag for a read's causal context: the quoted first 22 base64url characters of its
 * SHA-256. Undefined for the empty context (a key never written). The sealed context is a
 * deterministic function of the versions a read saw, so equal states give equal tags, and the tag
 * tells nothing the context does not.
 */
export function entityTagOf(context: string): string | undefined {
  if (context === '') return undefined;
  return `"${createHash('sha256').update(context, 'latin1').digest('base64url').slice(0, entityTagCharacters)}"`;
}

const entityTagPattern = /^(W\/)?"([\x21\x23-\x7e]*)"$/;

function headerText(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  const text = (Array.isArray(value) ? value.join(', ') : String(value)).trim();
  if (Buffer.byteLength(text) > conditionalHeaderBytesMax)
    throw badHeader(`${name} is longer than ${conditionalHeaderBytesMax} bytes`);
  return text;
}

/** `*` or a comma-separated list of entity tags (RFC 9110 section 8.8.3), bounded in count. */
export function parseTagCondition(name: string, text: string): TagCondition {
  if (text === '*') return { any: true };
  const tags: Array<{ opaque: string; weak: boolean }> = [];
  for (const element of text.split(',')) {
    const trimmed = element.trim();
    if (trimmed === '') continue;
    const match = entityTagPattern.exec(trimmed);
    if (match === null)
      throw badHeader(
        `${name} must be * or a list of quoted entity tags such as "abc" or W/"abc"; got ${JSON.stringify(trimmed.slice(0, 64))}`,
      );
    if (tags.length === entityTagsMax) throw badHeader(`${name} names more than ${entityTagsMax} entity tags`);
    tags.push({ opaque: match[2] as string, weak: match[1] !== undefined });
  }
  if (tags.length === 0) throw badHeader(`${name} must be * or a list of quoted entity tags; it is empty`);
  return { any: false, tags };
}

const httpDatePattern = /^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/;

function parseHttpDate(name: string, text: string): number {
  const ms = httpDatePattern.test(text) ? Date.parse(text) : NaN;
  if (!Number.isFinite(ms))
    throw badHeader(
      `${name} must be an HTTP date such as "Sun, 06 Nov 1994 08:49:37 GMT"; got ${JSON.stringify(text.slice(0, 64))}`,
    );
  return ms;
}

/**
 * The preconditions of a key request, or undefined when it has none. `write` is true for PUT and
 * DELETE: they honour If-Match and If-None-Match: * only. Anything not honoured is refused (400).
 */
export function readPreconditions(headers: IncomingHttpHeaders, write: boolean): Preconditions | undefined {
  for (const name of refusedHeaders) {
    if (headers[name] !== undefined)
      throw badHeader(`${name} is not supported; use If-Match with the ETag of your read`);
  }
  const ifMatch = headerText(headers, 'if-match');
  const ifNoneMatch = headerText(headers, 'if-none-match');
  const ifModifiedSince = headerText(headers, 'if-modified-since');
  if (ifMatch === undefined && ifNoneMatch === undefined && ifModifiedSince === undefined) return undefined;
  const preconditions: { ifMatch?: TagCondition; ifNoneMatch?: TagCondition; ifModifiedSinceMs?: number } = {};
  if (ifMatch !== undefined) preconditions.ifMatch = parseTagCondition('if-match', ifMatch);
  if (ifNoneMatch !== undefined) {
    preconditions.ifNoneMatch = parseTagCondition('if-none-match', ifNoneMatch);
    if (write && !preconditions.ifNoneMatch.any)
      throw badHeader(
        'if-none-match on a write must be * (create only); a list of entity tags is supported on GET and HEAD',
      );
  }
  if (ifModifiedSince !== undefined) {
    if (write) throw badHeader('if-modified-since applies to GET and HEAD only; use If-Match on a write');
    preconditions.ifModifiedSinceMs = parseHttpDate('if-modified-since', ifModifiedSince);
  }
  return preconditions;
}

/** The state preconditions are checked against: whether a live version exists, its tag and its newest modification. */
export interface ConditionalState {
  readonly live: boolean;
  readonly entityTag: string | undefined;
  readonly lastModifiedMs: number | undefined;
}

/** A read's state: live when any sibling is not a tombstone; deleted and absent keys have no representation. */
export function conditionalStateOf(result: GetResult): ConditionalState {
  let live = false;
  let lastModifiedMs: number | undefined;
  for (const sibling of result.siblings) {
    if (sibling.deleted) continue;
    live = true;
    lastModifiedMs = Math.max(lastModifiedMs ?? 0, sibling.lastModifiedMs);
  }
  return { live, entityTag: live ? entityTagOf(result.context) : undefined, lastModifiedMs };
}

function matches(condition: TagCondition, state: ConditionalState, strong: boolean): boolean {
  if (!state.live) return false;
  if (condition.any) return true;
  const current = state.entityTag?.slice(1, -1);
  return condition.tags.some((tag) => tag.opaque === current && !(strong && tag.weak));
}

/** RFC 9110 section 13.2.2's order: If-Match, then If-None-Match, then (reads without If-None-Match) If-Modified-Since. */
export function evaluatePreconditions(
  preconditions: Preconditions,
  state: ConditionalState,
  write: boolean,
): PreconditionOutcome {
  if (preconditions.ifMatch !== undefined && !matches(preconditions.ifMatch, state, true)) return 'failed';
  if (preconditions.ifNoneMatch !== undefined) {
    if (!matches(preconditions.ifNoneMatch, state, false)) return 'proceed';
    return write ? 'failed' : 'notModified';
  }
  if (preconditions.ifModifiedSinceMs !== undefined && state.lastModifiedMs !== undefined) {
    // HTTP dates have whole seconds: a version written within the second of the date is not newer.
    if (Math.floor(state.lastModifiedMs / 1000) * 1000 <= preconditions.ifModifiedSinceMs) return 'notModified';
  }
  return 'proceed';
}

/** The 412 a failed precondition answers, naming the current tag so the client can re-read. */
export function preconditionFailed(state: ConditionalState): EverwriteError {
  const message = state.live
    ? "the key's current versions do not satisfy the precondition; etag is their ETag"
    : 'the key has no live version, so If-Match cannot hold';
  return new EverwriteError('EVERWRITE_PRECONDITION_FAILED', message, { etag: state.entityTag ?? null });
}
