// Why: CI proves with real processes that the cluster changes members under load without losing
// anything: a short `everwrite chaos --nemesis membership` (4 members and 2 spares in network
// namespaces; spares join, members leave and exit 0, members are killed with -9 and removed, and
// each departed slot comes back as a fresh spare) whose verdict must be lost 0, unexpected 0, every
// key read through every final member, every drawn operation inflicted, the same final view on
// every member and every key on N replicas of the final ring. Kept apart from the `all` chaos test
// so each stays within its time (docs/RELIABILITY.md). The seed is printed for replay.
import assert from 'node:assert/strict';
import { probeNamespaces, runChaos } from '../../src/chaos/index.ts';
import { formatChaosReport } from '../../src/cli/commands/chaos.ts';
import { testNeeding } from '../support/environment.ts';

const missing = await probeNamespaces();

testNeeding(
  missing,
  'chaos membership: joins, leaves and removes under load lose nothing; one final view; every key on N replicas',
  { timeout: 400_000 },
  async () => {
    const seed = Number(process.env.EVERWRITE_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`chaos membership seed ${seed} (replay: EVERWRITE_CHAOS_SEED=${seed})`);
    let progress = '';
    const report = await runChaos({
      durationS: 30,
      nemesis: 'membership',
      nodes: 4,
      spares: 2,
      seed,
      intervalMs: 1000,
      convergenceTimeoutS: 60,
      onProgress: (text) => (progress += text),
    });
    const summary = formatChaosReport(report);
    console.log(summary);
    const context = `${summary}\n${progress.slice(-4000)}`;
    const membership = report.membership;
    assert.ok(membership !== undefined, `no membership report\n${context}`);
    assert.deepEqual(report.problems, [], `a membership operation or a respawn went wrong\n${context}`);
    assert.ok(membership.operations.length >= 2, `too few membership operations to judge anything\n${context}`);
    assert.deepEqual(membership.inflicted, membership.drawn, `drawn membership operations not inflicted\n${context}`);
    assert.deepEqual(membership.viewProblems, [], `the final members disagree about the view\n${context}`);
    assert.ok(membership.replicas.keysChecked > 100, `too few keys to judge replicas\n${context}`);
    assert.equal(membership.replicas.keysShort, 0, `keys not on N replicas of the final ring\n${context}`);
    assert.equal(membership.unreadThroughMembers, 0, `keys not readable through every final member\n${context}`);
    assert.ok(report.acknowledged > 100, `too few acknowledged writes to judge anything\n${context}`);
    assert.equal(report.lost, 0, `acknowledged elements lost\n${context}`);
    assert.equal(report.unexpected, 0, `unexpected elements read\n${context}`);
    assert.equal(report.unreadKeys, 0, `keys whose final read never succeeded\n${context}`);
    assert.ok(report.convergence.converged, `replicas did not converge\n${context}`);
    assert.deepEqual(report.nodeCrashes, [], `a node exited without being killed or leaving\n${context}`);
    assert.equal(report.ok, true, `the report is not ok\n${context}`);
  },
);
