// Why: plain per-coordinator vector clocks either lose concurrent writes made through the same
// node or, with per-client entries, grow and must be pruned (false conflicts). A dotted version
// vector set (Preguiça et al.; Riak 2.0) gives each sibling its own dot (actor, counter) and keeps
// one causal context per key, so concurrency is tracked exactly with one entry per writing replica.
// Actors carry the epoch of the node's storage, so a wiped node never mints a dot it minted before.

import { assert } from '../base/assert.ts';
import { bytesEqual, utf8Encode } from '../base/bytes.ts';
import { EverwriteError } from '../base/errors.ts';
import { timestampMax } from './hlc.ts';

/** `${nodeId}.${epoch}`: the epoch is chosen when a node's storage is created. */
export type Actor = string;

/** Longest actor name accepted anywhere (tokens, records), in bytes of UTF-8. */
export const actorBytesMax = 255;

export type VersionVector = ReadonlyMap<Actor, number>;

/**
 * Largest dot counter anywhere. Decoders refuse a larger one (context tokens, stored records,
 * peers' records) and `update` refuses to mint past it, so a counter and its successor are always
 * safe integers and the `+ 1` of a mint can never reach an assertion. 2^52: one actor writing one
 * key a million times a second would need 142 years to get there; a counter near it can only come
 * from forged or damaged input (decision 0011).
 */
export const dotCounterMax = 2 ** 52;

/** The identity of one write: the `counter`-th version minted by `actor` for this key. */
export interface Dot {
  readonly actor: Actor;
  readonly counter: number;
}

/** A tombstone is a sibling with deleted=true and an empty value. */
export interface StoredValue {
  readonly value: Uint8Array;
  readonly contentType: string;
  /** The coordinator's wall clock when it accepted the write: what clients see as lastModified. */
  readonly lastModifiedMs: number;
  readonly deleted: boolean;
  /** Hybrid logical clock timestamp of the write (hlc.ts): what last-writer-wins orders by. */
  readonly timestamp: number;
}

export interface Sibling {
  readonly dot: Dot;
  readonly stored: StoredValue;
}

/**
 * `context` is every dot this replica has incorporated (live or superseded); `siblings` are the
 * concurrent versions still live. Invariant: every sibling's dot is covered by the context, and
 * siblings are in canonical order (by actor, then counter) with no dot twice.
 */
export interface VersionedRecord {
  readonly context: VersionVector;
  readonly siblings: readonly Sibling[];
}

export const emptyRecord: VersionedRecord = Object.freeze({
  context: new Map<Actor, number>(),
  siblings: Object.freeze([]),
});

export function actorOf(nodeId: string, epoch: number): Actor {
  assert(nodeId.length > 0, 'an actor needs a node id');
  assert(Number.isSafeInteger(epoch) && epoch >= 0, 'an epoch is a non-negative integer');
  const actor = `${nodeId}.${epoch}`;
  assert(utf8Encode(actor).length <= actorBytesMax, 'actor name too long');
  return actor;
}

function compareActors(a: Actor, b: Actor): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Canonical sibling order: by actor, then counter. */
export function compareDots(a: Dot, b: Dot): number {
  return compareActors(a.actor, b.actor) || a.counter - b.counter;
}

export function covers(context: VersionVector, dot: Dot): boolean {
  return (context.get(dot.actor) ?? 0) >= dot.counter;
}

function isCanonical(siblings: readonly Sibling[]): boolean {
  for (let i = 1; i < siblings.length; i++) {
    if (compareDots((siblings[i - 1] as Sibling).dot, (siblings[i] as Sibling).dot) >= 0) return false;
  }
  return true;
}

/** Siblings in canonical order without repeated dots. Records built here are canonical already; this guards against hand-built ones. */
export function canonicalSiblings(siblings: readonly Sibling[]): readonly Sibling[] {
  if (isCanonical(siblings)) return siblings;
  const sorted = [...siblings].sort((a, b) => compareDots(a.dot, b.dot));
  return sorted.filter(
    (sibling, index) => index === 0 || compareDots((sorted[index - 1] as Sibling).dot, sibling.dot) !== 0,
  );
}

/** forEach callbacks with the target map as `this`: one shared function, so copying allocates no closure, iterator or entry pair. */
function setEntry(this: Map<Actor, number>, counter: number, actor: Actor): void {
  this.set(actor, counter);
}

function raiseEntry(this: Map<Actor, number>, counter: number, actor: Actor): void {
  if ((this.get(actor) ?? 0) < counter) this.set(actor, counter);
}

/** A fresh copy of `context` (every write mints one, so not `new Map(context)`, which iterates with an entry array per actor). */
function copyContext(context: VersionVector): Map<Actor, number> {
  const copy = new Map<Actor, number>();
  context.forEach(setEntry, copy);
  return copy;
}

/** Pointwise maximum of two version vectors: `a` or `b` itself when one covers nothing more, else a fresh map. */
export function mergeContexts(a: VersionVector, b: VersionVector): VersionVector {
  if (a === b || b.size === 0) return a;
  if (a.size === 0) return b;
  const merged = copyContext(a);
  b.forEach(raiseEntry, merged);
  return merged;
}

/** True when `a` covers every dot of `b`. */
export function contextDescends(a: VersionVector, b: VersionVector): boolean {
  if (a === b) return true;
  for (const [actor, counter] of b) if ((a.get(actor) ?? 0) < counter) return false;
  return true;
}

export function contextsEqual(a: VersionVector, b: VersionVector): boolean {
  if (a === b) return true;
  if (a.size !== b.size) return false;
  for (const [actor, counter] of a) if (b.get(actor) !== counter) return false;
  return true;
}

/**
 * The timestamp a new version written over `siblings` gets: its own, or past the latest of them
 * when the node that stamped it had not seen that one yet. A write then always comes after
 * everything its replica held, whatever the clocks (saturating at the clock's end, as hlc.ts).
 */
function stampAfter(siblings: readonly Sibling[], stored: StoredValue): StoredValue {
  let latest = -1;
  for (let index = 0; index < siblings.length; index++) {
    const timestamp = (siblings[index] as Sibling).stored.timestamp;
    if (timestamp > latest) latest = timestamp;
  }
  if (stored.timestamp > latest) return stored;
  return { ...stored, timestamp: Math.min(latest + 1, timestampMax) };
}

/**
 * The counter of `actor`'s next dot: one past what the replica and the client have seen of it.
 * Past dotCounterMax it is a coded refusal, blamed on whichever side claimed the larger counter.
 */
function nextCounter(stored: number, claimed: number): number {
  const counter = Math.max(stored, claimed) + 1;
  if (counter <= dotCounterMax) return counter;
  if (claimed >= stored)
    throw new EverwriteError(
      'EVERWRITE_BAD_CONTEXT',
      `context is malformed: its counter ${claimed} leaves no room for a new version (limit ${dotCounterMax})`,
    );
  throw new EverwriteError(
    'EVERWRITE_BAD_RECORD',
    `the stored record's counter ${stored} leaves no room for a new version (limit ${dotCounterMax})`,
  );
}

/**
 * The coordinator mints a new version: a fresh dot for `actor`, past everything this replica and
 * the client have seen from it; siblings the client saw (covered by its context) are superseded;
 * siblings it did not see stay as concurrent versions. The new version's timestamp exceeds every
 * sibling's the replica held.
 */
export function update(
  record: VersionedRecord,
  clientContext: VersionVector,
  actor: Actor,
  newValue: StoredValue,
): VersionedRecord {
  assert(actor.length > 0, 'update needs an actor');
  const stored = stampAfter(record.siblings, newValue);
  const counter = nextCounter(record.context.get(actor) ?? 0, clientContext.get(actor) ?? 0);
  const dot: Dot = { actor, counter };
  const merged = mergeContexts(record.context, clientContext);
  // A fresh map from mergeContexts is this version's own; either input must be copied before the new dot goes in.
  const context =
    merged === record.context || merged === clientContext ? copyContext(merged) : (merged as Map<Actor, number>);
  context.set(actor, counter);
  const previous = canonicalSiblings(record.siblings);
  let survivors = 0;
  // Indexed loops, not for-of: every write mints here, and an iterator that is not optimised away allocates a result per step.
  for (let index = 0; index < previous.length; index++)
    if (!covers(clientContext, (previous[index] as Sibling).dot)) survivors++;
  // Sized once: the new version plus the survivors (usually none), in canonical order.
  const siblings = new Array<Sibling>(survivors + 1);
  let next = 0;
  let placed = false;
  for (let index = 0; index < previous.length; index++) {
    const sibling = previous[index] as Sibling;
    if (covers(clientContext, sibling.dot)) continue;
    if (!placed && compareDots(dot, sibling.dot) < 0) {
      siblings[next++] = { dot, stored };
      placed = true;
    }
    siblings[next++] = sibling;
  }
  if (!placed) siblings[next] = { dot, stored };
  return { context, siblings };
}

/**
 * Merges two replicas of one key. A sibling survives if both sides hold it, or if the other side
 * has never seen its dot; a dot the other side has seen but no longer holds was superseded there.
 * Both sibling lists are canonical, so one ordered walk suffices and the result is canonical too.
 */
export function sync(a: VersionedRecord, b: VersionedRecord): VersionedRecord {
  if (a === b) return a;
  const left = canonicalSiblings(a.siblings);
  const right = canonicalSiblings(b.siblings);
  const siblings: Sibling[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    const fromA = left[i];
    const fromB = right[j];
    const order = fromA === undefined ? 1 : fromB === undefined ? -1 : compareDots(fromA.dot, fromB.dot);
    if (order === 0) {
      // A dot names exactly one write, so both copies are the same version.
      siblings.push(fromA as Sibling);
      i++;
      j++;
    } else if (order < 0) {
      if (!covers(b.context, (fromA as Sibling).dot)) siblings.push(fromA as Sibling);
      i++;
    } else {
      if (!covers(a.context, (fromB as Sibling).dot)) siblings.push(fromB as Sibling);
      j++;
    }
  }
  return { context: mergeContexts(a.context, b.context), siblings };
}

/** True when `a` already reflects everything in `b`, i.e. sync(a, b) equals a. */
export function descends(a: VersionedRecord, b: VersionedRecord): boolean {
  if (a === b) return true;
  if (!contextDescends(a.context, b.context)) return false;
  for (const sibling of a.siblings) {
    if (covers(b.context, sibling.dot) && !b.siblings.some((other) => compareDots(other.dot, sibling.dot) === 0))
      return false;
  }
  return true;
}

export function storedEqual(a: StoredValue, b: StoredValue): boolean {
  return (
    a === b ||
    (a.deleted === b.deleted &&
      a.timestamp === b.timestamp &&
      a.lastModifiedMs === b.lastModifiedMs &&
      a.contentType === b.contentType &&
      bytesEqual(a.value, b.value))
  );
}

export function recordsEqual(a: VersionedRecord, b: VersionedRecord): boolean {
  if (a === b) return true;
  if (a.siblings.length !== b.siblings.length || !contextsEqual(a.context, b.context)) return false;
  const left = canonicalSiblings(a.siblings);
  const right = canonicalSiblings(b.siblings);
  if (left.length !== right.length) return false;
  for (let i = 0; i < left.length; i++) {
    const x = left[i] as Sibling;
    const y = right[i] as Sibling;
    if (compareDots(x.dot, y.dot) !== 0 || !storedEqual(x.stored, y.stored)) return false;
  }
  return true;
}

/** Has a non-deleted sibling: the key reads as present. */
export function isLive(record: VersionedRecord): boolean {
  return record.siblings.some((sibling) => !sibling.stored.deleted);
}

/**
 * The last-writer-wins order, a total one: by hybrid logical clock timestamp, then actor, then
 * dot counter (two distinct versions never compare equal). Positive when `a` was written later.
 * Not the wall clock: a node whose clock is slow still writes after what it has seen (hlc.ts).
 */
export function compareWriteOrder(a: Sibling, b: Sibling): number {
  return a.stored.timestamp < b.stored.timestamp
    ? -1
    : a.stored.timestamp > b.stored.timestamp
      ? 1
      : compareDots(a.dot, b.dot);
}

/** The sibling written last in compareWriteOrder, or undefined when there is none. */
export function lastWriter(siblings: readonly Sibling[]): Sibling | undefined {
  let winner: Sibling | undefined;
  for (const sibling of siblings) if (winner === undefined || compareWriteOrder(sibling, winner) > 0) winner = sibling;
  return winner;
}

/**
 * Last-writer-wins for buckets that ask for it: keeps the sibling last in compareWriteOrder. The
 * context is unchanged, so the losers stay superseded.
 */
export function resolveLastWriterWins(record: VersionedRecord): VersionedRecord {
  if (record.siblings.length <= 1) return record;
  return { context: record.context, siblings: [lastWriter(record.siblings) as Sibling] };
}

/**
 * The context to hand back to the client that just wrote through `actor`: its own context plus
 * the new dot, which is exact only when the client had already seen every earlier dot of `actor`.
 * Otherwise the new dot cannot be expressed in a version vector without claiming writes the
 * client never saw, so the client keeps its old context (its next blind write becomes a sibling of
 * this one, which is safe; claiming too much would silently drop a concurrent write).
 */
export function contextAfterUpdate(
  clientContext: VersionVector,
  updated: VersionedRecord,
  actor: Actor,
): VersionVector {
  const counter = updated.context.get(actor) ?? 0;
  assert(counter >= 1, 'the updated record holds a dot of the actor');
  if ((clientContext.get(actor) ?? 0) !== counter - 1) return clientContext;
  const context = new Map(clientContext);
  context.set(actor, counter);
  return context;
}
