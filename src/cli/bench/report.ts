// Why: what a bench run produced (counts, errors by kind, latency histograms) is turned into one
// result value, printed either for people or as one JSON object (docs/ARCHITECTURE.md habit 9: benchmarks
// print figures and write them as JSON). Pure, so the arithmetic and the layout are unit-tested.
import type { CpuUsage } from './cpu.ts';
import { summarizeLatency, type HistogramView, type LatencySummary } from './latency.ts';

/** CPU over the measured window (Linux), and per successful operation, which stays comparable when others load the host. */
export interface CpuFigures extends CpuUsage {
  readonly generatorMicrosecondsPerOperation: number;
  readonly nodesMicrosecondsPerOperation?: number;
}

export interface BenchResult {
  readonly settings: Readonly<Record<string, unknown>>;
  /** Where it ran: Node version, CPU count, load averages before and after (other work disturbs figures). */
  readonly environment: Readonly<Record<string, unknown>>;
  /** ISO-8601 time the measured run started. */
  readonly startedAt: string;
  /** Wall-clock length of the measured run, in seconds. */
  readonly elapsedSeconds: number;
  /** Successful operations; a read of an absent key (404) is a success and is counted in readsNotFound too. */
  readonly operations: { readonly total: number; readonly reads: number; readonly writes: number; readonly readsNotFound: number };
  /** Successful operations per second of the measured run. */
  readonly throughput: { readonly opsPerSecond: number; readonly readsPerSecond: number; readonly writesPerSecond: number };
  /** Failed operations, by kind: `HTTP <status> <code>`, `timeout`, or a socket error code. */
  readonly errors: { readonly total: number; readonly reads: number; readonly writes: number; readonly byKind: Readonly<Record<string, number>> };
  /** Latency of successful operations, from sending the request to reading the whole answer. */
  readonly latencyMs: { readonly reads: LatencySummary; readonly writes: LatencySummary; readonly all: LatencySummary };
  readonly cpu?: CpuFigures;
}

export interface RunTally {
  readonly settings: Readonly<Record<string, unknown>>;
  readonly environment: Readonly<Record<string, unknown>>;
  readonly startedAt: Date;
  readonly elapsedSeconds: number;
  readonly reads: HistogramView;
  readonly writes: HistogramView;
  readonly all: HistogramView;
  readonly readsNotFound: number;
  readonly readErrors: number;
  readonly writeErrors: number;
  readonly errorsByKind: ReadonlyMap<string, number>;
  readonly cpu?: CpuUsage;
}

/** Names a failed request: an HTTP answer by status and the node's error code, else the socket error. */
export function failureKind(failure: { readonly status?: number; readonly code?: string }): string {
  if (failure.status !== undefined) return failure.code === undefined ? `HTTP ${failure.status}` : `HTTP ${failure.status} ${failure.code}`;
  return failure.code ?? 'unknown';
}

/** Whether an answer counts as a success: 2xx, 300 (siblings) for reads, and 404 (absent) for reads. */
export function isSuccess(operation: 'read' | 'write', status: number): boolean {
  if (status >= 200 && status < 300) return true;
  return operation === 'read' && (status === 300 || status === 404);
}

const perSecond = (count: number, seconds: number): number => (seconds > 0 ? Math.round((count / seconds) * 10) / 10 : 0);

const perOperation = (seconds: number, operations: number): number => (operations > 0 ? Math.round((seconds * 1e6) / operations) : 0);

function cpuFigures(cpu: CpuUsage, operations: number): CpuFigures {
  return {
    ...cpu,
    generatorMicrosecondsPerOperation: perOperation(cpu.generatorSeconds, operations),
    ...(cpu.nodesSeconds === undefined ? {} : { nodesMicrosecondsPerOperation: perOperation(cpu.nodesSeconds, operations) }),
  };
}

export function buildResult(tally: RunTally): BenchResult {
  const reads = tally.reads.totalCount;
  const writes = tally.writes.totalCount;
  const byKind = Object.fromEntries([...tally.errorsByKind.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
  return {
    settings: tally.settings,
    environment: tally.environment,
    startedAt: tally.startedAt.toISOString(),
    elapsedSeconds: Math.round(tally.elapsedSeconds * 1000) / 1000,
    operations: { total: reads + writes, reads, writes, readsNotFound: tally.readsNotFound },
    throughput: {
      opsPerSecond: perSecond(reads + writes, tally.elapsedSeconds),
      readsPerSecond: perSecond(reads, tally.elapsedSeconds),
      writesPerSecond: perSecond(writes, tally.elapsedSeconds),
    },
    errors: { total: tally.readErrors + tally.writeErrors, reads: tally.readErrors, writes: tally.writeErrors, byKind },
    latencyMs: { reads: summarizeLatency(tally.reads), writes: summarizeLatency(tally.writes), all: summarizeLatency(tally.all) },
    ...(tally.cpu === undefined ? {} : { cpu: cpuFigures(tally.cpu, reads + writes) }),
  };
}

const fixed = (value: number, digits: number): string => value.toFixed(digits);

function latencyRow(name: string, summary: LatencySummary): string {
  const cells = [summary.count, summary.p50Ms, summary.p99Ms, summary.p999Ms, summary.maxMs, summary.meanMs];
  return name.padEnd(8) + cells.map((cell, index) => (index === 0 ? String(cell) : fixed(cell, 2)).padStart(index === 0 ? 10 : 9)).join('');
}

function settingsLine(settings: Readonly<Record<string, unknown>>): string {
  const props = settings['props'] as Record<string, unknown> | undefined;
  const where = settings['cluster'] === 'local' ? `local cluster of ${String(settings['nodes'])} nodes (${String(settings['engine'])})` : `target ${(settings['targets'] as string[] | undefined)?.join(',') ?? '?'}`;
  const quorum = props === undefined ? '' : `, N=${String(props['n'])} R=${String(props['r'])} W=${String(props['w'])} ${String(props['durability'])} ${String(props['resolver'])}`;
  return `${where}${quorum}; ${String(settings['clients'])} clients, ${String(settings['durationSeconds'])} s, ${String(settings['valueBytes'])} B values, ratio ${String(settings['ratio'])}, ${String(settings['keys'])} keys, ${String(settings['httpClient'])}`;
}

function environmentLine(environment: Readonly<Record<string, unknown>>): string {
  const parts: string[] = [];
  if (environment['cpus'] !== undefined) parts.push(`${String(environment['cpus'])} cpus`);
  const before = environment['loadAverageBefore'];
  const after = environment['loadAverageAfter'];
  if (Array.isArray(before) && Array.isArray(after)) parts.push(`load average ${before.join(' ')} before, ${after.join(' ')} after`);
  return parts.length === 0 ? '' : ` (${parts.join('; ')})`;
}

function cpuLine(cpu: CpuFigures): string {
  const parts: string[] = [];
  if (cpu.nodesSeconds !== undefined) parts.push(`nodes ${fixed(cpu.nodesSeconds, 1)} s (${String(cpu.nodesMicrosecondsPerOperation)} µs/op)`);
  parts.push(`load generator ${fixed(cpu.generatorSeconds, 1)} s (${cpu.generatorMicrosecondsPerOperation} µs/op)`);
  if (cpu.machineBusySeconds !== undefined) parts.push(`whole machine busy ${fixed(cpu.machineBusySeconds, 1)} s, of which other work ${fixed(cpu.othersSeconds ?? 0, 1)} s`);
  return `cpu during the run: ${parts.join('; ')}`;
}

/** The human-readable report, one block of lines. */
export function formatReport(result: BenchResult): string {
  const { operations, throughput, errors, latencyMs } = result;
  const lines = [
    `everwrite bench: ${settingsLine(result.settings)}`,
    `ran ${fixed(result.elapsedSeconds, 2)} s from ${result.startedAt}${environmentLine(result.environment)}`,
    `throughput: ${fixed(throughput.opsPerSecond, 1)} ops/s (reads ${fixed(throughput.readsPerSecond, 1)}/s, writes ${fixed(throughput.writesPerSecond, 1)}/s)`,
    `operations: ${operations.total} ok (reads ${operations.reads}, of which ${operations.readsNotFound} not found; writes ${operations.writes})`,
    `errors: ${errors.total}` + (errors.total === 0 ? '' : ` (reads ${errors.reads}, writes ${errors.writes})`),
  ];
  for (const [kind, count] of Object.entries(errors.byKind)) lines.push(`  ${kind}: ${count}`);
  lines.push(`latency (ms)${'count'.padStart(6)}${'p50'.padStart(9)}${'p99'.padStart(9)}${'p99.9'.padStart(9)}${'max'.padStart(9)}${'mean'.padStart(9)}`);
  lines.push(latencyRow('reads', latencyMs.reads), latencyRow('writes', latencyMs.writes), latencyRow('all', latencyMs.all));
  if (result.cpu !== undefined) lines.push(cpuLine(result.cpu));
  return lines.join('\n');
}
