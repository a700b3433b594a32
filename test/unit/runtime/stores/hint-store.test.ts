// Why: hints are the writes a node holds for an unreachable primary; losing one loses a replica's
// copy, overfilling the disk loses the node. These tests pin delivery order, replacement, the count
// and byte bounds, and that a reopened store rebuilds its counts and keeps ordering new hints last.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HintStore } from '../../../../src/runtime/stores/hint-store.ts';
import { MemoryEngine } from '../../../../src/io/storage/memory.ts';
import { reservedNamespaces } from '../../../../src/runtime/ports.ts';
import { bytes, collect, createTestEngine, text, withTemporaryDirectory } from '../../../support/storage-engines.ts';

async function openMemoryStore(
  options: { hintsCountMax?: number; hintsBytesMax?: number } = {},
): Promise<{ store: HintStore; engine: MemoryEngine }> {
  const engine = new MemoryEngine();
  await engine.open();
  return { store: await HintStore.open(engine, options), engine };
}

const hint = (
  target: string,
  key: string,
  record: string,
  namespace = 1,
): { target: string; namespace: number; key: Uint8Array; record: Uint8Array } => ({
  target,
  namespace,
  key: bytes(key),
  record: bytes(record),
});

test('hints come back per target, oldest first, with their partition, key and record', async () => {
  const { store } = await openMemoryStore();
  assert.equal(await store.add(hint('n1', 'k1', 'r1', 3), { durable: true }), true);
  assert.equal(await store.add(hint('n10', 'k1', 'other target'), { durable: true }), true);
  assert.equal(await store.add(hint('n1', 'k2', 'r2', 4), { durable: false }), true);
  assert.equal(await store.add(hint('n1', 'k3', 'r3'), { durable: true }), true);
  const hints = await store.forTarget('n1', 10);
  assert.deepEqual(
    hints.map((each) => [each.target, each.namespace, text(each.key), text(each.record)]),
    [
      ['n1', 3, 'k1', 'r1'],
      ['n1', 4, 'k2', 'r2'],
      ['n1', 1, 'k3', 'r3'],
    ],
  );
  assert.deepEqual(
    [...hints.map((each) => each.id)].sort(),
    hints.map((each) => each.id),
    'ids sort in delivery order',
  );
  assert.deepEqual(
    (await store.forTarget('n1', 2)).map((each) => text(each.key)),
    ['k1', 'k2'],
  );
  assert.deepEqual(
    (await store.forTarget('n10', 10)).map((each) => text(each.record)),
    ['other target'],
  );
  assert.deepEqual(await store.forTarget('n2', 10), []);
  assert.deepEqual(store.targets().sort(), ['n1', 'n10']);
  assert.equal(store.count, 4);
});

test('remove deletes delivered hints, ignores unknown ids and updates counts and targets', async () => {
  const { store, engine } = await openMemoryStore();
  await store.add(hint('n1', 'a', 'x'), { durable: true });
  await store.add(hint('n2', 'b', 'y'), { durable: true });
  const bytesBefore = store.bytes;
  const [first] = await store.forTarget('n1', 1);
  await store.remove([(first as { id: string }).id, 'n1/00000000000000ff', 'garbage']);
  assert.equal(store.count, 1);
  assert.ok(store.bytes < bytesBefore && store.bytes > 0);
  assert.deepEqual(store.targets(), ['n2']);
  assert.deepEqual(await store.forTarget('n1', 10), []);
  assert.equal((await collect(engine.scan(reservedNamespaces.hints))).length, 1);
});

test('a hint for the same target, partition and key replaces the older one and moves to the back', async () => {
  const { store, engine } = await openMemoryStore();
  await store.add(hint('n1', 'k', 'old'), { durable: true });
  await store.add(hint('n1', 'other', 'o'), { durable: true });
  await store.add(hint('n1', 'k', 'new'), { durable: true });
  await store.add(hint('n1', 'k', 'different partition', 2), { durable: true });
  assert.equal(store.count, 3);
  assert.deepEqual(
    (await store.forTarget('n1', 10)).map((each) => text(each.record)),
    ['o', 'new', 'different partition'],
  );
  assert.equal((await collect(engine.scan(reservedNamespaces.hints))).length, 3);
});

test('the count and byte bounds refuse new hints (false) until room is made', async () => {
  const byCount = (await openMemoryStore({ hintsCountMax: 2 })).store;
  assert.equal(await byCount.add(hint('n1', 'a', 'x'), { durable: true }), true);
  assert.equal(await byCount.add(hint('n1', 'b', 'x'), { durable: true }), true);
  assert.equal(await byCount.add(hint('n1', 'c', 'x'), { durable: true }), false);
  assert.equal(await byCount.add(hint('n1', 'a', 'replacing needs no room'), { durable: true }), true);
  assert.equal(byCount.count, 2);
  await byCount.remove([((await byCount.forTarget('n1', 1))[0] as { id: string }).id]);
  assert.equal(await byCount.add(hint('n1', 'c', 'x'), { durable: true }), true);

  const byBytes = (await openMemoryStore({ hintsBytesMax: 300 })).store;
  assert.equal(await byBytes.add(hint('n1', 'a', 'r'.repeat(200)), { durable: true }), true);
  assert.equal(await byBytes.add(hint('n1', 'b', 'r'.repeat(200)), { durable: true }), false);
  assert.equal(await byBytes.add(hint('n1', 'c', 'r'.repeat(20)), { durable: true }), true);
  assert.ok(byBytes.bytes <= 300);
  assert.equal(await byBytes.add(hint('n1', 'd', 'r'.repeat(1000)), { durable: true }), false);

  // Concurrent adds reserve room as they are called, so together they cannot overshoot the bound.
  const concurrent = (await openMemoryStore({ hintsCountMax: 5 })).store;
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, index) => concurrent.add(hint('n1', `k${index}`, 'x'), { durable: true })),
  );
  assert.equal(results.filter(Boolean).length, 5);
  assert.equal(concurrent.count, 5);
});

test('a reopened store rebuilds its counts, bytes and targets, and orders new hints after old ones', () =>
  withTemporaryDirectory('hints', async (directory) => {
    const first = createTestEngine('logged-lmdb', directory);
    await first.open();
    const store = await HintStore.open(first);
    await store.add(hint('n1', 'a', 'x'), { durable: true });
    await store.add(hint('n2', 'b', 'y'), { durable: false });
    await store.add(hint('n1', 'c', 'z'), { durable: true });
    await first.batch(reservedNamespaces.hints, [{ type: 'put', key: bytes('not a hint'), value: bytes('?') }], {
      durable: true,
    });
    const counted = { count: store.count, bytes: store.bytes };
    await first.close();

    const second = createTestEngine('logged-lmdb', directory);
    await second.open();
    try {
      const reopened = await HintStore.open(second);
      assert.deepEqual({ count: reopened.count, bytes: reopened.bytes }, counted);
      assert.deepEqual(reopened.targets().sort(), ['n1', 'n2']);
      await reopened.add(hint('n1', 'later', 'w'), { durable: true });
      await reopened.add(hint('n1', 'a', 'x2'), { durable: true });
      assert.deepEqual(
        (await reopened.forTarget('n1', 10)).map((each) => text(each.key)),
        ['c', 'later', 'a'],
      );
      assert.equal(
        await second.get(reservedNamespaces.hints, bytes('not a hint')),
        undefined,
        'an undecodable entry is removed on open',
      );
    } finally {
      await second.close();
    }
  }));

test('options are validated: bounds must be positive integers', async () => {
  const engine = new MemoryEngine();
  await engine.open();
  await assert.rejects(HintStore.open(engine, { hintsCountMax: 0 }), { code: 'EVERWRITE_BAD_REQUEST' });
  await assert.rejects(HintStore.open(engine, { hintsBytesMax: 1.5 }), { code: 'EVERWRITE_BAD_REQUEST' });
  const store = await HintStore.open(engine);
  assert.deepEqual(store.options, { hintsCountMax: 100_000, hintsBytesMax: 256 * 1024 * 1024 });
  assert.ok(Object.isFrozen(store.options));
});

test('open skips and deletes stored hints it never writes: a sequence beyond 2^53, a target with NUL', async () => {
  const engine = new MemoryEngine();
  await engine.open();
  const value = Uint8Array.of(0, 1, 0, 0, 0, 1, 7, 2, 1, 0);
  const keyOf = (target: string, sequence: bigint) => {
    const key = Buffer.alloc(Buffer.byteLength(target) + 9);
    key.write(target, 0);
    key.writeBigUInt64BE(sequence, key.length - 8);
    return Uint8Array.from(key);
  };
  await engine.batch(
    reservedNamespaces.hints,
    [
      { type: 'put', key: keyOf('n1', 2n ** 64n - 1n), value },
      { type: 'put', key: keyOf('n1', 2n ** 53n), value },
      { type: 'put', key: keyOf('a\u0000b', 1n), value },
      { type: 'put', key: keyOf('n2', 5n), value },
    ],
    { durable: true },
  );
  const store = await HintStore.open(engine);
  assert.equal(store.count, 1);
  assert.deepEqual(store.targets(), ['n2']);
  assert.deepEqual(
    (await store.forTarget('n2', 10)).map((hint) => hint.id),
    ['n2/0000000000000005'],
  );
  assert.equal((await collect(engine.scan(reservedNamespaces.hints))).length, 1);
});
