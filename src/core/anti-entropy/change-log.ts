// Why: a hash-ordered Merkle tree scatters an hour of changes over every leaf, so a replica back
// from an outage costs a full tree exchange of every partition it holds. The change log is the
// time-ordered summary beside the trees (decision 0020): the keys this replica stored, in the order
// it stored them, so the changes since a peer went down can be listed directly, O(changes). It is
// bounded in entries and in key bytes; the oldest entries are evicted first, and the log then says
// it no longer covers the time before the eviction, so a caller falls back to the full exchange.
// It is memory only: after a restart it covers only what this incarnation stored.
import { assert } from '../base/assert.ts';

export interface ChangeLogLimits {
  /** Entries kept at most; a write of a key already logged takes another entry. */
  readonly entriesMax: number;
  /** Bytes of keys kept at most (a key counts its length). */
  readonly keyBytesMax: number;
}

/** One ring of parallel arrays: no object per entry, so the collector has nothing to walk but the key strings. */
export class ChangeLog {
  private readonly timesMs: Float64Array;
  private readonly partitions: Int32Array;
  private readonly keys: string[];
  private head = 0;
  private count = 0;
  private keyBytes = 0;
  private lastMs: number;
  /** The time of the newest evicted entry: changes at or before it may be missing. */
  private evictedUpToMs = Number.NEGATIVE_INFINITY;

  /** `startedMs`: the log holds every change from this time on (this incarnation's start). */
  constructor(
    private readonly limits: ChangeLogLimits,
    private readonly startedMs: number,
  ) {
    assert(Number.isSafeInteger(limits.entriesMax) && limits.entriesMax > 0, 'entriesMax is a positive integer');
    assert(Number.isSafeInteger(limits.keyBytesMax) && limits.keyBytesMax > 0, 'keyBytesMax is a positive integer');
    this.timesMs = new Float64Array(limits.entriesMax);
    this.partitions = new Int32Array(limits.entriesMax);
    this.keys = new Array<string>(limits.entriesMax).fill('');
    this.lastMs = startedMs;
  }

  get size(): number {
    return this.count;
  }

  get bytes(): number {
    return this.keyBytes;
  }

  /** Logs that `key` (latin1 text of the storage key) of `partition` was stored at `nowMs`. A clock going back is held at its last reading. */
  note(nowMs: number, partition: number, key: string): void {
    if (key.length > this.limits.keyBytesMax) {
      // Cannot be kept: the log stops covering anything before now.
      this.evictedUpToMs = Math.max(this.evictedUpToMs, nowMs, this.lastMs);
      return;
    }
    this.lastMs = Math.max(this.lastMs, nowMs);
    while (this.count === this.limits.entriesMax || this.keyBytes + key.length > this.limits.keyBytesMax)
      this.evictOldest();
    const slot = (this.head + this.count) % this.limits.entriesMax;
    this.timesMs[slot] = this.lastMs;
    this.partitions[slot] = partition;
    this.keys[slot] = key;
    this.keyBytes += key.length;
    this.count++;
  }

  /** Whether every change from `sinceMs` on is still in the log. */
  covers(sinceMs: number): boolean {
    return sinceMs >= this.startedMs && sinceMs > this.evictedUpToMs;
  }

  /**
   * The distinct keys stored from `sinceMs` on, by partition, for the partitions `wanted` accepts;
   * undefined when the log does not cover `sinceMs`.
   */
  changesSince(sinceMs: number, wanted: (partition: number) => boolean): Map<number, string[]> | undefined {
    if (!this.covers(sinceMs)) return undefined;
    const byPartition = new Map<number, Set<string>>();
    for (let offset = this.firstAtOrAfter(sinceMs); offset < this.count; offset++) {
      const slot = (this.head + offset) % this.limits.entriesMax;
      const partition = this.partitions[slot] as number;
      if (!wanted(partition)) continue;
      let keys = byPartition.get(partition);
      if (keys === undefined) byPartition.set(partition, (keys = new Set()));
      keys.add(this.keys[slot] as string);
    }
    const changes = new Map<number, string[]>();
    for (const [partition, keys] of byPartition) changes.set(partition, [...keys]);
    return changes;
  }

  /** Offset of the first entry at or after `sinceMs` (entries are in time order). */
  private firstAtOrAfter(sinceMs: number): number {
    let low = 0;
    let high = this.count;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.timesMs[(this.head + middle) % this.limits.entriesMax] as number) < sinceMs) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  private evictOldest(): void {
    const slot = this.head;
    this.evictedUpToMs = Math.max(this.evictedUpToMs, this.timesMs[slot] as number);
    this.keyBytes -= (this.keys[slot] as string).length;
    this.keys[slot] = '';
    this.head = (this.head + 1) % this.limits.entriesMax;
    this.count--;
  }
}
