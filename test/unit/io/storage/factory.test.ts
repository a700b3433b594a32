// Why: the factory decides the data directory layout and whether the write-ahead log is in front;
// getting either wrong silently loses data, so both are pinned here, with lmdb's key size limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createStorageEngine,
  LevelEngine,
  LmdbEngine,
  LoggedEngine,
  MemoryEngine,
} from '../../../../src/io/storage/index.ts';
import { bytes, collect, put, withTemporaryDirectory } from '../../../support/storage-engines.ts';

test('createStorageEngine puts the write-ahead log in front of durable engines by default', () => {
  assert.ok(createStorageEngine('memory') instanceof MemoryEngine);
  const lmdb = createStorageEngine('lmdb', { directory: '/tmp/everwrite-unused' });
  assert.ok(lmdb instanceof LoggedEngine && lmdb.inner instanceof LmdbEngine);
  assert.equal(lmdb.options.directory, join('/tmp/everwrite-unused', 'wal'));
  assert.equal(lmdb.inner.options.directory, join('/tmp/everwrite-unused', 'lmdb'));
  const level = createStorageEngine('level', { directory: '/tmp/everwrite-unused', log: { checkpointBytes: 1 << 20 } });
  assert.ok(
    level instanceof LoggedEngine && level.inner instanceof LevelEngine && level.options.checkpointBytes === 1 << 20,
  );
  const ungathered = createStorageEngine('lmdb', {
    directory: '/tmp/everwrite-unused',
    log: { applyDelayMs: 0, applyRunBytes: 1 << 16 },
  });
  assert.ok(
    ungathered instanceof LoggedEngine &&
      ungathered.options.applyDelayMs === 0 &&
      ungathered.options.applyRunBytes === 1 << 16,
  );
  assert.ok(
    createStorageEngine('level', { directory: '/tmp/everwrite-unused', writeAheadLog: false }) instanceof LevelEngine,
  );
});

test('createStorageEngine refuses a durable kind without a directory, and an unknown kind', () => {
  assert.throws(() => createStorageEngine('lmdb'), { code: 'EVERWRITE_BAD_REQUEST' });
  assert.throws(() => createStorageEngine('rocks' as never, { directory: '/tmp/x' }), {
    code: 'EVERWRITE_BAD_REQUEST',
  });
});

test('a directory holding a write-ahead log cannot be opened without it', () =>
  withTemporaryDirectory('factory', async (directory) => {
    mkdirSync(join(directory, 'wal'));
    writeFileSync(join(directory, 'wal', 'wal-000000000001.log'), 'EWLOG001');
    assert.throws(() => createStorageEngine('lmdb', { directory, writeAheadLog: false }), {
      code: 'EVERWRITE_STORAGE_FAILED',
    });
  }));

test('lmdb refuses a key over its size limit without applying any of the batch', () =>
  withTemporaryDirectory('lmdb-key', async (directory) => {
    const engine = new LmdbEngine({ directory });
    await engine.open();
    try {
      const tooLong = new Uint8Array(4000);
      await assert.rejects(
        engine.batch(1, [put('first', 'x'), { type: 'put', key: tooLong, value: bytes('y') }], { durable: true }),
        { code: 'EVERWRITE_KEY_TOO_LARGE' },
      );
      assert.deepEqual(await collect(engine.scan(1)), []);
      assert.equal(await engine.get(1, tooLong), undefined);
      const longest = new Uint8Array(1976).fill(7);
      await engine.batch(1, [{ type: 'put', key: longest, value: bytes('ok') }], { durable: true });
      assert.deepEqual(await engine.get(1, longest), bytes('ok'));
    } finally {
      await engine.close();
    }
  }));

test('an empty durable batch on LevelDB moves everything written so far into a synced table file', () =>
  withTemporaryDirectory('level-barrier', async (directory) => {
    const engine = new LevelEngine({ directory });
    await engine.open();
    try {
      await engine.batch(1, [put('buffered', 'x'.repeat(1000))], { durable: false });
      assert.deepEqual(
        readdirSync(directory).filter((name) => name.endsWith('.ldb')),
        [],
      );
      await engine.batch(1, [], { durable: true });
      assert.equal(
        readdirSync(directory).filter((name) => name.endsWith('.ldb')).length,
        1,
        'the memtable was not flushed to a table',
      );
      assert.deepEqual(await collect(engine.scan(1)), [['buffered', 'x'.repeat(1000)]]);
    } finally {
      await engine.close();
    }
  }));
