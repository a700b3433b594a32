// Why: the CPU figures are what make runs on a shared machine comparable; the /proc parsing must
// survive odd process names, and the per-operation arithmetic must be right.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMachineStatTicks, parseProcessStatTicks, startCpuSampling } from '../../../../src/cli/bench/cpu.ts';
import { buildResult, formatReport } from '../../../../src/cli/bench/report.ts';
import { createLatencyHistogram } from '../../../../src/cli/bench/latency.ts';

test('parseProcessStatTicks adds utime and stime, whatever the command name holds', () => {
  const tail = 'S 1 2 3 4 5 6 7 8 9 10 250 70 0 0 20 0 12 0 100 1000 50';
  assert.equal(parseProcessStatTicks(`1234 (node) ${tail}`), 320);
  assert.equal(parseProcessStatTicks(`1234 (my (odd) name) ${tail}`), 320);
  assert.throws(() => parseProcessStatTicks('1234 (node) S 1 2'), /unexpected/);
});

test('parseMachineStatTicks counts busy time apart from idle and iowait', () => {
  const text = 'cpu  100 5 50 1000 20 3 2 1 0 0\ncpu0 50 2 25 500 10 1 1 0 0 0\nintr 1\n';
  assert.deepEqual(parseMachineStatTicks(text), { busy: 161, total: 1181 });
  assert.throws(() => parseMachineStatTicks('intr 1\n'), /no cpu line/);
});

test('startCpuSampling measures this process, and the machine on Linux', () => {
  const stop = startCpuSampling([]);
  let spin = 0;
  const until = performance.now() + 60;
  while (performance.now() < until) spin++;
  const usage = stop();
  assert.ok(spin > 0);
  assert.ok(usage.generatorSeconds >= 0 && usage.generatorSeconds < 5);
  assert.equal(usage.nodesSeconds, undefined);
  if (process.platform === 'linux') assert.ok((usage.machineBusySeconds ?? -1) >= 0);
});

test('CPU figures per operation appear in the result and the report', () => {
  const reads = createLatencyHistogram();
  for (let index = 0; index < 1000; index++) reads.recordValue(1000);
  const result = buildResult({
    settings: {},
    environment: {},
    startedAt: new Date(0),
    elapsedSeconds: 1,
    byOperation: new Map([['read', { latency: reads, notFound: 0, errors: 0 }]]),
    all: reads,
    errorsByKind: new Map(),
    timeline: [],
    cpu: { generatorSeconds: 0.2, nodesSeconds: 1.5, machineBusySeconds: 2, othersSeconds: 0.3 },
  });
  assert.deepEqual(result.cpu, {
    generatorSeconds: 0.2,
    nodesSeconds: 1.5,
    machineBusySeconds: 2,
    othersSeconds: 0.3,
    generatorMicrosecondsPerOperation: 200,
    nodesMicrosecondsPerOperation: 1500,
  });
  assert.match(
    formatReport(result),
    /cpu during the run: nodes 1\.5 s \(1500 µs\/op\); load generator 0\.2 s \(200 µs\/op\); whole machine busy 2\.0 s, of which other work 0\.3 s/,
  );
});
