// Why: what a bench run produced (counts, errors by code, latency histograms per operation, the
// timeline) is turned into one result value, printed either for people as a table or as one JSON
// object (docs/ARCHITECTURE.md habit 9: benchmarks print figures and write them as JSON); svg.ts
// draws the same value. Pure, so the arithmetic and the layout are unit-tested.
import type { CpuUsage } from './cpu.ts';
import { summarizeLatency, type HistogramView, type LatencySummary } from './latency.ts';
import type { TimelinePoint } from './timeline.ts';

/** CPU over the measured window (Linux), and per successful operation, which stays comparable when others load the host. */
export interface CpuFigures extends CpuUsage {
  readonly generatorMicrosecondsPerOperation: number;
  readonly nodesMicrosecondsPerOperation?: number;
}

/** One operation's figures: successes (reads of absent keys included, and counted apart), errors, latency. */
export interface OperationFigures {
  readonly ok: number;
  readonly notFound: number;
  readonly errors: number;
  readonly opsPerSecond: number;
  readonly latencyMs: LatencySummary;
}

export interface BenchResult {
  readonly settings: Readonly<Record<string, unknown>>;
  /** Where it ran: Node version, CPU count, load averages before and after (other work disturbs figures). */
  readonly environment: Readonly<Record<string, unknown>>;
  /** The load phase: records written before the measured run, how long it took, how many failed. */
  readonly load?: { readonly records: number; readonly seconds: number; readonly errors: number };
  /** ISO-8601 time the measured run started. */
  readonly startedAt: string;
  /** Wall-clock length of the measured run, in seconds. */
  readonly elapsedSeconds: number;
  /** Successful operations per second of the measured run. */
  readonly throughput: { readonly opsPerSecond: number };
  /** Per operation that ran (read, update, insert, readModifyWrite). */
  readonly operations: Readonly<Record<string, OperationFigures>>;
  /** Failed operations, by kind: `HTTP <status> <code>`, `RESP <code>`, a client EVERWRITE_* code, `timeout`, or a socket error code. */
  readonly errors: { readonly total: number; readonly byKind: Readonly<Record<string, number>> };
  /** Latency of all successful operations together, from when each was due to its whole answer. */
  readonly latencyMs: { readonly all: LatencySummary };
  /** With a target rate: what was asked, what was sent, and how many due operations were never sent. */
  readonly openLoop?: { readonly targetOpsPerSecond: number; readonly sent: number; readonly behind: number };
  /** One point per time bucket of the run. */
  readonly timeline: readonly TimelinePoint[];
  readonly cpu?: CpuFigures;
}

export interface OperationTallyView {
  readonly latency: HistogramView;
  readonly notFound: number;
  readonly errors: number;
}

export interface RunTally {
  readonly settings: Readonly<Record<string, unknown>>;
  readonly environment: Readonly<Record<string, unknown>>;
  readonly load?: BenchResult['load'];
  readonly startedAt: Date;
  readonly elapsedSeconds: number;
  readonly byOperation: ReadonlyMap<string, OperationTallyView>;
  readonly all: HistogramView;
  readonly errorsByKind: ReadonlyMap<string, number>;
  readonly openLoop?: BenchResult['openLoop'];
  readonly timeline: readonly TimelinePoint[];
  readonly cpu?: CpuUsage;
}

const perSecond = (count: number, seconds: number): number =>
  seconds > 0 ? Math.round((count / seconds) * 10) / 10 : 0;

const perOperation = (seconds: number, operations: number): number =>
  operations > 0 ? Math.round((seconds * 1e6) / operations) : 0;

function cpuFigures(cpu: CpuUsage, operations: number): CpuFigures {
  return {
    ...cpu,
    generatorMicrosecondsPerOperation: perOperation(cpu.generatorSeconds, operations),
    ...(cpu.nodesSeconds === undefined
      ? {}
      : { nodesMicrosecondsPerOperation: perOperation(cpu.nodesSeconds, operations) }),
  };
}

function operationFigures(tally: OperationTallyView, elapsedSeconds: number): OperationFigures {
  const ok = tally.latency.totalCount;
  return {
    ok,
    notFound: tally.notFound,
    errors: tally.errors,
    opsPerSecond: perSecond(ok, elapsedSeconds),
    latencyMs: summarizeLatency(tally.latency),
  };
}

export function buildResult(tally: RunTally): BenchResult {
  const operations: Record<string, OperationFigures> = {};
  let errorsTotal = 0;
  for (const [operation, operationTally] of tally.byOperation) {
    errorsTotal += operationTally.errors;
    if (operationTally.latency.totalCount + operationTally.errors > 0)
      operations[operation] = operationFigures(operationTally, tally.elapsedSeconds);
  }
  const byKind = Object.fromEntries(
    [...tally.errorsByKind.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])),
  );
  return {
    settings: tally.settings,
    environment: tally.environment,
    ...(tally.load === undefined ? {} : { load: tally.load }),
    startedAt: tally.startedAt.toISOString(),
    elapsedSeconds: Math.round(tally.elapsedSeconds * 1000) / 1000,
    throughput: { opsPerSecond: perSecond(tally.all.totalCount, tally.elapsedSeconds) },
    operations,
    errors: { total: errorsTotal, byKind },
    latencyMs: { all: summarizeLatency(tally.all) },
    ...(tally.openLoop === undefined ? {} : { openLoop: tally.openLoop }),
    timeline: tally.timeline,
    ...(tally.cpu === undefined ? {} : { cpu: cpuFigures(tally.cpu, tally.all.totalCount) }),
  };
}

const fixed = (value: number, digits: number): string => value.toFixed(digits);

const tableHeader = ['operation', 'ok', 'not found', 'errors', 'ops/s', 'p50', 'p95', 'p99', 'p99.9', 'max', 'mean'];

function tableRow(
  name: string,
  figures: { ok: number; notFound: number; errors: number; opsPerSecond: number; latencyMs: LatencySummary },
): string[] {
  const latency = figures.latencyMs;
  return [
    name,
    String(figures.ok),
    String(figures.notFound),
    String(figures.errors),
    fixed(figures.opsPerSecond, 1),
    ...[latency.p50Ms, latency.p95Ms, latency.p99Ms, latency.p999Ms, latency.maxMs, latency.meanMs].map((ms) =>
      fixed(ms, 2),
    ),
  ];
}

/** Columns padded to their widest cell; the first column left-aligned, the rest right-aligned. */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths = (rows[0] ?? []).map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0)))
        .join('  '),
    )
    .join('\n');
}

function settingsLine(settings: Readonly<Record<string, unknown>>): string {
  const props = settings['props'] as Record<string, unknown> | undefined;
  const where =
    settings['cluster'] === 'local'
      ? `local cluster of ${String(settings['nodes'])} nodes (${String(settings['engine'])})`
      : `target ${(settings['targets'] as string[] | undefined)?.join(',') ?? '?'}`;
  const quorum =
    props === undefined
      ? ''
      : `, N=${String(props['n'])} R=${String(props['r'])} W=${String(props['w'])} ${String(props['durability'])} ${String(props['resolver'])}`;
  const pacing =
    settings['targetRate'] === undefined
      ? `${String(settings['clients'])} closed-loop clients`
      : `open loop at ${String(settings['targetRate'])} ops/s over at most ${String(settings['clients'])} in flight`;
  return `workload ${String(settings['workload'])} (${String(settings['distribution'])}) over ${String(settings['protocol'])}; ${where}${quorum}; ${pacing}, ${String(settings['durationSeconds'])} s, ${String(settings['valueBytes'])} B values, ${String(settings['records'])} records`;
}

function environmentLine(environment: Readonly<Record<string, unknown>>): string {
  const parts: string[] = [];
  if (environment['cpus'] !== undefined) parts.push(`${String(environment['cpus'])} cpus`);
  const before = environment['loadAverageBefore'];
  const after = environment['loadAverageAfter'];
  if (Array.isArray(before) && Array.isArray(after))
    parts.push(`load average ${before.join(' ')} before, ${after.join(' ')} after`);
  return parts.length === 0 ? '' : ` (${parts.join('; ')})`;
}

function cpuLine(cpu: CpuFigures): string {
  const parts: string[] = [];
  if (cpu.nodesSeconds !== undefined)
    parts.push(`nodes ${fixed(cpu.nodesSeconds, 1)} s (${String(cpu.nodesMicrosecondsPerOperation)} µs/op)`);
  parts.push(`load generator ${fixed(cpu.generatorSeconds, 1)} s (${cpu.generatorMicrosecondsPerOperation} µs/op)`);
  if (cpu.machineBusySeconds !== undefined)
    parts.push(
      `whole machine busy ${fixed(cpu.machineBusySeconds, 1)} s, of which other work ${fixed(cpu.othersSeconds ?? 0, 1)} s`,
    );
  return `cpu during the run: ${parts.join('; ')}`;
}

/** The human-readable report: settings, throughput, errors by code, and the latency table in ms. */
export function formatReport(result: BenchResult): string {
  const lines = [`everwrite bench: ${settingsLine(result.settings)}`];
  if (result.load !== undefined)
    lines.push(
      `load phase: ${result.load.records} records in ${fixed(result.load.seconds, 2)} s, ${result.load.errors} failed`,
    );
  lines.push(
    `run phase: ${fixed(result.elapsedSeconds, 2)} s from ${result.startedAt}${environmentLine(result.environment)}`,
  );
  lines.push(`throughput: ${fixed(result.throughput.opsPerSecond, 1)} ops/s`);
  if (result.openLoop !== undefined)
    lines.push(
      `open loop: target ${result.openLoop.targetOpsPerSecond} ops/s, sent ${result.openLoop.sent}, ${result.openLoop.behind} due but never sent (every client busy)`,
    );
  lines.push(`errors: ${result.errors.total}`);
  for (const [kind, count] of Object.entries(result.errors.byKind)) lines.push(`  ${kind}: ${count}`);
  const rows = [tableHeader, ...Object.entries(result.operations).map(([name, figures]) => tableRow(name, figures))];
  const all = Object.values(result.operations).reduce(
    (sum, figures) => ({
      ok: sum.ok + figures.ok,
      notFound: sum.notFound + figures.notFound,
      errors: sum.errors + figures.errors,
    }),
    { ok: 0, notFound: 0, errors: 0 },
  );
  rows.push(tableRow('all', { ...all, opsPerSecond: result.throughput.opsPerSecond, latencyMs: result.latencyMs.all }));
  lines.push('latency in ms, from when each operation was due to its whole answer:', formatTable(rows));
  if (result.cpu !== undefined) lines.push(cpuLine(result.cpu));
  return lines.join('\n');
}
