// Why: where does each node spend its CPU on a RESP SET or GET? bench/redis-compare.ts says how much
// CPU a request costs each node; this says on what. It starts the same 3-node cluster and traffic
// (bench/resp-load.ts: bucket `redis` N=3 R=2 W=2, redis-benchmark with 50 clients, 100-byte values,
// every request to node 1, which coordinates; nodes 2 and 3 are replicas) with every node under
// --cpu-prof, stops the nodes cleanly so each writes its profile, and prints each node's top
// functions by self time within the measured redis-benchmark run only.
//   flock /tmp/everwrite-procs.lock timeout 600 npx tsx bench/resp-profile.ts [--test set|get]
//     [--pipeline 1] [--requests 100000] [--engine memory|lmdb] [--durability buffered|durable]
//     [--warm] [--top 25] [--keep DIR]
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { mainThreadProfiles, printTop, selfTimes } from './cpu-profile-summary.ts';
import { cpuMicroseconds, redisBenchmark, startRespCluster, warmUp } from './resp-load.ts';
import { benchPorts } from './ports.ts';

const { values: args } = parseArgs({
  options: {
    test: { type: 'string', default: 'set' },
    pipeline: { type: 'string', default: '1' },
    requests: { type: 'string', default: '100000' },
    engine: { type: 'string', default: 'memory' },
    durability: { type: 'string', default: 'buffered' },
    warm: { type: 'boolean', default: false },
    top: { type: 'string', default: '25' },
    keep: { type: 'string' },
  },
});
if (args.test !== 'set' && args.test !== 'get') throw new Error('--test is set or get');
if (args.engine !== 'memory' && args.engine !== 'lmdb') throw new Error('--engine is memory or lmdb');
if (args.durability !== 'buffered' && args.durability !== 'durable')
  throw new Error('--durability is buffered or durable');

const profiles = mkdtempSync(join(tmpdir(), 'everwrite-resp-profile-'));
const running = await startRespCluster({
  engine: args.engine,
  durability: args.durability,
  peerPortBase: benchPorts.respProbe.peer,
  httpPortBase: benchPorts.respProbe.http,
  nodeArguments: ['--cpu-prof', `--cpu-prof-dir=${profiles}`],
});
let seconds = 0;
try {
  if (args.warm || args.test === 'get') warmUp(running.respPort);
  const cpuBefore = running.pids.map(cpuMicroseconds);
  const started = performance.now();
  const run = redisBenchmark({
    port: running.respPort,
    test: args.test,
    requests: Number(args.requests),
    pipeline: Number(args.pipeline),
  });
  seconds = (performance.now() - started) / 1000;
  const cpuPerRequest = running.pids.map((pid, index) => {
    const after = cpuMicroseconds(pid);
    const before = cpuBefore[index];
    return after === undefined || before === undefined ? '?' : ((after - before) / Number(args.requests)).toFixed(0);
  });
  const csv = run.stdout.trim().split('\n').at(-1) ?? '';
  console.log(`${args.test.toUpperCase()} -P ${args.pipeline}, ${args.engine} ${args.durability}: ${csv}`);
  console.log(`${seconds.toFixed(1)} s; CPU µs per request, coordinator / replicas: ${cpuPerRequest.join(' / ')}`);
  if (run.status !== 0) console.log(run.stderr || run.stdout);
} finally {
  await running.cluster.stop('SIGINT');
  await running.stop();
}
for (const [index, { file, profile }] of mainThreadProfiles(profiles).entries())
  printTop(`node ${index + 1} (${file})`, selfTimes(profile, seconds), Number(args.top));
if (args.keep !== undefined) cpSync(profiles, args.keep, { recursive: true });
rmSync(profiles, { recursive: true, force: true });
