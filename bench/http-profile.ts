// Why: where does a node spend its CPU under `everwrite bench` over HTTP? This starts a local
// cluster whose nodes run with --cpu-prof, drives it with the bench (workload A by default), stops
// the nodes cleanly so each writes its profile, and prints each node's top functions by self time.
//   flock /tmp/everwrite-procs.lock npx tsx bench/http-profile.ts [--duration 10] [--engine memory] [--workload A]
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LocalCluster } from '../src/server/local-cluster.ts';
import { silentBenchIo } from '../src/cli/bench/run.ts';
import { runBenchCommand } from '../src/cli/commands/bench.ts';

const { values: args } = parseArgs({ options: { duration: { type: 'string', default: '10' }, engine: { type: 'string', default: 'memory' }, workload: { type: 'string', default: 'A' }, top: { type: 'string', default: '15' } } });

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Self time per function (name and file), in ms, largest first. */
function selfTimes(profile: CpuProfile): Array<[string, number]> {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const totals = new Map<string, number>();
  profile.samples.forEach((id, index) => {
    const frame = byId.get(id)?.callFrame;
    const name = frame === undefined ? '?' : `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*\/(src|node_modules)\//, '$1/')}:${frame.lineNumber + 1}`;
    totals.set(name, (totals.get(name) ?? 0) + (profile.timeDeltas[index] ?? 0) / 1000);
  });
  return [...totals.entries()].sort((a, b) => b[1] - a[1]);
}

const directory = mkdtempSync(join(tmpdir(), 'everwrite-profile-'));
const profiles = join(directory, 'profiles');
const cluster = new LocalCluster({ nodes: 3, dataDirectory: join(directory, 'data'), engine: args.engine as 'memory' | 'lmdb', peerPortBase: 38600, httpPortBase: 38620, respPortBase: 38640, output: 'ignore', nodeArguments: ['--cpu-prof', `--cpu-prof-dir=${profiles}`] });
try {
  await cluster.start();
  const result = await runBenchCommand({ target: cluster.nodes.map((node) => node.httpUrl).join(','), workload: args.workload, duration: args.duration, durability: 'buffered', progress: false }, silentBenchIo);
  console.log(`workload ${args.workload} over HTTP, 3 ${args.engine} nodes: ${result.throughput.opsPerSecond} ops/s, p99 ${result.latencyMs.all.p99Ms} ms, errors ${result.errors.total}`);
} finally {
  await cluster.stop('SIGINT');
}
for (const file of readdirSync(profiles).sort()) {
  const profile = JSON.parse(readFileSync(join(profiles, file), 'utf8')) as CpuProfile;
  const times = selfTimes(profile);
  const total = times.reduce((sum, [, ms]) => sum + ms, 0);
  console.log(`\n${file}: ${Math.round(total)} ms sampled`);
  for (const [name, ms] of times.slice(0, Number(args.top))) console.log(`${ms.toFixed(0).padStart(7)} ms ${((ms / total) * 100).toFixed(1).padStart(5)}%  ${name}`);
}
rmSync(directory, { recursive: true, force: true });
