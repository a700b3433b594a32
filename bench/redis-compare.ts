// Why: the RESP front end's comparison with a real peer: redis-benchmark against a plain redis-server and
// against a 3-node Everwrite cluster's RESP port (N=3 R=2 W=2), in-memory and lmdb engines (lmdb
// with durable and with buffered writes), in one run on this machine. Prints one line per (target,
// test, pipeline), with the CPU each Everwrite node spent per request (the coordinating node 1, and
// the two replicas), and writes bench/results/redis-compare.json. Needs redis-server and
// redis-benchmark (Debian redis-server, redis-tools). Ends with each Everwrite row as a fraction of
// redis-server in the same run, which compares across days on a VM whose speed changes, and as
// a fraction of the node floor (bench/node-floor.ts: the same traffic through three bare Node
// processes with nothing of Dynamo in them; durable rows against its fsync-per-turn variant), which
// says how much of what Node reaches here we reach.
// Usage: npx tsx bench/redis-compare.ts [requests=200000] [--warm] [--targets redis,floor,floor-durable,memory,lmdb-durable,lmdb-buffered]
//   --warm: before a target's measured runs, an unmeasured `-t set,get -n 30000` (same flags), so
//   SET overwrites keys that exist instead of first filling an empty store.
//   --targets: a subset of the targets, in that order (default: all six).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNodeFloor, stopped, type RunningNodeFloor } from './node-floor-processes.ts';
import {
  cpuMicroseconds,
  ioSyscalls,
  redisBenchmark,
  startRespCluster,
  systemCpuMicroseconds,
  warmUp,
} from './resp-load.ts';
import { benchPorts } from './ports.ts';

interface Row {
  target: string;
  test: string;
  pipeline: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU microseconds per request of each Everwrite node (node 1 coordinates), when /proc tells. */
  nodeCpuMicrosecondsPerRequest?: number[];
  /** Of it, the kernel's (system time), per node. */
  nodeSystemMicrosecondsPerRequest?: number[];
  /** Read and write system calls per request of each node, when /proc tells (the kernel's share of a request). */
  nodeSyscallsPerRequest?: { reads: number; writes: number }[];
  /** requestsPerSecond / redis-server's for the same test and pipeline in this run (when it ran). */
  fractionOfRedis?: number;
  /** requestsPerSecond / the node floor's for the same test and pipeline in this run (when it ran). */
  fractionOfFloor?: number;
}

const argv = process.argv.slice(2);
const requests = Number(argv.find((argument) => !argument.startsWith('--')) ?? 200000);
const warm = argv.includes('--warm');
const targetsFlag = argv.indexOf('--targets');
const targets = new Set(
  (targetsFlag >= 0
    ? (argv[targetsFlag + 1] ?? '')
    : 'redis,floor,floor-durable,memory,lmdb-durable,lmdb-buffered'
  ).split(','),
);
const rows: Row[] = [];

function benchmark(
  target: string,
  port: number,
  pipeline: number,
  test: 'set' | 'get',
  pids: readonly (number | undefined)[] = [],
): void {
  const before = pids.map(cpuMicroseconds);
  const syscallsBefore = pids.map(ioSyscalls);
  const systemBefore = pids.map(systemCpuMicroseconds);
  const result = redisBenchmark({ port, test, requests, pipeline });
  if (result.error !== undefined)
    console.log(
      `${target.padEnd(30)} ${test} -P ${pipeline}: redis-benchmark did not finish (${result.error.message}); no row`,
    );
  const after = pids.map(cpuMicroseconds);
  const syscalls = syscallsPerRequest(syscallsBefore, pids.map(ioSyscalls));
  const system = perRequestDelta(systemBefore, pids.map(systemCpuMicroseconds));
  const perRequest = perRequestDelta(before, after);
  for (const line of result.stdout.split('\n').slice(1)) {
    const fields = line.split(',').map((field) => field.replaceAll('"', ''));
    if (fields.length < 7) continue;
    const row: Row = {
      target,
      test: fields[0] as string,
      pipeline,
      requestsPerSecond: Number(fields[1]),
      p50Ms: Number(fields[4]),
      p99Ms: Number(fields[6]),
      ...(perRequest === undefined ? {} : { nodeCpuMicrosecondsPerRequest: perRequest }),
      ...(syscalls === undefined ? {} : { nodeSyscallsPerRequest: syscalls }),
      ...(system === undefined ? {} : { nodeSystemMicrosecondsPerRequest: system }),
    };
    rows.push(row);
    const cpu =
      perRequest === undefined
        ? ''
        : `  node CPU us/request ${perRequest.map((value) => value.toFixed(0)).join(' / ')}${system === undefined ? '' : ` (system ${system.map((value) => value.toFixed(0)).join(' / ')})`}`;
    const calls =
      syscalls === undefined
        ? ''
        : `  syscalls/request read+write ${syscalls.map((s) => `${s.reads.toFixed(2)}+${s.writes.toFixed(2)}`).join(' / ')}`;
    console.log(
      `${target.padEnd(30)} ${row.test.padEnd(4)} -P ${String(pipeline).padEnd(3)} ${row.requestsPerSecond.toFixed(0).padStart(9)} req/s  p50 ${row.p50Ms.toFixed(3)} ms  p99 ${row.p99Ms.toFixed(3)} ms${cpu}${calls}`,
    );
  }
}

type Syscalls = ReturnType<typeof ioSyscalls>;

/** (after - before) / requests per process; undefined when a reading is missing. */
function perRequestDelta(
  before: readonly (number | undefined)[],
  after: readonly (number | undefined)[],
): number[] | undefined {
  if (before.length === 0 || before.some((value) => value === undefined) || after.some((value) => value === undefined))
    return undefined;
  return before.map((start, index) => ((after[index] as number) - (start as number)) / requests);
}

/** Each process's read and write system calls per request between two readings; undefined when /proc did not tell. */
function syscallsPerRequest(
  before: readonly Syscalls[],
  after: readonly Syscalls[],
): { reads: number; writes: number }[] | undefined {
  const reads = perRequestDelta(
    before.map((s) => s?.reads),
    after.map((s) => s?.reads),
  );
  const writes = perRequestDelta(
    before.map((s) => s?.writes),
    after.map((s) => s?.writes),
  );
  if (reads === undefined || writes === undefined) return undefined;
  return reads.map((perRequest, index) => ({ reads: perRequest, writes: writes[index] as number }));
}

async function plainRedis(): Promise<void> {
  const port = 16399;
  const server = spawn(
    'redis-server',
    ['--port', String(port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1'],
    { stdio: 'ignore' },
  );
  try {
    for (
      let attempt = 0;
      attempt < 50 &&
      spawnSync('redis-cli', ['-p', String(port), 'ping'])
        .stdout?.toString()
        .trim() !== 'PONG';
      attempt++
    )
      await new Promise((resolve) => setTimeout(resolve, 100));
    if (warm) warmUp(port);
    for (const pipeline of [1, 16])
      for (const test of ['set', 'get'] as const) benchmark('redis-server', port, pipeline, test);
  } finally {
    await stopped(server);
  }
}

const floorTarget = 'node floor (no Dynamo)';
const durableFloorTarget = 'node floor, fsync per turn';

/**
 * The node floor: bench/node-floor.ts as a coordinator and two replicas, three processes; with
 * `durable`, each appends SETs to a log in a fresh directory and acknowledges after its fdatasync.
 */
async function nodeFloor(durable: boolean): Promise<void> {
  const logDirectory = durable ? mkdtempSync(join(tmpdir(), 'everwrite-node-floor-')) : undefined;
  // Its own ports per variant, so one variant's processes never meet the other's.
  let floor: RunningNodeFloor | undefined;
  try {
    floor = await startNodeFloor({
      ports: durable ? [16490, 16491, 16492] : [16480, 16481, 16482],
      ...(logDirectory === undefined ? {} : { logDirectory }),
    });
    if (warm) warmUp(floor.respPort);
    for (const pipeline of [1, 16])
      for (const test of ['set', 'get'] as const)
        benchmark(durable ? durableFloorTarget : floorTarget, floor.respPort, pipeline, test, floor.pids);
  } finally {
    await floor?.stop();
    if (logDirectory !== undefined) rmSync(logDirectory, { recursive: true, force: true });
  }
}

async function everwrite(engine: 'memory' | 'lmdb', durability: 'durable' | 'buffered'): Promise<void> {
  const running = await startRespCluster({
    engine,
    durability,
    peerPortBase: benchPorts.redisCompare.peer,
    httpPortBase: benchPorts.redisCompare.http,
  });
  try {
    const target = `everwrite ${engine}${engine === 'memory' ? '' : ` ${durability}`}`;
    if (warm) warmUp(running.respPort);
    for (const pipeline of [1, 16])
      for (const test of ['set', 'get'] as const) benchmark(target, running.respPort, pipeline, test, running.pids);
  } finally {
    await running.stop();
  }
}

if (targets.has('redis')) await plainRedis();
if (targets.has('floor')) await nodeFloor(false);
if (targets.has('floor-durable')) await nodeFloor(true);
if (targets.has('memory')) await everwrite('memory', 'buffered');
if (targets.has('lmdb-durable')) await everwrite('lmdb', 'durable');
if (targets.has('lmdb-buffered')) await everwrite('lmdb', 'buffered');
/**
 * Each row as a fraction of redis-server's figure and of the node floor's for the same test and
 * pipeline in this run. This VM's speed differs between days (redis-server SET at -P 1 measured
 * 77-93k/s on 2026-11-23 and ~50k/s on 2026-12-06), so the ratios are what compare across days;
 * the absolute figure is what the target is about.
 */
function printRatios(): void {
  const rate = (target: string, test: string, pipeline: number): number | undefined =>
    rows.find((row) => row.target === target && row.test === test && row.pipeline === pipeline)?.requestsPerSecond;
  const percent = (fraction: number | undefined): string =>
    fraction === undefined ? '    -' : (fraction * 100).toFixed(1).padStart(5);
  for (const row of rows) {
    if (row.target === 'redis-server') continue;
    const redis = rate('redis-server', row.test, row.pipeline);
    // Durable writes are held to the floor that fsyncs; everything else to the one that does not.
    const reference = row.target.endsWith('durable') ? durableFloorTarget : floorTarget;
    const floor =
      row.target === floorTarget || row.target === durableFloorTarget
        ? undefined
        : rate(reference, row.test, row.pipeline);
    if (redis !== undefined && redis > 0) row.fractionOfRedis = row.requestsPerSecond / redis;
    if (floor !== undefined && floor > 0) row.fractionOfFloor = row.requestsPerSecond / floor;
    console.log(
      `${row.target.padEnd(30)} ${row.test.padEnd(4)} -P ${String(row.pipeline).padEnd(3)} ${percent(row.fractionOfRedis)}% of redis-server  ${percent(row.fractionOfFloor)}% of the node floor`,
    );
  }
}

printRatios();
mkdirSync('bench/results', { recursive: true });
writeFileSync(
  'bench/results/redis-compare.json',
  JSON.stringify({ date: new Date().toISOString(), requests, warm, rows }, null, 2),
);
