// Why: the paper's section 6.3 reports how many versions a read sees in production: 1 in 99.94% of
// reads, 2 in 0.00057%, 3 in 0.00047%, 4 in 0.00009%. Concurrent writers to one key are what makes
// siblings, so this counts, over many simulated runs (src/sim: the production node code, seeded),
// how many versions each client read returned, with the simulator's workload of concurrent
// read-modify-write clients on a few hot keys, once without faults and once with the seed's faults.
import { runSimulation } from '../../src/sim/index.ts';

export interface VersionCounts {
  readonly faults: 'none' | 'all';
  readonly runs: number;
  /** Reads that returned at least one version (reads of absent keys are left out). */
  readonly reads: number;
  /** Reads by how many versions (siblings, tombstones included) they returned: 1, 2, 3, 4, 5 or more. */
  readonly byVersions: Readonly<Record<string, number>>;
  /** Most versions any one read returned. */
  readonly versionsMax: number;
  readonly elapsedMs: number;
}

export async function countVersions(
  faults: 'none' | 'all',
  seeds: readonly number[],
  ops: number,
): Promise<VersionCounts> {
  const startedMs = performance.now();
  const byVersions: Record<string, number> = { '1': 0, '2': 0, '3': 0, '4': 0, '5+': 0 };
  let reads = 0;
  let versionsMax = 0;
  for (const seed of seeds) {
    await runSimulation(
      { seed, ops, faults, resolver: 'siblings' },
      {
        onFinish: ({ history }) => {
          for (const read of history.reads) {
            if (read.final || read.siblings === 0) continue;
            reads++;
            versionsMax = Math.max(versionsMax, read.siblings);
            const bucket = read.siblings >= 5 ? '5+' : String(read.siblings);
            byVersions[bucket] = (byVersions[bucket] ?? 0) + 1;
          }
        },
      },
    );
  }
  return {
    faults,
    runs: seeds.length,
    reads,
    byVersions,
    versionsMax,
    elapsedMs: Math.round(performance.now() - startedMs),
  };
}
