// Why: the paper's vector clocks, kept as a faithful reference point. Everwrite versions records
// with dotted version vector sets (dvv.ts); this module exists so tests can show what plain
// per-coordinator clocks get wrong (lost concurrent writes, false conflicts after truncation) and
// so the benchmark can compare the two. Timestamps come in as arguments: the core never reads a clock.

import { assert } from '../base/assert.ts';

/** One (node, counter) pair plus the time that node last advanced it, used only for truncation. */
export interface ClockEntry {
  readonly node: string;
  readonly counter: number;
  readonly timestampMs: number;
}

/** Entries sorted by node name, at most one per node, every counter >= 1. */
export type VectorClock = readonly ClockEntry[];

/** How clock `a` relates to clock `b`: 'before' means a happened before b. */
export type ClockOrder = 'before' | 'after' | 'equal' | 'concurrent';

export const emptyClock: VectorClock = Object.freeze([]);

/** The paper's truncation threshold: past this many entries the oldest one is dropped. */
export const clockEntriesMaxDefault = 10;

function compareNodes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Builds a canonical clock from entries in any order; a node listed twice keeps its larger counter. */
export function clockFromEntries(entries: Iterable<ClockEntry>): VectorClock {
  let clock: VectorClock = emptyClock;
  for (const entry of entries) {
    assert(Number.isSafeInteger(entry.counter) && entry.counter >= 1, 'clock counters are positive integers');
    clock = mergeClocks(clock, [entry]);
  }
  return clock;
}

export function counterOf(clock: VectorClock, node: string): number {
  for (const entry of clock) if (entry.node === node) return entry.counter;
  return 0;
}

/** Walks both sorted clocks once; a node missing from one side counts as counter 0 there. */
export function compareClocks(a: VectorClock, b: VectorClock): ClockOrder {
  let aAhead = false;
  let bAhead = false;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const left = a[i];
    const right = b[j];
    const order = left === undefined ? 1 : right === undefined ? -1 : compareNodes(left.node, right.node);
    if (order < 0) {
      aAhead = true;
      i++;
    } else if (order > 0) {
      bAhead = true;
      j++;
    } else {
      const leftCounter = (left as ClockEntry).counter;
      const rightCounter = (right as ClockEntry).counter;
      if (leftCounter > rightCounter) aAhead = true;
      else if (leftCounter < rightCounter) bAhead = true;
      i++;
      j++;
    }
    if (aAhead && bAhead) return 'concurrent';
  }
  if (aAhead) return 'after';
  if (bAhead) return 'before';
  return 'equal';
}

/** Of two entries for the same node, the one with the larger counter (then the later timestamp). */
function laterEntry(a: ClockEntry, b: ClockEntry): ClockEntry {
  if (a.counter !== b.counter) return a.counter > b.counter ? a : b;
  return a.timestampMs >= b.timestampMs ? a : b;
}

/** Pointwise maximum: the least clock that descends from both. */
export function mergeClocks(a: VectorClock, b: VectorClock): VectorClock {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  const merged: ClockEntry[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const left = a[i];
    const right = b[j];
    const order = left === undefined ? 1 : right === undefined ? -1 : compareNodes(left.node, right.node);
    if (order < 0) {
      merged.push(left as ClockEntry);
      i++;
    } else if (order > 0) {
      merged.push(right as ClockEntry);
      j++;
    } else {
      merged.push(laterEntry(left as ClockEntry, right as ClockEntry));
      i++;
      j++;
    }
  }
  return merged;
}

/**
 * Drops oldest-timestamp entries until at most `entriesMax` remain (ties broken by node name so the
 * result is deterministic). `keepNode`, when given, is never dropped: it is the node that just wrote.
 */
export function truncateClock(clock: VectorClock, entriesMax = clockEntriesMaxDefault, keepNode?: string): VectorClock {
  assert(Number.isSafeInteger(entriesMax) && entriesMax >= 1, 'entriesMax is a positive integer');
  if (clock.length <= entriesMax) return clock;
  const droppable = clock.filter((entry) => entry.node !== keepNode);
  droppable.sort((x, y) => x.timestampMs - y.timestampMs || compareNodes(x.node, y.node));
  const dropped = new Set(droppable.slice(0, clock.length - entriesMax).map((entry) => entry.node));
  return clock.filter((entry) => !dropped.has(entry.node));
}

/** The coordinator's step: advance `node`'s counter, stamp it, then truncate past `entriesMax`. */
export function incrementClock(
  clock: VectorClock,
  node: string,
  timestampMs: number,
  entriesMax = clockEntriesMaxDefault,
): VectorClock {
  assert(node.length > 0, 'a clock node has a name');
  const next: ClockEntry = { node, counter: counterOf(clock, node) + 1, timestampMs };
  const withoutNode = clock.filter((entry) => entry.node !== node);
  return truncateClock(mergeClocks(withoutNode, [next]), entriesMax, node);
}
