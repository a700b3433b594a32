// Why: SWIM's scaling promise (decision 0014): a liveness change reaches every one of S members in
// O(log S) protocol periods, through the real detectors, codec and simulated network. Measured at
// S = 64 (several seeds) and S = 1,000 (one seed: the larger run costs seconds); bench/
// liveness-dissemination.bench.ts prints the same figures next to log2(S).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { measureDissemination } from '../../src/sim/index.ts';

/** c in periods <= c * log2(S): SWIM's analysis gives about lambda * log(S) with lambda ~ 1-3. */
const periodsPerLog2Max = 1.5;

test('a liveness change reaches all 64 members within 1.5 * log2(64) protocol periods', async (t) => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const result = await measureDissemination({ members: 64, seed, periodsMax: 64 });
    t.diagnostic(
      `seed ${seed}: ${result.periods.toFixed(2)} periods (log2 S = ${result.log2Members}), detected after ${result.detectionPeriods.toFixed(2)}, ${result.framesSent} frames`,
    );
    assert.ok(result.periods >= 0, `seed ${seed}: the change never reached every member`);
    assert.ok(result.periods <= periodsPerLog2Max * result.log2Members, `seed ${seed}: ${result.periods} periods`);
  }
});

test(
  'a liveness change reaches all 1,000 members within 1.5 * log2(1000) protocol periods',
  { timeout: 120_000 },
  async (t) => {
    const result = await measureDissemination({ members: 1000, seed: 1, periodsMax: 60 });
    t.diagnostic(
      `seed 1: ${result.periods.toFixed(2)} periods (log2 S = ${result.log2Members.toFixed(2)}), detected after ${result.detectionPeriods.toFixed(2)}, ${result.framesSent} frames`,
    );
    assert.ok(result.periods >= 0, 'the change never reached every member');
    assert.ok(result.periods <= periodsPerLog2Max * result.log2Members, `${result.periods} periods`);
  },
);
