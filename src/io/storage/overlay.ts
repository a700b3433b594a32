// Why: a LoggedEngine acknowledges a write once it is in the log, before the inner engine has it.
// Reads must still see it (docs/ARCHITECTURE.md section 3), so acknowledged-but-unapplied writes live here,
// keyed by namespace and key, and leave once the inner engine has applied them. Each entry carries
// the sequence of the newest write to its key, so an older write never hides a newer one and an
// entry is released only when its newest write has reached the inner engine.
import type { BatchOperation, ScanOptions } from '../../runtime/ports.ts';
import { latin1 } from './namespace-keys.ts';

export interface OverlayEntry {
  /** The key as a latin1 string (one char per byte): Map key, and byte order under string comparison. */
  readonly mapKey: string;
  readonly namespace: number;
  key: Uint8Array;
  /** The acknowledged value, or undefined for an acknowledged delete (a tombstone hiding the inner value). */
  value: Uint8Array | undefined;
  /** Sequence of the newest acknowledged write to this key. */
  sequence: number;
}

export class Overlay {
  private readonly namespaces = new Map<number, Map<string, OverlayEntry>>();
  private entryCount = 0;

  get size(): number {
    return this.entryCount;
  }

  /**
   * Records an acknowledged batch written at `sequence`, unless a newer write to a key is already
   * here. Appends every entry it creates or updates to `touched`, for `release`.
   */
  record(namespace: number, operations: readonly BatchOperation[], sequence: number, touched: OverlayEntry[]): void {
    let entries = this.namespaces.get(namespace);
    if (entries === undefined) this.namespaces.set(namespace, (entries = new Map()));
    for (let index = 0; index < operations.length; index++) {
      const operation = operations[index] as BatchOperation;
      const mapKey = latin1(operation.key);
      const value = operation.type === 'put' ? operation.value : undefined;
      let entry = entries.get(mapKey);
      if (entry === undefined) {
        entry = { mapKey, namespace, key: operation.key, value, sequence };
        entries.set(mapKey, entry);
        this.entryCount++;
      } else if (entry.sequence <= sequence) {
        entry.key = operation.key;
        entry.value = value;
        entry.sequence = sequence;
      } else {
        continue;
      }
      touched.push(entry);
    }
  }

  /** True when the namespace has entries; lets reads skip building a Map key in the common case. */
  has(namespace: number): boolean {
    const entries = this.namespaces.get(namespace);
    return entries !== undefined && entries.size > 0;
  }

  /** The entry for a key, or undefined when the overlay knows nothing newer than the inner engine. */
  lookup(namespace: number, key: Uint8Array): OverlayEntry | undefined {
    return this.namespaces.get(namespace)?.get(latin1(key));
  }

  /** Removes the entries whose newest write is at or before `appliedSequence`: the inner engine has them. */
  release(touched: readonly OverlayEntry[], appliedSequence: number): void {
    for (let index = 0; index < touched.length; index++) {
      const entry = touched[index] as OverlayEntry;
      if (entry.sequence > appliedSequence) continue;
      const entries = this.namespaces.get(entry.namespace);
      if (entries?.get(entry.mapKey) !== entry) continue;
      entries.delete(entry.mapKey);
      this.entryCount--;
      if (entries.size === 0) this.namespaces.delete(entry.namespace);
    }
  }

  /** A snapshot of the namespace's entries within the scan bounds, in ascending key order. */
  range(namespace: number, options: ScanOptions | undefined): OverlaySnapshot[] {
    const entries = this.namespaces.get(namespace);
    if (entries === undefined) return [];
    const start = options?.start === undefined ? undefined : latin1(options.start);
    const end = options?.end === undefined ? undefined : latin1(options.end);
    const out: OverlaySnapshot[] = [];
    for (const entry of entries.values()) {
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
