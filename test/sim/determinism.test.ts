// Why: a simulation is worth something only if a seed replays exactly: the same seed must give the
// identical report and trace hash, and a leak of real time or chance into the code under
// simulation must fail the run loudly rather than make it flaky. "The same seed" means in another
// process too (a fresh module graph, other heap addresses and startup timing): a failure printed by
// CI is replayed by someone else's `everwrite sim --seed N`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runSimulation } from '../../src/sim/index.ts';
import { installDeterminismGuard } from '../../src/sim/guard.ts';
import { NodeRuntime } from '../../src/runtime/node-runtime.ts';

test('the same seed gives the identical report and trace hash; another seed gives another trace', async () => {
  const seed = 20_240_601;
  const first = await runSimulation({ seed, ops: 120, faults: 'all' });
  const second = await runSimulation({ seed, ops: 120, faults: 'all' });
  assert.equal(first.traceHash, second.traceHash, `seed ${seed} replays its trace`);
  assert.deepEqual(first, second, `seed ${seed} replays its report`);
  assert.equal(first.ok, true, first.failures.join('; '));
  assert.ok(first.events > 1000, 'the run did something');
  const other = await runSimulation({ seed: seed + 1, ops: 120, faults: 'all' });
  assert.notEqual(other.traceHash, first.traceHash);
});

test('another process replays the same seed to the identical report and trace hash', async () => {
  const seed = 20_240_602;
  const here = await runSimulation({ seed, ops: 120, faults: 'all' });
  const binPath = fileURLToPath(new URL('../../bin/everwrite.mjs', import.meta.url));
  const child = spawnSync(
    process.execPath,
    [binPath, 'sim', '--seed', String(seed), '--ops', '120', '--faults', 'all', '--json'],
    { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
  );
  assert.equal(child.error, undefined);
  const there = JSON.parse(child.stdout) as typeof here;
  assert.equal(there.traceHash, here.traceHash, `seed ${seed}: the other process ran another trace`);
  assert.deepEqual(there, here, `seed ${seed}: the other process gave another report`);
  assert.ok(here.events > 1000, 'the run did something');
});

test('overriding one choice keeps the others: --nodes changes the node count only', async () => {
  const drawn = await runSimulation({ seed: 7, ops: 30, faults: 'none' });
  const pinned = await runSimulation({ seed: 7, ops: 30, faults: 'none', nodes: drawn.nodes });
  assert.equal(pinned.traceHash, drawn.traceHash, 'naming the drawn node count replays the same run');
  assert.match(drawn.command, new RegExp(`--seed 7 --nodes ${drawn.nodes} --ops 30 --faults none --resolver siblings`));
});

test('the guard makes clocks, timers and chance throw during a run and restores them after', () => {
  const realNow = Date.now;
  const guard = installDeterminismGuard();
  try {
    assert.throws(() => Date.now(), /determinism guard/);
    assert.throws(() => new Date(), /determinism guard/);
    assert.throws(() => Math.random(), /determinism guard/);
    assert.throws(() => setTimeout(() => undefined, 1), /determinism guard/);
    assert.throws(() => setImmediate(() => undefined), /determinism guard/);
    assert.throws(() => performance.now(), /determinism guard/);
    assert.equal(new Date(0).getTime(), 0, 'a Date from a given time is still fine');
    assert.throws(() => installDeterminismGuard(), /already installed/);
  } finally {
    guard.restore();
  }
  assert.equal(guard.violations.length, 6);
  assert.equal(Date.now, realNow);
  assert.equal(typeof Date.now(), 'number');
  assert.equal(typeof Math.random(), 'number');
});

test('a runtime that reads the real clock during a run fails the run, even if it swallows the error', async () => {
  const original = NodeRuntime.prototype.dispatch;
  let leaked = false;
  NodeRuntime.prototype.dispatch = function (this: NodeRuntime, event) {
    if (!leaked && event.type === 'tick') {
      leaked = true;
      try {
        Date.now();
      } catch {
        // A careless catch must not hide the leak.
      }
    }
    return original.call(this, event);
  };
  try {
    const report = await runSimulation({ seed: 3, ops: 20, faults: 'none' });
    assert.equal(report.ok, false);
    assert.ok(
      report.failures.some((failure) => failure.startsWith('determinism guard: Date.now')),
      report.failures.join('; '),
    );
  } finally {
    NodeRuntime.prototype.dispatch = original;
  }
});
