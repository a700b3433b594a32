// Why: the planner reproduces the paper's comparison of strategies 1-3 for an operator's numbers, and
// `everwrite ring` prints it. Pinned here: shares add up, strategy 3 is balanced and moves Q/(S+1) on
// a join, weights show in the shares, bad flags get clear errors, and the command prints the figures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { EverwriteError } from '../../../../src/core/base/errors.ts';
import { planRing } from '../../../../src/core/ring/index.ts';
import { registerRingCommand } from '../../../../src/cli/commands/ring.ts';

const sum = (values: readonly number[]): number => values.reduce((total, value) => total + value, 0);

test('each strategy plans shares summing to 1 (owned) and N (replicas)', () => {
  for (const strategy of [1, 2, 3] as const) {
    const plan = planRing({ strategy, nodeCount: 6, tokensPerNode: 16, partitionCount: 128, seed: 9 });
    assert.equal(plan.nodes.length, 6);
    assert.ok(Math.abs(sum(plan.nodes.map((node) => node.ownedShare)) - 1) < 1e-9);
    assert.ok(Math.abs(sum(plan.nodes.map((node) => node.replicaShare)) - 3) < 1e-9);
    assert.ok(plan.imbalance >= 1 && plan.replicaImbalance >= 1);
    assert.equal(plan.join.node, 'n7');
    assert.equal(plan.leave.node, 'n6');
  }
});

test('strategy 3 is exactly balanced for Q divisible by S and moves Q/(S+1) partitions on a join, Q/S on a leave', () => {
  const plan = planRing({ strategy: 3, nodeCount: 8, tokensPerNode: 1, partitionCount: 256, seed: 1 });
  assert.equal(plan.imbalance, 1);
  assert.ok(plan.nodes.every((node) => node.tokens === 32));
  assert.ok(Math.abs(plan.join.partitionsMoved! - 256 / 9) <= 1);
  assert.equal(plan.leave.partitionsMoved, 32);
  assert.equal(plan.leave.movedShare, 32 / 256);
});

test('random tokens (strategy 1) are less balanced than equal partitions (strategy 3), as the paper found', () => {
  const random = planRing({ strategy: 1, nodeCount: 8, tokensPerNode: 8, partitionCount: 256, seed: 3 });
  const equal = planRing({ strategy: 3, nodeCount: 8, tokensPerNode: 8, partitionCount: 256, seed: 3 });
  assert.ok(random.imbalance > equal.imbalance);
});

test('weights show in the shares and the weighted imbalance stays near 1', () => {
  const plan = planRing({
    strategy: 3,
    nodeCount: 3,
    tokensPerNode: 1,
    partitionCount: 256,
    seed: 1,
    weights: [1, 1, 2],
  });
  assert.deepEqual(
    plan.nodes.map((node) => node.ownedShare),
    [0.25, 0.25, 0.5],
  );
  assert.equal(plan.weightedImbalance, 1);
  const tokens = planRing({
    strategy: 1,
    nodeCount: 2,
    tokensPerNode: 10,
    partitionCount: 256,
    seed: 1,
    weights: [1, 2.5],
  });
  assert.deepEqual(
    tokens.nodes.map((node) => node.tokens),
    [10, 25],
  );
});

test('planner input is validated with EVERWRITE_BAD_REQUEST', () => {
  const base = { strategy: 3 as const, nodeCount: 4, tokensPerNode: 8, partitionCount: 64, seed: 1 };
  const bad = (options: Partial<Parameters<typeof planRing>[0]>, part: string): void => {
    assert.throws(
      () => planRing({ ...base, ...options }),
      (error: unknown) =>
        error instanceof EverwriteError && error.code === 'EVERWRITE_BAD_REQUEST' && error.message.includes(part),
    );
  };
  bad({ strategy: 4 as 3 }, 'strategy');
  bad({ nodeCount: 0 }, 'nodes');
  bad({ tokensPerNode: 0 }, 'tokens');
  bad({ partitionCount: 96 }, 'partitions');
  bad({ weights: [1, 2] }, 'one weight per node');
  bad({ weights: [1, 1, 1, -1] }, 'weights');
});

async function runCommand(args: string[]): Promise<string> {
  const program = new Command('everwrite').exitOverride();
  registerRingCommand(program);
  const lines: string[] = [];
  const original = console.log;
  console.log = (...parts: unknown[]) => lines.push(parts.join(' '));
  try {
    await program.parseAsync(['node', 'everwrite', 'ring', ...args]);
  } finally {
    console.log = original;
  }
  return lines.join('\n');
}

test('`everwrite ring` prints shares, imbalance and join/leave movement, or the plan as JSON', async () => {
  const text = await runCommand(['--strategy', '3', '--nodes', '4', '--partitions', '64']);
  assert.match(text, /strategy 3: 4 nodes, 64 partitions, N=3/);
  assert.match(text, /n1\s+1\s+16\s+25\.00%\s+75\.00%/);
  assert.match(text, /imbalance \(max\/mean share\): owns 1\.000/);
  assert.match(text, /if n5 joins: 12 partitions move/);
  assert.match(text, /if n4 leaves: 16 partitions move/);
  const json = JSON.parse(
    await runCommand(['--strategy', '1', '--nodes', '3', '--tokens', '4', '--weights', '1,2,1', '--json']),
  ) as { strategy: number; nodes: Array<{ tokens: number }> };
  assert.equal(json.strategy, 1);
  assert.deepEqual(
    json.nodes.map((node) => node.tokens),
    [4, 8, 4],
  );
  await assert.rejects(runCommand(['--nodes', 'many']), /--nodes must be a whole number/);
});
