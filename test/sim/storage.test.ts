// Why: the simulator's crashes prove something only if the disk under the production write-ahead
// log loses exactly what a real one may: the unsynced suffix of each file (a torn last write keeps a
// prefix), never a synced byte. These tests drive the real LoggedEngine over a SimDisk, crash it at
// random moments and check, file by file and write by write, what survives and what replay makes
// of it: every acknowledged durable write survives, what survives of each log file is a prefix of
// it, and replay stops exactly where a tear left a partial record, reading nothing past it. The seeds
// are printed; a failure replays with SIM_DISK_SEED.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Prng } from '../../src/core/base/prng.ts';
import { EverwriteError } from '../../src/core/base/errors.ts';
import { decodeLog, logFileMagic, recordHeaderBytes } from '../../src/io/storage/log-format.ts';
import { drainMicrotasks } from '../../src/sim/guard.ts';
import { SimDisk, SimScheduler, type SimStorage, type TornAppend } from '../../src/sim/index.ts';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (value: Uint8Array | undefined): string | undefined =>
  value === undefined ? undefined : new TextDecoder().decode(value);

/** Awaits `promise` while running the scheduler (the disk completes I/O as scheduler tasks). */
async function pumped<T>(scheduler: SimScheduler, promise: Promise<T>): Promise<T> {
  let done = false;
  const settled = promise.finally(() => {
    done = true;
  });
  // Handled here too: a rejection is the caller's to check once the loop ends, not an unhandled one.
  settled.catch(() => undefined);
  await drainMicrotasks();
  for (let step = 0; !done && step < 1_000_000 && scheduler.runNext(Infinity); step++) await drainMicrotasks();
  return settled;
}

async function runUntil(scheduler: SimScheduler, untilMs: number): Promise<void> {
  for (let step = 0; step < 1_000_000 && scheduler.runNext(untilMs); step++) await drainMicrotasks();
}

async function opened(scheduler: SimScheduler, disk: SimDisk, onLogFailed?: () => void): Promise<SimStorage> {
  const storage = disk.open(onLogFailed);
  await pumped(scheduler, storage.open());
  return storage;
}

function firstSeed(): number {
  const chosen = process.env.SIM_DISK_SEED;
  return chosen === undefined || chosen === '' ? 1 + Math.floor(Math.random() * 1_000_000) : Number(chosen);
}

/**
 * Offsets in a log file where a crash may cut without leaving a partial record: the empty file, the
 * end of the magic and the end of each record, walked by the length fields the writer put there
 * (not by the decoder under test). `content` is the file as written, whole records only.
 */
function recordBoundaries(content: Buffer): Set<number> {
  const boundaries = new Set([0, logFileMagic.length]);
  let offset = logFileMagic.length;
  while (offset + recordHeaderBytes <= content.length) {
    offset += recordHeaderBytes + content.readUInt32LE(offset);
    boundaries.add(offset);
  }
  assert.equal(offset, Math.max(content.length, logFileMagic.length), 'the log appended a partial record');
  return boundaries;
}

/**
 * What replay must report after a crash, from what each file held before it and how much of it
 * is left: every whole record of each file, oldest first, up to the first file the crash left with
 * a partial record (a torn tail replay must see and stop at); the files after that one are not read.
 * A tear that fell exactly between two records of one group's append leaves only whole records:
 * nothing torn to see, and replay reads on.
 */
function expectedReplay(
  before: ReadonlyMap<string, { readonly content: Buffer }>,
  after: ReadonlyMap<string, { readonly content: Buffer }>,
) {
  const paths = [...after.keys()].sort();
  let records = 0;
  let files = 0;
  for (const path of paths) {
    files += 1;
    const left = (after.get(path) as { content: Buffer }).content.length;
    // A file the crash brought back (its removal was not durable) was synced whole: it is its own reference.
    const boundaries = recordBoundaries((before.get(path) ?? after.get(path))?.content as Buffer);
    records += [...boundaries].filter((end) => end > logFileMagic.length && end <= left).length;
    if (!boundaries.has(left)) return { files, records, tornTail: true, ignoredFiles: paths.length - files };
  }
  return { files, records, tornTail: false, ignoredFiles: 0 };
}

/** Whether a tear cut its file between two records (a whole-record prefix of a group's append). */
function tearFellOnRecordBoundary(
  tear: TornAppend,
  before: ReadonlyMap<string, { readonly content: Buffer }>,
  seed: number,
): boolean {
  const was = before.get(tear.path);
  assert.ok(
    was !== undefined,
    `seed ${seed}: a tear in ${tear.path}, which the log had removed with unsynced bytes in it`,
  );
  return recordBoundaries(was.content).has(tear.appendOffset + tear.keptBytes);
}

interface Issued {
  readonly key: string;
  readonly durable: boolean;
  acknowledged: boolean;
}

/**
 * One trial: writes through the real log, a crash at a random virtual moment, a reopen that
 * replays. Returns whether the crash left a partial record, tore an append exactly between two
 * records, and lost unsynced writes (to check the trials covered each case).
 */
async function crashTrial(seed: number): Promise<{ torn: boolean; tornOnBoundary: boolean; lost: boolean }> {
  const prng = new Prng(seed);
  const scheduler = new SimScheduler();
  const disk = new SimDisk('n1', scheduler, new Prng(seed + 1));
  disk.faults = { writeFailProbability: 0, readFailProbability: 0, tornWriteProbability: prng.pick([0, 0.5, 1]) };
  const storage = await opened(scheduler, disk);
  const issued: Issued[] = [];
  const writes = 20 + prng.nextInt(200);
  for (let index = 0; index < writes; index++) {
    const batch: Issued = { key: `k${index}`, durable: prng.chance(0.5), acknowledged: false };
    issued.push(batch);
    const value = `v${index}-${'x'.repeat(prng.nextInt(300))}`;
    void storage
      .batch(1, [{ type: 'put', key: bytes(batch.key), value: bytes(value) }], { durable: batch.durable })
      .then(() => {
        batch.acknowledged = true;
      });
    // Writes spread over virtual time, some in one turn (a group), some apart.
    if (prng.chance(0.3)) await runUntil(scheduler, scheduler.nowMs + prng.nextFloat() * 3);
  }
  await runUntil(scheduler, scheduler.nowMs + prng.nextFloat() * 6);
  const before = disk.logFiles();
  const lostBefore = disk.metrics.lostWrites;
  disk.crash();
  scheduler.kill('n1');

  // File by file: a crash keeps a prefix of what was written, at least every synced byte. A file
  // may vanish only if its creation was not yet durable, which the log waits for before it writes a
  // record there; a removed file may come back (its removal was not yet durable): replay covers it.
  const after = disk.logFiles();
  for (const [path, was] of before) {
    const now = after.get(path);
    if (now === undefined) {
      assert.ok(
        was.syncedBytes <= logFileMagic.length,
        `seed ${seed}: ${path} held ${was.syncedBytes} synced bytes and vanished`,
      );
      continue;
    }
    assert.ok(
      now.content.length >= was.syncedBytes,
      `seed ${seed}: ${path} lost synced bytes (${now.content.length} < ${was.syncedBytes})`,
    );
    assert.ok(
      was.content.subarray(0, now.content.length).equals(now.content),
      `seed ${seed}: ${path} is not a prefix of what was written`,
    );
  }

  // Replay: every acknowledged durable write is back, whole. What is back is, in each log file, a
  // prefix of that file's records; the unsynced tails of two files are independent (each has its
  // own fdatasync), so a later file's record may survive an earlier file's lost one, but never a
  // durable acknowledgement: the log syncs the files in order before it acknowledges.
  const reopened = await opened(scheduler, disk);
  const present = new Map<string, boolean>();
  for (const [index, batch] of issued.entries()) {
    const value = text(await pumped(scheduler, reopened.get(1, bytes(batch.key))));
    present.set(batch.key, value !== undefined);
    if (value !== undefined)
      assert.match(value, new RegExp(`^v${index}-x*$`), `seed ${seed}: ${batch.key} read back garbage`);
    if (batch.durable && batch.acknowledged)
      assert.ok(value !== undefined, `seed ${seed}: the acknowledged durable write ${batch.key} was lost`);
  }
  for (const [path, was] of before) {
    const keys = decodeLog(was.content, 1 << 30).records.map((record) =>
      record.kind === 'batch' ? (text(record.operations[0]?.key) ?? '') : '',
    );
    const survived = keys.map((key) => present.get(key) ?? false);
    const firstLost = survived.indexOf(false);
    assert.ok(
      firstLost === -1 || survived.slice(firstLost).every((kept) => !kept),
      `seed ${seed}: the survivors of ${path} are not a prefix of it (${survived.map(Number).join('')})`,
    );
  }
  // Replay stops exactly at a partial record, and only there: not one record more or fewer.
  const expected = expectedReplay(before, after);
  assert.deepEqual(
    reopened.engine.replayReport,
    expected,
    `seed ${seed}: replay did not stop exactly where the crash left a partial record (tears: ${JSON.stringify(disk.lastCrashTears)})`,
  );
  const tornOnBoundary = disk.lastCrashTears.some((tear) => tearFellOnRecordBoundary(tear, before, seed));

  // The torn tail was cut off for good: a new write, another crash and replay read it back cleanly.
  await pumped(
    scheduler,
    reopened.batch(1, [{ type: 'put', key: bytes('after'), value: bytes('crash') }], { durable: true }),
  );
  disk.crash();
  scheduler.kill('n1');
  const third = await opened(scheduler, disk);
  assert.equal(
    text(await pumped(scheduler, third.get(1, bytes('after')))),
    'crash',
    `seed ${seed}: a durable write after the replay was lost`,
  );
  return { torn: expected.tornTail, tornOnBoundary, lost: disk.metrics.lostWrites > lostBefore };
}

test('a crash of the simulated disk loses only the unsynced suffix of each log file, and the real log replays every acknowledged durable write', async () => {
  const first = firstSeed();
  console.log(`simulated disk crash trials from seed ${first} (replay one with SIM_DISK_SEED=${first})`);
  const trials = 150;
  // Seed 500812 tears a group's append exactly at the end of one of its records: the file keeps
  // whole records only and nothing torn, and replay rightly reads them all. Random seeds reach that
  // case about once in a thousand trials, so it is always run, and the run checks it still happens.
  // (Seed 506523 did until buffered groups were synced only when due, decision 0042, which moved
  // every trial's crash point; 500812 and 501425 were the first two of 500000 on that does it now.)
  const pinnedSeeds = [500812];
  const seeds = new Set([...pinnedSeeds, ...Array.from({ length: trials }, (_, index) => first + index)]);
  let torn = 0;
  let tornOnBoundary = 0;
  let lost = 0;
  for (const seed of seeds) {
    const outcome = await crashTrial(seed);
    if (outcome.torn) torn += 1;
    if (outcome.tornOnBoundary) tornOnBoundary += 1;
    if (outcome.lost) lost += 1;
  }
  assert.ok(lost > 0, 'no trial crashed with unsynced writes: the trials prove nothing about the suffix');
  assert.ok(torn > 0, 'no trial left a partial record: the torn-tail case went untested');
  assert.ok(
    tornOnBoundary > 0,
    'no trial tore an append exactly between two records (seed 500812 did): pin a seed that does',
  );
  console.log(
    `${seeds.size} trials: ${lost} lost unsynced writes, ${torn} left a partial record, ${tornOnBoundary} tore an append between two records`,
  );
});

test('a failing disk fails the log, which refuses writes and says so; a restart replays what it acknowledged', async () => {
  const scheduler = new SimScheduler();
  const disk = new SimDisk('n1', scheduler, new Prng(7));
  let failures = 0;
  const storage = await opened(scheduler, disk, () => (failures += 1));
  await pumped(
    scheduler,
    storage.batch(2, [{ type: 'put', key: bytes('kept'), value: bytes('1') }], { durable: true }),
  );
  disk.faults = { writeFailProbability: 1, readFailProbability: 0, tornWriteProbability: 0 };
  const refused = await pumped(
    scheduler,
    storage.batch(2, [{ type: 'put', key: bytes('refused'), value: bytes('2') }], { durable: true }).then(
      () => undefined,
      (error: unknown) => error,
    ),
  );
  assert.ok(
    refused instanceof EverwriteError && refused.code === 'EVERWRITE_STORAGE_FAILED',
    `expected EVERWRITE_STORAGE_FAILED, got ${String(refused)}`,
  );
  assert.equal(storage.engine.failed, true);
  assert.equal(failures, 1, 'the cluster is told once, so it can restart the node');
  assert.equal(
    text(await pumped(scheduler, storage.get(2, bytes('kept')))),
    '1',
    'a failed log still serves what it acknowledged',
  );
  disk.faults = { writeFailProbability: 0, readFailProbability: 1, tornWriteProbability: 0 };
  disk.kill();
  await assert.rejects(
    pumped(scheduler, disk.open().open()),
    /EIO/,
    'a replay that cannot read the log fails the boot',
  );
  disk.faults = { writeFailProbability: 0, readFailProbability: 0, tornWriteProbability: 0 };
  disk.kill();
  const restarted = await opened(scheduler, disk);
  assert.equal(text(await pumped(scheduler, restarted.get(2, bytes('kept')))), '1');
  assert.equal(await pumped(scheduler, restarted.get(2, bytes('refused'))), undefined);
});

test('a dead incarnation never answers and never writes: its pending I/O is dropped with it', async () => {
  const scheduler = new SimScheduler();
  const disk = new SimDisk('n1', scheduler, new Prng(9));
  const storage = await opened(scheduler, disk);
  let settled = false;
  void storage
    .batch(3, [{ type: 'put', key: bytes('k'), value: bytes('v') }], { durable: true })
    .finally(() => (settled = true));
  disk.kill();
  scheduler.kill('n1');
  await runUntil(scheduler, Infinity);
  assert.equal(settled, false, "the dead incarnation's write never completes");
  const next = await opened(scheduler, disk);
  // kill -9 keeps what the OS was given: the appended record may come back (it was written), but nothing newer does.
  const value = text(await pumped(scheduler, next.get(3, bytes('k'))));
  assert.ok(value === undefined || value === 'v');
});
