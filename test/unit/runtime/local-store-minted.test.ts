// Why: LocalStore.mint reports a version as minted before its write completes, so a coordinator can
// send it to the other replicas (decision 0009). If that write then fails, the version may live on
// other replicas: this node must never mint its dot again for another write. The key's next mint
// folds the failed version in (the simulator lost writes without this: decision 0009).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyRecord, type StoredValue, type VersionedRecord } from '../../../src/core/versioning/index.ts';
import type { VersionRequest } from '../../../src/core/node/effects.ts';
import { MemoryEngine } from '../../../src/io/storage/memory.ts';
import { LocalStore } from '../../../src/runtime/stores/local-store.ts';
import type { BatchOperation, StorageEngine } from '../../../src/runtime/ports.ts';
import { asyncOnly } from '../../support/storage-engines.ts';

/**
 * A memory engine whose next batch can be made to fail, seen only through the asynchronous port (no
 * getNow/batchNow/readNow), or, `ordered`, as the write-ahead log offers itself: a synchronous read
 * of the latest writes (readLatestNow), acknowledgements later. A failed batch is not applied, as
 * after the log's failure and reopening.
 */
function flakyAsyncEngine(ordered: boolean): { engine: StorageEngine; failNextBatch: () => void } {
  const inner = new MemoryEngine();
  let fail = false;
  const engine: StorageEngine = {
    ...asyncOnly(inner),
    batch: (namespace: number, operations: readonly BatchOperation[], options: { readonly durable: boolean }) => {
      if (!fail) return inner.batch(namespace, operations, options);
      fail = false;
      return Promise.reject(new Error('EIO: simulated'));
    },
    ...(ordered ? { readNow: inner.readNow, readLatestNow: inner.readNow } : {}),
  };
  return { engine, failNextBatch: () => (fail = true) };
}

const key = new TextEncoder().encode('k');
const write = (value: string): StoredValue => ({
  value: new TextEncoder().encode(value),
  contentType: 'text/plain',
  lastModifiedMs: 1,
  deleted: false,
  timestamp: 1024,
});
const request = (value: string): VersionRequest => ({
  context: new Map(),
  useStoredContext: false,
  actor: 'n1.7',
  stored: write(value),
  durable: true,
  lastWriterWins: false,
  siblingsCountMax: 100,
});
const dots = (record: VersionedRecord) =>
  record.siblings
    .map((sibling) => `${sibling.dot.actor}:${sibling.dot.counter}=${new TextDecoder().decode(sibling.stored.value)}`)
    .sort();

const shapes = [
  { name: 'asynchronous engine', ordered: false },
  { name: 'ordered engine (readLatestNow)', ordered: true },
];

for (const shape of shapes) {
  test(`${shape.name}: the minted version is reported before its write completes, and is the version the write stores`, async () => {
    const { engine } = flakyAsyncEngine(shape.ordered);
    await engine.open();
    const store = new LocalStore(engine);
    let reported: VersionedRecord | undefined;
    const answer = store.mint(1, key, request('a'), (record) => (reported = record));
    assert.ok(answer instanceof Promise);
    const done = await answer;
    assert.deepEqual(dots(reported ?? emptyRecord), ['n1.7:1=a']);
    assert.deepEqual(dots(done.record), ['n1.7:1=a']);
    assert.deepEqual(dots(await store.read(1, key)), ['n1.7:1=a']);
  });

  test(`${shape.name}: after a reported version fails to be written, the next mint keeps it and takes a new dot`, async () => {
    const { engine, failNextBatch } = flakyAsyncEngine(shape.ordered);
    await engine.open();
    const store = new LocalStore(engine);
    const sent: string[][] = [];
    failNextBatch();
    await assert.rejects(Promise.resolve(store.mint(1, key, request('a'), (record) => sent.push(dots(record)))), /EIO/);
    assert.deepEqual(sent, [['n1.7:1=a']], 'reported, so other replicas may hold n1.7:1');
    const next = await store.mint(1, key, request('b'), (record) => sent.push(dots(record)));
    assert.deepEqual(
      dots(next.record),
      ['n1.7:1=a', 'n1.7:2=b'],
      'n1.7:1 still names "a", and "b" gets a dot of its own',
    );
    assert.deepEqual(dots(await store.read(1, key)), ['n1.7:1=a', 'n1.7:2=b']);
    const third = await store.mint(1, key, { ...request('c'), context: next.record.context });
    assert.deepEqual(
      dots(third.record),
      ['n1.7:3=c'],
      'once stored, the failed version is an ordinary one (superseded here by context)',
    );
  });

  test(`${shape.name}: a write that was never reported (no listener) fails without being kept`, async () => {
    const { engine, failNextBatch } = flakyAsyncEngine(shape.ordered);
    await engine.open();
    const store = new LocalStore(engine);
    failNextBatch();
    await assert.rejects(Promise.resolve(store.mint(1, key, request('a'))), /EIO/);
    const next = await store.mint(1, key, request('b'));
    assert.deepEqual(dots(next.record), ['n1.7:1=b'], 'nothing left this node, so the dot is free');
  });
}
