// Why: the in-memory StorageEngine for tests, the simulator's reference behaviour and caches. It is
// the dumb model the conformance suite holds every other engine to: atomic batches, byte-ordered
// scans with inclusive start / exclusive end, namespaces isolated. Not durable: a restart loses all.
// Keys and values are held as latin1 strings, one char per byte: a put copies the caller's bytes by
// construction, a get hands out a fresh copy from Node's buffer pool, and the garbage collector sees
// one string per value instead of an ArrayBuffer with a malloc'd backing store (measured: with 100k
// keys held as Uint8Arrays, GC sweeping them dominated a replica's CPU per request).
import type { BatchOperation, ScanOptions, StorageCapabilities, StorageEngine } from '../../runtime/ports.ts';
import { assert } from '../../core/base/assert.ts';
import { EverwriteError } from '../../core/base/errors.ts';
import { assertNamespace, assertScanOptions, latin1 } from './namespace-keys.ts';

/**
 * A read-modify-write looks a key up and then writes it, with the same key array: the string of
 * the last key is kept (checked byte by byte, so a caller that reuses an array for another key
 * still gets the right one), which spares the second conversion and lets the Map reuse the
 * string's cached hash.
 */
let lastKeyBytes: Uint8Array | undefined;
let lastKeyString = '';

function keyString(key: Uint8Array): string {
  if (key === lastKeyBytes && holdsLatin1(key, lastKeyString)) return lastKeyString;
  lastKeyString = latin1(key);
  lastKeyBytes = key;
  return lastKeyString;
}

function holdsLatin1(bytes: Uint8Array, text: string): boolean {
  if (bytes.length !== text.length) return false;
  for (let index = 0; index < bytes.length; index++) if (bytes[index] !== text.charCodeAt(index)) return false;
  return true;
}

/**
 * One namespace: a Map for point access plus a lazily rebuilt sorted key list for scans. Keys are
 * Map-keyed as latin1 strings, one char per byte, so JavaScript's string order is byte order.
 */
class MemoryNamespace {
  readonly entries = new Map<string, string>();
  private sortedKeys: string[] | undefined = [];

  get(key: Uint8Array): Uint8Array | undefined {
    const value = this.entries.get(keyString(key));
    return value === undefined ? undefined : Buffer.from(value, 'latin1');
  }

  put(key: Uint8Array, value: Uint8Array): void {
    const entries = this.entries;
    const size = entries.size;
    entries.set(keyString(key), latin1(value));
    if (entries.size !== size) this.sortedKeys = undefined;
  }

  delete(key: Uint8Array): void {
    if (this.entries.delete(keyString(key))) this.sortedKeys = undefined;
  }

  /** Entries in [start, end), at most `limit`, as latin1 [key, value] pairs taken now. */
  range(options: ScanOptions | undefined): Array<readonly [string, string]> {
    const sorted = (this.sortedKeys ??= [...this.entries.keys()].sort());
    const start = options?.start === undefined ? undefined : latin1(options.start);
    const end = options?.end === undefined ? undefined : latin1(options.end);
    const limit = options?.limit ?? Number.POSITIVE_INFINITY;
    const out: Array<readonly [string, string]> = [];
    for (
      let index = start === undefined ? 0 : lowerBound(sorted, start);
      index < sorted.length && out.length < limit;
      index++
    ) {
      const mapKey = sorted[index] as string;
      if (end !== undefined && mapKey >= end) break;
      out.push([mapKey, this.entries.get(mapKey) as string]);
    }
    return out;
  }
}

function lowerBound(sorted: readonly string[], target: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((sorted[middle] as string) < target) low = middle + 1;
    else high = middle;
  }
  return low;
}

const resolved: Promise<void> = Promise.resolve();

export class MemoryEngine implements StorageEngine {
  readonly capabilities: StorageCapabilities = Object.freeze({
    atomicBatch: true,
    durableWrites: false,
    orderedScan: true,
  });
  private readonly namespaces = new Map<number, MemoryNamespace>();
  private opened = false;

  open(): Promise<void> {
    this.opened = true;
    return resolved;
  }

  close(): Promise<void> {
    // Data stays: a closed then reopened MemoryEngine object keeps its contents (a process restart does not).
    this.opened = false;
    return resolved;
  }

  get(namespace: number, key: Uint8Array): Promise<Uint8Array | undefined> {
    const failure = this.checkUsable(namespace);
    if (failure !== undefined) return Promise.reject(failure);
    return Promise.resolve(this.namespaces.get(namespace)?.get(key));
  }

  /** StorageEngine.getNow: everything is in memory. */
  readonly getNow = (namespace: number, key: Uint8Array): Uint8Array | undefined => {
    const failure = this.checkUsable(namespace);
    if (failure !== undefined) throw failure;
    return this.namespaces.get(namespace)?.get(key);
  };

  /** StorageEngine.readNow: getNow. */
  readonly readNow = this.getNow;

  /** StorageEngine.batchNow: `batch` without the promise. */
  readonly batchNow = (namespace: number, operations: readonly BatchOperation[]): void => {
    const failure = this.checkUsable(namespace);
    if (failure !== undefined) throw failure;
    this.apply(namespace, operations);
  };

  batch(
    namespace: number,
    operations: readonly BatchOperation[],
    _options: { readonly durable: boolean },
  ): Promise<void> {
    const failure = this.checkUsable(namespace);
    if (failure !== undefined) return Promise.reject(failure);
    this.apply(namespace, operations);
    return resolved;
  }

  private apply(namespace: number, operations: readonly BatchOperation[]): void {
    // Every operation is checked before any is applied, so a bad batch changes nothing (atomicity).
    for (const operation of operations)
      assert(operation.type === 'put' || operation.type === 'delete', 'unknown batch operation');
    if (operations.length === 0) return;
    let entries = this.namespaces.get(namespace);
    if (entries === undefined) this.namespaces.set(namespace, (entries = new MemoryNamespace()));
    for (const operation of operations) {
      if (operation.type === 'put') entries.put(operation.key, operation.value);
      else entries.delete(operation.key);
    }
  }

  scan(namespace: number, options?: ScanOptions): AsyncIterable<readonly [Uint8Array, Uint8Array]> {
    assertScanOptions(options);
    const failure = this.checkUsable(namespace);
    const namespaces = this.namespaces;
    return {
      async *[Symbol.asyncIterator]() {
        if (failure !== undefined) throw failure;
        // The range is taken when iteration starts: a consistent snapshot, whatever happens after.
        const entries = namespaces.get(namespace)?.range(options) ?? [];
        for (const [key, value] of entries) yield [Buffer.from(key, 'latin1'), Buffer.from(value, 'latin1')] as const;
      },
    };
  }

  drop(namespace: number): Promise<void> {
    const failure = this.checkUsable(namespace);
    if (failure !== undefined) return Promise.reject(failure);
    this.namespaces.delete(namespace);
    return resolved;
  }

  private checkUsable(namespace: number): EverwriteError | undefined {
    assertNamespace(namespace);
    if (!this.opened) return new EverwriteError('EVERWRITE_STORAGE_FAILED', 'memory engine is not open');
    return undefined;
  }
}
