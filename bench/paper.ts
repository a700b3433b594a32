// Why: the Dynamo paper's figures, reproduced on this code so each claim of the design can be held
// against the paper's own number (docs/BENCHMARKS.md puts them side by side, with what differs):
//   fig8      section 6.2, Figures 6 and 8: load-balancing efficiency of strategies 1, 2, 3 against
//             membership metadata size, and the share of out-of-balance nodes, S = 30 (pure, seconds)
//   versions  section 6.3: how many versions a read sees under concurrent writers (the simulator)
//   durability Figures 4 and 5: buffered against durable writes, throughput and p99.9 write latency
//             over time (everwrite bench, workload W, 3 lmdb nodes)
//   routing   Table 2: server- against client-driven coordination (everwrite bench over the
//             client, 5 lmdb nodes)
// Each section is bounded (fixed seeds, sizes and durations). Multi-process sections start nodes:
// run under the shared lock. Writes bench/results/paper.json and the SVG plots next to it.
//   flock /tmp/everwrite-procs.lock npm run bench:paper -- [--only fig8,versions,durability,routing] [--duration 15] [--seeds 20]
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { silentBenchIo } from '../src/cli/bench/run.ts';
import { runBenchCommand, type BenchFlags, type BenchResult } from '../src/cli/commands/bench.ts';
import { buildKeySet, measureBalance, type BalanceRow } from './paper/load-balance.ts';
import { countVersions } from './paper/versions.ts';

const { values: args } = parseArgs({
  options: {
    only: { type: 'string', default: 'fig8,versions,durability,routing' },
    duration: { type: 'string', default: '15' },
    seeds: { type: 'string', default: '20' },
    keys: { type: 'string', default: '200000' },
  },
});
const sections = new Set(args.only.split(','));
const results: Record<string, unknown> = { date: new Date().toISOString(), args };
const resultsDirectory = 'bench/results';
mkdirSync(resultsDirectory, { recursive: true });
const percent = (fraction: number, digits = 1): string => `${(fraction * 100).toFixed(digits)}%`;

function printBalance(rows: readonly BalanceRow[]): void {
  console.log(
    'strategy  parameter        metadata entries (bytes)  efficiency uniform  efficiency zipfian  out of balance uniform  out of balance zipfian',
  );
  for (const row of rows) {
    console.log(
      `${String(row.strategy).padEnd(10)}${row.parameter.padEnd(17)}${`${row.metadataEntries} (${row.metadataBytes})`.padEnd(26)}${row.uniformEfficiency.toFixed(3).padEnd(20)}${row.zipfianEfficiency.toFixed(3).padEnd(20)}${percent(row.uniformOutOfBalance).padEnd(24)}${percent(row.zipfianOutOfBalance)}`,
    );
  }
}

if (sections.has('fig8')) {
  const keys = Number(args.keys);
  console.log(
    `\n== Section 6.2 / Figure 8: S = 30 nodes, N = 3, ${keys} keys, load at each key's coordinator; zipfian theta 0.99 by key rank`,
  );
  const keySet = buildKeySet(keys);
  const rows: BalanceRow[] = [];
  for (const tokens of [1, 4, 16, 64, 256]) rows.push(measureBalance(1, 30, tokens, 1024, keySet, 1));
  for (const tokens of [1, 4, 16, 64]) rows.push(measureBalance(2, 30, tokens, 1024, keySet, 1));
  for (const partitions of [32, 64, 128, 256, 1024, 4096]) rows.push(measureBalance(3, 30, 0, partitions, keySet, 1));
  printBalance(rows);
  results['fig8'] = rows;
}

if (sections.has('versions')) {
  const seeds = Array.from({ length: Number(args.seeds) }, (_, index) => index + 1);
  console.log(
    `\n== Section 6.3: versions per read, simulated seeds 1..${seeds.length}, 300 operations each, siblings resolver`,
  );
  const rows = [await countVersions('none', seeds, 300), await countVersions('all', seeds, 300)];
  console.log('faults  reads   1 version   2 versions  3 versions  4 versions  5 or more   most in one read');
  for (const row of rows) {
    const share = (key: string): string => percent((row.byVersions[key] ?? 0) / Math.max(1, row.reads), 2).padEnd(12);
    console.log(
      `${row.faults.padEnd(8)}${String(row.reads).padEnd(8)}${share('1')}${share('2')}${share('3')}${share('4')}${share('5+')}${row.versionsMax}`,
    );
  }
  results['versions'] = rows;
}

function benchLine(name: string, result: BenchResult): string {
  const lines = Object.entries(result.operations).map(
    ([operation, figures]) =>
      `${operation} ${figures.opsPerSecond.toFixed(0)}/s mean ${figures.latencyMs.meanMs.toFixed(2)} p99 ${figures.latencyMs.p99Ms.toFixed(2)} p99.9 ${figures.latencyMs.p999Ms.toFixed(2)} ms`,
  );
  return `${name.padEnd(18)} ${result.throughput.opsPerSecond.toFixed(0).padStart(6)} ops/s, errors ${result.errors.total}; ${lines.join('; ')}; nodes ${result.cpu?.nodesMicrosecondsPerOperation ?? '?'} µs CPU/op, other work ${result.cpu?.othersSeconds ?? '?'} CPU-s`;
}

async function runAndPlot(name: string, flags: BenchFlags): Promise<BenchResult> {
  const svg = `${resultsDirectory}/paper-${name}.svg`;
  const result = await runBenchCommand(
    { duration: args.duration, progress: false, json: true, svg, ...flags },
    silentBenchIo,
  );
  console.log(benchLine(name, result));
  return result;
}

if (sections.has('durability')) {
  console.log(
    `\n== Figures 4 and 5: workload W (write only, zipfian), 3 lmdb nodes, N=3 R=2 W=2, 16 clients, ${args.duration} s each, 1 KiB values, alternating`,
  );
  const cluster: BenchFlags = {
    nodes: '3',
    engine: 'lmdb',
    workload: 'W',
    clients: '16',
    records: '10000',
    peerPortBase: '38200',
    httpPortBase: '38220',
    respPortBase: '38240',
  };
  const runs: Record<string, BenchResult> = {};
  for (const [name, durability] of [
    ['durable-1', 'durable'],
    ['buffered-1', 'buffered'],
    ['durable-2', 'durable'],
    ['buffered-2', 'buffered'],
  ] as const)
    runs[name] = await runAndPlot(name, { ...cluster, durability });
  results['durability'] = runs;
}

if (sections.has('routing')) {
  console.log(
    `\n== Table 2: workload A (uniform), 5 lmdb nodes, N=3 R=2 W=2 durable, the TypeScript client, 16 clients, ${args.duration} s each, alternating`,
  );
  const cluster: BenchFlags = {
    nodes: '5',
    engine: 'lmdb',
    workload: 'A',
    distribution: 'uniform',
    protocol: 'client',
    clients: '16',
    records: '10000',
    durability: 'durable',
    peerPortBase: '38300',
    httpPortBase: '38320',
    respPortBase: '38340',
  };
  const runs: Record<string, BenchResult> = {};
  for (const [name, routing] of [
    ['server-1', 'server'],
    ['client-1', 'client'],
    ['server-2', 'server'],
    ['client-2', 'client'],
  ] as const)
    runs[name] = await runAndPlot(name, { ...cluster, routing });
  results['routing'] = runs;
}

writeFileSync(`${resultsDirectory}/paper.json`, JSON.stringify(results, null, 2));
console.log(`\nwrote ${resultsDirectory}/paper.json`);
