// Why: one bench run end to end: start a private local cluster (unless --target names one), set the
// bench bucket's N/R/W/durability and wait until every node has them, optionally preload keys, run
// the closed-loop workers for the duration, and report. Everything it starts it stops, by PID
// through LocalCluster, whatever happens, including Ctrl-C; the run is bounded by the duration plus
// one request timeout.
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Prng } from '../../core/base/prng.ts';
import { LocalCluster } from '../local-cluster.ts';
import { startCpuSampling } from './cpu.ts';
import { createBenchHttp, type BenchHttp } from './http-clients.ts';
import { describeSettings, type BenchOptions } from './options.ts';
import { createProgress } from './progress.ts';
import { buildResult, formatReport, type BenchResult } from './report.ts';
import { LoadStats, keyPath, makeValue, runWorker, targetOfWorker } from './workload.ts';

export interface BenchIo {
  readonly stdout: { write(chunk: string): unknown };
  readonly stderr: NodeJS.WriteStream;
}

/** How often overdue requests are aborted and the progress bar redrawn, in ms. */
const sweepIntervalMs = 200;
/** How long every node may take to learn the bench bucket's props, in ms. */
const propsConvergenceTimeoutMs = 10_000;

async function fetchJson(url: string, init: RequestInit = {}): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`cannot reach ${url}: ${cause?.code ?? cause?.message ?? (error as Error).message}`);
  }
  const text = await response.text();
  if (!response.ok) throw new Error(`${init.method ?? 'GET'} ${url}: HTTP ${response.status} ${text}`);
  return JSON.parse(text) as unknown;
}

/** The 1, 5 and 15 minute load averages, two decimals. */
function loadAverage(): number[] {
  return loadavg().map((load) => Math.round(load * 100) / 100);
}

/** Sets the props through the first node, then waits until every node answers with them. */
export async function applyBucketProps(targets: readonly string[], bucket: string, props: Readonly<Record<string, unknown>>): Promise<void> {
  await fetchJson(`${targets[0] as string}/buckets/${bucket}/props`, { method: 'PUT', body: JSON.stringify(props), headers: { 'content-type': 'application/json' } });
  const deadline = Date.now() + propsConvergenceTimeoutMs;
  for (const target of targets) {
    for (;;) {
      const current = (await fetchJson(`${target}/buckets/${bucket}/props`)) as Record<string, unknown>;
      if (Object.entries(props).every(([field, value]) => current[field] === value)) break;
      if (Date.now() > deadline) throw new Error(`${target} still has props ${JSON.stringify(current)} for bucket ${bucket}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Writes keys 0..count-1 with `clients` writers in parallel, outside the measurement. */
async function preload(http: BenchHttp, options: BenchOptions, targets: number, value: Uint8Array, stopRequested: { stopped: boolean }): Promise<number> {
  let next = 0;
  let failures = 0;
  const writer = async (worker: number): Promise<void> => {
    while (next < options.preloadKeys && !stopRequested.stopped) {
      const index = next++;
      const outcome = await http.send({ method: 'PUT', target: targetOfWorker(worker, targets), path: keyPath(options.bucket, index, options.keys), body: value });
      if (outcome.status !== 204) failures++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.clients, Math.max(1, options.preloadKeys)) }, (_, worker) => writer(worker)));
  return failures;
}

/** The measured window: the workers until the deadline (or a stop), with the progress display. */
async function measureWindow(options: BenchOptions, targets: number, http: BenchHttp, value: Uint8Array, io: BenchIo, stopRequested: { stopped: boolean }, tick: { onTick: () => void }) {
  const stats = new LoadStats();
  const startedAt = new Date();
  const startedMs = performance.now();
  const until = { deadlineMs: startedMs + options.durationSeconds * 1000 };
  const progress = createProgress(options.progress, options.durationSeconds, io.stderr);
  tick.onTick = () => {
    const nowMs = performance.now();
    if (stopRequested.stopped) until.deadlineMs = Math.min(until.deadlineMs, nowMs);
    progress.update(nowMs - startedMs, stats.completed, stats.errors);
  };
  try {
    const seeds = new Prng(options.seed);
    const workers = Array.from({ length: options.clients }, (_, worker) =>
      runWorker({ worker, target: targetOfWorker(worker, targets), bucket: options.bucket, keys: options.keys, readFraction: options.ratio.readFraction, value, seed: seeds.nextUint32(), until }, http, stats),
    );
    await Promise.all(workers);
    const elapsedSeconds = (performance.now() - startedMs) / 1000;
    progress.update(elapsedSeconds * 1000, stats.completed, stats.errors);
    return { stats, startedAt, elapsedSeconds };
  } finally {
    tick.onTick = () => undefined;
    progress.stop();
  }
}

/** Runs the measured load against `targets` and returns its result. */
export async function runLoad(options: BenchOptions, targets: readonly string[], nodePids: readonly number[], io: BenchIo, stopRequested: { stopped: boolean }): Promise<BenchResult> {
  const http = createBenchHttp(options.httpClient, targets, options.clients);
  const value = makeValue(options.valueBytes, options.seed);
  const tick = { onTick: (): void => undefined };
  // One sweep for the whole run, preload included: abort overdue requests, then redraw progress.
  const sweeper = setInterval(() => {
    http.abortOverdue(performance.now(), options.requestTimeoutMs);
    tick.onTick();
  }, sweepIntervalMs);
  try {
    const preloadFailures = await preload(http, options, targets.length, value, stopRequested);
    if (preloadFailures > 0) io.stderr.write(`bench: ${preloadFailures} of ${options.preloadKeys} preload writes failed\n`);
    const loadAverageBefore = loadAverage();
    const stopCpuSampling = startCpuSampling(nodePids);
    const { stats, startedAt, elapsedSeconds } = await measureWindow(options, targets.length, http, value, io, stopRequested, tick);
    const cpu = stopCpuSampling();
    const environment = { node: process.version, platform: process.platform, cpus: availableParallelism(), loadAverageBefore, loadAverageAfter: loadAverage() };
    return buildResult({ settings: describeSettings(options), environment, startedAt, elapsedSeconds, reads: stats.reads, writes: stats.writes, all: stats.combined(), readsNotFound: stats.readsNotFound, readErrors: stats.readErrors, writeErrors: stats.writeErrors, errorsByKind: stats.errorsByKind, cpu });
  } finally {
    clearInterval(sweeper);
    http.close();
  }
}

async function withOwnCluster<T>(options: BenchOptions, io: BenchIo, body: (targets: readonly string[], nodePids: readonly number[]) => Promise<T>): Promise<T> {
  const dataDirectory = mkdtempSync(join(tmpdir(), 'everwrite-bench-'));
  const cluster = new LocalCluster({ nodes: options.nodes, dataDirectory, engine: options.engine, peerPortBase: options.peerPortBase, httpPortBase: options.httpPortBase, output: 'ignore' });
  try {
    io.stderr.write(`bench: starting ${options.nodes} ${options.engine} nodes (http ${cluster.nodes.map((node) => node.httpUrl).join(', ')}) under ${dataDirectory}\n`);
    await cluster.start();
    const pids = cluster.nodes.flatMap((node) => (node.process?.pid === undefined ? [] : [node.process.pid]));
    return await body(cluster.nodes.map((node) => node.httpUrl), pids.length === cluster.nodes.length ? pids : []);
  } finally {
    await cluster.stop();
    rmSync(dataDirectory, { recursive: true, force: true });
  }
}

/** The whole command: returns the result after printing it (text, or one JSON object with --json). */
export async function runBench(options: BenchOptions, io: BenchIo): Promise<BenchResult> {
  const stopRequested = { stopped: false };
  const onSignal = (): void => {
    stopRequested.stopped = true;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const measure = async (targets: readonly string[], nodePids: readonly number[] = []): Promise<BenchResult> => {
      await applyBucketProps(targets, options.bucket, { n: options.n, r: options.r, w: options.w, durability: options.durability, resolver: options.resolver });
      return runLoad(options, targets, nodePids, io, stopRequested);
    };
    const result = options.targets.length === 0 ? await withOwnCluster(options, io, measure) : await measure(options.targets);
    io.stdout.write(options.json ? `${JSON.stringify(result)}\n` : `${formatReport(result)}\n`);
    return result;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
