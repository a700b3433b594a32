// Why: the pieces behind the node's logs and live figures, checked without processes: secrets are
// censored wherever they sit in a log record, a terminal gets one readable line per record, the
// quorum-failure line appears only above its threshold, the dashboard's per-second window
// counts, ages out and computes percentiles within its bucket accuracy, and the Grafana dashboard
// asks only for families a node exports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createNodeLogger, humanLine } from '../../../src/server/logger.ts';
import { LiveStats, liveWindowSeconds } from '../../../src/server/live-stats.ts';
import { QuorumFailureLog } from '../../../src/server/quorum-failure-log.ts';
import { NodeMetrics } from '../../../src/server/node-metrics.ts';
import { HttpMetrics } from '../../../src/api/http/metrics.ts';
import { RespMetrics } from '../../../src/api/resp/metrics.ts';
import { TcpTransportMetrics } from '../../../src/io/transport/tcp-shared.ts';
import { readFileSync } from 'node:fs';
import { Histogram, Registry } from 'prom-client';
import { FastHistogram } from '../../../src/api/fast-histogram.ts';

function capture(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { stream, lines };
}

test('the node logger never writes a secret field, at the top or nested', () => {
  const { stream, lines } = capture();
  const logger = createNodeLogger({ level: 'info', nodeId: 'n1', stream, pretty: false });
  const secret = '00112233445566778899aabbccddeeff';
  logger.info({ event: 'test', secret }, 'top');
  logger.info({ event: 'test', peer: { secret, id: 'n2' } }, 'nested');
  logger.info({ event: 'test', options: { auth: { password: secret } } }, 'two deep');
  const text = lines.join('');
  assert.ok(!text.includes(secret), text);
  assert.equal(text.split('[redacted]').length - 1, 3);
  const first = JSON.parse(lines[0] as string) as Record<string, unknown>;
  assert.equal(first.node, 'n1');
  assert.equal(first.event, 'test');
});

test('on a terminal each record is one human line with its event and fields', () => {
  const { stream, lines } = capture();
  const logger = createNodeLogger({ level: 'info', nodeId: 'n1', stream, pretty: true });
  logger.warn({ event: 'member_down', member: 'n3', incarnation: 2, secret: 'x'.repeat(32) }, 'member n3 is down');
  assert.equal(lines.length, 1);
  const line = lines[0] as string;
  assert.match(
    line,
    /^\d\d:\d\d:\d\d\.\d{3} WARN {2}n1 member_down {2}member n3 is down {2}member=n3 incarnation=2 secret=\[redacted\]\n$/,
  );
  assert.equal(humanLine('not json'), 'not json');
});

test('quorum failures are logged once per window, only at or above the threshold, with counts by operation and code', async () => {
  const records: Array<Record<string, unknown>> = [];
  const logger = {
    debug: () => undefined,
    info: () => undefined,
    error: () => undefined,
    warn: (fields: object) => void records.push(fields as Record<string, unknown>),
  };
  const log = new QuorumFailureLog({ logger, windowMs: 50, failuresMin: 3 });
  try {
    log.record('put', 'EVERWRITE_QUORUM_NOT_MET');
    log.record('put', 'EVERWRITE_BAD_REQUEST'); // the client's fault: not counted
    await new Promise((resolve) => setTimeout(resolve, 80));
    assert.equal(records.length, 0, 'one failure is below the threshold');
    log.record('put', 'EVERWRITE_QUORUM_NOT_MET');
    log.record('put', 'EVERWRITE_QUORUM_NOT_MET');
    log.record('get', 'EVERWRITE_TIMEOUT');
    await new Promise((resolve) => setTimeout(resolve, 80));
    assert.equal(records.length, 1);
    assert.equal(records[0]?.event, 'quorum_failures');
    assert.equal(records[0]?.failures, 3);
    assert.deepEqual(records[0]?.byOperationAndCode, { 'put EVERWRITE_QUORUM_NOT_MET': 2, 'get EVERWRITE_TIMEOUT': 1 });
  } finally {
    log.stop();
  }
});

test('live stats count per second, age out after the window and place percentiles within a bucket', () => {
  let nowMs = 1_000_000;
  const stats = new LiveStats(() => nowMs);
  for (let index = 0; index < 98; index++) stats.record('get', 1, false);
  stats.record('get', 100, true);
  stats.record('get', 100, false);
  nowMs += 1000;
  const report = stats.report().get as ReturnType<LiveStats['report']>[string];
  assert.equal(report.length, liveWindowSeconds);
  const last = report.at(-1);
  assert.equal(last?.count, 100);
  assert.equal(last?.errors, 1);
  assert.ok(last?.p50Ms !== null && Math.abs((last?.p50Ms as number) - 1) <= 0.15, `p50 ${last?.p50Ms}`);
  assert.ok(Math.abs((last?.p99Ms as number) - 100) <= 15, `p99 ${last?.p99Ms}`);
  assert.equal(report[0]?.count, 0);
  assert.equal(report[0]?.p50Ms, null);
  nowMs += liveWindowSeconds * 1000;
  assert.ok(
    (stats.report().get ?? []).every((second) => second.count === 0),
    'a minute later the window is empty',
  );
});

test('the Grafana dashboard queries only families a node exports', async () => {
  const metrics = new NodeMetrics();
  metrics.attach({
    status: () => ({ id: 'n1' as never, members: [] }),
    hintsPending: () => [],
    transport: () => new TcpTransportMetrics().snapshot(),
    transportPeers: () => [],
    gossip: () => ({ probes: 0, indirectProbes: 0, probesFailed: 0, viewGossipRounds: 0, viewsAdopted: 0 }),
    storage: () => ({
      groupsWritten: 0,
      syncs: 0,
      runsApplied: 0,
      checkpoints: 0,
      overlayEntries: 0,
      unappliedBytes: 0,
      logGeneration: 0,
      logBytes: 0,
    }),
    storedUsage: { engine: 'lmdb', read: () => ({ keys: 0, bytes: 0 }) },
  });
  new HttpMetrics(metrics.registry, () => ({
    treesHeld: 0,
    treesReady: 0,
    exchangesRunning: 0,
    repairsQueued: 0,
    partitions: [],
  }));
  new RespMetrics(metrics.registry);
  const exported = new Set((await metrics.registry.getMetricsAsJSON()).map((family) => family.name));
  const dashboard = readFileSync(new URL('../../../deploy/grafana/everwrite.json', import.meta.url), 'utf8');
  const queried = new Set(
    [...dashboard.matchAll(/\b((?:everwrite|nodejs|process)_[a-z0-9_]+)/g)].map((match) =>
      (match[1] as string).replace(/_(bucket|count|sum)$/, ''),
    ),
  );
  assert.ok(queried.size >= 15, `the dashboard queries ${queried.size} families`);
  for (const name of queried) assert.ok(exported.has(name), `${name} is exported`);
});

test('FastHistogram exposes exactly what a prom-client Histogram would for the same observations', async () => {
  const buckets = [0.001, 0.01, 0.1, 1];
  const observations: Array<[string, string, number]> = [
    ['get', 'ok', 0.0005],
    ['get', 'ok', 0.001],
    ['get', 'ok', 0.05],
    ['put', 'EVERWRITE_TIMEOUT', 3],
    ['get', 'ok', 0.0999],
  ];
  const reference = new Registry();
  const histogram = new Histogram({
    name: 'x_seconds',
    help: 'x',
    labelNames: ['operation', 'outcome'],
    buckets,
    registers: [reference],
  });
  const fast = new Registry();
  const fastHistogram = new FastHistogram(fast, 'x_seconds', 'x', ['operation', 'outcome'], buckets);
  for (const [operation, outcome, value] of observations) {
    histogram.labels(operation, outcome).observe(value);
    fastHistogram.labels(operation, outcome).observe(value);
  }
  assert.equal(await fast.metrics(), await reference.metrics());
  fastHistogram.unregister();
  assert.equal(await fast.metrics(), '\n');
});
