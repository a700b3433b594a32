// Why: more than one benchmark drives a 3-node Everwrite cluster's RESP port with redis-benchmark
// (bench/redis-compare.ts for throughput, bench/alloc-per-set.ts for bytes allocated per SET). They
// must start the cluster the same way (bucket `redis`, N=3 R=2 W=2) and send the same traffic
// (50 clients, 100-byte values, keys over a range of 100k), so their figures describe one workload.
// This is the one place that knows how.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCluster } from '../src/server/local-cluster.ts';

/** Far above any run here (the slowest, lmdb durable SET at -P 1, takes ~40 s), so a stuck one cannot hold the run. */
export const benchmarkTimeoutMs = 300_000;

export interface RedisBenchmarkRun {
  readonly port: number;
  readonly test: 'set' | 'get' | 'set,get';
  readonly requests: number;
  readonly pipeline: number;
}

/** Runs redis-benchmark with the shared traffic shape (CSV output), bounded by `benchmarkTimeoutMs`. */
export function redisBenchmark(run: RedisBenchmarkRun, csv = true): SpawnSyncReturns<string> {
  const args = [
    '-p',
    String(run.port),
    '-t',
    run.test,
    '-n',
    String(run.requests),
    '-c',
    '50',
    '-d',
    '100',
    '-r',
    '100000',
    '-P',
    String(run.pipeline),
    csv ? '--csv' : '-q',
  ];
  return spawnSync('redis-benchmark', args, { encoding: 'utf8', timeout: benchmarkTimeoutMs });
}

/** An unmeasured `-t set,get -n 30000`: every key of the -r range is likely written once. */
export function warmUp(port: number): void {
  redisBenchmark({ port, test: 'set,get', requests: 30_000, pipeline: 1 }, false);
}

/** User and system CPU time of a process in microseconds, from /proc (Linux); undefined elsewhere. */
function cpuTimes(pid: number | undefined): { readonly user: number; readonly system: number } | undefined {
  const path = `/proc/${pid}/stat`;
  if (pid === undefined || !existsSync(path)) return undefined;
  const fields = readFileSync(path, 'utf8').split(') ')[1]?.split(' ') ?? [];
  const user = (Number(fields[11]) * 1_000_000) / 100;
  const system = (Number(fields[12]) * 1_000_000) / 100;
  return Number.isFinite(user) && Number.isFinite(system) ? { user, system } : undefined;
}

/** User + system CPU time of a process in microseconds, from /proc (Linux); undefined elsewhere. */
export function cpuMicroseconds(pid: number | undefined): number | undefined {
  const times = cpuTimes(pid);
  return times === undefined ? undefined : times.user + times.system;
}

/** System (kernel) CPU time of a process in microseconds, from /proc (Linux); undefined elsewhere. */
export function systemCpuMicroseconds(pid: number | undefined): number | undefined {
  return cpuTimes(pid)?.system;
}

/** Read and write system calls a process has made (syscr, syscw of /proc/<pid>/io, Linux); undefined elsewhere. */
export function ioSyscalls(pid: number | undefined): { readonly reads: number; readonly writes: number } | undefined {
  const path = `/proc/${pid}/io`;
  if (pid === undefined || !existsSync(path)) return undefined;
  const text = readFileSync(path, 'utf8');
  const field = (name: string): number => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(text)?.[1]);
  const counts = { reads: field('syscr'), writes: field('syscw') };
  return Number.isFinite(counts.reads) && Number.isFinite(counts.writes) ? counts : undefined;
}

export interface RespClusterOptions {
  readonly engine: 'memory' | 'lmdb';
  readonly durability: 'durable' | 'buffered';
  /** Node i listens for peers on peerPortBase+i, HTTP on httpPortBase+i. Keep them below Linux's
   * ephemeral range (32768-60999): the benchmark's own client sockets cannot hold them. */
  readonly peerPortBase: number;
  readonly httpPortBase: number;
  /** Flags for the node.js binary of every node (e.g. a preloaded probe). */
  readonly nodeArguments?: readonly string[];
}

export interface RunningRespCluster {
  readonly cluster: LocalCluster;
  /** Node 1's RESP port: node 1 coordinates every request sent there. */
  readonly respPort: number;
  /** Node 1 (the coordinator), then the two replicas. */
  readonly pids: ReadonlyArray<number | undefined>;
  /** Stops every node and removes the data directory. */
  stop(): Promise<void>;
}

/** A fresh 3-node cluster in a temporary directory, bucket `redis` set to N=3 R=2 W=2 and `durability`. */
export async function startRespCluster(options: RespClusterOptions): Promise<RunningRespCluster> {
  const dataDirectory = mkdtempSync(join(tmpdir(), `everwrite-resp-${options.engine}-`));
  const cluster = new LocalCluster({
    nodes: 3,
    dataDirectory,
    engine: options.engine,
    peerPortBase: options.peerPortBase,
    httpPortBase: options.httpPortBase,
    output: 'ignore',
    logLevel: 'error',
    ...(options.nodeArguments === undefined ? {} : { nodeArguments: options.nodeArguments }),
  });
  const stop = async (): Promise<void> => {
    await cluster.stop();
    rmSync(dataDirectory, { recursive: true, force: true });
  };
  try {
    await cluster.start();
    const props = await fetch(`${cluster.node(1).httpUrl}/buckets/redis/props`, {
      method: 'PUT',
      body: JSON.stringify({ n: 3, r: 2, w: 2, durability: options.durability }),
    });
    if (!props.ok) throw new Error(`setting props failed: ${props.status}`);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    cluster,
    respPort: Number(cluster.node(1).respAddress.split(':')[1]),
    pids: cluster.nodes.map((node) => node.process?.pid),
    stop,
  };
}
