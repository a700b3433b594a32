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
import { allocateBytes } from '../base/slab.ts';
import { CanonicalEntries } from './context.ts';
import {
  actorBytesMax,
  canonicalSiblings,
  dotCounterMax,
  type Actor,
  type Sibling,
  type StoredValue,
  type VersionedRecord,
} from './dvv.ts';
import { physicalMsMax, timestampAt, timestampMax } from './hlc.ts';
import { ByteReader, utf8ByteLength, varintSize, writeUtf8, writeVarint } from './wire.ts';

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

/** The record's context, in canonical order, reused by every encoding (see CanonicalEntries). */
const recordEntries = new CanonicalEntries();

/** Index of the sibling's actor among the planned context entries; a sibling outside the context is a bug. */
function actorIndexOf(sibling: Sibling): number {
  const index = recordEntries.indexOf(sibling.dot.actor);
  if (index < 0) assertMissing(sibling.dot.actor);
  return index;
}

function assertMissing(actor: Actor): never {
  assert(false, `sibling actor ${actor} is not covered by the record's context`);
}

/** The timestamp's signed distance from lastModifiedMs * 1024 (exact: both are safe integers). */
function timestampOffset(stored: StoredValue): number {
  assert(
    Number.isSafeInteger(stored.lastModifiedMs) && stored.lastModifiedMs >= 0 && stored.lastModifiedMs <= physicalMsMax,
    'lastModifiedMs is a non-negative integer within the clock range',
  );
  assert(
    Number.isSafeInteger(stored.timestamp) && stored.timestamp >= 0,
    'the timestamp is a non-negative safe integer',
  );
  return stored.timestamp - timestampAt(stored.lastModifiedMs);
}

/** Bytes of one sibling, checking what the layout requires of it (its dot covered, bounded content type). */
function siblingSize(sibling: Sibling): number {
  const actorIndex = actorIndexOf(sibling);
  const counter = sibling.dot.counter;
  assert(
    Number.isSafeInteger(counter) && counter >= 1 && counter <= recordEntries.counterAt(actorIndex),
    'sibling dot covered by the context',
  );
  const stored = sibling.stored;
  const contentTypeLength = utf8ByteLength(stored.contentType);
  assert(contentTypeLength <= contentTypeBytesMax, 'content type within bounds');
  assert(!stored.deleted || stored.value.length === 0, 'a tombstone has an empty value');
  const offset = timestampOffset(stored);
  return (
    varintSize(actorIndex) +
    varintSize(counter) +
    1 +
    varintSize(stored.lastModifiedMs) +
    varintSize(Math.abs(offset)) +
    varintSize(contentTypeLength) +
    contentTypeLength +
    varintSize(stored.value.length) +
    stored.value.length
  );
}

/**
 * The record's bytes, in a view of the shared slab when small (base/slab.ts: `.buffer` is not the
 * caller's own, and whoever keeps the bytes for long should copy them).
 */
export function encodeRecord(record: VersionedRecord): Uint8Array {
  const siblings = canonicalSiblings(record.siblings);
  let size = 1 + recordEntries.plan(record.context) + varintSize(siblings.length);
  for (let i = 0; i < siblings.length; i++) size += siblingSize(siblings[i] as Sibling);
  const bytes = allocateBytes(size);
  bytes[0] = recordLayoutVersion;
  let offset = recordEntries.write(bytes, 1);
  offset = writeVarint(bytes, offset, siblings.length);
  for (let i = 0; i < siblings.length; i++) offset = writeSibling(bytes, offset, siblings[i] as Sibling);
  assert(offset === size, 'record size computed exactly');
  return bytes;
}

function writeSibling(bytes: Uint8Array, offset: number, sibling: Sibling): number {
  const stored = sibling.stored;
  const distance = timestampOffset(stored);
  offset = writeVarint(bytes, offset, actorIndexOf(sibling));
  offset = writeVarint(bytes, offset, sibling.dot.counter);
  bytes[offset++] = (stored.deleted ? deletedFlag : 0) | (distance < 0 ? timestampBelowFlag : 0);
  offset = writeVarint(bytes, offset, stored.lastModifiedMs);
  offset = writeVarint(bytes, offset, Math.abs(distance));
  offset = writeVarint(bytes, offset, utf8ByteLength(stored.contentType));
  offset = writeUtf8(bytes, offset, stored.contentType);
  offset = writeVarint(bytes, offset, stored.value.length);
  bytes.set(stored.value, offset);
  return offset + stored.value.length;
}

/**
 * The actors and counters of the context decoded last, by index (siblings name their actor by
 * index): reused by every decoding, which is synchronous, instead of two arrays per record.
 */
const decodedActors: Actor[] = [];
const decodedCounters: number[] = [];

/** Past this many entries the reused arrays are let go before the next record, so one huge (corrupt) record does not keep them big. */
const reusedEntriesMax = 1024;

/** The context as a Map, its entries also left in decodedActors/decodedCounters; returns the Map. */
function readContext(reader: ByteReader): Map<Actor, number> {
  // Each entry takes at least 3 bytes: a length, one byte of name, a counter.
  const count = reader.count(3);
  if (decodedActors.length > reusedEntriesMax) decodedActors.length = decodedCounters.length = 0;
  const context = new Map<Actor, number>();
  for (let i = 0; i < count; i++) {
    const actor = reader.string(actorBytesMax);
    if (actor.length === 0) reader.fail('empty actor name');
    if (i > 0 && (decodedActors[i - 1] as Actor) >= actor) reader.fail('context entries out of order');
    const counter = reader.varint();
    if (counter < 1) reader.fail('context counter is not positive');
    if (counter > dotCounterMax) reader.fail(`context counter beyond ${dotCounterMax}`);
    context.set(actor, counter);
    decodedActors[i] = actor;
    decodedCounters[i] = counter;
  }
  return context;
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
function readStored(reader: ByteReader, legacy: boolean, shareValues: boolean): StoredValue {
  const flags = reader.byte();
  if ((flags & ~(legacy ? deletedFlag : deletedFlag | timestampBelowFlag)) !== 0) reader.fail('unknown sibling flags');
  const lastModifiedMs = reader.varint();
  const timestamp = readTimestamp(reader, flags, lastModifiedMs, legacy);
  const contentType = reader.string(contentTypeBytesMax);
  const valueLength = reader.varint();
  // Copied out so a decoded record never pins the (possibly large) buffer it was read from, unless
  // the caller owns that buffer and says so (decodeOwnedRecord).
  const value = shareValues ? reader.view(valueLength) : reader.copy(valueLength);
  const deleted = (flags & deletedFlag) !== 0;
  if (deleted && value.length !== 0) reader.fail('tombstone with a value');
  return { value, contentType, lastModifiedMs, deleted, timestamp };
}

/** The siblings, whose actor indexes refer to the `contextSize` entries readContext left. */
function readSiblings(reader: ByteReader, contextSize: number, legacy: boolean, shareValues: boolean): Sibling[] {
  // Each sibling takes at least 7 bytes (6 in a legacy record): index, counter, flags, time,
  // timestamp offset, two lengths.
  const count = reader.count(legacy ? 6 : 7);
  // Sized once: pushing onto [] would give even a single sibling room for seventeen.
  const siblings = new Array<Sibling>(count);
  let previousIndex = -1;
  let previousCounter = 0;
  for (let i = 0; i < count; i++) {
    const actorIndex = reader.varint();
    if (actorIndex >= contextSize) reader.fail('sibling actor index out of range');
    const actor = decodedActors[actorIndex] as Actor;
    const counter = reader.varint();
    if (counter < 1 || counter > (decodedCounters[actorIndex] as number))
      reader.fail('sibling dot not covered by the context');
    if (actorIndex < previousIndex || (actorIndex === previousIndex && counter <= previousCounter))
      reader.fail('siblings out of order');
    previousIndex = actorIndex;
    previousCounter = counter;
    siblings[i] = { dot: { actor, counter }, stored: readStored(reader, legacy, shareValues) };
  }
  return siblings;
}

export function decodeRecord(bytes: Uint8Array): VersionedRecord {
  return decodeWithValues(bytes, false);
}

/**
 * decodeRecord with the values as views of `bytes`, not copies, which saves a buffer per sibling.
 * Only for a record that lives no longer than a short operation and never reaches a client (a
 * read-modify-write, a replicated record on its way into the store): the views keep `bytes`
 * alive, and nothing may change `bytes` while the record lives.
 */
export function decodeOwnedRecord(bytes: Uint8Array): VersionedRecord {
  return decodeWithValues(bytes, true);
}

function decodeWithValues(bytes: Uint8Array, shareValues: boolean): VersionedRecord {
  const reader = new ByteReader(bytes, 'EVERWRITE_BAD_RECORD', 'record');
  const version = reader.byte();
  if (version !== recordLayoutVersion && version !== legacyLayoutVersion)
    reader.fail(`unknown layout version ${version}`);
  const context = readContext(reader);
  const siblings = readSiblings(reader, context.size, version === legacyLayoutVersion, shareValues);
  reader.end();
  return { context, siblings };
}
