// Why: last-writer-wins needs an order of writes that agrees with what the writers had seen. A
// coordinator's wall clock does not give one: a node whose clock is slow can write *after* having
// seen another node's write and still lose to it. A hybrid logical clock (Kulkarni, Demirbas et al.,
// "Logical Physical Clocks", 2014) fixes that and stays usable as a time: each node keeps the
// largest timestamp it has issued or seen; a new one is past both that and the physical clock.
// So timestamps are monotonic per node, respect happened-before among the events a node has seen
// (a write is later than every version its node observed), and stay close to physical time (they
// run ahead of a node's clock only by what the fastest clock it heard from showed, plus the writes
// made since within one ms).
//
// A timestamp is one safe integer, `physicalMs * 1024 + logical` with logical < 1024, so it
// compares, encodes and stores as a plain number. When the logical part would reach 1024 the
// physical part advances by one instead (the paper allows the clock to run ahead). Physical time
// fits up to 2^53 / 1024 ms: the year 2248.
//
// Pure: the physical time is passed in (the request's realtimeMs); nothing here reads a clock.

import { assert } from '../base/assert.ts';

/** The logical counter occupies the low 10 bits' worth: 1024 timestamps per millisecond. */
export const logicalPerMs = 1024;

/** The largest physical time a timestamp can carry, in ms since the epoch (year 2248). */
export const physicalMsMax = Math.floor(Number.MAX_SAFE_INTEGER / logicalPerMs);

/** The largest timestamp: physicalMsMax with a full logical part. */
export const timestampMax = Number.MAX_SAFE_INTEGER;

function assertTimestamp(timestamp: number): void {
  assert(Number.isSafeInteger(timestamp) && timestamp >= 0, 'a timestamp is a non-negative safe integer');
}

/** The timestamp of physical time `physicalMs` with a logical part of zero. */
export function timestampAt(physicalMs: number): number {
  assert(
    Number.isSafeInteger(physicalMs) && physicalMs >= 0 && physicalMs <= physicalMsMax,
    'physical time within the clock range',
  );
  return physicalMs * logicalPerMs;
}

/** The physical part: the ms since the epoch the timestamp stands for. */
export function physicalMsOf(timestamp: number): number {
  assertTimestamp(timestamp);
  return Math.floor(timestamp / logicalPerMs);
}

/** The logical part: how many timestamps were issued before this one within its physical ms. */
export function logicalOf(timestamp: number): number {
  assertTimestamp(timestamp);
  return timestamp % logicalPerMs;
}

/**
 * The timestamp of a new event on a node whose last timestamp is `last` and whose clock reads
 * `physicalMs`: later than `last`, and not before the clock. A clock past the range saturates at
 * its end, and so does a node already at timestampMax (only a corrupted record can put it there):
 * the order then stops being strict rather than failing every write.
 */
export function nextTimestamp(last: number, physicalMs: number): number {
  assertTimestamp(last);
  assert(Number.isSafeInteger(physicalMs) && physicalMs >= 0, 'physical time is a non-negative integer');
  const physical = timestampAt(Math.min(physicalMs, physicalMsMax));
  return Math.max(Math.min(last, timestampMax - 1) + 1, physical);
}

/** A node's last timestamp after it has seen `seen` (in a record it read, stored or received). */
export function observeTimestamp(last: number, seen: number): number {
  assertTimestamp(last);
  assertTimestamp(seen);
  return seen > last ? seen : last;
}

/** Orders two timestamps: negative when `a` is earlier. */
export function compareTimestamps(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
