// Why: classic-level (LevelDB, Riak's choice) is the second engine (docs/ARCHITECTURE.md section 3): an LSM
// tree that favours write-heavy loads and large data sets. One LevelDB per data directory; namespaces
// are u16 big-endian key prefixes (namespace-keys.ts), the same layout as the lmdb engine.
//
// Durability: a durable batch is written with `sync: true` (LevelDB fsyncs its log before the write
// returns); a buffered one is handed to the OS without fsync, so it survives a killed process but not
// power loss. An empty durable batch is a durability barrier: it resolves once every write resolved
// before it is durable (LoggedEngine relies on this to checkpoint). A synced write is not enough for
// that: when LevelDB switches to a new log file it closes the old one without fsync, and a sync
// write then flushes only the new one. So the barrier forces the memtable out to a synced table file
// (LevelDB's CompactRange does this first) over a key range no namespace uses: nothing else compacts.
import { ClassicLevel } from 'classic-level';
import { mkdirSync } from 'node:fs';
import type { BatchOperation, ScanOptions, StorageCapabilities, StorageEngine } from '../../runtime/ports.ts';
import { assert } from '../../core/base/assert.ts';
import { EverwriteError } from '../../core/base/errors.ts';
import {
  assertNamespace,
  assertScanOptions,
  prefixedKey,
  prefixedRange,
  privateEngineKey,
  unprefixedKey,
} from './namespace-keys.ts';
import { directoryOption, integerOption, storageFailure } from './options.ts';

export interface LevelEngineOptions {
  /** Directory holding this engine's LevelDB files. Required; created if missing. One engine per directory. */
  readonly directory: string;
  /** LevelDB block cache, in bytes. Default 8 MiB (LevelDB's own default). Why: reads of hot keys skip decompression and disk. */
  readonly cacheBytes?: number;
  /**
   * LevelDB memtable size before it is flushed to a sorted table, in bytes. Default 4 MiB (LevelDB's
   * own). Why: larger absorbs bursts with fewer compactions at the cost of memory and replay time.
   */
  readonly writeBufferBytes?: number;
}

type ResolvedLevelOptions = Required<LevelEngineOptions>;

function resolveOptions(options: LevelEngineOptions): ResolvedLevelOptions {
  return Object.freeze({
    directory: directoryOption('LevelEngine', options.directory),
    cacheBytes: integerOption('LevelEngine', 'cacheBytes', options.cacheBytes, 8 * 1024 * 1024, 0),
    writeBufferBytes: integerOption(
      'LevelEngine',
      'writeBufferBytes',
      options.writeBufferBytes,
      4 * 1024 * 1024,
      64 * 1024,
    ),
  });
}

type LevelDatabase = ClassicLevel<Uint8Array, Uint8Array>;

export class LevelEngine implements StorageEngine {
  readonly capabilities: StorageCapabilities = Object.freeze({
    atomicBatch: true,
    durableWrites: true,
    orderedScan: true,
  });
  readonly options: ResolvedLevelOptions;
  private database: LevelDatabase | undefined;

  constructor(options: LevelEngineOptions) {
    this.options = resolveOptions(options);
  }

  async open(): Promise<void> {
    assert(this.database === undefined, 'LevelEngine opened twice');
    const { directory, cacheBytes, writeBufferBytes } = this.options;
    try {
      mkdirSync(directory, { recursive: true });
      const database: LevelDatabase = new ClassicLevel<Uint8Array, Uint8Array>(directory, {
        keyEncoding: 'view',
        valueEncoding: 'view',
        cacheSize: cacheBytes,
        writeBufferSize: writeBufferBytes,
      });
      await database.open();
      this.database = database;
    } catch (error) {
      throw storageFailure(`cannot open LevelDB at ${directory}`, error);
    }
  }

  async close(): Promise<void> {
    const database = this.database;
    if (database === undefined) return;
    this.database = undefined;
    try {
      await database.close();
    } catch (error) {
      throw storageFailure('LevelDB close failed', error);
    }
  }

  get(namespace: number, key: Uint8Array): Promise<Uint8Array | undefined> {
    assertNamespace(namespace);
    const database = this.database;
    if (database === undefined) return Promise.reject(notOpen());
    return database
      .get(prefixedKey(namespace, key))
      .catch((error: unknown) => Promise.reject(storageFailure('LevelDB get failed', error)));
  }

  batch(
    namespace: number,
    operations: readonly BatchOperation[],
    options: { readonly durable: boolean },
  ): Promise<void> {
    assertNamespace(namespace);
    const database = this.database;
    if (database === undefined) return Promise.reject(notOpen());
    if (operations.length === 0) return options.durable ? this.barrier(database) : Promise.resolve();
    const writes = operations.map((operation) => {
      if (operation.type === 'put')
        return { type: 'put' as const, key: prefixedKey(namespace, operation.key), value: operation.value };
      assert(operation.type === 'delete', 'unknown batch operation');
      return { type: 'del' as const, key: prefixedKey(namespace, operation.key) };
    });
    return database
      .batch(writes, { sync: options.durable })
      .catch((error: unknown) => Promise.reject(storageFailure('LevelDB batch failed', error)));
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
    // A LevelDB iterator reads from an implicit snapshot taken when it is created.
    const iterator = database.iterator({
      gte: range.start,
      ...(range.end === undefined ? {} : { lt: range.end }),
      ...(options?.limit === undefined ? {} : { limit: options.limit }),
    });
    try {
      for await (const [key, value] of iterator) yield [unprefixedKey(key), value] as const;
    } finally {
      await iterator.close();
    }
  }

  async drop(namespace: number): Promise<void> {
    assertNamespace(namespace);
    const database = this.database;
    if (database === undefined) throw notOpen();
    const range = prefixedRange(namespace, undefined);
    try {
      await database.clear({ gte: range.start, ...(range.end === undefined ? {} : { lt: range.end }) });
    } catch (error) {
      throw storageFailure('LevelDB drop failed', error);
    }
    // clear() writes its deletions without sync; make the drop durable like a durable batch.
    await this.barrier(database);
  }

  private barrier(database: LevelDatabase): Promise<void> {
    return database
      .compactRange(privateEngineKey, privateEngineKey)
      .catch((error: unknown) => Promise.reject(storageFailure('LevelDB flush failed', error)));
  }
}

function notOpen(): EverwriteError {
  return new EverwriteError('EVERWRITE_STORAGE_FAILED', 'LevelDB engine is not open');
}
