// Why: the figures a bench prints are what the team will quote; the arithmetic (rates, percentiles
// in ms from microsecond histograms, error tallies by code, the timeline) and the JSON shape must be
// exactly right, the table must line up, and the SVG plot must be a well-formed picture of the timeline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLatencyHistogram, summarizeLatency, toMicroseconds } from '../../../../src/cli/bench/latency.ts';
import { buildResult, formatReport, formatTable } from '../../../../src/cli/bench/report.ts';
import { renderTimelineSvg } from '../../../../src/cli/bench/svg.ts';
import { Timeline, bucketMsFor } from '../../../../src/cli/bench/timeline.ts';
import { describeSettings, resolveBenchOptions } from '../../../../src/cli/bench/options.ts';

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
  const near = (actual: number, expected: number): void =>
    assert.ok(Math.abs(actual - expected) <= expected * 0.001 + 0.001, `${actual} vs ${expected}`);
  near(summary.p50Ms, 500);
  near(summary.p95Ms, 950);
  near(summary.p99Ms, 990);
  near(summary.p999Ms, 999);
  near(summary.maxMs, 1000);
  near(summary.meanMs, 500.5);
});

test('no percentile is reported above the maximum, though the histogram answers a percentile with the top of its bucket', () => {
  // 100 samples whose two largest share a bucket: the bucket's top is above the largest value
  // recorded, so an unclamped p99 would read more than the max.
  const histogram = histogramOf([...Array.from({ length: 98 }, (_, index) => 1000 + index), 50_000, 50_001]);
  assert.ok(
    histogram.getValueAtPercentile(99) > histogram.maxValue,
    'the case this test is about: the raw p99 passes the max',
  );
  const summary = summarizeLatency(histogram);
  assert.ok(summary.p99Ms <= summary.maxMs && summary.p999Ms <= summary.maxMs, JSON.stringify(summary));
  const timeline = new Timeline(0, 1000);
  for (const value of [...Array.from({ length: 98 }, (_, index) => 1000 + index), 50_000, 50_001])
    timeline.recordSuccess(100, value);
  for (const point of timeline.points(1))
    assert.ok(point.p99Ms <= point.maxMs && point.p999Ms <= point.maxMs, JSON.stringify(point));
});

test('summarizeLatency of an empty histogram is all zeros, not NaN', () => {
  assert.deepEqual(summarizeLatency(createLatencyHistogram()), {
    count: 0,
    meanMs: 0,
    p50Ms: 0,
    p95Ms: 0,
    p99Ms: 0,
    p999Ms: 0,
    maxMs: 0,
  });
});

test('summarizeLatency keeps a single outlier visible at max and p99.9 only', () => {
  const summary = summarizeLatency(histogramOf([...Array.from({ length: 999 }, () => 2_000), 5_000_000]));
  assert.equal(summary.p50Ms, 2);
  assert.equal(summary.p99Ms, 2);
  assert.equal(summary.p999Ms, 2);
  assert.ok(Math.abs(summary.maxMs - 5000) < 5, String(summary.maxMs));
});

function sampleResult() {
  const read = histogramOf([1_000, 2_000, 3_000, 4_000]);
  // Below 2048 µs the histogram is exact to the microsecond, so the expected figures are too.
  const update = histogramOf([1_500, 2_000]);
  const all = createLatencyHistogram();
  all.add(read);
  all.add(update);
  const timeline = new Timeline(0, 1000);
  timeline.recordSuccess(100, 1_000);
  timeline.recordSuccess(200, 1_500);
  timeline.recordError(1_500);
  timeline.recordSuccess(1_600, 2_000);
  return buildResult({
    settings: describeSettings(resolveBenchOptions({ engine: 'memory', duration: '2' })),
    environment: { cpus: 2, loadAverageBefore: [1, 2, 3], loadAverageAfter: [1.5, 2, 3] },
    load: { records: 10_000, seconds: 3.5, errors: 0 },
    startedAt: new Date('2026-01-02T03:04:05.000Z'),
    elapsedSeconds: 2,
    byOperation: new Map([
      ['read', { latency: read, notFound: 1, errors: 1 }],
      ['update', { latency: update, notFound: 0, errors: 3 }],
      ['insert', { latency: createLatencyHistogram(), notFound: 0, errors: 0 }],
    ]),
    all,
    errorsByKind: new Map([
      ['timeout', 1],
      ['HTTP 503 EVERWRITE_QUORUM_NOT_MET', 3],
    ]),
    timeline: timeline.points(2),
  });
}

test('buildResult computes rates from successes over the elapsed time, per operation, and sorts errors by count', () => {
  const result = sampleResult();
  assert.deepEqual(Object.keys(result.operations), ['read', 'update']);
  assert.deepEqual(
    { ...result.operations['read'], latencyMs: undefined },
    { ok: 4, notFound: 1, errors: 1, opsPerSecond: 2, latencyMs: undefined },
  );
  assert.equal(result.operations['update']?.opsPerSecond, 1);
  assert.deepEqual(result.throughput, { opsPerSecond: 3 });
  assert.deepEqual(result.errors, { total: 4, byKind: { 'HTTP 503 EVERWRITE_QUORUM_NOT_MET': 3, timeout: 1 } });
  assert.deepEqual(Object.keys(result.errors.byKind), ['HTTP 503 EVERWRITE_QUORUM_NOT_MET', 'timeout']);
  assert.equal(result.operations['read']?.latencyMs.p50Ms, 2);
  assert.equal(result.operations['update']?.latencyMs.maxMs, 2);
  assert.equal(result.latencyMs.all.count, 6);
  assert.equal(result.startedAt, '2026-01-02T03:04:05.000Z');
});

test('the timeline has one point per bucket with its rate, errors and percentiles', () => {
  const { timeline } = sampleResult();
  assert.equal(timeline.length, 2);
  assert.deepEqual(
    { ...timeline[0] },
    { atSeconds: 0, bucketSeconds: 1, opsPerSecond: 2, errors: 0, p50Ms: 1, p99Ms: 1.5, p999Ms: 1.5, maxMs: 1.5 },
  );
  assert.deepEqual(
    { ...timeline[1] },
    { atSeconds: 1, bucketSeconds: 1, opsPerSecond: 1, errors: 1, p50Ms: 2, p99Ms: 2, p999Ms: 2, maxMs: 2 },
  );
  assert.equal(bucketMsFor(20), 1000);
  // Stragglers answered after a 2 s run's end count in its last bucket, not in a sliver of a third.
  const stragglers = new Timeline(0, 1000, 2000);
  stragglers.recordSuccess(500, 1_000);
  stragglers.recordSuccess(2_003, 1_000);
  assert.deepEqual(
    stragglers.points(2.003).map((point) => [point.atSeconds, point.opsPerSecond]),
    [
      [0, 1],
      [1, 1],
    ],
  );
  assert.equal(bucketMsFor(3600), 6000);
});

test('the result survives a JSON round trip unchanged (the --json output)', () => {
  const result = sampleResult();
  const parsed = JSON.parse(JSON.stringify(result)) as typeof result;
  assert.deepEqual(parsed, result);
  assert.equal((parsed.settings['props'] as Record<string, unknown>)['w'], 2);
  assert.deepEqual(parsed.environment['loadAverageBefore'], [1, 2, 3]);
});

test('formatReport shows settings, both phases, errors by code and a latency table per operation', () => {
  const text = formatReport(sampleResult());
  assert.match(
    text,
    /workload A \(zipfian\) over http; local cluster of 3 nodes \(memory\), N=3 R=2 W=2 durable lww; 32 closed-loop clients, 2 s, 1024 B values, 10000 records/,
  );
  assert.match(text, /load phase: 10000 records in 3\.50 s, 0 failed/);
  assert.match(text, /throughput: 3\.0 ops\/s/);
  assert.match(text, /errors: 4\n {2}HTTP 503 EVERWRITE_QUORUM_NOT_MET: 3\n {2}timeout: 1/);
  assert.match(text, /load average 1 2 3 before, 1.5 2 3 after/);
  const lines = text.split('\n');
  const header = lines.find((line) => line.startsWith('operation')) as string;
  const update = lines.find((line) => line.startsWith('update')) as string;
  assert.match(update, /^update\s+2\s+0\s+3\s+1\.0\s+1\.50\s+2\.00\s+2\.00\s+2\.00\s+2\.00\s+1\.75$/);
  assert.match(lines.find((line) => line.startsWith('all')) as string, /^all\s+6\s+1\s+4\s+3\.0\s/);
  // Columns line up: each figure ends where its heading ends.
  assert.equal(header.indexOf('p99.9') + 'p99.9'.length, update.length - '  2.00  1.75'.length);
  assert.equal(header.length, update.length);
});

test('formatTable pads the first column left and the others right', () => {
  assert.equal(
    formatTable([
      ['a', 'bb'],
      ['ccc', 'd'],
    ]),
    'a    bb\nccc   d',
  );
});

test('the SVG plot is one well-formed document with a throughput line and the four latency lines', () => {
  const svg = renderTimelineSvg(sampleResult(), 'bench <A> & co');
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.ok(svg.trimEnd().endsWith('</svg>'));
  assert.match(svg, /bench &#60;A&#62; &#38; co/);
  assert.equal((svg.match(/<polyline /g) ?? []).length, 5);
  for (const label of ['p50', 'p99', 'p99.9', 'max', 'throughput']) assert.ok(svg.includes(`>${label}`), label);
  // Two buckets: every line has two points, all inside the drawing.
  for (const match of svg.matchAll(/points="([^"]+)"/g)) {
    const points = (match[1] as string).split(' ').map((pair) => pair.split(',').map(Number));
    assert.equal(points.length, 2);
    assert.ok(
      points.every(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (x as number) >= 0 && (y as number) >= 0),
    );
  }
  // The bucket with an error is marked on the throughput panel.
  assert.match(svg, /<title>1 errors<\/title>/);
});

test('the SVG plot of a run with no successes is still a valid document', () => {
  const empty = { ...sampleResult(), timeline: [] };
  const svg = renderTimelineSvg(empty, 'empty');
  assert.ok(svg.trimEnd().endsWith('</svg>'));
  assert.ok(!svg.includes('NaN') && !svg.includes('Infinity'));
});
