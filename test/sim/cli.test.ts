// Why: `everwrite sim` is how a failure found in CI is replayed, so its output must carry the
// figures and, on failure, the exact command that reproduces the run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatReport, parseFaults, runSimCommand } from '../../src/cli/commands/sim.ts';
import type { SimReport } from '../../src/sim/index.ts';

function capture(): {
  io: { stdout: { write(chunk: string): void }; stderr: { write(chunk: string): void } };
  out: () => string;
  err: () => string;
} {
  let out = '';
  let err = '';
  return {
    io: { stdout: { write: (chunk) => (out += chunk) }, stderr: { write: (chunk) => (err += chunk) } },
    out: () => out,
    err: () => err,
  };
}

test('--json prints the report with the contract fields, and the same seed prints the same JSON', async () => {
  const first = capture();
  assert.equal(await runSimCommand({ seed: 5, ops: 40, faults: 'all', json: true }, first.io), 0);
  const report = JSON.parse(first.out()) as SimReport;
  for (const field of [
    'seed',
    'attempted',
    'acknowledged',
    'lost',
    'unexpected',
    'siblingsMax',
    'converged',
    'convergenceMs',
    'traceHash',
  ]) {
    assert.ok(field in report, `report has ${field}`);
  }
  assert.equal(report.seed, 5);
  assert.equal(report.lost, 0);
  const second = capture();
  await runSimCommand({ seed: 5, ops: 40, faults: 'all', json: true }, second.io);
  assert.equal(second.out(), first.out());
});

test('the text report summarises a run; --count runs consecutive seeds and sums them up', async () => {
  const single = capture();
  assert.equal(await runSimCommand({ seed: 9, ops: 30, nodes: 3, faults: ['crash', 'loss'] }, single.io), 0);
  assert.match(single.out(), /^seed 9: 3 nodes, N\/R\/W 3\/\d\/\d/);
  assert.match(single.out(), /faults (crash\+loss|crash|loss)/);
  assert.match(single.out(), /\n {2}OK\n$/);
  const soak = capture();
  assert.equal(await runSimCommand({ seed: 100, count: 3, ops: 20 }, soak.io), 0);
  assert.match(
    soak.out(),
    /^3 seeds from 100: 3 passed, 0 failed, 0 incomplete; elements attempted \d+, acknowledged \d+, lost 0 \(0\.0% of acknowledged\), unexpected 0, resurrected 0, siblings max \d+; convergence ms p50 \d+ p99 \d+ max \d+; hint drain ms p50 \d+ p99 \d+ max \d+\n$/,
  );
});

test('a failed run prints why and the command that reproduces it', () => {
  const report = {
    seed: 42,
    nodes: 5,
    ops: 100,
    faults: ['crash'],
    resolver: 'siblings',
    durability: 'durable',
    settings: {
      n: 3,
      r: 2,
      w: 2,
      clients: 3,
      hotKeys: 2,
      partitionCount: 16,
      requestTimeoutMs: 1000,
      mix: { setAdd: 1, uniqueWrite: 0, remove: 0, read: 0 },
    },
    attempted: 10,
    acknowledged: 9,
    failed: 0,
    indeterminate: 1,
    lost: 1,
    unexpected: 0,
    resurrected: 0,
    siblingsMax: 2,
    staleReads: 0,
    strict: false,
    readsChecked: 10,
    keys: 2,
    converged: true,
    readFree: false,
    aeDivergentKeys: 0,
    finalRingMissing: 0,
    aeConvergenceMs: -1,
    budgetExhausted: false,
    incomplete: [],
    convergenceMs: 10,
    hintsDrained: true,
    hintDrainMs: 5,
    virtualMs: 1000,
    events: 100,
    network: {
      framesSent: 1,
      framesDelivered: 1,
      framesLost: 0,
      framesDuplicated: 0,
      framesUnreachable: 0,
      framesClogged: 0,
    },
    disks: {
      batches: 1,
      failedWrites: 0,
      failedReads: 0,
      syncs: 1,
      crashes: 0,
      lostWrites: 0,
      tornWrites: 0,
      storageFailures: 0,
    },
    nemesis: {
      partitions: 0,
      livenessPartitions: 0,
      heals: 0,
      clogs: 0,
      crashes: 1,
      restarts: 0,
      pauses: 0,
      storms: 0,
      skews: 0,
      diskFaults: 0,
      wipes: 0,
      joins: 0,
      leaves: 0,
      removes: 0,
      crashesInTransition: 0,
    },
    clientOutcomes: { ok: 9, error: 1, unavailable: 0, timeout: 0 },
    traceHash: 'abc',
    ok: false,
    failures: ['1 acknowledged elements lost (e.g. 7)'],
    command: 'everwrite sim --seed 42 --nodes 5 --ops 100 --faults all --resolver siblings',
  } satisfies SimReport;
  const text = formatReport(report);
  assert.match(text, /FAILED: 1 acknowledged elements lost/);
  const incomplete = formatReport({
    ...report,
    ok: true,
    failures: [],
    budgetExhausted: true,
    incomplete: ['budget exhausted: the workload did not finish'],
  });
  assert.match(incomplete, /INCOMPLETE \(not a safety failure\): budget exhausted/);
  assert.match(incomplete, /OK \(incomplete\)/);
  assert.match(text, /reproduce: everwrite sim --seed 42 --nodes 5 --ops 100 --faults all --resolver siblings$/);
});

test('--faults accepts none, all or a comma list of known kinds', () => {
  assert.equal(parseFaults('none'), 'none');
  assert.equal(parseFaults('all'), 'all');
  assert.deepEqual(parseFaults('partition,clock'), ['partition', 'clock']);
  assert.deepEqual(parseFaults('crash,wipe'), ['crash', 'wipe']);
  assert.throws(() => parseFaults('partition,meteor'), /--faults must be/);
});
