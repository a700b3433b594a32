// Why: over the write-ahead log a replica's read-modify-write is one synchronous step that reads the
// log's latest view (readLatestNow) and then waits only for its own acknowledgement, with no per-key
// queue (decision 0043). These tests pin what that must keep: writes to one key handed over in one
// turn build on each other and share one log group, replay gives back what was acknowledged, and a
// write built on one that failed fails with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { StoredValue, VersionedRecord } from '../../../src/core/versioning/index.ts';
import type { VersionRequest } from '../../../src/core/node/effects.ts';
import type { LogFileSystem } from '../../../src/io/storage/log-files.ts';
import { LoggedEngine } from '../../../src/io/storage/logged.ts';
import { MemoryEngine } from '../../../src/io/storage/memory.ts';
import { LocalStore } from '../../../src/runtime/stores/local-store.ts';
import { logFileSystemWithSync, withTemporaryDirectory } from '../../support/storage-engines.ts';

const key = new TextEncoder().encode('\u0000\u0001bk');
const stored = (value: string): StoredValue => ({
  value: new TextEncoder().encode(value),
  contentType: 'text/plain',
  lastModifiedMs: 1,
  deleted: false,
  timestamp: 1024,
});
const request = (value: string, durable = true): VersionRequest => ({
  context: new Map(),
  useStoredContext: false,
  actor: 'n1.7',
  stored: stored(value),
  durable,
  lastWriterWins: false,
  siblingsCountMax: 100,
});
const dots = (record: VersionedRecord): string[] =>
  record.siblings
    .map((sibling) => `${sibling.dot.actor}:${sibling.dot.counter}=${new TextDecoder().decode(sibling.stored.value)}`)
    .sort();

test('over the log, writes to one key handed over in one turn build on each other and share one log group; replay gives them back', () =>
  withTemporaryDirectory('local-store-log', async (directory) => {
    const engine = new LoggedEngine(new MemoryEngine(), { directory: join(directory, 'wal') });
    await engine.open();
    const store = new LocalStore(engine);
    await store.usage.countStored(engine, 8);
    const fromN5: VersionedRecord = {
      context: new Map([['n5.1', 1]]),
      siblings: [{ dot: { actor: 'n5.1', counter: 1 }, stored: stored('from n5') }],
    };
    const answers = await Promise.all([
      store.mint(3, key, request('a')),
      store.merge(3, key, fromN5, false),
      store.mint(3, key, request('b', false)),
    ]);
    assert.deepEqual(dots(answers[0].record), ['n1.7:1=a']);
    assert.deepEqual(
      dots(answers[1].record),
      ['n1.7:1=a', 'n5.1:1=from n5'],
      'the merge built on the unacknowledged mint',
    );
    assert.deepEqual(dots(answers[2].record), ['n1.7:1=a', 'n1.7:2=b', 'n5.1:1=from n5']);
    assert.equal(engine.statistics.groupsWritten, 1, 'no write waited for the one before it');
    assert.deepEqual(dots(await store.read(3, key)), dots(answers[2].record));
    assert.deepEqual(store.usage.figures(), { keys: 1, bytes: key.length + (answers[2].encoded?.length ?? 0) });
    await engine.close();

    // The memory engine keeps its contents across close/open: replay over it must agree.
    await engine.open();
    assert.deepEqual(dots(await new LocalStore(engine).read(3, key)), dots(answers[2].record));
    await engine.close();
  }));

/** node:fs, with every log file's fdatasync failing while `failing` is set. */
function syncFailingFileSystem(): { fileSystem: LogFileSystem; fail: (on: boolean) => void } {
  let failing = false;
  const fileSystem = logFileSystemWithSync((real) =>
    failing ? Promise.reject(new Error('EIO: simulated fdatasync failure')) : real(),
  );
  return { fileSystem, fail: (on) => (failing = on) };
}

test('over the log, a write built on an unacknowledged one that then fails fails too, and the failed version is minted around', () =>
  withTemporaryDirectory('local-store-log-failure', async (directory) => {
    const { fileSystem, fail } = syncFailingFileSystem();
    const engine = new LoggedEngine(new MemoryEngine(), { directory: join(directory, 'wal'), fileSystem });
    await engine.open();
    const store = new LocalStore(engine);
    await store.mint(3, key, request('before'));
    fail(true);
    const reported: string[][] = [];
    const first = store.mint(3, key, request('a'), (record) => reported.push(dots(record)));
    const built = store.mint(3, key, request('b'));
    await assert.rejects(Promise.resolve(first), /fdatasync/);
    await assert.rejects(Promise.resolve(built), /fdatasync/, 'the write that read the failed one is not acknowledged');
    assert.deepEqual(reported, [['n1.7:1=before', 'n1.7:2=a']]);
    await engine.close().catch(() => undefined);
    fail(false);
    await engine.open();
    // Whatever replay kept of the failed run, the reported dot n1.7:2 is never minted again for another value.
    const next = await store.mint(3, key, request('c'));
    const counters = next.record.siblings.filter((sibling) => sibling.dot.counter === 2);
    assert.ok(
      counters.every((sibling) => new TextDecoder().decode(sibling.stored.value) === 'a'),
      `n1.7:2 names "a" or nothing: ${dots(next.record).join(', ')}`,
    );
    assert.ok(dots(next.record).includes('n1.7:2=a'), 'the reported version is kept for the next mint');
    await engine.close();
  }));
