// Why: lmdb (lmdb-js) is the default engine (docs/ARCHITECTURE.md section 3): synchronous reads from a memory
// map, atomic transactions, a crash-safe B+tree. One lmdb environment per data directory; each
// namespace is a key prefix (u16 big-endian, see namespace-keys.ts) in the root database rather than
// a named sub-database, because the port allows 65536 namespaces while every lmdb sub-database costs
// a slot of `maxDbs` and a lookup in the main tree; with prefixes a namespace is one contiguous range,
// so scan and drop are range operations over a single tree.
//
// Durability: lmdb-js resolves a write when its transaction commits (visible to readers), and flushes
// to disk just after (overlappingSync). A durable batch therefore resolves only after `flushed`; a
// buffered one resolves at commit. An empty durable batch is a durability barrier: it resolves once
// every batch resolved before it is on disk (LoggedEngine relies on this to checkpoint).
import { open, type RootDatabase } from 'lmdb';
import { mkdirSync } from 'node:fs';
import type { BatchOperation, ScanOptions, StorageCapabilities, StorageEngine } from '../../runtime/ports.ts';
import { assert } from '../../core/base/assert.ts';
import { EverwriteError } from '../../core/base/errors.ts';
import {
  assertNamespace,
  assertScanOptions,
  namespacePrefixBytes,
  prefixedKey,
  prefixedRange,
  unprefixedKey,
} from './namespace-keys.ts';
import { directoryOption, integerOption, storageFailure } from './options.ts';

export interface LmdbEngineOptions {
  /** Directory holding this engine's lmdb environment (data.mdb, lock.mdb). Required; created if missing. One engine per directory. */
  readonly directory: string;
  /**
   * Keys deleted per transaction by `drop`, in entries. Default 10000. Why: dropping a large
   * namespace in one transaction would hold the single writer and grow the dirty page list for
   * seconds; chunks let other writes interleave.
   */
  readonly dropChunkEntries?: number;
  /**
   * Address space reserved for the memory map, in bytes. Default 256 GiB. Why: lmdb-js otherwise
   * starts with a 128 KiB map and maps the file again each time it doubles, keeping the old
   * mappings, so a node of 1M keys counted its 325 MB data file about twice in its RSS (eleven
   * overlapping maps, docs/BENCHMARKS.md). A map reserved once is address space only (a read-only
   * shared file mapping, not memory): the file still grows with the data.
   */
  readonly mapSizeBytes?: number;
}

interface ResolvedLmdbOptions {
  readonly directory: string;
  readonly dropChunkEntries: number;
  readonly mapSizeBytes: number;
}

function resolveOptions(options: LmdbEngineOptions): ResolvedLmdbOptions {
  return Object.freeze({
    directory: directoryOption('LmdbEngine', options.directory),
    dropChunkEntries: integerOption('LmdbEngine', 'dropChunkEntries', options.dropChunkEntries, 10_000, 1),
    mapSizeBytes: integerOption('LmdbEngine', 'mapSizeBytes', options.mapSizeBytes, 2 ** 38, 1024 * 1024),
  });
}

export class LmdbEngine implements StorageEngine {
  readonly capabilities: StorageCapabilities = Object.freeze({
    atomicBatch: true,
    durableWrites: true,
    orderedScan: true,
  });
  readonly options: ResolvedLmdbOptions;
  private database: RootDatabase<Uint8Array, Uint8Array> | undefined;
  /** Largest caller key lmdb accepts: its key size limit minus the namespace prefix. */
  private keyBytesMax = 0;

  constructor(options: LmdbEngineOptions) {
    this.options = resolveOptions(options);
  }

  open(): Promise<void> {
    assert(this.database === undefined, 'LmdbEngine opened twice');
    try {
      mkdirSync(this.options.directory, { recursive: true });
      const database = open<Uint8Array, Uint8Array>({
        path: this.options.directory,
        keyEncoding: 'binary',
        encoding: 'binary',
        mapSize: this.options.mapSizeBytes,
      });
      this.keyBytesMax = (database as unknown as { maxKeySize: number }).maxKeySize - namespacePrefixBytes;
      this.database = database;
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(storageFailure(`cannot open lmdb at ${this.options.directory}`, error));
    }
  }

  async close(): Promise<void> {
    const database = this.database;
    if (database === undefined) return;
    this.database = undefined;
    try {
      await database.flushed;
      await database.close();
    } catch (error) {
      throw storageFailure('lmdb close failed', error);
    }
  }

  get(namespace: number, key: Uint8Array): Promise<Uint8Array | undefined> {
    // A bad namespace is a bug: it throws here, as in every engine, rather than rejecting.
    assertNamespace(namespace);
    try {
      return Promise.resolve(this.readNow(namespace, key));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** StorageEngine.readNow: lmdb reads its memory map synchronously. */
  readonly readNow = (namespace: number, key: Uint8Array): Uint8Array | undefined => {
    assertNamespace(namespace);
    const database = this.database;
    if (database === undefined) throw notOpen();
    if (key.length > this.keyBytesMax) return undefined;
    try {
      // getBinary copies out of the memory map, so the bytes stay valid after later writes.
      return database.getBinary(prefixedKey(namespace, key));
    } catch (error) {
      throw storageFailure('lmdb get failed', error);
    }
  };

  batch(
    namespace: number,
    operations: readonly BatchOperation[],
    options: { readonly durable: boolean },
  ): Promise<void> {
    assertNamespace(namespace);
    const database = this.database;
    if (database === undefined) return Promise.reject(notOpen());
    if (operations.length === 0) return options.durable ? this.barrier(database) : Promise.resolve();
    // Everything is validated before lmdb sees any of it: a put that throws half-way through the
    // batch callback would otherwise commit the operations queued before it.
    const keys = new Array<Buffer>(operations.length);
    for (let index = 0; index < operations.length; index++) {
      const operation = operations[index] as BatchOperation;
      assert(operation.type === 'put' || operation.type === 'delete', 'unknown batch operation');
      if (operation.key.length > this.keyBytesMax)
        return Promise.reject(keyTooLarge(operation.key.length, this.keyBytesMax));
      keys[index] = prefixedKey(namespace, operation.key);
    }
    const committed = database.batch(() => {
      for (let index = 0; index < operations.length; index++) {
        const operation = operations[index] as BatchOperation;
        if (operation.type === 'put') void database.put(keys[index] as Buffer, operation.value);
        else void database.remove(keys[index] as Buffer);
      }
    });
    const done = options.durable ? committed.then(() => database.flushed) : committed;
    return done.then(ignore, (error: unknown) => Promise.reject(storageFailure('lmdb batch failed', error)));
  }

  scan(namespace: number, options?: ScanOptions): AsyncIterable<readonly [Uint8Array, Uint8Array]> {
    assertNamespace(namespace);
    assertScanOptions(options);
    return { [Symbol.asyncIterator]: () => this.scanRange(namespace, options) };
  }

  private async *scanRange(
    namespace: number,
    options: ScanOptions | undefined,
  ): AsyncGenerator<readonly [Uint8Array, Uint8Array]> {
    const database = this.database;
    if (database === undefined) throw notOpen();
    const range = prefixedRange(namespace, options);
    // The range iterator reads one lmdb snapshot, taken when iteration starts.
    const entries = database.getRange({
      start: range.start,
      ...(range.end === undefined ? {} : { end: range.end }),
      ...(options?.limit === undefined ? {} : { limit: options.limit }),
    });
    for (const { key, value } of entries) yield [unprefixedKey(key), value] as const;
  }

  async drop(namespace: number): Promise<void> {
    assertNamespace(namespace);
    const database = this.database;
    if (database === undefined) throw notOpen();
    const range = prefixedRange(namespace, undefined);
    try {
      for (;;) {
        const keys = [
          ...database.getKeys({
            start: range.start,
            ...(range.end === undefined ? {} : { end: range.end }),
            limit: this.options.dropChunkEntries,
          }),
        ];
        if (keys.length === 0) break;
        await database.batch(() => {
          for (const key of keys) void database.remove(key);
        });
      }
      await database.flushed;
    } catch (error) {
      throw storageFailure('lmdb drop failed', error);
    }
  }

  private barrier(database: RootDatabase<Uint8Array, Uint8Array>): Promise<void> {
    return Promise.resolve(database.committed)
      .then(() => database.flushed)
      .then(ignore, (error: unknown) => Promise.reject(storageFailure('lmdb flush failed', error)));
  }
}

function ignore(): void {}

function notOpen(): EverwriteError {
  return new EverwriteError('EVERWRITE_STORAGE_FAILED', 'lmdb engine is not open');
}

function keyTooLarge(length: number, maximum: number): EverwriteError {
  return new EverwriteError(
    'EVERWRITE_KEY_TOO_LARGE',
    `storage key of ${length} bytes exceeds lmdb's limit of ${maximum} bytes`,
    { keyBytes: length, keyBytesMax: maximum },
  );
}
