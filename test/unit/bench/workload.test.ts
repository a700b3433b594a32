// Why: the workers' choices must follow the ratio and spread over keys and nodes as documented,
// replay from the seed, and the tally must count 404 reads as successes but 404 writes as errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Prng } from '../../../src/core/base/prng.ts';
import { LoadStats, chooseOperation, keyPath, makeValue, runWorker, targetOfWorker } from '../../../src/cli/bench/workload.ts';
import type { BenchHttp, BenchRequest, RequestOutcome } from '../../../src/cli/bench/http-clients.ts';
import { RateWindow } from '../../../src/cli/bench/progress.ts';

test('chooseOperation follows the read fraction, including the pure cases', () => {
  const prng = new Prng(3);
  const draws = 20_000;
  let reads = 0;
  for (let index = 0; index < draws; index++) if (chooseOperation(prng, 0.95) === 'read') reads++;
  assert.ok(Math.abs(reads / draws - 0.95) < 0.01, String(reads / draws));
  assert.ok(Array.from({ length: 100 }, () => chooseOperation(prng, 1)).every((operation) => operation === 'read'));
  assert.ok(Array.from({ length: 100 }, () => chooseOperation(prng, 0)).every((operation) => operation === 'write'));
});

test('keyPath is fixed width within a run and targetOfWorker is round-robin', () => {
  assert.equal(keyPath('bench', 7, 10_000), '/buckets/bench/keys/k0007');
  assert.equal(keyPath('bench', 9_999, 10_000), '/buckets/bench/keys/k9999');
  assert.equal(keyPath('b', 0, 1), '/buckets/b/keys/k0');
  assert.deepEqual(Array.from({ length: 7 }, (_, worker) => targetOfWorker(worker, 3)), [0, 1, 2, 0, 1, 2, 0]);
});

test('makeValue is the requested size, replays from its seed, and is not constant', () => {
  assert.equal(makeValue(1024, 1).byteLength, 1024);
  assert.deepEqual(makeValue(64, 9), makeValue(64, 9));
  assert.notDeepEqual(makeValue(64, 9), makeValue(64, 10));
  assert.ok(new Set(makeValue(1024, 1)).size > 200);
  assert.equal(makeValue(0, 1).byteLength, 0);
});

test('LoadStats counts 404 and 300 reads as successes and tallies failures by kind', () => {
  const stats = new LoadStats();
  stats.record('read', { status: 200 }, 1);
  stats.record('read', { status: 404 }, 2);
  stats.record('read', { status: 300 }, 3);
  stats.record('write', { status: 204 }, 4);
  stats.record('write', { status: 404 }, 5);
  stats.record('write', { status: 503, code: 'EVERWRITE_QUORUM_NOT_MET' }, 6);
  stats.record('read', { code: 'timeout' }, 5000);
  stats.record('write', { status: 503, code: 'EVERWRITE_QUORUM_NOT_MET' }, 6);
  assert.equal(stats.reads.totalCount, 3);
  assert.equal(stats.writes.totalCount, 1);
  assert.equal(stats.readsNotFound, 1);
  assert.deepEqual([stats.readErrors, stats.writeErrors, stats.errors, stats.completed], [1, 3, 4, 8]);
  assert.deepEqual(Object.fromEntries(stats.errorsByKind), { 'HTTP 404': 1, 'HTTP 503 EVERWRITE_QUORUM_NOT_MET': 2, timeout: 1 });
  assert.equal(stats.combined().totalCount, 4);
  // Failed requests are not in the latency histograms (the 5 s timeout is not a read latency).
  assert.ok(stats.reads.maxValue < 10_000);
});

test('runWorker is a closed loop: one request at a time, until the deadline, on its own node', async () => {
  const sent: BenchRequest[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const until = { deadlineMs: performance.now() + 60_000 };
  const fake: BenchHttp = {
    async send(request): Promise<RequestOutcome> {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      sent.push(request);
      await Promise.resolve();
      inFlight--;
      if (sent.length === 200) until.deadlineMs = 0;
      return { status: request.method === 'GET' ? 404 : 204 };
    },
    abortOverdue: () => 0,
    close: () => undefined,
  };
  const stats = new LoadStats();
  const value = makeValue(16, 1);
  await runWorker({ worker: 4, target: 1, bucket: 'bench', keys: 50, readFraction: 0.5, value, seed: 11, until }, fake, stats);
  assert.equal(sent.length, 200);
  assert.equal(maxInFlight, 1);
  assert.ok(sent.every((request) => request.target === 1 && /^\/buckets\/bench\/keys\/k\d\d$/.test(request.path)));
  assert.ok(sent.every((request) => (request.method === 'PUT') === (request.body === value)));
  const writes = sent.filter((request) => request.method === 'PUT').length;
  assert.ok(writes > 60 && writes < 140, String(writes));
  assert.equal(stats.completed, 200);
  assert.equal(stats.readsNotFound, 200 - writes);
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
