// Why: LocalStore does a replica's read-modify-write in one synchronous step when the engine reads
// synchronously, and remembers each write until the engine acknowledges it. These tests hold the
// engine's acknowledgements back to show what that must guarantee: back-to-back merges of one key
// build on each other (no lost version), a duplicate merge is answered only once what it relies on
// is durable, reads see acknowledged writes only, and a failed write is forgotten.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryEngine } from '../../../src/io/storage/memory.ts';
import { LocalStore } from '../../../src/runtime/local-store.ts';
import type { BatchOperation, StorageEngine } from '../../../src/runtime/ports.ts';
import { emptyRecord, update, type VersionedRecord } from '../../../src/core/versioning/index.ts';

/** A memory engine whose batches apply and resolve only when the test says so (like lmdb behind a log). */
class HeldEngine implements StorageEngine {
  readonly inner = new MemoryEngine();
  readonly capabilities = this.inner.capabilities;
  readonly held: Array<{ namespace: number; operations: readonly BatchOperation[]; resolve: () => void; reject: (error: Error) => void }> = [];
  readonly getNow = (namespace: number, key: Uint8Array): Uint8Array | undefined => this.inner.getNow(namespace, key);
  open = () => this.inner.open();
  close = () => this.inner.close();
  get = (namespace: number, key: Uint8Array) => this.inner.get(namespace, key);
  scan = (namespace: number) => this.inner.scan(namespace);
  drop = (namespace: number) => this.inner.drop(namespace);
  batch(namespace: number, operations: readonly BatchOperation[]): Promise<void> {
    return new Promise((resolve, reject) => this.held.push({ namespace, operations, resolve, reject }));
  }
  /** Applies and acknowledges the oldest held batch. */
  async release(): Promise<void> {
    const next = this.held.shift();
    assert.ok(next !== undefined, 'a batch is held');
    await this.inner.batch(next.namespace, next.operations, { durable: true });
    next.resolve();
  }
  fail(): void {
    this.held.shift()?.reject(new Error('disk failed'));
  }
}

const key = new TextEncoder().encode('k');
function version(value: string, counter: number): VersionedRecord {
  const stored = { value: new TextEncoder().encode(value), contentType: 'text/plain', lastModifiedMs: counter, deleted: false, timestamp: counter * 1024 };
  return update(emptyRecord, new Map(), `n${counter}`, stored);
}
const values = (record: VersionedRecord): string[] => record.siblings.map((sibling) => new TextDecoder().decode(sibling.stored.value)).sort();

test('back-to-back merges of one key, unacknowledged, build on each other: no version is lost', async () => {
  const engine = new HeldEngine();
  await engine.open();
  const store = new LocalStore(engine);
  const first = store.merge(1, key, version('a', 1), true);
  const second = store.merge(1, key, version('b', 2), true);
  assert.ok(first instanceof Promise && second instanceof Promise, 'both wait for the engine');
  assert.equal(engine.held.length, 2);
  assert.deepEqual(values(await store.read(1, key)), [], 'reads see acknowledged writes only');
  await engine.release();
  await engine.release();
  assert.deepEqual(values(await first), ['a']);
  assert.deepEqual(values(await second), ['a', 'b']);
  assert.deepEqual(values(await store.read(1, key)), ['a', 'b']);
});

test('a duplicate merge is answered only after the write it relies on is acknowledged', async () => {
  const engine = new HeldEngine();
  await engine.open();
  const store = new LocalStore(engine);
  const record = version('a', 1);
  const first = store.merge(1, key, record, true);
  let duplicateAnswered = false;
  const duplicate = Promise.resolve(store.merge(1, key, record, true)).then((merged) => {
    duplicateAnswered = true;
    return merged;
  });
  assert.equal(engine.held.length, 1, 'the duplicate writes nothing');
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(duplicateAnswered, false, 'not answered while the first write is unacknowledged');
  await engine.release();
  assert.deepEqual(values(await duplicate), ['a']);
  assert.deepEqual(values(await first), ['a']);
  assert.equal(engine.held.length, 0);
  assert.ok(!(store.merge(1, key, record, true) instanceof Promise), 'once acknowledged, a no-op merge answers at once');
});

test('a failed write is forgotten: the next merge starts from what the engine holds', async () => {
  const engine = new HeldEngine();
  await engine.open();
  const store = new LocalStore(engine);
  const failed = store.merge(1, key, version('lost', 1), true);
  engine.fail();
  await assert.rejects(Promise.resolve(failed), /disk failed/);
  const next = store.merge(1, key, version('b', 2), true);
  await engine.release();
  assert.deepEqual(values(await next), ['b']);
});

test('with a synchronous engine (memory) a mint answers with a value, not a promise', async () => {
  const engine = new MemoryEngine();
  await engine.open();
  const store = new LocalStore(engine);
  const stored = { value: new TextEncoder().encode('v'), contentType: 'text/plain', lastModifiedMs: 1, deleted: false, timestamp: 1024 };
  const minted = store.mint(1, key, { context: new Map(), useStoredContext: false, actor: 'n1', stored, durable: true, lastWriterWins: false, siblingsCountMax: 10 });
  assert.ok(!(minted instanceof Promise));
  assert.deepEqual(values(minted), ['v']);
});
