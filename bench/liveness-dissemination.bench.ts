// Why: figures for decision 0014 and docs/BENCHMARKS.md: how many SWIM protocol periods a liveness
// change takes to reach every member, next to log2(S), over several seeds per cluster size, in the
// simulator (real detectors and codec, simulated network). Prints, never asserts.
// Run: npx tsx bench/liveness-dissemination.bench.ts [--sizes 16,64,256,1000] [--seeds 5]
import { parseArgs } from 'node:util';
import { measureDissemination } from '../src/sim/index.ts';

const { values: args } = parseArgs({
  options: { sizes: { type: 'string', default: '16,64,256,1000' }, seeds: { type: 'string', default: '5' } },
});
const sizes = args.sizes.split(',').map(Number);
const seeds = Number(args.seeds);

console.log(
  'members  log2(S)  periods to reach all (min / mean / max over seeds)  detection periods (mean)  frames (mean)  wall ms',
);
for (const members of sizes) {
  const started = performance.now();
  const results = [];
  for (let seed = 1; seed <= seeds; seed++) results.push(await measureDissemination({ members, seed }));
  const periods = results.map((result) => result.periods);
  const mean = (values: number[]): number => values.reduce((sum, value) => sum + value, 0) / values.length;
  console.log(
    [
      String(members).padStart(7),
      Math.log2(members).toFixed(2).padStart(7),
      `${Math.min(...periods).toFixed(1)} / ${mean(periods).toFixed(1)} / ${Math.max(...periods).toFixed(1)}`.padStart(
        52,
      ),
      mean(results.map((result) => result.detectionPeriods))
        .toFixed(1)
        .padStart(25),
      Math.round(mean(results.map((result) => result.framesSent)))
        .toString()
        .padStart(13),
      Math.round(performance.now() - started)
        .toString()
        .padStart(8),
    ].join('  '),
  );
}
