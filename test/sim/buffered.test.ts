// Why: a buffered bucket acknowledges a write before its fsync and sends it to the other replicas,
// so after a crash (the simulator's power loss) a node may have lost a version whose dot the
// replicas hold. Before the epoch was renewed after an unclean stop, the restarted node minted that
// dot again for another write, and the replicas dropped the second write as one they had: 11 of the
// 300 seeds from 5000 failed, 4 of them in the range below (5053, 5072, 5108, 5119). Losing
// acknowledged buffered writes in a crash is allowed and only reported; minting a dot twice never is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSimulation } from '../../src/sim/index.ts';

const firstSeed = 5050;
const seedCount = 75;

test('buffered buckets under every fault: no dot is ever minted for two writes, and the run passes', async (t) => {
  let lost = 0;
  let acknowledged = 0;
  for (let seed = firstSeed; seed < firstSeed + seedCount; seed++) {
    const report = await runSimulation({ seed, ops: 200, faults: 'all', durability: 'buffered' });
    lost += report.lost;
    acknowledged += report.acknowledged;
    assert.equal(report.durability, 'buffered');
    assert.equal(report.ok, true, `${report.command}: ${report.failures.join('; ')}`);
  }
  t.diagnostic(
    `seeds ${firstSeed}..${firstSeed + seedCount - 1}, buffered: lost ${lost} of ${acknowledged} acknowledged elements (allowed: acknowledged before the fsync)`,
  );
});

test('the reproduce command of a buffered run names its durability', async () => {
  const report = await runSimulation({ seed: firstSeed, ops: 20, faults: 'none', durability: 'buffered' });
  assert.match(report.command, / --durability buffered$/);
  const durable = await runSimulation({ seed: firstSeed, ops: 20, faults: 'none' });
  assert.doesNotMatch(durable.command, /--durability/);
});
