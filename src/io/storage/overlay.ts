// Why: a LoggedEngine acknowledges a write once it is in the log, before the inner engine has it.
// Reads must still see it (docs/ARCHITECTURE.md section 3), so writes not yet applied live here,
// keyed by namespace and key, and leave once the inner engine has applied them.
//
// An entry holds two views of its key. The acknowledged one (value, sequence) is what reads see: a
// write is visible from its acknowledgement on, never before. The latest one (latest,
// latestSequence) includes writes handed to the engine but not yet acknowledged: the replica store
// reads it to build the next version of a key in one synchronous step, without waiting for the
// previous write's fdatasync (decision 0043). Sequences are the log's order, so an older write never
// hides a newer one, and an entry leaves only when its latest write has reached the inner engine.
// Each batch keeps the entries it queued, so acknowledging and releasing it looks nothing up.
import type { BatchOperation, ScanOptions, SyncRead } from '../../runtime/ports.ts';
import { latin1 } from './namespace-keys.ts';

export interface OverlayEntry {
  /** The key as a latin1 string (one char per byte): Map key, and byte order under string comparison. */
  readonly mapKey: string;
  readonly namespace: number;
  readonly key: Uint8Array;
  /** The acknowledged value, or undefined for an acknowledged delete (a tombstone hiding the inner value). */
  value: Uint8Array | undefined;
  /** Sequence of the newest acknowledged write to this key; 0 while none is (reads fall through to the inner engine). */
  sequence: number;
  /** The value of the newest write handed over, acknowledged or not (undefined: a delete). */
  latest: Uint8Array | undefined;
  /** Sequence of the newest write handed over. */
  latestSequence: number;
}

export class Overlay {
  private readonly namespaces = new Map<number, Map<string, OverlayEntry>>();
  /** Per namespace with a drop handed over and not yet applied, that drop's sequence. */
  private readonly drops = new Map<number, number>();
  private entryCount = 0;

  get size(): number {
    return this.entryCount;
  }

  /**
   * Records a batch handed over at `sequence` as each key's latest write, not yet visible to reads;
   * answers its entries, in the order of the operations, for `acknowledge` and `release`.
   */
  queue(namespace: number, operations: readonly BatchOperation[], sequence: number): OverlayEntry[] {
    let entries = this.namespaces.get(namespace);
    if (entries === undefined) this.namespaces.set(namespace, (entries = new Map()));
    const queued: OverlayEntry[] = new Array<OverlayEntry>(operations.length);
    for (let index = 0; index < operations.length; index++) {
      const operation = operations[index] as BatchOperation;
      const mapKey = latin1(operation.key);
      const value = operation.type === 'put' ? operation.value : undefined;
      let entry = entries.get(mapKey);
      if (entry === undefined) {
        entry = {
          mapKey,
          namespace,
          key: operation.key,
          value: undefined,
          sequence: 0,
          latest: value,
          latestSequence: sequence,
        };
        entries.set(mapKey, entry);
        this.entryCount++;
      } else {
        entry.latest = value;
        entry.latestSequence = sequence;
      }
      queued[index] = entry;
    }
    return queued;
  }

  /** A drop of the namespace was handed over at `sequence`: the latest view of each of its keys is empty, up to later writes. */
  queueDrop(namespace: number, sequence: number): void {
    this.drops.set(namespace, sequence);
  }

  /** The batch queued at `sequence` (its entries from `queue`) is acknowledged: reads see it, unless they see a newer write. */
  acknowledge(queued: readonly OverlayEntry[], operations: readonly BatchOperation[], sequence: number): void {
    for (let index = 0; index < queued.length; index++) {
      const entry = queued[index] as OverlayEntry;
      if (entry.sequence > sequence) continue;
      const operation = operations[index] as BatchOperation;
      entry.value = operation.type === 'put' ? operation.value : undefined;
      entry.sequence = sequence;
    }
  }

  /** True when the namespace has entries or a drop under way; lets reads skip building a Map key in the common case. */
  has(namespace: number): boolean {
    const entries = this.namespaces.get(namespace);
    return (entries !== undefined && entries.size > 0) || this.drops.has(namespace);
  }

  /** The acknowledged entry for a key, or undefined when reads should ask the inner engine. */
  lookup(namespace: number, key: Uint8Array): OverlayEntry | undefined {
    const entry = this.namespaces.get(namespace)?.get(latin1(key));
    return entry === undefined || entry.sequence === 0 ? undefined : entry;
  }

  /**
   * The key's latest value, acknowledged or not, asking `readInner` when the overlay knows nothing
   * newer than the inner engine (without building a Map key when the namespace has no entries).
   */
  latest(namespace: number, key: Uint8Array, readInner: SyncRead): Uint8Array | undefined {
    const entry = this.namespaces.get(namespace)?.get(latin1(key));
    const drop = this.drops.get(namespace);
    if (entry !== undefined && (drop === undefined || entry.latestSequence > drop)) return entry.latest;
    return drop === undefined ? readInner(namespace, key) : undefined;
  }

  /**
   * Removes the entries whose latest write is at or before `appliedSequence`: the inner engine has
   * them. An entry kept for a newer write not yet applied stops answering reads with an acknowledged
   * write the inner engine now has: reads ask the inner engine again, which may hold something newer
   * than that write, such as a drop applied in the same run.
   */
  release(queued: readonly OverlayEntry[], appliedSequence: number): void {
    for (let index = 0; index < queued.length; index++) {
      const entry = queued[index] as OverlayEntry;
      if (entry.latestSequence > appliedSequence) {
        if (entry.sequence <= appliedSequence) {
          entry.sequence = 0;
          entry.value = undefined;
        }
        continue;
      }
      const entries = this.namespaces.get(entry.namespace);
      if (entries?.get(entry.mapKey) !== entry) continue;
      entries.delete(entry.mapKey);
      this.entryCount--;
      if (entries.size === 0) this.namespaces.delete(entry.namespace);
    }
  }

  /** The drop handed over at `sequence` is applied: the inner engine has dropped the namespace. */
  releaseDrop(namespace: number, sequence: number): void {
    if (this.drops.get(namespace) === sequence) this.drops.delete(namespace);
  }

  /** A snapshot of the namespace's acknowledged entries within the scan bounds, in ascending key order. */
  range(namespace: number, options: ScanOptions | undefined): OverlaySnapshot[] {
    const entries = this.namespaces.get(namespace);
    if (entries === undefined) return [];
    const start = options?.start === undefined ? undefined : latin1(options.start);
    const end = options?.end === undefined ? undefined : latin1(options.end);
    const out: OverlaySnapshot[] = [];
    for (const entry of entries.values()) {
      if (entry.sequence === 0) continue;
      if (start !== undefined && entry.mapKey < start) continue;
      if (end !== undefined && entry.mapKey >= end) continue;
      out.push({ mapKey: entry.mapKey, key: entry.key, value: entry.value });
    }
    return out.sort((a, b) => (a.mapKey < b.mapKey ? -1 : a.mapKey > b.mapKey ? 1 : 0));
  }
}

export interface OverlaySnapshot {
  readonly mapKey: string;
  readonly key: Uint8Array;
  readonly value: Uint8Array | undefined;
}

/**
 * Merges a sorted overlay snapshot into the inner engine's scan: overlay entries replace inner ones
 * with the same key, tombstones hide them. The caller passes the inner scan a limit raised by the
 * number of tombstones, which is enough for `limit` surviving entries.
 */
export async function* mergeScan(
  overlay: readonly OverlaySnapshot[],
  inner: AsyncIterable<readonly [Uint8Array, Uint8Array]>,
  limit: number,
): AsyncGenerator<readonly [Uint8Array, Uint8Array]> {
  if (limit <= 0) return;
  let emitted = 0;
  let next = 0;
  for await (const [key, value] of inner) {
    while (next < overlay.length && Buffer.compare((overlay[next] as OverlaySnapshot).key, key) < 0) {
      const entry = overlay[next++] as OverlaySnapshot;
      if (entry.value === undefined) continue;
      yield [entry.key, entry.value] as const;
      if (++emitted >= limit) return;
    }
    const same =
      next < overlay.length && Buffer.compare((overlay[next] as OverlaySnapshot).key, key) === 0
        ? (overlay[next++] as OverlaySnapshot)
        : undefined;
    if (same !== undefined && same.value === undefined) continue;
    yield same === undefined ? ([key, value] as const) : ([same.key, same.value as Uint8Array] as const);
    if (++emitted >= limit) return;
  }
  for (; next < overlay.length; next++) {
    const entry = overlay[next] as OverlaySnapshot;
    if (entry.value === undefined) continue;
    yield [entry.key, entry.value] as const;
    if (++emitted >= limit) return;
  }
}
