// Why: a hash-ordered Merkle tree scatters an hour of changes over every leaf, so a replica back
// from an outage costs a full tree exchange of every partition it holds. The change log is the
// time-ordered summary beside the trees (decision 0020): the keys this replica stored, in the order
// it stored them, so the changes since a peer went down can be listed directly, O(changes). It is
// bounded in entries and in key bytes; the oldest entries are evicted first, and the log then says
// it no longer covers the time before the eviction, so a caller falls back to the full exchange.
// It is memory only: after a restart it covers only what this incarnation stored.
//
// Every write a replica stores is noted here, so noting allocates nothing: the keys' bytes are
// copied into one byte ring (grown by doubling up to the key byte bound), not kept as a string or
// an array each (a string built per write was ~650 bytes of garbage per SET, bench/alloc-per-set.ts).
// Strings are made only when a catch-up lists the changes.
import { assert } from '../base/assert.ts';

export interface ChangeLogLimits {
  /** Entries kept at most; a write of a key already logged takes another entry. */
  readonly entriesMax: number;
  /** Bytes of keys kept at most (a key counts its length). */
  readonly keyBytesMax: number;
}

/** Bytes of key ring a log starts with; it doubles as keys need, up to `keyBytesMax`. */
const keyRingBytesInitial = 4096;

/** One ring of parallel arrays and one ring of key bytes: no object per entry, nothing for the collector to walk. */
export class ChangeLog {
  private readonly timesMs: Float64Array;
  private readonly partitions: Int32Array;
  /** Where each entry's key starts in the key ring, as a running byte position (the ring index is it modulo the ring's length). */
  private readonly keyStarts: Float64Array;
  private readonly keyLengths: Int32Array;
  private keyRing: Uint8Array;
  /** Running byte position of the oldest entry's key, and one past the newest's. */
  private keyRingStart = 0;
  private keyRingEnd = 0;
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
    this.keyStarts = new Float64Array(limits.entriesMax);
    this.keyLengths = new Int32Array(limits.entriesMax);
    this.keyRing = new Uint8Array(Math.min(keyRingBytesInitial, limits.keyBytesMax));
    this.lastMs = startedMs;
  }

  get size(): number {
    return this.count;
  }

  get bytes(): number {
    return this.keyBytes;
  }

  /** Logs that the storage key `key` of `partition` was stored at `nowMs` (the bytes are copied). A clock going back is held at its last reading. */
  note(nowMs: number, partition: number, key: Uint8Array): void {
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
    this.keyStarts[slot] = this.keyRingEnd;
    this.keyLengths[slot] = key.length;
    this.copyIntoRing(key);
    this.keyBytes += key.length;
    this.count++;
  }

  /** Appends `key` at the ring's end, growing the ring first when the held keys and it would not fit. */
  private copyIntoRing(key: Uint8Array): void {
    if (this.keyRingEnd - this.keyRingStart + key.length > this.keyRing.length) this.growRing(key.length);
    const ring = this.keyRing;
    let at = this.keyRingEnd % ring.length;
    for (let index = 0; index < key.length; index++) {
      ring[at] = key[index] as number;
      at = at + 1 === ring.length ? 0 : at + 1;
    }
    this.keyRingEnd += key.length;
  }

  /** Doubles the ring (at most to keyBytesMax) until `extra` more bytes fit; held bytes keep their running positions. */
  private growRing(extra: number): void {
    const held = this.keyRingEnd - this.keyRingStart;
    assert(held + extra <= this.limits.keyBytesMax, 'eviction keeps the held key bytes within keyBytesMax');
    let length = this.keyRing.length;
    while (held + extra > length) length = Math.min(length * 2, this.limits.keyBytesMax);
    const grown = new Uint8Array(length);
    for (let position = this.keyRingStart; position < this.keyRingEnd; position++)
      grown[position % length] = this.keyRing[position % this.keyRing.length] as number;
    this.keyRing = grown;
  }

  /** The key of the entry in `slot`, one char per byte. */
  private keyText(slot: number): string {
    const ring = this.keyRing;
    const start = this.keyStarts[slot] as number;
    const end = start + (this.keyLengths[slot] as number);
    let text = '';
    for (let position = start; position < end; position++)
      text += String.fromCharCode(ring[position % ring.length] as number);
    return text;
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
      keys.add(this.keyText(slot));
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
    const length = this.keyLengths[slot] as number;
    this.keyBytes -= length;
    this.keyRingStart += length;
    this.head = (this.head + 1) % this.limits.entriesMax;
    this.count--;
  }
}
