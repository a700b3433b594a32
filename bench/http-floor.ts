// Why: is the HTTP path near what Node allows? This runs YCSB workload A through `everwrite bench`
// against bare node:http servers (bench/bare-http-server.ts: a Map behind node:http, no replication)
// and against a local Everwrite cluster, alternating, with the same generator, clients, value size
// and records, in one run on one machine, and prints each rate and the cluster's share of the bare
// one. The bare servers are as many processes as the cluster has nodes, so the traffic has the same
// shape (clients round-robin over the processes); with --bare-processes 1, one server takes it all.
//   flock /tmp/everwrite-procs.lock npx tsx bench/http-floor.ts [--rounds 2] [--duration 10] [--engine memory]
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { silentBenchIo } from '../src/cli/bench/run.ts';
import { runBenchCommand, type BenchFlags, type BenchResult } from '../src/cli/commands/bench.ts';
import { benchPorts } from './ports.ts';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '2' },
    duration: { type: 'string', default: '10' },
    clients: { type: 'string', default: '32' },
    engine: { type: 'string', default: 'memory' },
    durability: { type: 'string', default: 'buffered' },
    nodes: { type: 'string', default: '3' },
    'bare-processes': { type: 'string', default: '' },
    'value-size': { type: 'string', default: '1024' },
  },
});
const nodes = Number(args.nodes);
const bareProcesses = args['bare-processes'] === '' ? nodes : Number(args['bare-processes']);
const barePortBase = benchPorts.httpFloorBare;
const common: BenchFlags = {
  workload: 'A',
  duration: args.duration,
  clients: args.clients,
  valueSize: args['value-size'],
  records: '10000',
  progress: false,
  json: true,
  durability: args.durability,
};

async function startBare(): Promise<ChildProcess[]> {
  const children = Array.from({ length: bareProcesses }, (_, index) =>
    spawn(process.execPath, ['--import', 'tsx', 'bench/bare-http-server.ts', String(barePortBase + index + 1)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  await Promise.all(children.map((child) => once(child.stdout as NodeJS.ReadableStream, 'data')));
  return children;
}

async function stopBare(children: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(async (child) => {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }),
  );
}

/** The bare processes share nothing, so each is told the props the bench will look for on every target. */
async function tellProps(urls: readonly string[]): Promise<void> {
  const props = JSON.stringify({ n: 3, r: 2, w: 2, durability: common.durability, resolver: 'lww' });
  for (const url of urls) {
    const response = await fetch(`${url}/buckets/bench/props`, {
      method: 'PUT',
      body: props,
      signal: AbortSignal.timeout(5_000),
    });
    if (!response.ok) throw new Error(`${url}: props answered ${response.status}`);
  }
}

async function measureBare(): Promise<BenchResult> {
  const children = await startBare();
  try {
    const urls = Array.from({ length: bareProcesses }, (_, index) => `http://127.0.0.1:${barePortBase + index + 1}`);
    await tellProps(urls);
    return await runBenchCommand({ ...common, target: urls.join(',') }, silentBenchIo);
  } finally {
    await stopBare(children);
  }
}

async function measureCluster(): Promise<BenchResult> {
  return runBenchCommand(
    {
      ...common,
      nodes: args.nodes,
      engine: args.engine,
      peerPortBase: String(benchPorts.httpFloor.peer),
      httpPortBase: String(benchPorts.httpFloor.http),
      respPortBase: String(benchPorts.httpFloor.resp),
    },
    silentBenchIo,
  );
}

const line = (name: string, result: BenchResult): string => {
  const all = result.latencyMs.all;
  const cpu =
    result.cpu?.nodesMicrosecondsPerOperation === undefined
      ? ''
      : `, nodes ${result.cpu.nodesMicrosecondsPerOperation} µs CPU/op`;
  return `${name.padEnd(34)} ${String(Math.round(result.throughput.opsPerSecond)).padStart(7)} ops/s  p50 ${all.p50Ms.toFixed(2)} p99 ${all.p99Ms.toFixed(2)} p99.9 ${all.p999Ms.toFixed(2)} ms  errors ${result.errors.total}  generator ${result.cpu?.generatorMicrosecondsPerOperation ?? '?'} µs/op${cpu}, other work ${result.cpu?.othersSeconds ?? '?'} CPU-s`;
};

const rounds: Array<{ bare: BenchResult; cluster: BenchResult }> = [];
console.log(
  `workload A (zipfian), ${args.clients} closed-loop clients, ${args.duration} s per run, ${args['value-size']} B values, 10000 records; bare: ${bareProcesses} node:http process(es); cluster: ${nodes} ${args.engine} nodes, N=3 R=2 W=2 ${args.durability}`,
);
for (let round = 1; round <= Number(args.rounds); round++) {
  const bare = await measureBare();
  console.log(line(`round ${round} bare node:http`, bare));
  const cluster = await measureCluster();
  console.log(line(`round ${round} everwrite`, cluster));
  console.log(
    `round ${round}: everwrite / bare = ${((cluster.throughput.opsPerSecond / bare.throughput.opsPerSecond) * 100).toFixed(1)}%`,
  );
  rounds.push({ bare, cluster });
}
mkdirSync('bench/results', { recursive: true });
writeFileSync(
  'bench/results/http-floor.json',
  JSON.stringify({ date: new Date().toISOString(), args, rounds }, null, 2),
);
