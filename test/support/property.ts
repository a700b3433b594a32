// Why: property tests are seeded and print their seed, so any failure can be replayed exactly:
//   FC_SEED=<seed> node scripts/run-tests.mjs test/property/...
import type fc from 'fast-check';

const seedFromEnvironment = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);

/** Options for fc.assert: at least 1000 runs by default, a printed seed, replayable via FC_SEED. */
export function propertyOptions(numRuns = 1000): fc.Parameters<unknown> {
  const seed = seedFromEnvironment ?? (Math.random() * 2 ** 31) | 0;
  console.log(`# fast-check seed ${seed} (replay with FC_SEED=${seed})`);
  return { numRuns, seed };
}
