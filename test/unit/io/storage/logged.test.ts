// Why: the write-ahead log is where a durable acknowledgement gets its meaning. These tests pin its
// record format (a torn tail is ignored, never misread), group commit (one fdatasync per turn), the
// overlay (reads see acknowledged writes the inner engine does not have yet, and nothing earlier),
// replay from a crash image, checkpoints, backpressure and failure, and gathered apply runs: writes
// wait up to applyDelayMs for the inner engine, except when something waits for it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { decodeLog, encodeBatchRecord, encodeDropRecord, logFileMagic } from '../../../../src/io/storage/log-format.ts';
import { LoggedEngine, type LoggedEngineOptions } from '../../../../src/io/storage/logged.ts';
import type { LogFileSystem } from '../../../../src/io/storage/log-files.ts';
import { LmdbEngine } from '../../../../src/io/storage/lmdb.ts';
import { MemoryEngine } from '../../../../src/io/storage/memory.ts';
import type { BatchOperation, Clock, StorageEngine, TimerHandle, Timers } from '../../../../src/runtime/ports.ts';
import {
  asyncOnly,
  bytes,
  logFileSystemWithSync,
  collect,
  GatedEngine,
  put,
  remove,
  text,
  withTemporaryDirectory,
} from '../../../support/storage-engines.ts';

const recordLimit = 1024 * 1024;

test('log records round-trip, and every torn or corrupt tail is ignored rather than misread', () => {
  const batches: Array<{ namespace: number; operations: BatchOperation[] }> = [
    { namespace: 0, operations: [put('a', '1'), remove('b')] },
    { namespace: 65535, operations: [put('', ''), put('\u0000\u00ff', 'x'.repeat(300))] },
    { namespace: 7, operations: [] },
  ];
  const records = [
    ...batches.map((batch) => encodeBatchRecord(batch.namespace, batch.operations, recordLimit)),
    encodeDropRecord(12),
  ];
  const file = Buffer.concat([logFileMagic, ...records]);
  const decoded = decodeLog(file, recordLimit);
  assert.equal(decoded.tornTail, false);
  assert.equal(decoded.intactBytes, file.length);
  assert.deepEqual(
    decoded.records.map((record) =>
      record.kind === 'drop'
        ? record
        : {
            ...record,
            operations: record.operations.map((operation) => ({
              ...operation,
              key: text(operation.key),
              ...(operation.type === 'put' ? { value: text(operation.value) } : {}),
            })),
          },
    ),
    [
      {
        kind: 'batch',
        namespace: 0,
        operations: [
          { type: 'put', key: 'a', value: '1' },
          { type: 'delete', key: 'b' },
        ],
      },
      {
        kind: 'batch',
        namespace: 65535,
        operations: [
          { type: 'put', key: '', value: '' },
          { type: 'put', key: '\u0000\u00ff', value: 'x'.repeat(300) },
        ],
      },
      { kind: 'batch', namespace: 7, operations: [] },
      { kind: 'drop', namespace: 12 },
    ],
  );
  const lastStart = file.length - (records[2] as Buffer).length - (records[3] as Buffer).length;
  const boundary = lastStart + (records[2] as Buffer).length;
  for (let cut = lastStart + 1; cut < file.length; cut++) {
    const torn = decodeLog(file.subarray(0, cut), recordLimit);
    // A cut between two records is a clean end, not a tear.
    assert.equal(torn.tornTail, cut !== boundary, `cut at ${cut}`);
    assert.equal(torn.records.length, cut < boundary ? 2 : 3, `cut at ${cut}`);
    assert.equal(torn.intactBytes, cut < boundary ? lastStart : boundary);
  }
  for (let flip = logFileMagic.length; flip < file.length; flip += 7) {
    const corrupt = Buffer.from(file);
    corrupt[flip] = (corrupt[flip] as number) ^ 0x20;
    const result = decodeLog(corrupt, recordLimit);
    assert.equal(result.tornTail, true, `flip at ${flip}`);
    assert.ok(result.records.length < 4);
  }
  assert.deepEqual(decodeLog(Buffer.from('not a log at all'), recordLimit).records, []);
  assert.throws(() => encodeBatchRecord(0, [put('k', 'v'.repeat(100))], 64), { code: 'EVERWRITE_VALUE_TOO_LARGE' });
});

async function withLogged(
  inner: StorageEngine,
  options: Omit<LoggedEngineOptions, 'directory'>,
  work: (engine: LoggedEngine, directory: string) => Promise<void>,
): Promise<void> {
  await withTemporaryDirectory('logged', async (directory) => {
    const engine = new LoggedEngine(inner, { ...options, directory: join(directory, 'wal') });
    await engine.open();
    try {
      await work(engine, directory);
    } finally {
      // close() applies everything first: a gate a failed test left shut would hang it, not fail it.
      if (inner instanceof GatedEngine) inner.release();
      await engine.close();
    }
  });
}

/** Waits (bounded) until the engine has applied everything and the overlay is empty. */
async function settled(engine: LoggedEngine): Promise<void> {
  for (
    let turn = 0;
    turn < 10_000 && (engine.statistics.overlayEntries > 0 || engine.statistics.unappliedBytes > 0);
    turn++
  )
    await new Promise((resolve) => setTimeout(resolve, 1));
  assert.equal(engine.statistics.unappliedBytes, 0, 'the engine did not settle');
}

test('durable batches queued in one event-loop turn share one writev and one fdatasync', () =>
  withLogged(new MemoryEngine(), {}, async (engine) => {
    await engine.batch(1, [put('warm', 'up')], { durable: true });
    await settled(engine);
    const before = engine.statistics;
    await Promise.all(
      Array.from({ length: 200 }, (_, index) => engine.batch(1, [put(`k${index}`, 'v')], { durable: true })),
    );
    const after = engine.statistics;
    assert.equal(after.syncs - before.syncs, 1);
    assert.equal(after.groupsWritten - before.groupsWritten, 1);
    await settled(engine);
    assert.equal((await collect(engine.scan(1))).length, 201);
  }));

test('a group of more batches than one writev call takes (IOV_MAX, 1024) is appended whole: every record is in the log', () =>
  withLogged(new MemoryEngine(), {}, async (engine, directory) => {
    const count = 3000;
    await Promise.all(
      Array.from({ length: count }, (_, index) => engine.batch(1, [put(`k${index}`, `v${index}`)], { durable: true })),
    );
    assert.equal(engine.statistics.groupsWritten, 1, 'one group');
    const logDirectory = join(directory, 'wal');
    const [logFile] = readdirSync(logDirectory).filter((name) => name.endsWith('.log'));
    const decoded = decodeLog(readFileSync(join(logDirectory, logFile as string)), 1 << 20);
    assert.equal(decoded.tornTail, false);
    assert.equal(decoded.records.length, count);
    await settled(engine);
    assert.equal((await collect(engine.scan(1))).length, count);
  }));

test('reads see acknowledged writes the inner engine has not applied, and none before the acknowledgement', () => {
  const inner = new GatedEngine();
  return withLogged(inner, {}, async (engine) => {
    await engine.batch(2, [put('a', '1'), put('b', '1'), put('c', '1')], { durable: true });
    await settled(engine);
    inner.hold();
    const acknowledged = engine.batch(2, [put('b', '2'), remove('c'), put('d', '2')], { durable: true });
    assert.equal(text(await engine.get(2, bytes('b'))), '1', 'visible before its acknowledgement');
    await acknowledged;
    assert.equal(text(await inner.get(2, bytes('b'))), '1', 'the inner engine should not have the batch yet');
    assert.equal(text(await engine.get(2, bytes('b'))), '2');
    assert.equal(await engine.get(2, bytes('c')), undefined);
    assert.equal(text(await engine.get(2, bytes('d'))), '2');
    const expected: Array<[string, string]> = [
      ['a', '1'],
      ['b', '2'],
      ['d', '2'],
    ];
    assert.deepEqual(await collect(engine.scan(2)), expected);
    assert.deepEqual(await collect(engine.scan(2, { limit: 2 })), expected.slice(0, 2));
    assert.deepEqual(await collect(engine.scan(2, { start: bytes('c') })), [['d', '2']]);
    assert.deepEqual(await collect(engine.scan(2, { start: bytes('b'), end: bytes('d') })), [['b', '2']]);
    assert.deepEqual(await collect(engine.scan(3)), []);
    assert.equal(engine.statistics.overlayEntries, 3);
    inner.release();
    await settled(engine);
    assert.equal(engine.statistics.overlayEntries, 0);
    assert.deepEqual(await collect(engine.scan(2)), expected);
    assert.deepEqual(await collect(inner.scan(2)), expected);
  });
});

test('the newest write to a key wins whatever mix of durable and buffered batches carried it', () =>
  withLogged(new GatedEngine(), {}, async (engine) => {
    await Promise.all([
      engine.batch(4, [put('k', 'durable-first')], { durable: true }),
      engine.batch(4, [put('k', 'buffered-second')], { durable: false }),
    ]);
    assert.equal(text(await engine.get(4, bytes('k'))), 'buffered-second');
    await Promise.all([
      engine.batch(4, [put('j', 'buffered-first')], { durable: false }),
      engine.batch(4, [put('j', 'durable-second')], { durable: true }),
    ]);
    assert.equal(text(await engine.get(4, bytes('j'))), 'durable-second');
    await settled(engine);
    assert.deepEqual(await collect(engine.scan(4)), [
      ['j', 'durable-second'],
      ['k', 'buffered-second'],
    ]);
  }));

test('readLatestNow sees a batch from the moment it is handed over, reads only from its acknowledgement; a drop handed over empties it (decision 0043)', () =>
  withLogged(new GatedEngine(), {}, async (engine) => {
    const read = (reader: LoggedEngine['readNow'], key: string): string | undefined => {
      const value = reader?.(5, bytes(key));
      return value === undefined ? undefined : text(value);
    };
    assert.ok(engine.readLatestNow !== undefined, 'offered over an inner engine that reads synchronously');
    await engine.batch(5, [put('a', '1'), put('b', '1')], { durable: true });
    const second = engine.batch(5, [put('a', '2'), remove('b')], { durable: true });
    assert.deepEqual([read(engine.readLatestNow, 'a'), read(engine.readLatestNow, 'b')], ['2', undefined]);
    assert.deepEqual([read(engine.readNow, 'a'), read(engine.readNow, 'b')], ['1', '1'], 'not yet acknowledged');
    await second;
    assert.deepEqual([read(engine.readNow, 'a'), read(engine.readNow, 'b')], ['2', undefined]);
    await settled(engine);
    const dropped = engine.drop(5);
    const after = engine.batch(5, [put('c', '3')], { durable: true });
    assert.equal(read(engine.readLatestNow, 'a'), undefined, 'the drop handed over hides every earlier write');
    assert.equal(read(engine.readLatestNow, 'c'), '3', 'but not a later one');
    assert.equal(read(engine.readNow, 'a'), '2', 'reads see the namespace until the drop is done');
    await Promise.all([dropped, after]);
    await settled(engine);
    assert.deepEqual([read(engine.readLatestNow, 'a'), read(engine.readLatestNow, 'c')], [undefined, '3']);
    assert.deepEqual([read(engine.readNow, 'a'), read(engine.readNow, 'c')], [undefined, '3']);
    assert.equal(engine.statistics.overlayEntries, 0);
  }));

/** node:fs, with every log fdatasync from `hold()` on waiting until `release()`. */
function syncGate(): { fileSystem: LogFileSystem; hold: () => void; release: () => void } {
  let held: Array<() => void> | undefined;
  const fileSystem = logFileSystemWithSync(async (real) => {
    if (held !== undefined) await new Promise<void>((resolve) => held?.push(resolve));
    await real();
  });
  const release = (): void => {
    const waiting = held ?? [];
    held = undefined;
    for (const resume of waiting) resume();
  };
  return { fileSystem, hold: () => (held ??= []), release };
}

test('once a drop is applied, an older acknowledged write no longer shows, though a newer write of its key waits for its fsync', () => {
  const inner = new GatedEngine();
  const syncs = syncGate();
  return withLogged(inner, { fileSystem: syncs.fileSystem }, async (engine) => {
    try {
      await engine.batch(6, [put('k', '1')], { durable: true });
      inner.hold();
      // The drop's run also carries a batch of namespace 7, which the gate holds: the run stays open.
      const other = engine.batch(7, [put('x', '1')], { durable: true });
      const dropped = engine.drop(6);
      await eventually('the run with the drop reached the inner engine', () => inner.heldBatches > 0);
      syncs.hold();
      const newer = engine.batch(6, [put('k', '2')], { durable: true });
      inner.release();
      await dropped;
      assert.equal(engine.readNow?.(6, bytes('k')), undefined, 'the dropped write shows again');
      assert.equal(await engine.get(6, bytes('k')), undefined);
      assert.deepEqual(await collect(engine.scan(6)), []);
      assert.equal(text(engine.readLatestNow?.(6, bytes('k')) ?? new Uint8Array()), '2');
      syncs.release();
      await Promise.all([newer, other]);
      assert.equal(text(await engine.get(6, bytes('k'))), '2');
    } finally {
      syncs.release();
    }
  });
});

test('readLatestNow is not offered over an inner engine that cannot read synchronously', () => {
  const inner = asyncOnly(new MemoryEngine());
  const engine = new LoggedEngine(inner, { directory: '/nonexistent/never-opened' });
  assert.equal(engine.readLatestNow, undefined);
  assert.equal(engine.readNow, undefined);
});

/** Copies the log files as they are now: what a crash at this instant would leave on disk. */
function crashImage(logDirectory: string, imageDirectory: string): string[] {
  mkdirSync(imageDirectory, { recursive: true });
  const names = readdirSync(logDirectory).sort();
  for (const name of names) copyFileSync(join(logDirectory, name), join(imageDirectory, name));
  return names;
}

async function replayInto(
  imageDirectory: string,
): Promise<{ engine: LoggedEngine; scan: (namespace: number) => Promise<Array<[string, string]>> }> {
  const engine = new LoggedEngine(new MemoryEngine(), { directory: imageDirectory });
  await engine.open();
  return { engine, scan: (namespace) => collect(engine.scan(namespace)) };
}

test('replay rebuilds acknowledged writes and drops from a crash image, stopping at a torn tail', () => {
  const inner = new GatedEngine();
  return withLogged(inner, {}, async (engine, directory) => {
    inner.hold();
    const written = [engine.batch(3, [put('k1', 'v1')], { durable: true })];
    const dropped = engine.drop(3);
    written.push(
      engine.batch(3, [put('k2', 'v2')], { durable: true }),
      engine.batch(5, [put('x', '1')], { durable: false }),
    );
    await Promise.all(written);
    written.push(engine.batch(5, [put('y', '2')], { durable: true }));
    await Promise.all(written);
    const names = crashImage(join(directory, 'wal'), join(directory, 'image'));
    crashImage(join(directory, 'wal'), join(directory, 'torn'));
    inner.release();
    await dropped;
    assert.deepEqual(await collect(engine.scan(3)), [['k2', 'v2']]);

    const whole = await replayInto(join(directory, 'image'));
    assert.deepEqual(await whole.scan(3), [['k2', 'v2']]);
    assert.deepEqual(await whole.scan(5), [
      ['x', '1'],
      ['y', '2'],
    ]);
    assert.deepEqual(whole.engine.replayReport, { files: 1, records: 5, tornTail: false, ignoredFiles: 0 });
    await whole.engine.close();

    const lastFile = join(directory, 'torn', names[names.length - 1] as string);
    truncateSync(lastFile, statSync(lastFile).size - 3);
    const torn = await replayInto(join(directory, 'torn'));
    assert.deepEqual(await torn.scan(5), [['x', '1']]);
    assert.deepEqual(torn.engine.replayReport, { files: 1, records: 4, tornTail: true, ignoredFiles: 0 });
    await torn.engine.close();
  });
});

test('checkpoints rotate the log and delete applied files; a clean close leaves nothing to replay', () =>
  withTemporaryDirectory('checkpoint', async (directory) => {
    const logDirectory = join(directory, 'wal');
    const open = async (): Promise<LoggedEngine> => {
      const engine = new LoggedEngine(new LmdbEngine({ directory: join(directory, 'lmdb') }), {
        directory: logDirectory,
        checkpointBytes: 8192,
      });
      await engine.open();
      return engine;
    };
    const engine = await open();
    const value = 'v'.repeat(1024);
    for (let round = 0; round < 20; round++) {
      await Promise.all(
        Array.from({ length: 10 }, (_, index) =>
          engine.batch(1, [put(`key${round * 10 + index}`, value)], { durable: true }),
        ),
      );
    }
    await settled(engine);
    for (let turn = 0; turn < 1000 && readdirSync(logDirectory).length > 1; turn++)
      await new Promise((resolve) => setTimeout(resolve, 2));
    assert.ok(engine.statistics.checkpoints >= 10, `only ${engine.statistics.checkpoints} checkpoints`);
    assert.ok(engine.statistics.logGeneration >= 10);
    assert.equal(readdirSync(logDirectory).length, 1, 'retired log files remain');
    await engine.close();
    assert.deepEqual(readdirSync(logDirectory), []);
    const reopened = await open();
    assert.deepEqual(reopened.replayReport, { files: 0, records: 0, tornTail: false, ignoredFiles: 0 });
    assert.equal((await collect(reopened.scan(1))).length, 200);
    await reopened.close();
  }));

test('acknowledgements wait while the inner engine lags by more than unappliedBytesMax', () => {
  const inner = new GatedEngine();
  return withLogged(inner, { unappliedBytesMax: 2048 }, async (engine) => {
    inner.hold();
    const value = 'v'.repeat(1000);
    const first = engine.batch(6, [put('first', value)], { durable: true });
    let secondDone = false;
    const second = engine.batch(6, [put('second', value)], { durable: true }).then(() => (secondDone = true));
    await first;
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(secondDone, false, 'acknowledged while over the backlog bound');
    inner.release();
    await second;
    assert.equal(text(await engine.get(6, bytes('second'))), value);
  });
});

test('a failing inner engine fails the logged engine: later writes are refused, the log is kept for replay', () =>
  withTemporaryDirectory('failing', async (directory) => {
    const inner = new GatedEngine();
    const engine = new LoggedEngine(inner, { directory });
    await engine.open();
    inner.failWith = new Error('disk on fire');
    await engine.batch(7, [put('k', 'v')], { durable: true });
    let refusal: unknown;
    for (let turn = 0; turn < 1000 && refusal === undefined; turn++) {
      refusal = await engine.batch(7, [put('k2', 'v')], { durable: true }).then(
        () => undefined,
        (error: unknown) => error,
      );
    }
    assert.equal(
      (refusal as { code?: string } | undefined)?.code,
      'EVERWRITE_STORAGE_FAILED',
      'the engine never failed',
    );
    assert.match((refusal as Error).message, /disk on fire/);
    await assert.rejects(engine.drop(7), { code: 'EVERWRITE_STORAGE_FAILED' });
    await engine.close();
    const replayed = await replayInto(directory);
    assert.equal(text(await replayed.engine.get(7, bytes('k'))), 'v', 'the acknowledged write was lost');
    await replayed.engine.close();
  }));

test('the same engine object reopened after a failure starts clean: the log is replayed, nothing of the failed run lingers', () =>
  withTemporaryDirectory('reopen-after-failure', async (directory) => {
    const inner = new GatedEngine();
    const engine = new LoggedEngine(inner, { directory, unappliedBytesMax: 64 * 1024 });
    await engine.open();
    inner.failWith = new Error('disk on fire');
    await engine.batch(7, [put('k', 'v')], { durable: true });
    for (
      let turn = 0;
      turn < 1000 &&
      (await engine.batch(7, [put('k2', 'v')], { durable: true }).then(
        () => true,
        () => false,
      ));
      turn++
    );
    await engine.close();
    inner.failWith = undefined;
    await engine.open();
    assert.equal(engine.statistics.unappliedBytes, 0, 'bytes of the failed run still counted');
    assert.equal(engine.statistics.overlayEntries, 0, 'overlay entries of the failed run still held');
    assert.equal(text(await engine.get(7, bytes('k'))), 'v', 'the acknowledged write came back by replay');
    // More than unappliedBytesMax of new writes: had the old count stayed, their acknowledgements would wait for ever.
    await Promise.all(
      Array.from({ length: 100 }, (_, index) =>
        engine.batch(7, [put(`n${index}`, 'x'.repeat(1000))], { durable: true }),
      ),
    );
    assert.equal(text(await engine.get(7, bytes('n99'))), 'x'.repeat(1000));
    await engine.close();
  }));

test('a batch over recordBytesMax is refused and the engine carries on', () =>
  withLogged(new MemoryEngine(), { recordBytesMax: 4096 }, async (engine) => {
    await assert.rejects(engine.batch(8, [put('big', 'x'.repeat(5000))], { durable: true }), {
      code: 'EVERWRITE_VALUE_TOO_LARGE',
    });
    await engine.batch(8, [put('small', 'x')], { durable: true });
    assert.equal(text(await engine.get(8, bytes('small'))), 'x');
    assert.equal(await engine.get(8, bytes('big')), undefined);
  }));

test('options are validated once: a bad value is a coded error naming the option', () => {
  assert.throws(() => new LoggedEngine(new MemoryEngine(), { directory: '/tmp/x', checkpointBytes: 10 }), {
    code: 'EVERWRITE_BAD_REQUEST',
    message: /checkpointBytes/,
  });
  assert.throws(() => new LoggedEngine(new MemoryEngine(), { directory: '' }), {
    code: 'EVERWRITE_BAD_REQUEST',
    message: /directory/,
  });
  assert.throws(() => new LoggedEngine(new MemoryEngine(), { directory: '/tmp/x', applyDelayMs: -1 }), {
    code: 'EVERWRITE_BAD_REQUEST',
    message: /applyDelayMs/,
  });
  assert.throws(() => new LoggedEngine(new MemoryEngine(), { directory: '/tmp/x', applyDelayMs: 0.5 }), {
    code: 'EVERWRITE_BAD_REQUEST',
    message: /applyDelayMs/,
  });
  assert.throws(() => new LoggedEngine(new MemoryEngine(), { directory: '/tmp/x', applyRunBytes: 0 }), {
    code: 'EVERWRITE_BAD_REQUEST',
    message: /applyRunBytes/,
  });
  const defaults = new LoggedEngine(new MemoryEngine(), { directory: '/tmp/x' }).options;
  assert.ok(Object.isFrozen(defaults));
  assert.deepEqual(
    { applyDelayMs: defaults.applyDelayMs, applyRunBytes: defaults.applyRunBytes },
    { applyDelayMs: 100, applyRunBytes: 4 * 1024 * 1024 },
  );
});

// ---- gathered apply runs (applyDelayMs, applyRunBytes; decision 0006) ---------------------------

/** Rejects unless `promise` settles within `limitMs`: what must not wait out a long applyDelayMs. */
async function within<T>(limitMs: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`${what} waited out applyDelayMs`)), limitMs)),
  );
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls (bounded) until `ready` holds. */
async function eventually(what: string, ready: () => boolean): Promise<void> {
  for (let turn = 0; turn < 5000 && !ready(); turn++) await new Promise((resolve) => setTimeout(resolve, 2));
  assert.ok(ready(), what);
}

const longDelay = { applyDelayMs: 60_000 };

/** A Clock and Timers that move only when told: applyDelayMs without racing the machine's speed. */
class ManualClock implements Clock, Timers {
  private now = 0;
  private readonly timers = new Set<{ dueMs: number; callback: () => void }>();

  monotonicMs(): number {
    return this.now;
  }

  realtimeMs(): number {
    return this.now;
  }

  after(delayMs: number, callback: () => void): TimerHandle {
    const timer = { dueMs: this.now + delayMs, callback };
    this.timers.add(timer);
    return { cancel: () => this.timers.delete(timer) };
  }

  get pending(): number {
    return this.timers.size;
  }

  advance(byMs: number): void {
    this.now += byMs;
    for (const timer of [...this.timers]) {
      if (timer.dueMs > this.now) continue;
      this.timers.delete(timer);
      timer.callback();
    }
  }
}

test('durable writes synced within applyDelayMs reach the inner engine as one run; reads see them meanwhile', () => {
  const inner = new GatedEngine();
  const clock = new ManualClock();
  return withLogged(inner, { applyDelayMs: 1000, clock, timers: clock }, async (engine) => {
    // Each write awaited on its own: ten groups, ten fdatasyncs, that used to be ten runs.
    for (let index = 0; index < 10; index++) {
      await engine.batch(1, [put(`k${index}`, `v${index}`), put('shared', `v${index}`)], { durable: true });
      clock.advance(99);
    }
    assert.ok(engine.statistics.syncs >= 10);
    assert.equal(engine.statistics.runsApplied, 0, 'applied before applyDelayMs (990 ms of the clock)');
    assert.equal(inner.innerBatches, 0);
    assert.equal(clock.pending, 1, 'one timer waits for the oldest group');
    assert.equal(text(await engine.get(1, bytes('k3'))), 'v3');
    assert.equal(text(await engine.get(1, bytes('shared'))), 'v9');
    assert.equal((await collect(engine.scan(1))).length, 11);
    clock.advance(9);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(engine.statistics.runsApplied, 0, 'still 1 ms before applyDelayMs');
    clock.advance(1);
    await settled(engine);
    assert.equal(engine.statistics.runsApplied, 1, 'the waiting groups were not gathered into one run');
    assert.equal(inner.innerBatches, 1);
    assert.equal(engine.statistics.overlayEntries, 0);
    assert.equal(text(await inner.get(1, bytes('shared'))), 'v9');
    assert.equal((await collect(inner.scan(1))).length, 11);
  });
});

test('buffered writes are synced when their run is due, once for all of them, not once per group (decision 0042)', () => {
  const inner = new GatedEngine();
  const clock = new ManualClock();
  return withLogged(inner, { applyDelayMs: 1000, clock, timers: clock }, async (engine) => {
    // Each write awaited on its own: ten groups, answered at their appends, none synced yet.
    for (let index = 0; index < 10; index++) {
      await engine.batch(1, [put(`k${index}`, `v${index}`)], { durable: false });
      clock.advance(99);
    }
    assert.equal(engine.statistics.groupsWritten, 10);
    assert.equal(engine.statistics.syncs, 0, 'a buffered group was synced before its run was due');
    assert.equal(text(await engine.get(1, bytes('k9'))), 'v9');
    clock.advance(10);
    await settled(engine);
    assert.equal(engine.statistics.syncs, 1, 'the due groups were not synced by one fdatasync');
    assert.equal(engine.statistics.runsApplied, 1);
    assert.equal((await collect(inner.scan(1))).length, 10);
    // A durable write is synced at once, and its fdatasync covers the buffered groups written before it.
    await engine.batch(2, [put('b', '1')], { durable: false });
    await engine.batch(2, [put('d', '1')], { durable: true });
    assert.equal(engine.statistics.syncs, 2);
    assert.equal(engine.statistics.runsApplied, 1, 'the run still waits out the delay of the oldest group');
    clock.advance(1000);
    await settled(engine);
    assert.equal(engine.statistics.syncs, 2, 'the buffered group was synced again after the durable one covered it');
    assert.deepEqual(await collect(inner.scan(2)), [
      ['b', '1'],
      ['d', '1'],
    ]);
  });
});

test('buffered groups are synced and applied at once when applyRunBytes of them wait, or their log file is sealed', async () => {
  const value = 'v'.repeat(1000);
  await withLogged(new MemoryEngine(), { ...longDelay, applyRunBytes: 4096 }, async (engine) => {
    for (let index = 0; index < 5; index++) await engine.batch(5, [put(`k${index}`, value)], { durable: false });
    await eventually('applyRunBytes of buffered groups did not start a run', () => engine.statistics.runsApplied >= 1);
    assert.ok(engine.statistics.syncs >= 1);
  });
  await withLogged(new MemoryEngine(), { ...longDelay, checkpointBytes: 4096 }, async (engine) => {
    for (let index = 0; index < 6; index++) await engine.batch(6, [put(`k${index}`, value)], { durable: false });
    await eventually(
      'a sealed log file of buffered groups waited out applyDelayMs',
      () => engine.statistics.checkpoints >= 1,
    );
  });
});

test('close() applies writes waiting out applyDelayMs at once, and leaves nothing to replay', () =>
  withTemporaryDirectory('logged-close', async (directory) => {
    const inner = new MemoryEngine();
    const engine = new LoggedEngine(inner, { ...longDelay, directory });
    await engine.open();
    await Promise.all([
      engine.batch(1, [put('a', '1')], { durable: true }),
      engine.batch(2, [put('b', '2')], { durable: false }),
    ]);
    await engine.batch(1, [put('a', '3'), remove('gone')], { durable: true });
    assert.equal(engine.statistics.runsApplied, 0);
    await within(5000, 'close()', engine.close());
    assert.deepEqual(readdirSync(directory), []);
    await inner.open();
    assert.deepEqual(await collect(inner.scan(1)), [['a', '3']]);
    assert.deepEqual(await collect(inner.scan(2)), [['b', '2']]);
  }));

test('a drop, a backlog over unappliedBytesMax, applyRunBytes and a sealed log file each start a run at once', async () => {
  await withLogged(new MemoryEngine(), longDelay, async (engine) => {
    await engine.batch(3, [put('k', 'v')], { durable: true });
    await within(5000, 'drop()', engine.drop(3));
    assert.equal(await engine.get(3, bytes('k')), undefined);
  });
  const value = 'v'.repeat(1000);
  await withLogged(new MemoryEngine(), { ...longDelay, unappliedBytesMax: 2048 }, (engine) =>
    within(
      5000,
      'an acknowledgement over unappliedBytesMax',
      Promise.all([1, 2, 3].map((index) => engine.batch(4, [put(`k${index}`, value)], { durable: true }))),
    ).then(() => undefined),
  );
  await withLogged(new MemoryEngine(), { ...longDelay, applyRunBytes: 4096 }, async (engine) => {
    for (let index = 0; index < 5; index++) await engine.batch(5, [put(`k${index}`, value)], { durable: true });
    await eventually('applyRunBytes of waiting groups did not start a run', () => engine.statistics.runsApplied >= 1);
  });
  await withLogged(new MemoryEngine(), { ...longDelay, checkpointBytes: 4096 }, async (engine) => {
    for (let index = 0; index < 6; index++) await engine.batch(6, [put(`k${index}`, value)], { durable: true });
    await eventually(
      'a sealed log file waited out applyDelayMs for its checkpoint',
      () => engine.statistics.checkpoints >= 1,
    );
  });
});

test('runs started early and runs started by the delay keep log order: the newest write to each key wins', () => {
  const inner = new MemoryEngine();
  return withLogged(inner, { applyDelayMs: 20, applyRunBytes: 600 }, async (engine) => {
    const newest = new Map<string, string>();
    for (let round = 0; round < 40; round++) {
      const writes = Array.from({ length: 1 + (round % 4) }, (_, index) => {
        const key = `k${(round * 7 + index) % 9}`;
        const written = `round${round}-${index}`;
        newest.set(key, written);
        return engine.batch(7, [put(key, written)], { durable: index % 2 === 0 });
      });
      if (round % 5 === 0) writes.push(engine.batch(8, [put('other', String(round))], { durable: true }));
      await Promise.all(writes);
      if (round % 3 === 0) await new Promise((resolve) => setTimeout(resolve, 15));
      for (const [key, written] of newest)
        assert.equal(text(await engine.get(7, bytes(key))), written, `read ${key} in round ${round}`);
    }
    await settled(engine);
    assert.ok(engine.statistics.runsApplied > 1, 'the test should exercise several runs');
    assert.deepEqual(
      await collect(inner.scan(7)),
      [...newest].sort(([a], [b]) => (a < b ? -1 : 1)),
    );
  });
});

test('a crash while writes wait out applyDelayMs loses none of them: replay applies them', () => {
  const inner = new GatedEngine();
  return withLogged(inner, longDelay, async (engine, directory) => {
    await engine.batch(9, [put('a', '1'), put('b', '1')], { durable: true });
    await engine.batch(9, [put('b', '2'), remove('a')], { durable: true });
    await engine.batch(9, [put('c', '3')], { durable: false });
    assert.equal(inner.innerBatches, 0, 'the inner engine has them: nothing would be left to replay');
    crashImage(join(directory, 'wal'), join(directory, 'image'));
    const replayed = await replayInto(join(directory, 'image'));
    assert.deepEqual(await replayed.scan(9), [
      ['b', '2'],
      ['c', '3'],
    ]);
    assert.equal(replayed.engine.replayReport.records, 3);
    await replayed.engine.close();
  });
});
