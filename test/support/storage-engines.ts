// Why: the storage tests and the crash writer build the same engines the same way: every kind
// under test by name, each in a fresh directory under os.tmpdir() that the test removes afterwards.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStorageEngine, type LoggedEngineOptions } from '../../src/io/storage/index.ts';
import { nodeLogFileSystem, type LogFileSystem } from '../../src/io/storage/log-files.ts';
import type { BatchOperation, StorageEngine } from '../../src/runtime/ports.ts';
import { MemoryEngine } from '../../src/io/storage/memory.ts';

export type TestEngineKind = 'memory' | 'lmdb' | 'level' | 'logged-lmdb' | 'logged-level';

export const allEngineKinds: readonly TestEngineKind[] = ['memory', 'lmdb', 'level', 'logged-lmdb', 'logged-level'];
/** Kinds whose data outlives the process (the memory engine's does not). */
export const durableEngineKinds: readonly TestEngineKind[] = ['lmdb', 'level', 'logged-lmdb', 'logged-level'];

export function isTestEngineKind(value: string | undefined): value is TestEngineKind {
  return (allEngineKinds as readonly string[]).includes(value ?? '');
}

/** A new unopened engine of `kind` storing under `directory` (ignored for memory). */
export function createTestEngine(
  kind: TestEngineKind,
  directory: string,
  log: Omit<LoggedEngineOptions, 'directory'> = {},
): StorageEngine {
  switch (kind) {
    case 'memory':
      return createStorageEngine('memory');
    case 'lmdb':
      return createStorageEngine('lmdb', { directory, writeAheadLog: false });
    case 'level':
      return createStorageEngine('level', { directory, writeAheadLog: false });
    case 'logged-lmdb':
      return createStorageEngine('lmdb', { directory, log });
    case 'logged-level':
      return createStorageEngine('level', { directory, log });
  }
}

export function temporaryDirectory(label: string): string {
  return mkdtempSync(join(tmpdir(), `everwrite-${label}-`));
}

export function removeDirectory(directory: string): void {
  rmSync(directory, { recursive: true, force: true, maxRetries: 3 });
}

/** Runs `work` with a fresh directory, removing it afterwards whatever happens. */
export async function withTemporaryDirectory<T>(label: string, work: (directory: string) => Promise<T>): Promise<T> {
  const directory = temporaryDirectory(label);
  try {
    return await work(directory);
  } finally {
    removeDirectory(directory);
  }
}

export async function collect(
  iterable: AsyncIterable<readonly [Uint8Array, Uint8Array]>,
): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  for await (const [key, value] of iterable)
    out.push([Buffer.from(key).toString('latin1'), Buffer.from(value).toString('latin1')]);
  return out;
}

export const bytes = (text: string): Uint8Array => Buffer.from(text, 'latin1');
export const text = (value: Uint8Array | undefined): string | undefined =>
  value === undefined ? undefined : Buffer.from(value).toString('latin1');
export const put = (key: string, value: string): BatchOperation => ({
  type: 'put',
  key: bytes(key),
  value: bytes(value),
});
export const remove = (key: string): BatchOperation => ({ type: 'delete', key: bytes(key) });

/**
 * A memory engine that claims durability and holds every non-empty batch until `release()`: lets
 * tests of the LoggedEngine see what reads return while writes are still on their way to the inner
 * engine, and make the inner engine fail on demand.
 */
export class GatedEngine extends MemoryEngine {
  override readonly capabilities = Object.freeze({ atomicBatch: true, durableWrites: true, orderedScan: true });
  private held: Array<() => void> = [];
  private gateOpen = true;
  failWith: Error | undefined;
  innerBatches = 0;

  hold(): void {
    this.gateOpen = false;
  }

  release(): void {
    this.gateOpen = true;
    const held = this.held;
    this.held = [];
    for (const apply of held) apply();
  }

  get heldBatches(): number {
    return this.held.length;
  }

  override batch(
    namespace: number,
    operations: readonly BatchOperation[],
    options: { readonly durable: boolean },
  ): Promise<void> {
    if (this.failWith !== undefined) return Promise.reject(this.failWith);
    if (operations.length === 0) return super.batch(namespace, operations, options);
    this.innerBatches++;
    if (this.gateOpen) return super.batch(namespace, operations, options);
    return new Promise<void>((resolve, reject) =>
      this.held.push(() => super.batch(namespace, operations, options).then(resolve, reject)),
    );
  }
}

/**
 * An engine seen only through the asynchronous port (no getNow, batchNow, readNow or readLatestNow),
 * as LevelDB is: what the runtime must handle when nothing answers at once.
 */
export function asyncOnly(inner: StorageEngine): StorageEngine {
  return {
    capabilities: inner.capabilities,
    open: () => inner.open(),
    close: () => inner.close(),
    get: (namespace, key) => inner.get(namespace, key),
    batch: (namespace, operations, options) => inner.batch(namespace, operations, options),
    scan: (namespace, options) => inner.scan(namespace, options),
    drop: (namespace) => inner.drop(namespace),
  };
}

/** The log's node:fs binding with every fdatasync passed through `datasync`, which calls `real` when it should. */
export function logFileSystemWithSync(datasync: (real: () => Promise<void>) => Promise<void>): LogFileSystem {
  return {
    ...nodeLogFileSystem,
    create: async (path) => {
      const file = await nodeLogFileSystem.create(path);
      return {
        append: (chunks) => file.append(chunks),
        datasync: () => datasync(() => file.datasync()),
        close: () => file.close(),
      };
    },
  };
}
