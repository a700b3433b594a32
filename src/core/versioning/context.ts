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
import {
  actorBytesMax,
  dotCounterMax,
  type Actor,
  type Sibling,
  type VersionVector,
  type VersionedRecord,
} from './dvv.ts';
import { ByteReader, utf8ByteLength, varintSize, writeUtf8, writeVarint } from './wire.ts';

export const contextTokenVersion = 1;

export interface ContextLimits {
  /** Entries (actors) a token may carry; default defaultLimits.contextEntriesMax. */
  entriesMax: number;
  /** Length of the token text, in bytes (it is ASCII); checked before any decoding work. */
  tokenBytesMax: number;
}

/**
 * Longest context a client is handed or may send back, in bytes of header text (the sealed token,
 * which is ASCII). 8 KiB: what curl, browsers, Python's and Node's clients send in one header
 * without complaint, and half of Node's limit for a request's whole header (16 KiB). A key's
 * context grows by one entry per node epoch that wrote it; decision 0011 works out how many fit.
 */
export const contextHeaderBytesMax = 8 * 1024;

/** Characters a seal adds to a plain token (runtime/context-seal.ts): a 128-bit tag in base64url. */
export const contextSealBytes = 22;

/** Longest plain token: what still fits in contextHeaderBytesMax once sealed. */
export const contextTokenBytesMax = contextHeaderBytesMax - contextSealBytes;

export const defaultContextLimits: Readonly<ContextLimits> = Object.freeze({
  entriesMax: defaultLimits.contextEntriesMax,
  tokenBytesMax: contextTokenBytesMax,
});

/**
 * Vectors up to this many entries are put in order by insertion sort (no allocation, and linear
 * when they come nearly sorted, as Maps built by update do); longer ones by Array.prototype.sort, so
 * a long vector in reverse order costs n log n comparisons, not n squared.
 */
const insertionSortEntriesMax = 16;

/** Past this many entries the reused arrays are let go before the next plan, so one huge vector does not keep them big. */
const reusedEntriesMax = 1024;

function compareActors(a: Actor, b: Actor): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A version vector's entries in canonical (actor) order, kept in arrays reused from one encoding
 * to the next so that encoding allocates nothing per entry; valid until the next `plan`. Tokens
 * and records write entries the same way: varint count, then per entry varint length + UTF-8
 * actor name and varint counter. Encoding is synchronous, so one instance per encoder suffices.
 */
export class CanonicalEntries {
  private readonly actors: Actor[] = [];
  private readonly counters: number[] = [];
  private readonly nameLengths: number[] = [];
  private count = 0;

  /** Takes `vector`'s entries in canonical order; returns the bytes `write` will produce for them. */
  plan(vector: VersionVector): number {
    this.count = 0;
    if (this.actors.length > reusedEntriesMax) this.actors.length = this.counters.length = this.nameLengths.length = 0;
    vector.forEach(appendEntry, this);
    if (this.count > insertionSortEntriesMax) this.sortLong(vector);
    let size = varintSize(this.count);
    for (let i = 0; i < this.count; i++) {
      const counter = this.counters[i] as number;
      const nameLength = utf8ByteLength(this.actors[i] as Actor);
      assert(Number.isSafeInteger(counter) && counter >= 1, 'context counters are positive integers');
      assert(nameLength >= 1 && nameLength <= actorBytesMax, 'actor name length within bounds');
      this.nameLengths[i] = nameLength;
      size += varintSize(nameLength) + nameLength + varintSize(counter);
    }
    return size;
  }

  /** Called by vector.forEach: appends, keeping the first `insertionSortEntriesMax` entries sorted. */
  append(counter: number, actor: Actor): void {
    let index = this.count++;
    if (index < insertionSortEntriesMax) {
      for (; index > 0 && (this.actors[index - 1] as Actor) > actor; index--) {
        this.actors[index] = this.actors[index - 1] as Actor;
        this.counters[index] = this.counters[index - 1] as number;
      }
    }
    this.actors[index] = actor;
    this.counters[index] = counter;
  }

  private sortLong(vector: VersionVector): void {
    const sorted = this.actors.slice(0, this.count).sort(compareActors);
    for (let i = 0; i < sorted.length; i++) {
      this.actors[i] = sorted[i] as Actor;
      this.counters[i] = vector.get(sorted[i] as Actor) as number;
    }
  }

  /** The position of `actor` in canonical order, or -1 when the vector has no entry for it. */
  indexOf(actor: Actor): number {
    let low = 0;
    let high = this.count - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const order = compareActors(this.actors[middle] as Actor, actor);
      if (order === 0) return middle;
      if (order < 0) low = middle + 1;
      else high = middle - 1;
    }
    return -1;
  }

  counterAt(index: number): number {
    return this.counters[index] as number;
  }

  /** Writes the count and the entries planned last at `offset`; returns the offset after them. */
  write(bytes: Uint8Array, offset: number): number {
    offset = writeVarint(bytes, offset, this.count);
    for (let i = 0; i < this.count; i++) {
      offset = writeVarint(bytes, offset, this.nameLengths[i] as number);
      offset = writeUtf8(bytes, offset, this.actors[i] as Actor);
      offset = writeVarint(bytes, offset, this.counters[i] as number);
    }
    return offset;
  }
}

/** A named function (not a closure per call) for VersionVector.forEach, with the entries as `this`. */
function appendEntry(this: CanonicalEntries, counter: number, actor: Actor): void {
  this.append(counter, actor);
}

const tokenEntries = new CanonicalEntries();

/** Tokens up to this size are laid out in one reused buffer: they are turned into text at once. */
const tokenScratch = new ArrayBuffer(4096);

export function encodeContext(vector: VersionVector): string {
  if (vector.size === 0) return '';
  const size = 1 + tokenEntries.plan(vector);
  const bytes = size <= tokenScratch.byteLength ? new Uint8Array(tokenScratch, 0, size) : new Uint8Array(size);
  bytes[0] = contextTokenVersion;
  const end = tokenEntries.write(bytes, 1);
  assert(end === size, 'token size computed exactly');
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
    if (counter > dotCounterMax) reader.fail(`counter beyond ${dotCounterMax}`);
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
    throw new EverwriteError(
      'EVERWRITE_BAD_CONTEXT',
      `context is malformed: token longer than ${limits.tokenBytesMax} bytes`,
    );
  }
  const bytes = base64UrlDecode(token);
  return decodeEntries(new ByteReader(bytes, 'EVERWRITE_BAD_CONTEXT', 'context'), limits.entriesMax);
}

/** Length of encodeContext(vector): base64url without padding of the version byte and the entries. */
export function contextTokenLength(vector: VersionVector): number {
  if (vector.size === 0) return 0;
  const bytes = 1 + tokenEntries.plan(vector);
  return Math.floor(bytes / 3) * 4 + (bytes % 3 === 0 ? 0 : (bytes % 3) + 1);
}

/** Bytes of token (before base64) an entry can take at most: name length, the longest name, a counter. */
const entryBytesMax = varintSize(actorBytesMax) + actorBytesMax + varintSize(dotCounterMax);

/** Vectors of at most this many entries always encode within contextTokenBytesMax: no need to measure them. */
const entriesAlwaysFitting = Math.floor(
  (Math.floor((contextTokenBytesMax * 3) / 4) - 1 - varintSize(defaultLimits.contextEntriesMax)) / entryBytesMax,
);

/** Most writer epochs a key's record may hold; a mint past it is refused (decision 0041). */
export const recordContextEntriesMax = defaultLimits.contextEntriesMax;

/** How a context handed to a client is cut down (decision 0041). */
export interface ClientContextBound {
  /**
   * Entries a handed context keeps besides those of the live siblings' writers (always kept);
   * default contextEntriesMax. The 8 KiB header bound applies whatever this is.
   */
  readonly entriesMax: number;
  /** Kept right after the siblings' writers: the actor of the node handing the context out, which
   * coordinates the client's next write if it comes back to that node. */
  readonly preferredActor: Actor | undefined;
}

export const defaultClientContextBound: ClientContextBound = Object.freeze({
  entriesMax: defaultLimits.contextEntriesMax,
  preferredActor: undefined,
});

/** Bytes before base64 that still encode within contextTokenBytesMax. */
const tokenPayloadBytesMax = Math.floor((contextTokenBytesMax * 3) / 4);

/**
 * The context a client is handed for a key whose record holds `vector` and `siblings`: `vector`
 * itself when it fits in a header, else its truncation (decision 0041): the entries of every
 * live sibling's writer, then `preferredActor`'s, then the others by counter, largest first,
 * while they fit. A truncated context only makes the client's next write supersede less, never
 * more, so no update is lost; the records keep the whole context, so a superseded version met
 * later is still recognised by every replica that saw what superseded it. `undefined` when even
 * the siblings' writers do not fit (about a hundred siblings of long-named writers).
 */
export function contextForClient(
  vector: VersionVector,
  siblings: readonly Sibling[],
  bound: ClientContextBound,
): VersionVector | undefined {
  if (vector.size <= Math.min(entriesAlwaysFitting, bound.entriesMax)) return vector;
  if (vector.size <= bound.entriesMax && contextTokenLength(vector) <= contextTokenBytesMax) return vector;
  return truncateContext(vector, siblings, bound);
}

/** Bytes an entry takes in a token before base64. */
function entryBytes(actor: Actor, counter: number): number {
  const nameLength = utf8ByteLength(actor);
  return varintSize(nameLength) + nameLength + varintSize(counter);
}

function truncateContext(
  vector: VersionVector,
  siblings: readonly Sibling[],
  bound: ClientContextBound,
): VersionVector | undefined {
  const kept = new Map<Actor, number>();
  // The version byte and the entry count (at most contextEntriesMax: two bytes of varint).
  let bytes = 1 + varintSize(defaultLimits.contextEntriesMax);
  for (const sibling of siblings) {
    const actor = sibling.dot.actor;
    const counter = vector.get(actor);
    if (counter === undefined || kept.has(actor)) continue;
    bytes += entryBytes(actor, counter);
    if (bytes > tokenPayloadBytesMax || kept.size >= defaultLimits.contextEntriesMax) return undefined;
    kept.set(actor, counter);
  }
  const optionalMax = kept.size + bound.entriesMax;
  for (const [actor, counter] of optionalEntries(vector, kept, bound.preferredActor)) {
    if (kept.size >= Math.min(optionalMax, defaultLimits.contextEntriesMax)) break;
    const size = entryBytes(actor, counter);
    if (bytes + size > tokenPayloadBytesMax) continue;
    bytes += size;
    kept.set(actor, counter);
  }
  return kept;
}

/** The entries not kept yet, in the order truncation keeps them: `preferred` first, then by counter, largest first, ties by actor. */
function optionalEntries(
  vector: VersionVector,
  kept: ReadonlyMap<Actor, number>,
  preferred: Actor | undefined,
): Array<[Actor, number]> {
  const rest: Array<[Actor, number]> = [];
  for (const entry of vector) if (!kept.has(entry[0]) && entry[0] !== preferred) rest.push(entry);
  rest.sort((a, b) => b[1] - a[1] || compareActors(a[0], b[0]));
  const counter = preferred === undefined || kept.has(preferred) ? undefined : vector.get(preferred);
  if (counter !== undefined) rest.unshift([preferred as Actor, counter]);
  return rest;
}

/** EVERWRITE_CONTEXT_TOO_LARGE for a key whose context cannot be handed out or grown (decision 0041). */
export function contextTooLarge(vector: VersionVector, why: string): EverwriteError {
  return new EverwriteError(
    'EVERWRITE_CONTEXT_TOO_LARGE',
    `the key's causal context cannot ${why}: it holds ${vector.size} writer epochs`,
    { entries: vector.size, limit: recordContextEntriesMax, headerBytesLimit: contextHeaderBytesMax },
  );
}

/**
 * Refuses a minted record no client could be handed a context for, or one holding more than
 * recordContextEntriesMax writer epochs, with EVERWRITE_CONTEXT_TOO_LARGE (decisions 0011, 0041).
 * Cheap for the usual context of a few entries: it is measured only past entriesAlwaysFitting.
 */
export function checkRecordContext(record: VersionedRecord): void {
  const vector = record.context;
  if (vector.size <= entriesAlwaysFitting) return;
  if (vector.size > recordContextEntriesMax)
    throw contextTooLarge(vector, `take another writer (limit ${recordContextEntriesMax})`);
  if (contextForClient(vector, record.siblings, defaultClientContextBound) === undefined)
    throw contextTooLarge(vector, `be handed to a client within ${contextHeaderBytesMax} bytes of header`);
}
