// Why: where does a node spend its CPU under `everwrite bench` over HTTP? This starts a local
// cluster whose nodes run with --cpu-prof, drives it with the bench (workload A by default), stops
// the nodes cleanly so each writes its profile, and prints each node's top functions by self time
// within the measured run only (the last --duration seconds before each profile ends: start-up,
// module loading and the load phase left out; idle samples left out of the shares), then the same
// summed over the nodes' main threads. The tsx loader's worker threads are left out: idle by then.
//   flock /tmp/everwrite-procs.lock npx tsx bench/http-profile.ts [--duration 10] [--engine memory] [--workload A]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LocalCluster } from '../src/server/local-cluster.ts';
import { silentBenchIo } from '../src/cli/bench/run.ts';
import { runBenchCommand } from '../src/cli/commands/bench.ts';
import { mainThreadProfiles, printTop, selfTimes } from './cpu-profile-summary.ts';
import { benchPorts } from './ports.ts';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    engine: { type: 'string', default: 'memory' },
    workload: { type: 'string', default: 'A' },
    top: { type: 'string', default: '15' },
  },
});

const directory = mkdtempSync(join(tmpdir(), 'everwrite-profile-'));
const profiles = join(directory, 'profiles');
const cluster = new LocalCluster({
  nodes: 3,
  dataDirectory: join(directory, 'data'),
  engine: args.engine as 'memory' | 'lmdb',
  peerPortBase: benchPorts.httpProfile.peer,
  httpPortBase: benchPorts.httpProfile.http,
  respPortBase: benchPorts.httpProfile.resp,
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
const summed = new Map<string, number>();
const mains = mainThreadProfiles(profiles);
for (const { file, profile } of mains) {
  printTop(file, selfTimes(profile, Number(args.duration)), Number(args.top));
  selfTimes(profile, Number(args.duration), summed);
}
printTop(`all ${mains.length} nodes`, summed, Number(args.top));
rmSync(directory, { recursive: true, force: true });
