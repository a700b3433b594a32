// Why: an operator who knows replicas diverged (a disk replaced, a long partition) should not wait for
// anti-entropy's schedule. `everwrite cluster repair` asks one node to exchange its partitions (or
// one) with their other primaries now (POST /admin/aae) and follows the node's report (GET
// /admin/aae) until every asked partition has finished an exchange, printing progress as it goes.
import type { Command } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AntiEntropyReport } from '../../runtime/service.ts';
import { CliFailure, UsageError, exitCodeForHttpStatus, exitCodes } from '../exit-codes.ts';
import { jsonOption, nodeOption, withCredentials } from '../options.ts';

interface RepairFlags {
  partition?: string;
  node: string;
  timeoutMs: string;
  /** No progress lines; one JSON summary {partitionsDone, partitions, keysRepaired} at the end. */
  json: boolean;
}

/** Between two looks at the node's report. */
const pollIntervalMs = 500;

async function fetchReport(url: string, init: RequestInit = {}): Promise<AntiEntropyReport> {
  const response = await fetch(url, { ...withCredentials(init), signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  if (!response.ok)
    throw new CliFailure(
      `${init.method ?? 'GET'} ${url}: ${response.status} ${text}`,
      exitCodeForHttpStatus(response.status),
    );
  return JSON.parse(text) as AntiEntropyReport;
}

function keysRepaired(report: AntiEntropyReport): number {
  return report.partitions.reduce((sum, entry) => sum + entry.keysRepaired, 0);
}

/** Partitions asked for whose last exchange finished after the request (lastExchangeAgoMs within the time since). */
function partitionsDone(report: AntiEntropyReport, partition: number | undefined, sinceMs: number): number {
  return report.partitions.filter(
    (entry) =>
      (partition === undefined || entry.partition === partition) &&
      entry.lastExchangeAgoMs !== null &&
      entry.lastExchangeAgoMs <= sinceMs,
  ).length;
}

async function runRepair(flags: RepairFlags): Promise<void> {
  if (flags.partition !== undefined && !/^\d{1,6}$/.test(flags.partition))
    throw new UsageError(`--partition must be a whole number, got ${JSON.stringify(flags.partition)}`);
  if (!/^\d{1,9}$/.test(flags.timeoutMs))
    throw new UsageError(`--timeout-ms must be a whole number, got ${JSON.stringify(flags.timeoutMs)}`);
  const partition = flags.partition === undefined ? undefined : Number(flags.partition);
  const base = `${flags.node.replace(/\/+$/, '')}/admin/aae`;
  const before = keysRepaired(await fetchReport(base));
  const started = performance.now();
  const queued = await fetchReport(partition === undefined ? base : `${base}?partition=${partition}`, {
    method: 'POST',
  });
  const total = partition === undefined ? queued.treesHeld : 1;
  const deadline = started + Number(flags.timeoutMs);
  let last = '';
  for (;;) {
    await sleep(pollIntervalMs);
    const report = await fetchReport(base);
    const done = partitionsDone(report, partition, performance.now() - started);
    const line = `partitions done ${done}/${total}, keys repaired ${keysRepaired(report) - before}`;
    // Progress lines are for a person at a terminal; a pipe or a script gets the final line alone.
    if (line !== last && !flags.json && (process.stdout.isTTY === true || done >= total)) console.log(line);
    last = line;
    if (flags.json && (done >= total || performance.now() >= deadline))
      console.log(
        JSON.stringify({ partitionsDone: done, partitions: total, keysRepaired: keysRepaired(report) - before }),
      );
    if (done >= total) return;
    if (performance.now() >= deadline)
      throw new CliFailure(
        `repair not finished after ${flags.timeoutMs} ms (${line}); the node keeps going on its schedule`,
        exitCodes.unavailable,
      );
  }
}

/** Adds `repair` under `everwrite cluster` (registerClusterCommands makes it). */
export function registerClusterRepairCommand(cluster: Command): void {
  cluster
    .command('repair')
    .description(
      'Run anti-entropy now: exchange the partitions of one node with their other replicas, and show progress',
    )
    .option('--partition <p>', 'only this partition (default: every partition the node holds)')
    .addOption(nodeOption('the node to ask'))
    .option('--timeout-ms <ms>', 'give up following after this long', '300000')
    .addOption(
      jsonOption('one summary {partitionsDone, partitions, keysRepaired} at the end, instead of progress lines,'),
    )
    .action((flags: RepairFlags) => runRepair(flags));
}
