// Why: where does a node spend its CPU under `everwrite bench` over HTTP? This starts a local
// cluster whose nodes run with --cpu-prof, drives it with the bench (workload A by default), stops
// the nodes cleanly so each writes its profile, and prints each node's top functions by self time
// within the measured run only (the last --duration seconds before each profile ends: start-up,
// module loading and the load phase left out; idle samples left out of the shares), then the same
// summed over the nodes' main threads. The tsx loader's worker threads are left out: idle by then.
//   flock /tmp/everwrite-procs.lock npx tsx bench/http-profile.ts [--duration 10] [--engine memory] [--workload A]
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LocalCluster } from '../src/server/local-cluster.ts';
import { silentBenchIo } from '../src/cli/bench/run.ts';
import { runBenchCommand } from '../src/cli/commands/bench.ts';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    engine: { type: 'string', default: 'memory' },
    workload: { type: 'string', default: 'A' },
    top: { type: 'string', default: '15' },
  },
});

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  /** Microseconds, on the clock the deltas count from. */
  readonly startTime: number;
  readonly endTime: number;
}

function frameName(frame: ProfileNode['callFrame'] | undefined): string {
  return frame === undefined
    ? '?'
    : `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*\/(src|node_modules)\//, '$1/')}:${frame.lineNumber + 1}`;
}

/** Self time per function (name and file), in ms, over the profile's last `windowSeconds`; idle samples are left out. */
function selfTimes(profile: CpuProfile, windowSeconds: number, into = new Map<string, number>()): Map<string, number> {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const from = profile.endTime - windowSeconds * 1e6;
  let at = profile.startTime;
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    at += delta;
    if (at < from) return;
    const name = frameName(byId.get(id)?.callFrame);
    if (name.startsWith('(idle)')) return;
    into.set(name, (into.get(name) ?? 0) + delta / 1000);
  });
  return into;
}

function printTop(title: string, times: Map<string, number>): void {
  const sorted = [...times.entries()].sort((a, b) => b[1] - a[1]);
  const total = sorted.reduce((sum, [, ms]) => sum + ms, 0);
  console.log(`\n${title}: ${Math.round(total)} ms busy in the measured run`);
  for (const [name, ms] of sorted.slice(0, Number(args.top)))
    console.log(`${ms.toFixed(0).padStart(7)} ms ${((ms / total) * 100).toFixed(1).padStart(5)}%  ${name}`);
}

const directory = mkdtempSync(join(tmpdir(), 'everwrite-profile-'));
const profiles = join(directory, 'profiles');
const cluster = new LocalCluster({
  nodes: 3,
  dataDirectory: join(directory, 'data'),
  engine: args.engine as 'memory' | 'lmdb',
  peerPortBase: 38600,
  httpPortBase: 38620,
  respPortBase: 38640,
  output: 'ignore',
  nodeArguments: ['--cpu-prof', `--cpu-prof-dir=${profiles}`],
});
try {
  await cluster.start();
  const result = await runBenchCommand(
    {
      target: cluster.nodes.map((node) => node.httpUrl).join(','),
      workload: args.workload,
      duration: args.duration,
      durability: 'buffered',
      progress: false,
    },
    silentBenchIo,
  );
  console.log(
    `workload ${args.workload} over HTTP, 3 ${args.engine} nodes: ${result.throughput.opsPerSecond} ops/s, p99 ${result.latencyMs.all.p99Ms} ms, errors ${result.errors.total}`,
  );
} finally {
  await cluster.stop('SIGINT');
}
// Node names a profile CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile; thread 0 is the main one.
const mainThreads = readdirSync(profiles)
  .sort()
  .filter((file) => /\.\d+\.0\.\d+\.cpuprofile$/.test(file));
const summed = new Map<string, number>();
for (const file of mainThreads) {
  const profile = JSON.parse(readFileSync(join(profiles, file), 'utf8')) as CpuProfile;
  printTop(file, selfTimes(profile, Number(args.duration)));
  selfTimes(profile, Number(args.duration), summed);
}
printTop(`all ${mainThreads.length} nodes`, summed);
rmSync(directory, { recursive: true, force: true });
