// Why: `npm run bench:core` measures the pure core's hot paths on this machine and prints ops/s,
// writing the figures as JSON to bench/results/core.json for docs/BENCHMARKS.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import { printResults, type BenchResult } from './harness.ts';

const suites: Array<{ name: string; load: () => Promise<{ run: () => BenchResult[] }> }> = [
  { name: 'ring', load: () => import('./core/ring.ts') },
  { name: 'versioning', load: () => import('./core/versioning.ts') },
  { name: 'anti-entropy', load: () => import('./core/anti-entropy.ts') },
];

const only = process.argv[2];
const all: BenchResult[] = [];
for (const suite of suites) {
  if (only && suite.name !== only) continue;
  const results = (await suite.load()).run();
  printResults(results);
  all.push(...results);
}
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/core.json', JSON.stringify({ node: process.version, date: new Date().toISOString(), results: all }, null, 2));
