// Why: one bench run end to end, as YCSB runs one: start a private local cluster (unless --target
// names one), set the bench bucket's N/R/W/durability and wait until every node has them, the load
// phase (write every record once, outside the measurement), then the run phase (closed-loop clients,
// or an open loop at --rate), and report as a table or JSON, with an SVG plot on request.
// Everything it starts it stops, by PID through LocalCluster, whatever happens, including Ctrl-C;
// each phase is bounded (the load phase by --records and the request timeout, the run by the
// duration plus one request timeout). Against --target every request carries the CLI's credentials
// and trusts --ca (access.ts); the first refused request ends the bench with one error line.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Prng } from '../../core/base/prng.ts';
import { LocalCluster } from '../../server/local-cluster.ts';
import { CliFailure } from '../exit-codes.ts';
import { trustedCa } from '../tls-trust.ts';
import {
  RefusalWatch,
  accessFromEnvironment,
  checkRespAccess,
  openAccess,
  refusalMessage,
  refusalOf,
  type BenchAccess,
} from './access.ts';
import { startCpuSampling } from './cpu.ts';
import { ClientDriver, HttpDriver, type BenchDriver, type Outcome } from './drivers.ts';
import { createBenchHttp } from './http-clients.ts';
import { createKeyChooser } from './key-choosers.ts';
import { closedLoop, openLoop, realClock, type Deadline, type OpenLoopResult } from './loops.ts';
import { describeSettings, targetsUseTls, type BenchOptions } from './options.ts';
import { createProgress } from './progress.ts';
import { buildResult, formatReport, type BenchResult } from './report.ts';
import { RespDriver, encodeCommand } from './resp-driver.ts';
import { renderTimelineSvg } from './svg.ts';
import { bucketMsFor } from './timeline.ts';
import { LoadStats, makeValue, operationStep } from './workload.ts';
import { Keyspace, OperationSource, workloads } from './ycsb.ts';

export interface BenchIo {
  readonly stdout: { write(chunk: string): unknown };
  readonly stderr: NodeJS.WriteStream;
}

/** Output to nowhere: for scripts that run several benches and print their own summary. */
export const silentBenchIo: BenchIo = Object.freeze({
  stdout: { write: () => true },
  stderr: Object.assign(Object.create(process.stderr) as NodeJS.WriteStream, { isTTY: false, write: () => true }),
});

/** Where the run sends its load: HTTP base URLs (props, HTTP and the client) and RESP addresses, and with what credentials. */
export interface BenchTargets {
  readonly httpUrls: readonly string[];
  readonly respAddresses: readonly string[];
  readonly nodePids: readonly number[];
  /** The credentials and roots every request carries (none for the bench's own cluster). */
  readonly access: BenchAccess;
}

/** How often overdue requests are aborted and the progress bar redrawn, in ms. */
const sweepIntervalMs = 200;
/** How long every node may take to learn the bench bucket's props, in ms. */
const propsConvergenceTimeoutMs = 10_000;

/** A node's error answer to one of the bench's own calls (props), with its status and code for access.ts. */
export class AnswerError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'AnswerError';
  }
}

/** The socket error codes of a certificate the process does not trust. */
const untrustedCertificate = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/;

function unreachable(url: string, error: unknown): Error {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const reason = cause?.code ?? cause?.message ?? (error as Error).message;
  const hint = untrustedCertificate.test(reason)
    ? "; trust the cluster's CA with --ca FILE (or EVERWRITE_CA_FILE)"
    : '';
  return new Error(`cannot reach ${url}: ${reason}${hint}`);
}

function answerCode(text: string): string | undefined {
  try {
    const code = (JSON.parse(text) as { code?: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

async function fetchJson(url: string, init: RequestInit = {}): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });
  } catch (error) {
    throw unreachable(url, error);
  }
  const text = await response.text();
  if (!response.ok)
    throw new AnswerError(
      `${init.method ?? 'GET'} ${url}: HTTP ${response.status} ${text}`,
      response.status,
      answerCode(text),
    );
  return JSON.parse(text) as unknown;
}

/** The 1, 5 and 15 minute load averages, two decimals. */
function loadAverage(): number[] {
  return loadavg().map((load) => Math.round(load * 100) / 100);
}

function propsMatch(current: Record<string, unknown>, props: Readonly<Record<string, unknown>>): boolean {
  return Object.entries(props).every(([field, value]) => current[field] === value);
}

/** The one error line for a refused props call: the props PUT needs admin, the rest read. */
function propsRefusal(error: unknown, access: BenchAccess, bucket: string): unknown {
  if (!(error instanceof AnswerError)) return error;
  const code = `HTTP ${error.status}${error.code === undefined ? '' : ` ${error.code}`}`;
  const refusal = refusalOf(code);
  if (refusal === undefined) return error;
  if (refusal === 'forbidden' && error.message.startsWith('PUT '))
    return new CliFailure(
      `the cluster refused to set bucket ${bucket}'s props (${code}): that needs the admin role; run the bench as an admin once, or have an admin set them (the bench then only reads them)`,
    );
  return new CliFailure(refusalMessage(refusal, code, access, bucket));
}

/**
 * Sets the props through the first node unless it has them already (so a user with only read and
 * write can bench a bucket an admin prepared), then waits until every node answers with them.
 */
export async function applyBucketProps(
  targets: readonly string[],
  bucket: string,
  props: Readonly<Record<string, unknown>>,
  access: BenchAccess = openAccess,
): Promise<void> {
  const headers: Record<string, string> =
    access.authorization === undefined ? {} : { authorization: access.authorization };
  const propsUrl = (target: string): string => `${target}/buckets/${bucket}/props`;
  try {
    const first = (await fetchJson(propsUrl(targets[0] as string), { headers })) as Record<string, unknown>;
    if (!propsMatch(first, props))
      await fetchJson(propsUrl(targets[0] as string), {
        method: 'PUT',
        body: JSON.stringify(props),
        headers: { ...headers, 'content-type': 'application/json' },
      });
    const deadline = Date.now() + propsConvergenceTimeoutMs;
    for (const target of targets) {
      for (;;) {
        const current = (await fetchJson(propsUrl(target), { headers })) as Record<string, unknown>;
        if (propsMatch(current, props)) break;
        if (Date.now() > deadline)
          throw new Error(`${target} still has props ${JSON.stringify(current)} for bucket ${bucket}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } catch (error) {
    throw propsRefusal(error, access, bucket);
  }
}

/** RESP's access: AUTH built once, TLS when the HTTP targets are https. */
function respAccessOf(targets: BenchTargets) {
  const login = targets.access.respLogin;
  return {
    authCommand: login === undefined ? undefined : encodeCommand(['AUTH', login.user, login.password]),
    tls: targetsUseTls(targets.httpUrls) ? { ca: targets.access.ca } : undefined,
  };
}

async function createDriver(
  options: BenchOptions,
  targets: BenchTargets,
  value: Uint8Array,
  refusals: RefusalWatch,
): Promise<BenchDriver> {
  if (options.protocol === 'resp') return new RespDriver(targets.respAddresses, value, respAccessOf(targets));
  if (options.protocol === 'client') {
    const driver = new ClientDriver(
      targets.httpUrls,
      options.routing,
      options.bucket,
      value,
      options.clients,
      options.requestTimeoutMs,
      targets.access,
    );
    const prepared = await driver.prepare();
    if (prepared.kind === 'error') {
      await driver.close();
      refusals.noteError(prepared);
      refusals.throwIfRefused(targets.access, options.bucket);
      throw new Error(`cannot read the ring from ${targets.httpUrls.join(', ')}: ${prepared.code ?? 'unknown'}`);
    }
    return driver;
  }
  return new HttpDriver(
    createBenchHttp(options.httpClient, targets.httpUrls, options.clients, targets.access),
    targets.httpUrls.length,
    options.bucket,
    value,
  );
}

/** The load phase: writes records 0..records-1 once each with `clients` writers, outside the measurement. */
async function loadRecords(
  driver: BenchDriver,
  options: BenchOptions,
  stopRequested: { stopped: boolean },
  refusals: RefusalWatch,
): Promise<NonNullable<BenchResult['load']>> {
  const startedMs = performance.now();
  let next = 0;
  let errors = 0;
  const writer = async (worker: number): Promise<void> => {
    while (next < options.records && !stopRequested.stopped && refusals.refusal === undefined) {
      const outcome = await driver.write(worker, next++, undefined);
      if (outcome.kind === 'error') {
        errors++;
        refusals.noteError(outcome);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.clients, options.records) }, (_, worker) => writer(worker)));
  return {
    records: Math.min(next, options.records),
    seconds: Math.round(performance.now() - startedMs) / 1000,
    errors,
  };
}

/** The run phase: the workers until the deadline (or a stop), with the progress display. */
async function runPhase(
  options: BenchOptions,
  driver: BenchDriver,
  io: BenchIo,
  stopRequested: { stopped: boolean },
  tick: { onTick: () => void },
  refusals: RefusalWatch,
) {
  const startedAt = new Date();
  const startedMs = realClock.nowMs();
  const stats = new LoadStats(startedMs, bucketMsFor(options.durationSeconds), options.durationSeconds * 1000);
  const until: Deadline = { deadlineMs: startedMs + options.durationSeconds * 1000 };
  const progress = createProgress(options.progress, options.durationSeconds, io.stderr);
  tick.onTick = () => {
    const nowMs = realClock.nowMs();
    if (stopRequested.stopped) until.deadlineMs = Math.min(until.deadlineMs, nowMs);
    progress.update(nowMs - startedMs, stats.completed, stats.errors);
  };
  try {
    const spec = workloads[options.workload];
    const keyspace = new Keyspace(options.records);
    const chooser = createKeyChooser(options.distribution);
    const seeds = new Prng(options.seed);
    const sources = Array.from(
      { length: options.clients },
      () => new OperationSource(spec, chooser, keyspace, new Prng(seeds.nextUint32())),
    );
    // A refusal ends the run at once: every later request would be refused too.
    const onError = (outcome: Outcome): void => {
      if (refusals.noteError(outcome)) until.deadlineMs = 0;
    };
    const step = operationStep(driver, sources, stats, realClock, onError);
    let openLoopResult: OpenLoopResult | undefined;
    if (options.targetRate === undefined) await closedLoop(options.clients, until, realClock, step);
    else openLoopResult = await openLoop(options.targetRate, options.clients, until, realClock, step);
    const elapsedSeconds = (realClock.nowMs() - startedMs) / 1000;
    progress.update(elapsedSeconds * 1000, stats.completed, stats.errors);
    return { stats, startedAt, elapsedSeconds, openLoopResult };
  } finally {
    tick.onTick = () => undefined;
    progress.stop();
  }
}

/** Runs the load and run phases against `targets` and returns the result. */
export async function runLoad(
  options: BenchOptions,
  targets: BenchTargets,
  io: BenchIo,
  stopRequested: { stopped: boolean },
): Promise<BenchResult> {
  const refusals = new RefusalWatch();
  const driver = await createDriver(options, targets, makeValue(options.valueBytes, options.seed), refusals);
  const tick = { onTick: (): void => undefined };
  // One sweep for both phases: abort overdue requests, then redraw progress.
  const sweeper = setInterval(() => {
    driver.abortOverdue(performance.now(), options.requestTimeoutMs);
    tick.onTick();
  }, sweepIntervalMs);
  try {
    const load = options.load ? await loadRecords(driver, options, stopRequested, refusals) : undefined;
    refusals.throwIfRefused(targets.access, options.bucket);
    if (load !== undefined && load.errors > 0)
      io.stderr.write(`bench: ${load.errors} of ${load.records} load-phase writes failed\n`);
    const loadAverageBefore = loadAverage();
    const stopCpuSampling = startCpuSampling(targets.nodePids);
    const { stats, startedAt, elapsedSeconds, openLoopResult } = await runPhase(
      options,
      driver,
      io,
      stopRequested,
      tick,
      refusals,
    );
    const cpu = stopCpuSampling();
    refusals.throwIfRefused(targets.access, options.bucket);
    const environment = {
      node: process.version,
      platform: process.platform,
      cpus: availableParallelism(),
      loadAverageBefore,
      loadAverageAfter: loadAverage(),
    };
    return buildResult({
      settings: describeSettings(options),
      environment,
      ...(load === undefined ? {} : { load }),
      startedAt,
      elapsedSeconds,
      byOperation: stats.byOperation,
      all: stats.combined(),
      errorsByKind: stats.errorsByKind,
      ...(openLoopResult === undefined || options.targetRate === undefined
        ? {}
        : { openLoop: { targetOpsPerSecond: options.targetRate, ...openLoopResult } }),
      timeline: stats.timeline.points(elapsedSeconds),
      cpu,
    });
  } finally {
    clearInterval(sweeper);
    await driver.close();
  }
}

async function withOwnCluster<T>(
  options: BenchOptions,
  io: BenchIo,
  body: (targets: BenchTargets) => Promise<T>,
): Promise<T> {
  const dataDirectory = mkdtempSync(join(tmpdir(), 'everwrite-bench-'));
  const cluster = new LocalCluster({
    nodes: options.nodes,
    dataDirectory,
    engine: options.engine,
    peerPortBase: options.peerPortBase,
    httpPortBase: options.httpPortBase,
    respPortBase: options.respPortBase,
    output: 'ignore',
  });
  try {
    io.stderr.write(
      `bench: starting ${options.nodes} ${options.engine} nodes (http ${cluster.nodes.map((node) => node.httpUrl).join(', ')}) under ${dataDirectory}\n`,
    );
    await cluster.start();
    const pids = cluster.nodes.flatMap((node) => (node.process?.pid === undefined ? [] : [node.process.pid]));
    return await body({
      httpUrls: cluster.nodes.map((node) => node.httpUrl),
      respAddresses: cluster.nodes.map((node) => node.respAddress),
      nodePids: pids.length === cluster.nodes.length ? pids : [],
      access: openAccess,
    });
  } finally {
    await cluster.stop();
    rmSync(dataDirectory, { recursive: true, force: true });
  }
}

/** A title for the plot: the settings line in short. */
function plotTitle(options: BenchOptions): string {
  const pacing =
    options.targetRate === undefined ? `${options.clients} clients` : `${options.targetRate} ops/s open loop`;
  return `everwrite bench: workload ${options.workload} (${options.distribution}) over ${options.protocol}, ${pacing}, N=${options.n} R=${options.r} W=${options.w} ${options.durability}`;
}

/** The --target cluster, reached with the environment's credentials and --ca's CA. */
function givenTargets(options: BenchOptions, environment: NodeJS.ProcessEnv): BenchTargets {
  const access = accessFromEnvironment(environment, trustedCa());
  if (options.protocol === 'resp') checkRespAccess(access);
  return { httpUrls: options.targets, respAddresses: options.respTargets, nodePids: [], access };
}

/**
 * The whole command: returns the result after printing it (a table, or one JSON object with --json).
 * `environment` gives a --target's credentials (the process's own unless a script passes others).
 */
export async function runBench(
  options: BenchOptions,
  io: BenchIo,
  environment: NodeJS.ProcessEnv = process.env,
): Promise<BenchResult> {
  const stopRequested = { stopped: false };
  const onSignal = (): void => {
    stopRequested.stopped = true;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const measure = async (targets: BenchTargets): Promise<BenchResult> => {
      await applyBucketProps(
        targets.httpUrls,
        options.bucket,
        { n: options.n, r: options.r, w: options.w, durability: options.durability, resolver: options.resolver },
        targets.access,
      );
      return runLoad(options, targets, io, stopRequested);
    };
    const result =
      options.targets.length === 0
        ? await withOwnCluster(options, io, measure)
        : await measure(givenTargets(options, environment));
    io.stdout.write(options.json ? `${JSON.stringify(result)}\n` : `${formatReport(result)}\n`);
    if (options.svgPath !== undefined) {
      writeFileSync(options.svgPath, renderTimelineSvg(result, plotTitle(options)));
      io.stderr.write(`bench: latency over time plotted in ${options.svgPath}\n`);
    }
    return result;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
