// Why: a reap steps a key one level down (decision 0019): a tombstone-only record keeps only its
// causal context, and a context-only record is removed, its context merged into the partition's
// counter floor in the same batch, so a new version of the key never reuses a dot the removed
// context named (the dot reuse of decision 0002, seeds 162/67). Every engine shape is exercised:
// the synchronous memory engine, one seen only through the asynchronous port (as LevelDB), and one
// that reads its latest writes at once and acknowledges them later (as the write-ahead log).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRecord, type StoredValue, type VersionedRecord } from '../../../src/core/versioning/index.ts';
import type { VersionRequest } from '../../../src/core/node/effects.ts';
import { MemoryEngine } from '../../../src/io/storage/memory.ts';
import { LocalStore } from '../../../src/runtime/stores/local-store.ts';
import { counterFloorKey } from '../../../src/runtime/stores/counter-floors.ts';
import type { StorageEngine } from '../../../src/runtime/ports.ts';
import { asyncOnly } from '../../support/storage-engines.ts';

const key = new TextEncoder().encode('\u0000\u0001bk');
const otherKey = new TextEncoder().encode('\u0000\u0001bz');
const stored = (value: string, deleted = false): StoredValue => ({
  value: new TextEncoder().encode(value),
  contentType: 'text/plain',
  lastModifiedMs: 1,
  deleted,
  timestamp: 1024,
});
const request = (value: string, context: ReadonlyMap<string, number>, deleted = false): VersionRequest => ({
  context,
  useStoredContext: false,
  actor: 'n1.7',
  stored: stored(value, deleted),
  durable: true,
  lastWriterWins: false,
  siblingsCountMax: 100,
});

/** The memory engine as the write-ahead log offers itself: a synchronous read of the latest writes, acknowledgements later. */
function orderedAsync(inner: MemoryEngine): StorageEngine {
  return { ...asyncOnly(inner), readNow: inner.readNow, readLatestNow: inner.readNow };
}

const shapes = [
  { name: 'synchronous engine', wrap: (inner: MemoryEngine): StorageEngine => inner },
  { name: 'asynchronous engine', wrap: asyncOnly },
  { name: 'ordered engine (readLatestNow)', wrap: orderedAsync },
];

/** Writes "x", deletes it (5 writes in all, so counters reach 5), and answers the tombstone record. */
async function deletedKey(store: LocalStore): Promise<VersionedRecord> {
  let record = (await store.mint(3, key, request('x', new Map()))).record;
  for (let index = 0; index < 3; index++)
    record = (await store.mint(3, key, request(`x${index}`, record.context))).record;
  return (await store.mint(3, key, request('', record.context, true))).record;
}

for (const shape of shapes) {
  test(`${shape.name}: a tombstone is reaped to its context, then the context-only record is removed and a new version gets a dot past it`, async () => {
    const inner = new MemoryEngine();
    await inner.open();
    const store = new LocalStore(shape.wrap(inner));
    const tombstone = await deletedKey(store);
    assert.deepEqual([...tombstone.context], [['n1.7', 5]]);

    const reaped = await store.reap(3, key, tombstone);
    assert.deepEqual(reaped.record.siblings, [], 'the tombstone went');
    assert.deepEqual([...(await store.read(3, key)).context], [['n1.7', 5]], 'the context stayed');

    const removed = await store.reap(3, key, reaped.record);
    assert.equal(removed.record.siblings.length + removed.record.context.size, 0, 'answers the empty record');
    assert.equal(await inner.get(3, key), undefined, 'the key is gone from the engine');
    assert.notEqual(await inner.get(3, counterFloorKey), undefined, 'the floor was written');

    // A client still holding the context from before the delete ({n1.7: 4}) must not cover the new write.
    const rewritten = (await store.mint(3, key, request('y', new Map()))).record;
    assert.deepEqual(
      rewritten.siblings.map((sibling) => sibling.dot),
      [{ actor: 'n1.7', counter: 6 }],
    );
    const stale = (await store.mint(3, key, request('stale', new Map([['n1.7', 4]])))).record;
    assert.equal(stale.siblings.length, 2, "the stale client's write is a sibling of the new one, not its successor");
  });

  test(`${shape.name}: the floor survives a restart of the store and covers every key of the partition this replica does not hold`, async () => {
    const inner = new MemoryEngine();
    await inner.open();
    const first = new LocalStore(shape.wrap(inner));
    const tombstone = await deletedKey(first);
    const contextOnly = (await first.reap(3, key, tombstone)).record;
    await first.reap(3, key, contextOnly);
    const restarted = new LocalStore(shape.wrap(inner));
    const again = (await restarted.mint(3, key, request('y', new Map()))).record;
    assert.deepEqual(
      again.siblings.map((sibling) => sibling.dot.counter),
      [6],
    );
    const other = (await restarted.mint(3, otherKey, request('z', new Map()))).record;
    assert.deepEqual(
      other.siblings.map((sibling) => sibling.dot.counter),
      [6],
      'another key of the partition starts past the floor too',
    );
    const otherPartition = (await restarted.mint(4, otherKey, request('z', new Map()))).record;
    assert.deepEqual(
      otherPartition.siblings.map((sibling) => sibling.dot.counter),
      [1],
      'another partition has its own floor',
    );
  });

  test(`${shape.name}: a key that comes back from another replica without this node's entry still gets a dot past the floor`, async () => {
    const inner = new MemoryEngine();
    await inner.open();
    const store = new LocalStore(shape.wrap(inner));
    const tombstone = await deletedKey(store);
    const contextOnly = (await store.reap(3, key, tombstone)).record;
    await store.reap(3, key, contextOnly);
    // Another node writes the key anew and replicates it here: its record knows nothing of n1.7.
    await store.merge(
      3,
      key,
      {
        context: new Map([['n5.1', 1]]),
        siblings: [{ dot: { actor: 'n5.1', counter: 1 }, stored: stored('from n5') }],
      },
      true,
    );
    const next = (await store.mint(3, key, request('y', new Map([['n5.1', 1]])))).record;
    assert.deepEqual(
      next.siblings.map((sibling) => sibling.dot),
      [{ actor: 'n1.7', counter: 6 }],
      'not n1.7:1, which the removed context named',
    );
  });

  test(`${shape.name}: a reap of a record the replica no longer holds exactly changes nothing and answers what it holds`, async () => {
    const inner = new MemoryEngine();
    await inner.open();
    const store = new LocalStore(shape.wrap(inner));
    const tombstone = await deletedKey(store);
    const contextOnly = (await store.reap(3, key, tombstone)).record;
    const newer = (await store.mint(3, key, request('back', contextOnly.context))).record;
    const answer = await store.reap(3, key, contextOnly);
    assert.equal(answer.record.siblings.length, 1, 'the newer write stays');
    assert.deepEqual(
      (await store.read(3, key)).siblings.map((sibling) => sibling.dot),
      newer.siblings.map((sibling) => sibling.dot),
    );
    assert.equal(
      (await store.reap(3, key, tombstone)).record.siblings.length,
      1,
      'an old tombstone reap changes nothing either',
    );
  });

  test(`${shape.name}: two removals in one partition both raise its floor`, async () => {
    const inner = new MemoryEngine();
    await inner.open();
    const store = new LocalStore(shape.wrap(inner));
    const one = { context: new Map([['n1.7', 9]]), siblings: [] };
    const two = { context: new Map([['n2.3', 4]]), siblings: [] };
    await store.merge(3, key, one, true);
    await store.merge(3, otherKey, two, true);
    await Promise.all([store.reap(3, key, one), store.reap(3, otherKey, two)]);
    const restarted = new LocalStore(shape.wrap(inner));
    assert.deepEqual(
      (await restarted.mint(3, key, request('y', new Map()))).record.siblings.map((sibling) => sibling.dot.counter),
      [10],
    );
    const floor = await inner.get(3, counterFloorKey);
    assert.ok(floor !== undefined);
    assert.deepEqual([...decodeRecord(floor).context].sort(), [
      ['n1.7', 9],
      ['n2.3', 4],
    ]);
  });
}
