// Why: everwrite_storage_keys and everwrite_storage_bytes (decision 0036) come from figures LocalStore
// keeps as it writes, started by one count when the node opens. They are only worth exporting if
// they equal what the engine holds after every kind of write (a new key, an overwrite, a peer's
// merge, a delete, both steps of a reap, a handoff's drop) and after a crash and the write-ahead
// log's replay. Each engine the node can run is checked against a brute-force scan of the engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import type { StoredValue, VersionedRecord } from '../../../src/core/versioning/index.ts';
import type { VersionRequest } from '../../../src/core/node/effects.ts';
import { createStorageEngine, type EngineKind } from '../../../src/io/storage/index.ts';
import { LocalStore } from '../../../src/runtime/stores/local-store.ts';
import type { StoredUsageFigures } from '../../../src/runtime/stores/stored-usage.ts';
import type { StorageEngine } from '../../../src/runtime/ports.ts';
import { withTemporaryDirectory } from '../../support/storage-engines.ts';

const partitionCount = 8;
const actor = 'n1.7';
const storageKey = (name: string): Uint8Array => Buffer.from(`\u0000\u0001${name}`, 'latin1');
const stored = (value: string, deleted = false): StoredValue => ({
  value: Buffer.from(value),
  contentType: 'text/plain',
  lastModifiedMs: 1,
  deleted,
  timestamp: 1024,
});
const request = (value: string, context: ReadonlyMap<string, number>, deleted = false): VersionRequest => ({
  context,
  useStoredContext: false,
  actor,
  stored: stored(value, deleted),
  durable: true,
  lastWriterWins: false,
  siblingsCountMax: 100,
});

/** What the engine holds, counted the slow way: every key of every partition but the counter floors. */
async function scanned(engine: StorageEngine): Promise<StoredUsageFigures> {
  let keys = 0;
  let bytes = 0;
  for (let partition = 0; partition < partitionCount; partition++) {
    for await (const [key, record] of engine.scan(partition)) {
      if (key.length < 2) continue;
      keys++;
      bytes += key.length + record.length;
    }
  }
  return { keys, bytes };
}

async function assertFigures(store: LocalStore, keys: number, step: string): Promise<void> {
  const figures = store.usage.figures();
  assert.deepEqual(figures, await scanned(store.engine), `${step}: the figures equal a scan of the engine`);
  assert.equal(figures?.keys, keys, `${step}: keys`);
}

/** The engine as the node opens it: the write-ahead log in front of lmdb and level, whose runs wait long, so a crash leaves records to replay. */
function engineOf(kind: EngineKind, directory: string): StorageEngine {
  return createStorageEngine(kind, { directory, log: { applyDelayMs: 60_000 } });
}

async function openStore(engine: StorageEngine): Promise<LocalStore> {
  await engine.open();
  const store = new LocalStore(engine);
  await store.usage.countStored(engine, partitionCount);
  return store;
}

/** A record minted on another replica, as replication would bring it. */
async function peerRecord(value: string): Promise<VersionedRecord> {
  const peer = await openStore(createStorageEngine('memory'));
  return (await peer.mint(5, storageKey('peer'), { ...request(value, new Map()), actor: 'n2.3' })).record;
}

/** Every kind of write LocalStore makes, each followed by a check of the figures. */
async function everyKindOfWrite(store: LocalStore): Promise<void> {
  await assertFigures(store, 0, 'empty');
  let alice = (await store.mint(3, storageKey('alice'), request('apple', new Map()))).record;
  await assertFigures(store, 1, 'a new key');
  const bytesBefore = store.usage.figures()?.bytes ?? 0;
  alice = (await store.mint(3, storageKey('alice'), request('a much longer apple than before', alice.context))).record;
  await assertFigures(store, 1, 'an overwrite');
  assert.ok((store.usage.figures()?.bytes ?? 0) > bytesBefore, 'a longer value takes more bytes');

  const incoming = await peerRecord('from a peer');
  await store.merge(5, storageKey('peer'), incoming, true);
  await assertFigures(store, 2, "a peer's record merged");
  await store.merge(5, storageKey('peer'), incoming, true);
  await assertFigures(store, 2, 'the same record merged again (unchanged)');

  const tombstone = (await store.mint(3, storageKey('alice'), request('', alice.context, true))).record;
  await assertFigures(store, 2, 'a delete leaves a tombstone, which is counted');
  const contextOnly = (await store.reap(3, storageKey('alice'), tombstone)).record;
  await assertFigures(store, 2, 'a reaped tombstone leaves its context, which is counted');
  await store.reap(3, storageKey('alice'), contextOnly);
  await assertFigures(store, 1, 'a removed context-only record (its counter floor is not a key)');

  await store.dropKey(5, storageKey('peer'), actor);
  await assertFigures(store, 0, "a handoff's drop of a key this node never wrote");
  for (let index = 0; index < 24; index++)
    await store.mint(index % partitionCount, storageKey(`k${index}`), request(`value ${index}`, new Map()));
  await assertFigures(store, 24, 'keys in every partition');
}

for (const kind of ['memory', 'lmdb', 'level'] as const) {
  test(`${kind}: the key and byte figures follow every kind of write`, () =>
    withTemporaryDirectory(`stored-usage-${kind}`, async (directory) => {
      const engine = engineOf(kind, join(directory, 'node'));
      const store = await openStore(engine);
      try {
        await everyKindOfWrite(store);
      } finally {
        await engine.close();
      }
    }));
}

for (const kind of ['lmdb', 'level'] as const) {
  test(`${kind}: after a crash, the count at open (after the log's replay) gives the figures the node had`, () =>
    withTemporaryDirectory(`stored-usage-crash-${kind}`, async (directory) => {
      const engine = engineOf(kind, join(directory, 'node'));
      const store = await openStore(engine);
      let before: StoredUsageFigures | undefined;
      try {
        await everyKindOfWrite(store);
        before = store.usage.figures();
        // What a kill -9 leaves: the engine's files and a log whose last records were never applied.
        cpSync(join(directory, 'node'), join(directory, 'crashed'), { recursive: true });
      } finally {
        await engine.close();
      }
      const reopenedEngine = engineOf(kind, join(directory, 'crashed'));
      const reopened = new LocalStore(reopenedEngine);
      await reopenedEngine.open();
      try {
        assert.ok(
          (reopenedEngine as unknown as { replayReport: { records: number } }).replayReport.records > 0,
          'the log had records to replay',
        );
        assert.equal(reopened.usage.figures(), undefined, 'no figures before the count: a half count would mislead');
        await reopened.usage.countStored(reopenedEngine, partitionCount);
        assert.deepEqual(reopened.usage.figures(), before);
        await reopened.mint(2, storageKey('after'), request('after the restart', new Map()));
        await assertFigures(reopened, 25, 'a write after the restart');
      } finally {
        await reopenedEngine.close();
      }
    }));
}

test('memory: a store opened again over the same engine counts what it holds', async () => {
  const engine = createStorageEngine('memory');
  const first = await openStore(engine);
  await everyKindOfWrite(first);
  const again = new LocalStore(engine);
  await again.usage.countStored(engine, partitionCount);
  assert.deepEqual(again.usage.figures(), first.usage.figures());
  await engine.close();
});
