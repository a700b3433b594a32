// Why: every replica stores, hashes (Merkle leaves) and ships records as bytes. A hand-written
// layout is small and fast, and it is canonical: equal records encode to equal bytes, and a decoded
// record re-encodes to the same bytes, so two replicas agree on a leaf hash exactly when they hold
// the same record. Decoding treats its input as possibly corrupted: any damage that breaks the
// layout is EverwriteError('EVERWRITE_BAD_RECORD'), never a crash or a half-built record.
//
// Layout version 2:
//   byte 2 (version)
//   varint C, then C context entries sorted by actor: varint length + UTF-8 actor, varint counter >= 1
//   varint S, then S siblings in canonical order (by actor, then counter):
//     varint actor index into the context entries, varint counter (1..that entry's counter),
//     byte flags (bit 0 = deleted, a tombstone's value is empty; bit 1 = the timestamp is below
//     lastModifiedMs * 1024), varint lastModifiedMs (<= hlc physicalMsMax), varint timestamp
//     offset (|timestamp - lastModifiedMs * 1024|, bit 1 set only when it is > 0),
//     varint length + UTF-8 content type, varint length + value bytes
// The timestamp (hlc.ts) is written as its distance from the wall clock the coordinator stamped
// the version with: it is 0 when no clock ran ahead (one byte instead of eight), and a few bytes
// when the coordinator had seen a faster clock.
//
// Layout version 1 (no timestamp offset, no bit 1) is still read, with timestamp =
// lastModifiedMs * 1024, and re-encoded as version 2 (docs/decisions/0004-hybrid-logical-clock.md).

import { assert } from '../base/assert.ts';
import { actorBytesMax, canonicalSiblings, type Actor, type Sibling, type StoredValue, type VersionedRecord } from './dvv.ts';
import { physicalMsMax, timestampAt, timestampMax } from './hlc.ts';
import { ByteReader, toUtf8Text, varintSize, writeUtf8Text, writeVarint, type Utf8Text } from './wire.ts';

export const recordLayoutVersion = 2;

/** The layout before timestamps: still decoded, never written. */
const legacyLayoutVersion = 1;

/**
 * Longest content type stored, in bytes of UTF-8. Encoding a longer one is a bug (assertion), so
 * it is set at Node's whole HTTP header limit (16 KiB): nothing an HTTP client sends can exceed it.
 */
export const contentTypeBytesMax = 16 * 1024;

const deletedFlag = 1;
const timestampBelowFlag = 2;

function compareActors(a: Actor, b: Actor): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function indexOfActor(actors: readonly Actor[], actor: Actor): number {
  let low = 0;
  let high = actors.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const order = compareActors(actors[middle] as Actor, actor);
    if (order === 0) return middle;
    if (order < 0) low = middle + 1;
    else high = middle - 1;
  }
  return assertMissing(actor);
}

function assertMissing(actor: Actor): never {
  assert(false, `sibling actor ${actor} is not covered by the record's context`);
}

/** The timestamp's signed distance from lastModifiedMs * 1024 (exact: both are safe integers). */
function timestampOffset(stored: StoredValue): number {
  assert(Number.isSafeInteger(stored.lastModifiedMs) && stored.lastModifiedMs >= 0 && stored.lastModifiedMs <= physicalMsMax, 'lastModifiedMs is a non-negative integer within the clock range');
  assert(Number.isSafeInteger(stored.timestamp) && stored.timestamp >= 0, 'the timestamp is a non-negative safe integer');
  return stored.timestamp - timestampAt(stored.lastModifiedMs);
}

function storedSize(stored: StoredValue, contentType: Utf8Text): number {
  assert(contentType.length <= contentTypeBytesMax, 'content type within bounds');
  assert(!stored.deleted || stored.value.length === 0, 'a tombstone has an empty value');
  const offset = timestampOffset(stored);
  return (
    1 + varintSize(stored.lastModifiedMs) + varintSize(Math.abs(offset)) + varintSize(contentType.length) + contentType.length + varintSize(stored.value.length) + stored.value.length
  );
}

/** The context's entries in canonical (actor) order, with their UTF-8 names and encoded size. */
interface ContextPlan {
  readonly actors: Actor[];
  readonly names: Utf8Text[];
  readonly counters: number[];
  readonly size: number;
}

function planContext(context: VersionedRecord['context']): ContextPlan {
  const actors = [...context.keys()].sort(compareActors);
  const names: Utf8Text[] = new Array<Utf8Text>(actors.length);
  const counters: number[] = new Array<number>(actors.length);
  let size = varintSize(actors.length);
  for (let i = 0; i < actors.length; i++) {
    const counter = context.get(actors[i] as Actor) as number;
    const name = toUtf8Text(actors[i] as Actor);
    assert(Number.isSafeInteger(counter) && counter >= 1, 'context counters are positive integers');
    assert(name.length >= 1 && name.length <= actorBytesMax, 'actor name length within bounds');
    names[i] = name;
    counters[i] = counter;
    size += varintSize(name.length) + name.length + varintSize(counter);
  }
  return { actors, names, counters, size };
}

export function encodeRecord(record: VersionedRecord): Uint8Array {
  const plan = planContext(record.context);
  const siblings = canonicalSiblings(record.siblings);
  const actorIndexes: number[] = new Array<number>(siblings.length);
  const contentTypes: Utf8Text[] = new Array<Utf8Text>(siblings.length);
  let size = 1 + plan.size + varintSize(siblings.length);
  for (let i = 0; i < siblings.length; i++) {
    const sibling = siblings[i] as Sibling;
    const actorIndex = indexOfActor(plan.actors, sibling.dot.actor);
    const counter = sibling.dot.counter;
    assert(Number.isSafeInteger(counter) && counter >= 1 && counter <= (plan.counters[actorIndex] as number), 'sibling dot covered by the context');
    actorIndexes[i] = actorIndex;
    contentTypes[i] = toUtf8Text(sibling.stored.contentType);
    size += varintSize(actorIndex) + varintSize(counter) + storedSize(sibling.stored, contentTypes[i] as Utf8Text);
  }
  const bytes = new Uint8Array(size);
  bytes[0] = recordLayoutVersion;
  let offset = writeVarint(bytes, 1, plan.actors.length);
  for (let i = 0; i < plan.actors.length; i++) {
    const name = plan.names[i] as Utf8Text;
    offset = writeVarint(bytes, offset, name.length);
    offset = writeUtf8Text(bytes, offset, name);
    offset = writeVarint(bytes, offset, plan.counters[i] as number);
  }
  offset = writeVarint(bytes, offset, siblings.length);
  for (let i = 0; i < siblings.length; i++) {
    offset = writeSibling(bytes, offset, siblings[i] as Sibling, actorIndexes[i] as number, contentTypes[i] as Utf8Text);
  }
  assert(offset === size, 'record size computed exactly');
  return bytes;
}

function writeSibling(bytes: Uint8Array, offset: number, sibling: Sibling, actorIndex: number, contentType: Utf8Text): number {
  const stored = sibling.stored;
  const distance = timestampOffset(stored);
  offset = writeVarint(bytes, offset, actorIndex);
  offset = writeVarint(bytes, offset, sibling.dot.counter);
  bytes[offset++] = (stored.deleted ? deletedFlag : 0) | (distance < 0 ? timestampBelowFlag : 0);
  offset = writeVarint(bytes, offset, stored.lastModifiedMs);
  offset = writeVarint(bytes, offset, Math.abs(distance));
  offset = writeVarint(bytes, offset, contentType.length);
  offset = writeUtf8Text(bytes, offset, contentType);
  offset = writeVarint(bytes, offset, stored.value.length);
  bytes.set(stored.value, offset);
  return offset + stored.value.length;
}

/** The context, plus its actors and counters by index (siblings name their actor by index). */
interface DecodedContext {
  readonly context: Map<Actor, number>;
  readonly actors: Actor[];
  readonly counters: number[];
}

function readContext(reader: ByteReader): DecodedContext {
  // Each entry takes at least 3 bytes: a length, one byte of name, a counter.
  const count = reader.count(3);
  const context = new Map<Actor, number>();
  const actors: Actor[] = [];
  const counters: number[] = [];
  for (let i = 0; i < count; i++) {
    const actor = reader.string(actorBytesMax);
    if (actor.length === 0) reader.fail('empty actor name');
    if (i > 0 && compareActors(actors[i - 1] as Actor, actor) >= 0) reader.fail('context entries out of order');
    const counter = reader.varint();
    if (counter < 1) reader.fail('context counter is not positive');
    context.set(actor, counter);
    actors.push(actor);
    counters.push(counter);
  }
  return { context, actors, counters };
}

/** The timestamp of a sibling written at `lastModifiedMs`: read as its offset, or implied by a legacy record. */
function readTimestamp(reader: ByteReader, flags: number, lastModifiedMs: number, legacy: boolean): number {
  if (lastModifiedMs > physicalMsMax) reader.fail('lastModifiedMs beyond the clock range');
  const base = timestampAt(lastModifiedMs);
  if (legacy) return base;
  const distance = reader.varint();
  if ((flags & timestampBelowFlag) === 0) {
    if (distance > timestampMax - base) reader.fail('timestamp beyond 2^53');
    return base + distance;
  }
  if (distance === 0) reader.fail('timestamp offset is a negative zero');
  if (distance > base) reader.fail('timestamp below zero');
  return base - distance;
}

/** Everything of a sibling after its dot. */
function readStored(reader: ByteReader, legacy: boolean): StoredValue {
  const flags = reader.byte();
  if ((flags & ~(legacy ? deletedFlag : deletedFlag | timestampBelowFlag)) !== 0) reader.fail('unknown sibling flags');
  const lastModifiedMs = reader.varint();
  const timestamp = readTimestamp(reader, flags, lastModifiedMs, legacy);
  const contentType = reader.string(contentTypeBytesMax);
  const valueLength = reader.varint();
  // Copied out so a decoded record never pins the (possibly large) buffer it was read from.
  const value = reader.copy(valueLength);
  const deleted = (flags & deletedFlag) !== 0;
  if (deleted && value.length !== 0) reader.fail('tombstone with a value');
  return { value, contentType, lastModifiedMs, deleted, timestamp };
}

function readSiblings(reader: ByteReader, actors: readonly Actor[], counters: readonly number[], legacy: boolean): Sibling[] {
  // Each sibling takes at least 7 bytes (6 in a legacy record): index, counter, flags, time,
  // timestamp offset, two lengths.
  const count = reader.count(legacy ? 6 : 7);
  const siblings: Sibling[] = [];
  let previousIndex = -1;
  let previousCounter = 0;
  for (let i = 0; i < count; i++) {
    const actorIndex = reader.varint();
    const actor = actors[actorIndex];
    if (actor === undefined) reader.fail('sibling actor index out of range');
    const counter = reader.varint();
    if (counter < 1 || counter > (counters[actorIndex] as number)) reader.fail('sibling dot not covered by the context');
    if (actorIndex < previousIndex || (actorIndex === previousIndex && counter <= previousCounter)) reader.fail('siblings out of order');
    previousIndex = actorIndex;
    previousCounter = counter;
    siblings.push({ dot: { actor, counter }, stored: readStored(reader, legacy) });
  }
  return siblings;
}

export function decodeRecord(bytes: Uint8Array): VersionedRecord {
  const reader = new ByteReader(bytes, 'EVERWRITE_BAD_RECORD', 'record');
  const version = reader.byte();
  if (version !== recordLayoutVersion && version !== legacyLayoutVersion) reader.fail(`unknown layout version ${version}`);
  const { context, actors, counters } = readContext(reader);
  const siblings = readSiblings(reader, actors, counters, version === legacyLayoutVersion);
  reader.end();
  return { context, siblings };
}
