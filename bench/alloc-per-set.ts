// Why: the performance work's target "bytes allocated per SET on the coordinator <= 2 KB" needs an
// instrument that gives the same figure twice and says where the bytes go. Allocation drives the
// young-generation GC that took ~20% of a coordinator's CPU in profiles (docs/BENCHMARKS.md).
//
// It starts a 3-node cluster of real processes, memory engine or lmdb with buffered writes
// (bench/resp-load.ts: node 1's RESP port, bucket `redis` N=3 R=2 W=2, redis-benchmark with 50
// clients and 100-byte values over 100k keys), runs a fixed unmeasured warm-up of SETs, then, for
// each pipeline depth, a fixed number of SETs to node 1 while every node runs V8's sampling heap
// profiler.
//
// How it counts: `process.memoryUsage()` deltas miss whatever the GC collected in between, and Node
// 20's `v8.getHeapStatistics()` has no running allocation total. V8's sampling heap profiler keeps,
// when started with `includeObjectsCollectedByMajorGC` and `includeObjectsCollectedByMinorGC`, the
// samples of objects that were collected too, so the profile's total is every byte allocated on the
// JS heap during the window (each sample is scaled by the sampling interval; an unbiased estimate,
// within ~1% at 100k SETs). Bytes outside the V8 heap (Buffer contents from Node's pool, socket
// memory) are not counted; the Buffer objects themselves are. bench/heap-sampling-probe.ts, preloaded
// into every node, drives the profiler from inside the process when signalled (no debugger port).
// The window also holds the node's background work (gossip, probes, timers): an idle window of the
// same kind is sampled at the end and its rate printed, so its share of a figure can be judged.
//
// Prints, per pipeline depth: SET/s, bytes allocated per SET on the coordinator and on each replica,
// and the coordinator's top allocating functions (self bytes per SET), and with --stacks the top
// allocation sites with their callers. Writes bench/results/alloc-per-set.json, and with --profiles
// DIR each node's profile of each run as DIR/<node>-P<pipeline>.heapprofile (Chrome DevTools opens them).
// Usage: npx tsx bench/alloc-per-set.ts [sets=100000] [--warm-up 100000] [--pipelines 1,16] [--top 15] [--stacks] [--profiles DIR] [--engine memory|lmdb]
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { redisBenchmark, startRespCluster, type RunningRespCluster } from './resp-load.ts';
import { benchPorts } from './ports.ts';

interface CallFrame {
  functionName: string;
  url: string;
}

interface ProfileNode {
  callFrame: CallFrame;
  selfSize: number;
  children: ProfileNode[];
}

interface Allocator {
  /** Function name and file (V8's line numbers are those of tsx's output, not of the source). */
  readonly name: string;
  readonly bytesPerSet: number;
}

interface NodeFigure {
  readonly node: string;
  readonly bytesPerSet: number;
  readonly topAllocators: readonly Allocator[];
  readonly topStacks: readonly Allocator[];
}

interface RunFigure {
  readonly pipeline: number;
  readonly sets: number;
  readonly setsPerSecond: number;
  readonly nodes: readonly NodeFigure[];
}

const argv = process.argv.slice(2);
const flagValue = (name: string, fallback: string): string => {
  const index = argv.indexOf(name);
  return index >= 0 ? (argv[index + 1] ?? fallback) : fallback;
};
const flagged = new Set(['--warm-up', '--pipelines', '--top', '--profiles', '--engine']);
const sets = Number(
  argv.find((argument, index) => !argument.startsWith('--') && !flagged.has(argv[index - 1] ?? '')) ?? 100_000,
);
const warmUpSets = Number(flagValue('--warm-up', '100000'));
const pipelines = flagValue('--pipelines', '1,16').split(',').map(Number);
const topCount = Number(flagValue('--top', '15'));
const showStacks = argv.includes('--stacks');
/** The nodes' engine: memory (default) or lmdb with buffered writes, the default engine. */
const engine = flagValue('--engine', 'memory');
if (engine !== 'memory' && engine !== 'lmdb') throw new Error('--engine is memory or lmdb');
const profilesDirectory = argv.includes('--profiles') ? flagValue('--profiles', 'bench/results') : undefined;
/** How long the closing idle window samples background work, in ms. */
const idleWindowMs = 5000;
/** How long to wait for a node's probe to answer a signal before giving up, in ms. */
const probeAnswerTimeoutMs = 30_000;

const repositoryRoot = fileURLToPath(new URL('../', import.meta.url));
const probePath = fileURLToPath(new URL('./heap-sampling-probe.ts', import.meta.url));

function shortUrl(url: string): string {
  if (!url.startsWith('file://')) return url === '' ? '(native)' : url;
  return relative(repositoryRoot, fileURLToPath(url));
}

function frameName(frame: CallFrame): string {
  const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
  return frame.url === '' ? name : `${name} ${shortUrl(frame.url)}`;
}

/** Self bytes summed per function, and per allocation site with its two nearest callers. */
function allocators(head: ProfileNode): {
  total: number;
  byFunction: Map<string, number>;
  byStack: Map<string, number>;
} {
  const byFunction = new Map<string, number>();
  const byStack = new Map<string, number>();
  let total = 0;
  const walk = (node: ProfileNode, callers: readonly string[]): void => {
    const name = frameName(node.callFrame);
    if (node.selfSize > 0) {
      total += node.selfSize;
      byFunction.set(name, (byFunction.get(name) ?? 0) + node.selfSize);
      const stack = [name, ...callers.slice(0, 2)].join('\n      <- ');
      byStack.set(stack, (byStack.get(stack) ?? 0) + node.selfSize);
    }
    for (const child of node.children) walk(child, [name, ...callers]);
  };
  walk(head, []);
  return { total, byFunction, byStack };
}

function top(map: ReadonlyMap<string, number>, count: number, divisor: number): Allocator[] {
  return [...map]
    .sort((left, right) => right[1] - left[1])
    .slice(0, count)
    .map(([name, bytes]) => ({ name, bytesPerSet: bytes / divisor }));
}

async function waitForFile(path: string): Promise<void> {
  const deadline = Date.now() + probeAnswerTimeoutMs;
  while (!existsSync(path)) {
    if (Date.now() > deadline) throw new Error(`no answer from the heap probe: ${path}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Starts sampling on every node and resolves once each has started. */
async function startSampling(directory: string, pids: readonly number[]): Promise<void> {
  for (const pid of pids) process.kill(pid, 'SIGUSR2');
  for (const pid of pids) await waitForFile(join(directory, `${pid}.started`));
  for (const pid of pids) rmSync(join(directory, `${pid}.started`));
}

/** Stops sampling on every node and returns each node's profile head, in the order of `pids`. */
async function stopSampling(directory: string, pids: readonly number[]): Promise<ProfileNode[]> {
  for (const pid of pids) process.kill(pid, 'SIGUSR2');
  const heads: ProfileNode[] = [];
  for (const pid of pids) {
    const path = join(directory, `${pid}.heapprofile`);
    await waitForFile(path);
    heads.push((JSON.parse(readFileSync(path, 'utf8')) as { head: ProfileNode }).head);
    rmSync(path);
  }
  return heads;
}

function setsPerSecond(stdout: string): number {
  const line = stdout.split('\n').find((text) => text.startsWith('"SET"'));
  return Number(line?.split(',')[1]?.replaceAll('"', '') ?? Number.NaN);
}

async function measure(running: RunningRespCluster, directory: string, pipeline: number): Promise<RunFigure> {
  const pids = running.pids as number[];
  await startSampling(directory, pids);
  const result = redisBenchmark({ port: running.respPort, test: 'set', requests: sets, pipeline });
  const heads = await stopSampling(directory, pids);
  if (result.error !== undefined) throw new Error(`redis-benchmark did not finish: ${result.error.message}`);
  if (!Number.isFinite(setsPerSecond(result.stdout)))
    throw new Error(`redis-benchmark gave no SET figure (exit ${result.status}): ${result.stdout} ${result.stderr}`);
  const nodes = heads.map((head, index) => {
    const { total, byFunction, byStack } = allocators(head);
    const node = index === 0 ? 'coordinator' : `replica-${index}`;
    if (profilesDirectory !== undefined) {
      mkdirSync(profilesDirectory, { recursive: true });
      writeFileSync(join(profilesDirectory, `${node}-P${pipeline}.heapprofile`), JSON.stringify({ head }));
    }
    return {
      node,
      bytesPerSet: total / sets,
      topAllocators: top(byFunction, topCount, sets),
      topStacks: top(byStack, topCount, sets),
    };
  });
  return { pipeline, sets, setsPerSecond: setsPerSecond(result.stdout), nodes };
}

function print(figure: RunFigure): void {
  const [coordinator, ...replicas] = figure.nodes as [NodeFigure, ...NodeFigure[]];
  const perSet = (bytes: number): string => bytes.toFixed(0).padStart(6);
  console.log(
    `\nSET -P ${figure.pipeline}: ${figure.sets} SETs at ${figure.setsPerSecond.toFixed(0)}/s; bytes allocated per SET: coordinator ${coordinator.bytesPerSet.toFixed(0)}, replicas ${replicas.map((replica) => replica.bytesPerSet.toFixed(0)).join(' / ')}`,
  );
  console.log('  coordinator, top allocating functions (self bytes per SET):');
  for (const allocator of coordinator.topAllocators)
    console.log(`    ${perSet(allocator.bytesPerSet)}  ${allocator.name}`);
  const replica = replicas[0];
  if (replica !== undefined) {
    console.log('  replica 1, top allocating functions (self bytes per SET):');
    for (const allocator of replica.topAllocators.slice(0, 8))
      console.log(`    ${perSet(allocator.bytesPerSet)}  ${allocator.name}`);
  }
  if (!showStacks) return;
  for (const node of figure.nodes) {
    console.log(`  ${node.node}, top allocation sites (self bytes per SET) with two callers:`);
    for (const site of node.topStacks) console.log(`    ${perSet(site.bytesPerSet)}  ${site.name}`);
  }
}

/** Bytes per second each node allocates with no traffic: the background share of a window. */
async function idleRates(running: RunningRespCluster, directory: string): Promise<number[]> {
  const pids = running.pids as number[];
  await startSampling(directory, pids);
  const started = Date.now();
  await new Promise((resolve) => setTimeout(resolve, idleWindowMs));
  const heads = await stopSampling(directory, pids);
  const seconds = (Date.now() - started) / 1000;
  return heads.map((head) => allocators(head).total / seconds);
}

const probeDirectory = mkdtempSync(join(tmpdir(), 'everwrite-heap-probe-'));
process.env.EVERWRITE_HEAP_PROBE_DIRECTORY = probeDirectory;
// Ports of their own, below Linux's ephemeral range, apart from bench/redis-compare.ts's.
const running = await startRespCluster({
  engine,
  durability: 'buffered',
  peerPortBase: benchPorts.respProbe.peer,
  httpPortBase: benchPorts.respProbe.http,
  nodeArguments: ['--import', 'tsx', '--import', probePath],
});
const figures: RunFigure[] = [];
let idle: number[] = [];
try {
  if (running.pids.some((pid) => pid === undefined)) throw new Error('a node has no PID');
  const warm = redisBenchmark({ port: running.respPort, test: 'set', requests: warmUpSets, pipeline: 16 });
  if (warm.error !== undefined) throw new Error(`the warm-up did not finish: ${warm.error.message}`);
  for (const pipeline of pipelines) {
    const figure = await measure(running, probeDirectory, pipeline);
    figures.push(figure);
    print(figure);
  }
  idle = await idleRates(running, probeDirectory);
  console.log(
    `\nidle (no traffic, ${idleWindowMs / 1000} s): bytes allocated per second ${idle.map((rate) => rate.toFixed(0)).join(' / ')} (coordinator / replicas)`,
  );
} finally {
  await running.stop();
  rmSync(probeDirectory, { recursive: true, force: true });
}
mkdirSync('bench/results', { recursive: true });
writeFileSync(
  'bench/results/alloc-per-set.json',
  JSON.stringify({ date: new Date().toISOString(), sets, warmUpSets, figures, idleBytesPerSecond: idle }, null, 2),
);
