// Why: `everwrite chaos` runs the real-process fault test (src/chaos): 5 `everwrite start`
// processes in their own network namespaces (plus 2 spares with `--nemesis membership`), nemeses
// drawn from a seed, the set-add and unique-key workloads over HTTP, then heal, quiesce and judge. Needs root, `ip` and `iptables` (and Debian's
// `faketime` for clock faults). Exit code 1 when the verdict is not ok, so scripts can use it.
import { randomInt } from 'node:crypto';
import { InvalidArgumentError, type Command } from 'commander';
import { kindsOf, runChaos, type ChaosOptions, type ChaosReport } from '../../chaos/index.ts';

interface ChaosFlags {
  duration: number;
  nemesis: ChaosOptions['nemesis'];
  seed?: number;
  interval: number;
  json?: boolean;
}

function parseWhole(flag: string, low: number, high: number): (text: string) => number {
  return (text) => {
    const value = Number(text.trim());
    if (!/^\d{1,10}$/.test(text.trim()) || value < low || value > high)
      throw new InvalidArgumentError(`${flag} must be a whole number from ${low} to ${high}`);
    return value;
  };
}

function parseNemesis(text: string): ChaosOptions['nemesis'] {
  const nemesis = text.trim() as ChaosOptions['nemesis'];
  try {
    kindsOf(nemesis);
  } catch (error) {
    throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
  }
  return nemesis;
}

function membershipLines(membership: ChaosReport['membership']): string[] {
  if (membership === undefined) return [];
  const operations = membership.operations.map(
    (operation) =>
      `${operation.kind} ${operation.node} at t+${operation.atS}s in ${operation.durationMs} ms${operation.inflicted ? '' : ' FAILED'}`,
  );
  return [
    `  membership drawn ${JSON.stringify(membership.drawn)}, inflicted ${JSON.stringify(membership.inflicted)}: ${operations.join('; ') || 'none'}`,
    `  final members ${membership.finalMembers.join(',')} at view ${membership.finalViewVersion ?? '?'}${membership.viewProblems.length === 0 ? ', the same on every member' : ''}; ${membership.replicas.keysChecked - membership.replicas.keysShort}/${membership.replicas.keysChecked} keys on their ${membership.replicas.replicaCount} replicas; final reads failed through a member ${membership.unreadThroughMembers}`,
    ...membership.viewProblems.map((problem) => `  view problem: ${problem}`),
    ...membership.replicas.sample.map((problem) => `  replicas short: ${problem}`),
  ];
}

export function formatChaosReport(report: ChaosReport): string {
  const latency = (phase: keyof ChaosReport['latency']): string =>
    `${phase} p50 ${report.latency[phase].p50Ms} ms / p99 ${report.latency[phase].p99Ms} ms (${report.latency[phase].operations} ops)`;
  return [
    `chaos seed ${report.seed}: ${report.nodes} nodes, nemesis ${report.nemesis}, ${report.faultDurationS} s of faults, clock faults ${report.clockFaults}`,
    `  elements attempted ${report.attempted}, acknowledged ${report.acknowledged}, indeterminate ${report.indeterminate} (set-add ${report.setAdd.acknowledged}/${report.setAdd.attempted} on ${report.setAdd.keys} keys, unique keys ${report.uniqueKeys.acknowledged}/${report.uniqueKeys.attempted})`,
    `  lost ${report.lost}, unexpected ${report.unexpected}, unread keys ${report.unreadKeys}, siblings max ${report.siblingsMax}`,
    `  converged ${report.convergence.converged ? `in ${report.convergence.convergenceMs} ms` : `NO (${report.convergence.keysUnconverged} of ${report.convergence.keysChecked} keys)`} after quiesce`,
    `  availability during faults ${report.availabilityDuringFaults.percent}% (${report.availabilityDuringFaults.accepted}/${report.availabilityDuringFaults.writes} writes while a node was reachable; ${report.availabilityDuringFaults.percentByReachableNode}% of ${report.availabilityDuringFaults.writesToReachableNode} sent to a reachable node)`,
    `  latency ${latency('before')}; ${latency('during')}; ${latency('after')}`,
    `  faults drawn ${JSON.stringify(report.faults.drawn)}, inflicted ${JSON.stringify(report.faults.inflicted)}, clock skew seen ${report.faults.clockSkewSeen} times`,
    ...membershipLines(report.membership),
    ...report.nodeCrashes.map((crash) => `  NODE CRASH: ${crash}`),
    ...report.problems.map((problem) => `  problem: ${problem}`),
    ...(report.lostSample.length > 0 ? [`  lost sample: ${report.lostSample.join(' ')}`] : []),
    ...(report.unexpectedSample.length > 0 ? [`  unexpected sample: ${report.unexpectedSample.join(' ')}`] : []),
    ...report.convergence.unconvergedDetail.map((line) => `  unconverged: ${line}`),
    report.ok
      ? '  OK'
      : `  FAILED; reproduce the fault schedule with: everwrite chaos --duration ${report.faultDurationS} --nemesis ${report.nemesis} --seed ${report.seed}`,
  ].join('\n');
}

async function runChaosCommand(flags: ChaosFlags): Promise<void> {
  const seed = flags.seed ?? randomInt(1, 2 ** 31);
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  try {
    const report = await runChaos({
      durationS: flags.duration,
      nemesis: flags.nemesis,
      seed,
      intervalMs: flags.interval * 1000,
      signal: controller.signal,
    });
    process.stdout.write(
      flags.json === true ? `${JSON.stringify(report, null, 2)}\n` : `${formatChaosReport(report)}\n`,
    );
    process.exitCode = report.ok ? 0 : 1;
  } finally {
    process.removeListener('SIGINT', abort);
    process.removeListener('SIGTERM', abort);
  }
}

export function registerChaosCommand(program: Command): void {
  program
    .command('chaos')
    .description(
      'real-process fault test: 5 nodes in network namespaces, partitions/kill -9/pauses/clock bumps (or joins/leaves/removes), set-add and unique-key workloads, then a lost/unexpected/convergence verdict (root; needs ip, iptables, faketime)',
    )
    .option('--duration <seconds>', 'seconds of faults', parseWhole('--duration', 1, 86_400), 60)
    .option(
      '--nemesis <kind>',
      'all (partition, kill, pause and clock), none, partition, kill, pause, clock, or membership (join, leave and remove nodes while the workload runs)',
      parseNemesis,
      'all',
    )
    .option(
      '--seed <n>',
      'seed of the fault schedule and workload choices (default: random, printed)',
      parseWhole('--seed', 0, 2 ** 31),
    )
    .option(
      '--interval <seconds>',
      'a new fault state every this many seconds (membership: the pause after each completed operation)',
      parseWhole('--interval', 1, 600),
      4,
    )
    .option('--json', 'print the report as JSON')
    .action((flags: ChaosFlags) => runChaosCommand(flags));
}
