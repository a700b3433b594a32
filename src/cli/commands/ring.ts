// Why: `everwrite ring` lets an operator try a partitioning before building a cluster: how evenly the
// key space spreads across nodes under strategy 1, 2 or 3 of the paper, with weights, and what one
// node joining or leaving would move. The numbers come from the pure planner (core/ring/planner.ts);
// this file only parses flags and formats.
import type { Command } from 'commander';
import { planRing, type Plan, type StrategyNumber } from '../../core/ring/index.ts';
import { UsageError } from '../exit-codes.ts';

interface RingFlags {
  strategy: string;
  nodes: string;
  tokens: string;
  partitions: string;
  weights?: string;
  seed: string;
  replicas: string;
  json?: boolean;
}

/** A whole decimal integer, or a clear error naming the flag. */
function parseInteger(text: string, flag: string): number {
  if (!/^\d{1,10}$/.test(text.trim()))
    throw new UsageError(`${flag} must be a whole number, got ${JSON.stringify(text)}`);
  return Number(text.trim());
}

function parseWeights(text: string): number[] {
  return text.split(',').map((part) => {
    const weight = Number(part.trim());
    if (part.trim() === '' || !Number.isFinite(weight))
      throw new UsageError(`--weights must be numbers separated by commas, got ${JSON.stringify(text)}`);
    return weight;
  });
}

const percent = (fraction: number): string => `${(fraction * 100).toFixed(2)}%`;

function formatPlan(plan: Plan): string {
  const unit = plan.strategy === 3 ? 'partitions' : 'tokens';
  const lines = [
    `strategy ${plan.strategy}: ${plan.nodeCount} nodes, ` +
      (plan.strategy === 1
        ? `${plan.tokensPerNode} tokens per node`
        : plan.strategy === 2
          ? `${plan.tokensPerNode} tokens per node, ${plan.partitionCount} partitions`
          : `${plan.partitionCount} partitions`) +
      `, N=${plan.replicas}`,
    `${'node'.padEnd(8)}${'weight'.padStart(8)}${unit.padStart(12)}${'owns'.padStart(10)}${'replicas'.padStart(10)}`,
  ];
  for (const node of plan.nodes) {
    lines.push(
      `${node.node.padEnd(8)}${String(node.weight).padStart(8)}${String(node.tokens).padStart(12)}${percent(node.ownedShare).padStart(10)}${percent(node.replicaShare).padStart(10)}`,
    );
  }
  lines.push(
    `imbalance (max/mean share): owns ${plan.imbalance.toFixed(3)}, replicas ${plan.replicaImbalance.toFixed(3)}; max share / weighted fair share ${plan.weightedImbalance.toFixed(3)}`,
  );
  for (const movement of [plan.join, plan.leave]) {
    const partitions = movement.partitionsMoved === undefined ? '' : `${movement.partitionsMoved} partitions move, `;
    lines.push(
      `if ${movement.node} ${movement.change === 'join' ? 'joins' : 'leaves'}: ${partitions}${percent(movement.movedShare)} of the key space changes coordinator`,
    );
  }
  return lines.join('\n');
}

function runRing(flags: RingFlags): void {
  const strategy = parseInteger(flags.strategy, '--strategy');
  if (strategy !== 1 && strategy !== 2 && strategy !== 3) throw new UsageError('--strategy must be 1, 2 or 3');
  const plan = planRing({
    strategy: strategy as StrategyNumber,
    nodeCount: parseInteger(flags.nodes, '--nodes'),
    tokensPerNode: parseInteger(flags.tokens, '--tokens'),
    partitionCount: parseInteger(flags.partitions, '--partitions'),
    seed: parseInteger(flags.seed, '--seed'),
    replicas: parseInteger(flags.replicas, '--replicas'),
    ...(flags.weights === undefined ? {} : { weights: parseWeights(flags.weights) }),
  });
  console.log(flags.json === true ? JSON.stringify(plan, null, 2) : formatPlan(plan));
}

export function registerRingCommand(program: Command): void {
  program
    .command('ring')
    .description(
      "plan a ring: each node's share of the key space under the paper's strategy 1, 2 or 3, and what a join or a leave moves",
    )
    .option(
      '--strategy <number>',
      '1: T random tokens per node; 2: T random tokens, Q equal partitions; 3: Q equal partitions dealt to nodes (the live ring)',
      '3',
    )
    .option('--nodes <S>', 'number of nodes, n1..nS', '8')
    .option('--tokens <T>', 'tokens per node of weight 1 (strategies 1 and 2)', '32')
    .option('--partitions <Q>', 'equal partitions, a power of two (strategies 2 and 3)', '256')
    .option('--weights <list>', 'one weight per node, comma-separated, e.g. 1,1,2')
    .option('--seed <number>', 'seed of the random tokens (strategies 1 and 2)', '1')
    .option('--replicas <N>', 'replicas per key, for replica shares and partition spacing', '3')
    .option('--json', 'print the plan as JSON')
    .action((flags: RingFlags) => runRing(flags));
}
