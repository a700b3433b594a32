// Why: `everwrite sim` runs the deterministic whole-cluster simulation (src/sim) from a seed, so
// anyone can replay a failure found in CI with the command it printed, and `--count` turns it into
// a soak over consecutive seeds. The command is a thin shell: runSimCommand parses nothing but its
// typed arguments and writes through an injected io, so tests call it directly.
import { randomInt } from 'node:crypto';
import { InvalidArgumentError, type Command } from 'commander';
import {
  faultKinds,
  runSimulation,
  type FaultKind,
  type Resolver,
  type SimDurability,
  type SimOptions,
  type SimReport,
} from '../../sim/index.ts';

export interface SimArguments {
  /** First seed; absent: a random one (printed, so the run can be replayed). */
  readonly seed?: number;
  /** Consecutive seeds to run from `seed`. Default 1. */
  readonly count?: number;
  readonly nodes?: number;
  readonly ops?: number;
  readonly faults?: SimOptions['faults'];
  readonly resolver?: Resolver;
  readonly durability?: SimDurability;
  readonly readFree?: boolean;
  readonly antiEntropyIntervalMs?: number;
  readonly contextRemovalGraceMs?: number;
  readonly clientContextEntriesMax?: number;
  readonly json?: boolean;
}

export interface SimIo {
  readonly stdout: { write(chunk: string): unknown };
  readonly stderr: { write(chunk: string): unknown };
}

/** Most seeds one command runs (a soak of 100k seeds takes hours; more is a mistake). */
const countMax = 1_000_000;

function parseWhole(flag: string, low: number, high: number): (text: string) => number {
  return (text) => {
    if (!/^\d{1,16}$/.test(text.trim())) throw new InvalidArgumentError(`${flag} must be a whole number`);
    const value = Number(text.trim());
    if (!Number.isSafeInteger(value) || value < low || value > high)
      throw new InvalidArgumentError(`${flag} must be from ${low} to ${high}`);
    return value;
  };
}

/** `none`, `all`, or a comma list of fault kinds. */
export function parseFaults(text: string): SimOptions['faults'] {
  const trimmed = text.trim();
  if (trimmed === 'none' || trimmed === 'all') return trimmed;
  const kinds = trimmed.split(',').map((part) => part.trim());
  for (const kind of kinds) {
    if (!(faultKinds as readonly string[]).includes(kind))
      throw new InvalidArgumentError(
        `--faults must be none, all, or a comma list of ${faultKinds.join(', ')}; got ${JSON.stringify(kind)}`,
      );
  }
  return kinds as FaultKind[];
}

function parseDurability(text: string): SimDurability {
  if (text !== 'durable' && text !== 'buffered')
    throw new InvalidArgumentError('--durability must be durable or buffered');
  return text;
}

function parseResolver(text: string): Resolver {
  if (text !== 'siblings' && text !== 'lww') throw new InvalidArgumentError('--resolver must be siblings or lww');
  return text;
}

/** The human-readable summary of one run. */
export function formatReport(report: SimReport): string {
  const lines = [
    `seed ${report.seed}: ${report.nodes} nodes, N/R/W ${report.settings.n}/${report.settings.r}/${report.settings.w}, ${report.settings.clients} clients, ${report.ops} ops, faults ${report.faults.length === 0 ? 'none' : report.faults.join('+')}, resolver ${report.resolver}, ${report.durability}`,
    `  elements attempted ${report.attempted}, acknowledged ${report.acknowledged}, indeterminate ${report.indeterminate}, refused ${report.failed}`,
    `  lost ${report.lost}, unexpected ${report.unexpected}, resurrected ${report.resurrected}, siblings max ${report.siblingsMax}, stale reads ${report.staleReads}${report.strict ? ' (strict)' : ''} of ${report.readsChecked}`,
    `  hints drained ${report.hintsDrained ? `in ${report.hintDrainMs} ms` : 'NO'}, converged ${report.converged ? `in ${report.convergenceMs} ms` : 'NO'} (virtual time after the heal)`,
    ...(report.readFree
      ? [
          `  read-free: without reads, anti-entropy ${report.aeConvergenceMs >= 0 ? `made the replicas agree in ${report.aeConvergenceMs} ms` : 'did NOT make the replicas agree'} after the heal (${report.aeDivergentKeys} keys differed at the heal; no reads)`,
        ]
      : []),
    `  ${report.events} events over ${report.virtualMs} virtual ms; frames sent ${report.network.framesSent}, lost ${report.network.framesLost}, duplicated ${report.network.framesDuplicated}, unreachable ${report.network.framesUnreachable}`,
    `  nemesis: ${
      Object.entries(report.nemesis)
        .filter(([, count]) => count > 0)
        .map(([name, count]) => `${name} ${count}`)
        .join(', ') || 'idle'
    }; disks: ${report.disks.failedWrites} failed writes (${report.disks.storageFailures} log failures), ${report.disks.lostWrites} unsynced log writes lost, ${report.disks.tornWrites} torn`,
    `  trace ${report.traceHash}`,
  ];
  for (const reason of report.incomplete) lines.push(`  INCOMPLETE (not a safety failure): ${reason}`);
  if (report.ok) {
    lines.push(report.budgetExhausted ? '  OK (incomplete)' : '  OK');
  } else {
    for (const failure of report.failures) lines.push(`  FAILED: ${failure}`);
    lines.push(`  reproduce: ${report.command}`);
  }
  return lines.join('\n');
}

/** Totals over the seeds of one command, for the soak's closing line. */
class Totals {
  runs = 0;
  failed = 0;
  /** Runs whose workload hit its virtual-time budget (reported apart from failures). */
  incomplete = 0;
  attempted = 0;
  acknowledged = 0;
  lost = 0;
  unexpected = 0;
  resurrected = 0;
  siblingsMax = 0;
  readonly convergenceMs: number[] = [];
  readonly hintDrainMs: number[] = [];

  add(report: SimReport): void {
    this.runs += 1;
    if (!report.ok) this.failed += 1;
    if (report.budgetExhausted) this.incomplete += 1;
    this.attempted += report.attempted;
    this.acknowledged += report.acknowledged;
    this.lost += report.lost;
    this.unexpected += report.unexpected;
    this.resurrected += report.resurrected;
    this.siblingsMax = Math.max(this.siblingsMax, report.siblingsMax);
    if (report.converged) this.convergenceMs.push(report.convergenceMs);
    if (report.hintsDrained) this.hintDrainMs.push(report.hintDrainMs);
  }

  format(first: number): string {
    const percentile = (values: number[], fraction: number): number =>
      [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * fraction))] ?? -1;
    const lostShare = this.acknowledged === 0 ? 0 : (100 * this.lost) / this.acknowledged;
    return (
      `${this.runs} seeds from ${first}: ${this.runs - this.failed} passed, ${this.failed} failed, ${this.incomplete} incomplete; ` +
      `elements attempted ${this.attempted}, acknowledged ${this.acknowledged}, lost ${this.lost} (${lostShare.toFixed(1)}% of acknowledged), unexpected ${this.unexpected}, resurrected ${this.resurrected}, siblings max ${this.siblingsMax}; ` +
      `convergence ms p50 ${percentile(this.convergenceMs, 0.5)} p99 ${percentile(this.convergenceMs, 0.99)} max ${percentile(this.convergenceMs, 1)}; ` +
      `hint drain ms p50 ${percentile(this.hintDrainMs, 0.5)} p99 ${percentile(this.hintDrainMs, 0.99)} max ${percentile(this.hintDrainMs, 1)}`
    );
  }
}

/** Runs the simulations; returns the exit code (0 when every run passed). */
export async function runSimCommand(args: SimArguments, io: SimIo): Promise<number> {
  const first = args.seed ?? randomInt(0, 2 ** 31);
  const count = args.count ?? 1;
  if (!Number.isSafeInteger(count) || count < 1 || count > countMax)
    throw new RangeError(`--count must be from 1 to ${countMax}`);
  const totals = new Totals();
  for (let seed = first; seed < first + count; seed++) {
    const report = await runSimulation({
      seed,
      ...(args.nodes === undefined ? {} : { nodes: args.nodes }),
      ...(args.ops === undefined ? {} : { ops: args.ops }),
      ...(args.faults === undefined ? {} : { faults: args.faults }),
      ...(args.resolver === undefined ? {} : { resolver: args.resolver }),
      ...(args.durability === undefined ? {} : { durability: args.durability }),
      ...(args.readFree === undefined ? {} : { readFree: args.readFree }),
      ...(args.antiEntropyIntervalMs === undefined ? {} : { antiEntropyIntervalMs: args.antiEntropyIntervalMs }),
      ...(args.contextRemovalGraceMs === undefined ? {} : { contextRemovalGraceMs: args.contextRemovalGraceMs }),
      ...(args.clientContextEntriesMax === undefined ? {} : { clientContextEntriesMax: args.clientContextEntriesMax }),
    });
    totals.add(report);
    if (args.json === true) io.stdout.write(`${JSON.stringify(report, null, count === 1 ? 2 : undefined)}\n`);
    else if (count === 1 || !report.ok) io.stdout.write(`${formatReport(report)}\n`);
    if (!report.ok) io.stderr.write(`everwrite sim: seed ${seed} failed; reproduce with: ${report.command}\n`);
  }
  if (count > 1 && args.json !== true) io.stdout.write(`${totals.format(first)}\n`);
  return totals.failed === 0 ? 0 : 1;
}

export function registerSimCommand(program: Command): void {
  program
    .command('sim')
    .description(
      'Run the deterministic whole-cluster simulation from a seed: a safety phase under faults, then a liveness phase that must converge',
    )
    .option('--seed <n>', 'the seed (default: a random one, printed)', parseWhole('--seed', 0, Number.MAX_SAFE_INTEGER))
    .option('--count <n>', 'run this many consecutive seeds (a soak)', parseWhole('--count', 1, countMax))
    .option('--nodes <n>', 'nodes, 3 to 7 (default: chosen by the seed)', parseWhole('--nodes', 3, 7))
    .option('--ops <n>', 'client operations in the safety phase (default 200)', parseWhole('--ops', 1, 1_000_000))
    .option(
      '--faults <kinds>',
      `none, all (the seed picks a subset), or a comma list of ${faultKinds.join(', ')}`,
      parseFaults,
    )
    .option('--resolver <resolver>', 'siblings (default) or lww', parseResolver)
    .option(
      '--durability <durability>',
      'durable (default) or buffered: acknowledged before the fsync, so crashes may lose acknowledged writes (reported, not a failure); no dot may ever be minted twice',
      parseDurability,
    )
    .option(
      '--read-free',
      'skip the final reads until anti-entropy alone made every primary of every key agree (the read-free convergence check)',
    )
    .option(
      '--anti-entropy-interval-ms <ms>',
      "the nodes' anti-entropy interval (default 3000 with --read-free, else the node default 120000)",
      parseWhole('--anti-entropy-interval-ms', 1, 86_400_000),
    )
    .option(
      '--context-removal-grace-ms <ms>',
      'how long a confirmed context-only record is kept before removal (default: the node default, three days, so none is removed within a run)',
      parseWhole('--context-removal-grace-ms', 1, 259_200_000),
    )
    .option(
      '--client-context-entries-max <n>',
      "entries a context handed to a client keeps besides its siblings' writers (default: the node default, 1024; 1 cuts nearly every context, decision 0041)",
      parseWhole('--client-context-entries-max', 1, 1024),
    )
    .option('--json', 'print the report as JSON')
    .action(async (flags: SimArguments) => {
      process.exitCode = await runSimCommand(flags, { stdout: process.stdout, stderr: process.stderr });
    });
}
