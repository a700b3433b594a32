// Why: a node's versioning epoch must change after an unclean stop (a buffered write's dot may have
// left the node before its fsync and been lost here; minting it again loses a later acknowledged
// write) and must stay after a clean one (every new epoch is one more actor in the clocks).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStorageEngine, MemoryEngine } from '../../../../src/io/storage/index.ts';
import {
  bootIdentity,
  idRangePerBoot,
  markCleanStop,
  propsStorageKey,
  userStorageKey,
} from '../../../../src/runtime/stores/node-metadata.ts';
import { reservedNamespaces } from '../../../../src/runtime/ports.ts';

/** Draws the given epochs in order (then fails): the test decides what "random" returns. */
function draws(...epochs: number[]): () => number {
  return () => {
    const next = epochs.shift();
    if (next === undefined) throw new Error('drew more epochs than the test expected');
    return next;
  };
}

test('new storage draws an epoch; a clean stop keeps it; an unclean stop draws another', async () => {
  const engine = new MemoryEngine();
  await engine.open();
  const first = await bootIdentity(engine, draws(11));
  assert.deepEqual([first.epoch, first.epochSource, first.boot, first.idBase], [11, 'new', 1, idRangePerBoot]);

  await markCleanStop(engine);
  const afterClean = await bootIdentity(engine, draws());
  assert.deepEqual([afterClean.epoch, afterClean.epochSource, afterClean.boot], [11, 'kept', 2]);

  // No markCleanStop: the process died (kill -9, power loss).
  const afterCrash = await bootIdentity(engine, draws(22));
  assert.deepEqual([afterCrash.epoch, afterCrash.epochSource, afterCrash.boot], [22, 'unclean', 3]);
});

test('the clean-stop marker counts once: a crash after a clean restart is unclean again', async () => {
  const engine = new MemoryEngine();
  await engine.open();
  await bootIdentity(engine, draws(5));
  await markCleanStop(engine);
  assert.equal((await bootIdentity(engine, draws())).epochSource, 'kept');
  const next = await bootIdentity(engine, draws(6));
  assert.deepEqual([next.epoch, next.epochSource], [6, 'unclean']);
});

test('an unclean stop never keeps the old epoch, even when the draw repeats it', async () => {
  const engine = new MemoryEngine();
  await engine.open();
  await bootIdentity(engine, draws(7));
  const renewed = await bootIdentity(engine, draws(7, 7, 8));
  assert.deepEqual([renewed.epoch, renewed.epochSource], [8, 'unclean']);
});

test('on lmdb behind the log, the identity and the marker survive closing and reopening the engine', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'everwrite-identity-'));
  try {
    const open = async () => {
      const engine = createStorageEngine('lmdb', { directory });
      await engine.open();
      return engine;
    };
    let engine = await open();
    assert.equal((await bootIdentity(engine, draws(31))).epochSource, 'new');
    await markCleanStop(engine);
    await engine.close();
    engine = await open();
    assert.deepEqual(await bootIdentity(engine, draws()).then((identity) => [identity.epoch, identity.epochSource]), [
      31,
      'kept',
    ]);
    await engine.close(); // closed without the marker: as if the node had died
    engine = await open();
    assert.deepEqual(await bootIdentity(engine, draws(32)).then((identity) => [identity.epoch, identity.epochSource]), [
      32,
      'unclean',
    ]);
    await engine.close();
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

test('a props entry that does not decode is skipped at boot instead of throwing; intact ones load as stored', async () => {
  const engine = new MemoryEngine();
  await engine.open();
  const intact = {
    bucket: 'carts',
    props: { n: 3, r: 2, w: 2, resolver: 'lww', durability: 'durable' },
    version: 4,
    origin: 'n1',
  };
  const marker = {
    bucket: 'gone',
    props: { n: 3, r: 2, w: 2, resolver: 'siblings', durability: 'durable' },
    version: 2,
    origin: 'n2',
    deleted: true,
  };
  const encoder = new TextEncoder();
  await engine.batch(
    reservedNamespaces.metadata,
    [
      { type: 'put', key: propsStorageKey('carts'), value: encoder.encode(JSON.stringify(intact)) },
      { type: 'put', key: propsStorageKey('gone'), value: encoder.encode(JSON.stringify(marker)) },
      {
        type: 'put',
        key: propsStorageKey('half-deleted'),
        value: encoder.encode(JSON.stringify({ ...marker, bucket: 'half-deleted', deleted: 'yes' })),
      },
      { type: 'put', key: propsStorageKey('torn'), value: encoder.encode('{"bucket":"torn","pro') },
      {
        type: 'put',
        key: propsStorageKey('nan'),
        value: encoder.encode(
          '{"bucket":"nan","props":{"n":null,"r":1,"w":1,"resolver":"lww","durability":"durable"},"version":1,"origin":"o"}',
        ),
      },
      {
        type: 'put',
        key: propsStorageKey('other'),
        value: encoder.encode(JSON.stringify({ ...intact, bucket: 'not-other' })),
      },
      { type: 'put', key: propsStorageKey('bytes'), value: Uint8Array.of(0xff, 0xfe) },
    ],
    { durable: true },
  );
  const identity = await bootIdentity(engine, draws(3));
  assert.deepEqual(identity.props, [intact, marker]);
});

test('users saved in the metadata namespace come back at boot; a hand-edited entry that grants more or names another key is skipped', async () => {
  const engine = new MemoryEngine();
  await engine.open();
  const saved = {
    name: 'ops',
    roles: ['admin'],
    bucket: '',
    passwordHash: 'scrypt$16384$8$1$c2FsdA$aGFzaA',
    tokenHash: '',
    version: 7,
    origin: 'n1',
  };
  const encode = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));
  await engine.batch(
    reservedNamespaces.metadata,
    [
      { type: 'put', key: userStorageKey('ops'), value: encode(saved) },
      { type: 'put', key: userStorageKey('gone'), value: encode({ ...saved, name: 'gone', deleted: true }) },
      { type: 'put', key: userStorageKey('root'), value: encode({ ...saved, name: 'root', roles: ['superuser'] }) },
      { type: 'put', key: userStorageKey('elsewhere'), value: encode({ ...saved, name: 'ops2' }) },
      { type: 'put', key: userStorageKey('torn'), value: new Uint8Array([0x7b, 0x22]) },
    ],
    { durable: true },
  );
  const identity = await bootIdentity(engine, draws(3));
  assert.deepEqual(identity.users.map((user) => [user.name, user.deleted === true]).sort(), [
    ['gone', true],
    ['ops', false],
  ]);
  assert.deepEqual(
    identity.users.find((user) => user.name === 'ops'),
    saved,
  );
});
