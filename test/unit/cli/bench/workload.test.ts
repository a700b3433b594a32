// Why: YCSB's workloads must draw their operations in the documented shares and their keys from the
// documented distributions (checked against the formulas, from a printed seed), a run must replay
// from its seed, a read-modify-write must write with its read's context, and the tally must count a
// read of an absent key as a success but every error by its code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Prng } from '../../../../src/core/base/prng.ts';
import {
  LatestChooser,
  UniformChooser,
  ZipfianChooser,
  createKeyChooser,
} from '../../../../src/cli/bench/key-choosers.ts';
import { Keyspace, OperationSource, workloads, type YcsbOperation } from '../../../../src/cli/bench/ycsb.ts';
import { LoadStats, makeValue, performOperation } from '../../../../src/cli/bench/workload.ts';
import type { BenchDriver, Outcome } from '../../../../src/cli/bench/drivers.ts';
import { RateWindow } from '../../../../src/cli/bench/progress.ts';

const seed = Number(process.env['BENCH_TEST_SEED'] ?? Date.now() % 2 ** 32);
console.log(`bench workload tests: seed ${seed} (rerun with BENCH_TEST_SEED=${seed})`);

function frequencies(draw: () => number, count: number, draws: number): number[] {
  const seen = new Array<number>(count).fill(0);
  for (let index = 0; index < draws; index++) {
    const key = draw();
    assert.ok(Number.isInteger(key) && key >= 0 && key < count, `key ${key} outside [0, ${count})`);
    seen[key] = (seen[key] as number) + 1;
  }
  return seen.map((hits) => hits / draws);
}

test('uniform: every key about equally often', () => {
  const prng = new Prng(seed);
  const chooser = new UniformChooser();
  const shares = frequencies(() => chooser.next(prng, 100), 100, 200_000);
  for (const share of shares) assert.ok(Math.abs(share - 0.01) < 0.0015, `share ${share} (seed ${seed})`);
});

test("zipfian (theta 0.99): YCSB's generator, close to P(rank i) = (1/(i+1)^0.99) / zeta(n)", () => {
  const prng = new Prng(seed);
  const chooser = new ZipfianChooser();
  const count = 1000;
  const draws = 400_000;
  const shares = frequencies(() => chooser.next(prng, count), count, draws);
  const expected = (rank: number): number => 1 / (rank + 1) ** 0.99 / zeta;
  const zeta = Array.from({ length: count }, (_, rank) => 1 / (rank + 1) ** 0.99).reduce((sum, term) => sum + term, 0);
  const tolerance = (probability: number): number => 4 * Math.sqrt(probability / draws);
  // Ranks 0 and 1 are drawn exactly; Gray et al.'s closed form approximates the rest (YCSB's
  // ZipfianGenerator does the same): ranks 2 to 5 come up to ~16% too often, the tail is close.
  for (const rank of [0, 1])
    assert.ok(
      Math.abs((shares[rank] as number) - expected(rank)) < tolerance(expected(rank)),
      `rank ${rank}: ${shares[rank]} vs ${expected(rank)} (seed ${seed})`,
    );
  for (const rank of [2, 3, 5, 10, 30, 100])
    assert.ok(
      Math.abs((shares[rank] as number) - expected(rank)) < 0.2 * expected(rank) + tolerance(expected(rank)),
      `rank ${rank}: ${shares[rank]} vs ${expected(rank)} (seed ${seed})`,
    );
  let cumulative = 0;
  let expectedCumulative = 0;
  for (let rank = 0; rank < count; rank++) {
    cumulative += shares[rank] as number;
    expectedCumulative += expected(rank);
    assert.ok(
      Math.abs(cumulative - expectedCumulative) < 0.025,
      `P(rank <= ${rank}): ${cumulative} vs ${expectedCumulative} (seed ${seed})`,
    );
  }
  assert.ok(Math.abs(chooser.probability(7, count) - expected(7)) < 1e-12);
});

test('zipfian extends its normalising sum when the keyspace grows, matching a fresh chooser', () => {
  const grown = new ZipfianChooser();
  grown.probability(0, 100);
  const fresh = new ZipfianChooser();
  assert.ok(Math.abs(grown.probability(3, 5000) - fresh.probability(3, 5000)) < 1e-15);
  assert.throws(() => new ZipfianChooser(1), /theta/);
  assert.equal(new ZipfianChooser().next(new Prng(1), 1), 0);
});

test('latest: the newest key is the most popular, and popularity follows the inserts', () => {
  const prng = new Prng(seed);
  const chooser = new LatestChooser();
  const shares = frequencies(() => chooser.next(prng, 500), 500, 100_000);
  assert.ok(
    (shares[499] as number) > 0.1 &&
      (shares[499] as number) > (shares[498] as number) &&
      (shares[498] as number) > (shares[490] as number),
    `seed ${seed}`,
  );
  assert.ok(shares.slice(0, 250).reduce((sum, share) => sum + share, 0) < 0.15, `seed ${seed}`);
  const after = frequencies(() => chooser.next(prng, 600), 600, 50_000);
  assert.ok((after[599] as number) > 0.1 && (after[499] as number) < 0.01, `seed ${seed}`);
  assert.ok(
    createKeyChooser('latest') instanceof LatestChooser && createKeyChooser('uniform') instanceof UniformChooser,
  );
});

test('each workload draws its operations in YCSB shares', () => {
  for (const spec of Object.values(workloads)) {
    const keyspace = new Keyspace(1000);
    const source = new OperationSource(spec, createKeyChooser(spec.distribution), keyspace, new Prng(seed));
    const counts = new Map<YcsbOperation, number>();
    const draws = 40_000;
    for (let index = 0; index < draws; index++) {
      const planned = source.next();
      counts.set(planned.operation, (counts.get(planned.operation) ?? 0) + 1);
      assert.ok(planned.keyIndex >= 0 && planned.keyIndex < keyspace.count);
    }
    for (const [operation, share] of Object.entries(spec.shares)) {
      const seen = (counts.get(operation as YcsbOperation) ?? 0) / draws;
      assert.ok(
        Math.abs(seen - share) < 0.01,
        `workload ${spec.name} ${operation}: ${seen} vs ${share} (seed ${seed})`,
      );
    }
  }
});

test('workload D inserts new keys past the records, and its reads favour them', () => {
  const keyspace = new Keyspace(100);
  const source = new OperationSource(workloads.D, createKeyChooser('latest'), keyspace, new Prng(seed));
  const inserted: number[] = [];
  let recentReads = 0;
  let reads = 0;
  for (let index = 0; index < 4000; index++) {
    const planned = source.next();
    if (planned.operation === 'insert') inserted.push(planned.keyIndex);
    else if (planned.operation === 'read') {
      reads++;
      if (planned.keyIndex >= keyspace.count - 10) recentReads++;
    }
  }
  assert.deepEqual(
    inserted,
    Array.from({ length: inserted.length }, (_, index) => 100 + index),
  );
  assert.equal(keyspace.count, 100 + inserted.length);
  assert.ok(recentReads / reads > 0.3, `${recentReads}/${reads} (seed ${seed})`);
});

test('an operation source replays from its seed', () => {
  const draw = (): string => {
    const source = new OperationSource(workloads.A, new ZipfianChooser(), new Keyspace(50), new Prng(42));
    return Array.from({ length: 50 }, () => JSON.stringify(source.next())).join();
  };
  assert.equal(draw(), draw());
});

test('makeValue is the requested size, replays from its seed, and is not constant', () => {
  assert.equal(makeValue(1024, 1).byteLength, 1024);
  assert.deepEqual(makeValue(64, 9), makeValue(64, 9));
  assert.notDeepEqual(makeValue(64, 9), makeValue(64, 10));
  assert.ok(new Set(makeValue(1024, 1)).size > 200);
  assert.equal(makeValue(0, 1).byteLength, 0);
});

test('LoadStats counts not-found reads as successes, errors by code, and feeds the timeline', () => {
  const stats = new LoadStats(0, 1000);
  stats.record('read', { kind: 'ok' }, 1, 10);
  stats.record('read', { kind: 'notFound' }, 2, 20);
  stats.record('update', { kind: 'ok' }, 4, 30);
  stats.record('update', { kind: 'error', code: 'HTTP 503 EVERWRITE_QUORUM_NOT_MET' }, 6, 1500);
  stats.record('read', { kind: 'error', code: 'timeout' }, 5000, 1600);
  stats.record('readModifyWrite', { kind: 'error', code: 'HTTP 503 EVERWRITE_QUORUM_NOT_MET' }, 6, 1700);
  const read = stats.byOperation.get('read');
  assert.deepEqual([read?.latency.totalCount, read?.notFound, read?.errors], [2, 1, 1]);
  assert.deepEqual([stats.errors, stats.completed], [3, 6]);
  assert.deepEqual(Object.fromEntries(stats.errorsByKind), { 'HTTP 503 EVERWRITE_QUORUM_NOT_MET': 2, timeout: 1 });
  assert.equal(stats.combined().totalCount, 3);
  // Failed requests are not in the latency histograms (the 5 s timeout is not a read latency).
  assert.ok((read?.latency.maxValue ?? 0) < 10_000);
  const points = stats.timeline.points(2);
  assert.deepEqual(
    points.map((point) => [point.opsPerSecond, point.errors]),
    [
      [3, 0],
      [0, 3],
    ],
  );
});

function recordingDriver(readOutcome: Outcome): { driver: BenchDriver; calls: string[] } {
  const calls: string[] = [];
  const driver: BenchDriver = {
    async read(worker, keyIndex, wantContext) {
      calls.push(`read ${worker} ${keyIndex} ${wantContext}`);
      return readOutcome;
    },
    async write(worker, keyIndex, context) {
      calls.push(`write ${worker} ${keyIndex} ${context ?? '-'}`);
      return { kind: 'ok' };
    },
    abortOverdue: () => 0,
    close: async () => undefined,
  };
  return { driver, calls };
}

test('a read-modify-write reads with the context, writes with it, and stops at a failed read', async () => {
  const found = recordingDriver({ kind: 'ok', context: 'ctx1' });
  assert.deepEqual(await performOperation(found.driver, 3, 'readModifyWrite', 7), { kind: 'ok' });
  assert.deepEqual(found.calls, ['read 3 7 true', 'write 3 7 ctx1']);
  const absent = recordingDriver({ kind: 'notFound' });
  await performOperation(absent.driver, 0, 'readModifyWrite', 1);
  assert.deepEqual(absent.calls, ['read 0 1 true', 'write 0 1 -']);
  const failed = recordingDriver({ kind: 'error', code: 'timeout' });
  assert.deepEqual(await performOperation(failed.driver, 0, 'readModifyWrite', 1), { kind: 'error', code: 'timeout' });
  assert.deepEqual(failed.calls, ['read 0 1 true']);
  const plain = recordingDriver({ kind: 'ok', context: 'unused' });
  await performOperation(plain.driver, 1, 'read', 2);
  await performOperation(plain.driver, 1, 'update', 2);
  await performOperation(plain.driver, 1, 'insert', 9);
  assert.deepEqual(plain.calls, ['read 1 2 false', 'write 1 2 -', 'write 1 9 -']);
});

test('RateWindow reports the rate over about the last second', () => {
  const window = new RateWindow(1_000);
  assert.equal(window.sample(0, 0), 0);
  assert.equal(window.sample(500, 500), 1000);
  assert.equal(window.sample(1000, 1000), 1000);
  // The rate halves: the window now spans 1000..2000 ms.
  assert.equal(window.sample(1500, 1250), 750);
  assert.equal(window.sample(2000, 1500), 500);
  assert.equal(window.sample(3000, 1500), 0);
});
