// Why: the figures a bench prints are what the team will quote; the arithmetic (rates, percentiles
// in ms from microsecond histograms, error tallies) and the JSON shape must be exactly right.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLatencyHistogram, summarizeLatency, toMicroseconds } from '../../../src/cli/bench/latency.ts';
import { buildResult, failureKind, formatReport, isSuccess } from '../../../src/cli/bench/report.ts';
import { describeSettings, resolveBenchOptions } from '../../../src/cli/bench/options.ts';

function histogramOf(microseconds: readonly number[]) {
  const histogram = createLatencyHistogram();
  for (const value of microseconds) histogram.recordValue(value);
  return histogram;
}

test('toMicroseconds rounds elapsed milliseconds and never records zero', () => {
  assert.equal(toMicroseconds(1.2344), 1234);
  assert.equal(toMicroseconds(0), 1);
  assert.equal(toMicroseconds(0.0001), 1);
  assert.equal(toMicroseconds(20), 20_000);
});

test('summarizeLatency gives percentiles in ms within the histogram precision', () => {
  // 1..1000 ms in 1 ms steps: p50 = 500 ms, p99 = 990 ms, p99.9 = 999 ms, max 1000 ms.
  const summary = summarizeLatency(histogramOf(Array.from({ length: 1000 }, (_, index) => (index + 1) * 1000)));
  assert.equal(summary.count, 1000);
  const near = (actual: number, expected: number): void => assert.ok(Math.abs(actual - expected) <= expected * 0.001 + 0.001, `${actual} vs ${expected}`);
  near(summary.p50Ms, 500);
  near(summary.p99Ms, 990);
  near(summary.p999Ms, 999);
  near(summary.maxMs, 1000);
  near(summary.meanMs, 500.5);
});

test('summarizeLatency of an empty histogram is all zeros, not NaN', () => {
  assert.deepEqual(summarizeLatency(createLatencyHistogram()), { count: 0, meanMs: 0, p50Ms: 0, p99Ms: 0, p999Ms: 0, maxMs: 0 });
});

test('summarizeLatency keeps a single outlier visible at max and p99.9 only', () => {
  const summary = summarizeLatency(histogramOf([...Array.from({ length: 999 }, () => 2_000), 5_000_000]));
  assert.equal(summary.p50Ms, 2);
  assert.equal(summary.p99Ms, 2);
  assert.equal(summary.p999Ms, 2);
  assert.ok(Math.abs(summary.maxMs - 5000) < 5, String(summary.maxMs));
});

test('isSuccess: 2xx always; 300 and 404 only for reads', () => {
  assert.equal(isSuccess('read', 200), true);
  assert.equal(isSuccess('read', 300), true);
  assert.equal(isSuccess('read', 404), true);
  assert.equal(isSuccess('write', 204), true);
  assert.equal(isSuccess('write', 404), false);
  assert.equal(isSuccess('write', 300), false);
  for (const status of [400, 409, 413, 429, 500, 503]) {
    assert.equal(isSuccess('read', status), false);
    assert.equal(isSuccess('write', status), false);
  }
});

test('failureKind names an HTTP answer by status and code, else the socket error', () => {
  assert.equal(failureKind({ status: 503, code: 'EVERWRITE_QUORUM_NOT_MET' }), 'HTTP 503 EVERWRITE_QUORUM_NOT_MET');
  assert.equal(failureKind({ status: 502 }), 'HTTP 502');
  assert.equal(failureKind({ code: 'ECONNREFUSED' }), 'ECONNREFUSED');
  assert.equal(failureKind({ code: 'timeout' }), 'timeout');
  assert.equal(failureKind({}), 'unknown');
});

function sampleResult() {
  const reads = histogramOf([1_000, 2_000, 3_000, 4_000]);
  // Below 2048 µs the histogram is exact to the microsecond, so the expected figures are too.
  const writes = histogramOf([1_500, 2_000]);
  const all = createLatencyHistogram();
  all.add(reads);
  all.add(writes);
  return buildResult({
    settings: describeSettings(resolveBenchOptions({ engine: 'memory', duration: '2' })),
    environment: { cpus: 2, loadAverageBefore: [1, 2, 3], loadAverageAfter: [1.5, 2, 3] },
    startedAt: new Date('2026-01-02T03:04:05.000Z'),
    elapsedSeconds: 2,
    reads,
    writes,
    all,
    readsNotFound: 1,
    readErrors: 1,
    writeErrors: 3,
    errorsByKind: new Map([['timeout', 1], ['HTTP 503 EVERWRITE_QUORUM_NOT_MET', 3]]),
  });
}

test('buildResult computes rates from successes over the elapsed time, and sorts errors by count', () => {
  const result = sampleResult();
  assert.deepEqual(result.operations, { total: 6, reads: 4, writes: 2, readsNotFound: 1 });
  assert.deepEqual(result.throughput, { opsPerSecond: 3, readsPerSecond: 2, writesPerSecond: 1 });
  assert.deepEqual(result.errors, { total: 4, reads: 1, writes: 3, byKind: { 'HTTP 503 EVERWRITE_QUORUM_NOT_MET': 3, timeout: 1 } });
  assert.deepEqual(Object.keys(result.errors.byKind), ['HTTP 503 EVERWRITE_QUORUM_NOT_MET', 'timeout']);
  assert.equal(result.latencyMs.reads.p50Ms, 2);
  assert.equal(result.latencyMs.writes.maxMs, 2);
  assert.equal(result.latencyMs.all.count, 6);
  assert.equal(result.startedAt, '2026-01-02T03:04:05.000Z');
});

test('the result survives a JSON round trip unchanged (the --json output)', () => {
  const result = sampleResult();
  const parsed = JSON.parse(JSON.stringify(result)) as typeof result;
  assert.deepEqual(parsed, result);
  assert.equal((parsed.settings['props'] as Record<string, unknown>)['w'], 2);
  assert.deepEqual(parsed.environment['loadAverageBefore'], [1, 2, 3]);
});

test('formatReport shows settings, throughput, errors by kind and a latency table', () => {
  const text = formatReport(sampleResult());
  assert.match(text, /local cluster of 3 nodes \(memory\), N=3 R=2 W=2 durable lww; 32 clients, 2 s, 1024 B values, ratio 50:50/);
  assert.match(text, /throughput: 3\.0 ops\/s \(reads 2\.0\/s, writes 1\.0\/s\)/);
  assert.match(text, /errors: 4 \(reads 1, writes 3\)\n {2}HTTP 503 EVERWRITE_QUORUM_NOT_MET: 3\n {2}timeout: 1/);
  assert.match(text, /load average 1 2 3 before, 1.5 2 3 after/);
  const rows = text.split('\n').filter((line) => /^(reads|writes|all) /.test(line));
  assert.equal(rows.length, 3);
  assert.match(rows[1] as string, /^writes\s+2\s+1\.50\s+2\.00\s+2\.00\s+2\.00\s+1\.75$/);
  const header = text.split('\n').find((line) => line.startsWith('latency (ms)')) as string;
  // Columns line up: each figure ends where its heading ends.
  assert.equal(header.indexOf('p99.9') + 'p99.9'.length, (rows[1] as string).indexOf('2.00', header.indexOf('p99.9') - 1) + 4);
});
