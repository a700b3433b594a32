// Why: the coverage plan decides which replica a key listing asks for each partition. A listing
// that asks a dead node, skips a partition without saying so, or asks every node when one would
// do is wrong or needlessly expensive; these examples pin each of those.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asNodeId, asPartitionIndex, type NodeId } from '../../../../src/core/base/ids.ts';
import { planCoverage } from '../../../../src/core/key-listing/index.ts';
import { createRing, primaryNodes, type Ring, type RingMember } from '../../../../src/core/ring/index.ts';

const nodes = (count: number): RingMember[] =>
  Array.from({ length: count }, (_, index) => ({ id: asNodeId(`n${index + 1}`) }));
const allAlive = (): boolean => true;
const aliveExcept =
  (...dead: string[]) =>
  (node: NodeId): boolean =>
    !dead.includes(node);

test('with every node holding every partition, one node covers the ring, the preferred one', () => {
  const ring = createRing({ partitionCount: 64, members: nodes(3) });
  const plan = planCoverage({ ring, n: 3, isAlive: allAlive, preferred: asNodeId('n2') });
  assert.deepEqual(plan.nodes, ['n2']);
  assert.deepEqual(plan.uncovered, []);
  assert.equal(plan.assignments.length, 64);
  assert.ok(plan.assignments.every((entry, index) => entry.partition === index && entry.node === 'n2'));
});

test('a dead node is never asked, and the live ones still cover every partition', () => {
  const ring = createRing({ partitionCount: 64, members: nodes(3) });
  const plan = planCoverage({ ring, n: 3, isAlive: aliveExcept('n1'), preferred: asNodeId('n1') });
  assert.deepEqual(plan.nodes, ['n2']);
  assert.deepEqual(plan.uncovered, []);
});

/** The size of the smallest set of live nodes holding every partition, by trying every subset (a few live nodes only). */
function smallestCoverSize(ring: Ring, n: number, live: readonly NodeId[]): number {
  let best = live.length;
  for (let mask = 1; mask < 1 << live.length; mask++) {
    const chosen = live.filter((_, index) => (mask & (1 << index)) !== 0);
    if (chosen.length >= best) continue;
    let covers = true;
    for (let partition = 0; partition < ring.partitionCount && covers; partition++)
      covers = primaryNodes(ring, asPartitionIndex(partition), n).some((node) => chosen.includes(node));
    if (covers) best = chosen.length;
  }
  return best;
}

test('each partition is asked of one of its own live primaries, by about as few nodes as can cover the ring', () => {
  for (const dead of [[], ['n3', 'n6']]) {
    const ring = createRing({ partitionCount: 256, members: nodes(8) });
    const isAlive = aliveExcept(...dead);
    const plan = planCoverage({ ring, n: 3, isAlive });
    assert.deepEqual(plan.uncovered, []);
    for (const { partition, node } of plan.assignments) {
      assert.ok(
        node !== undefined && primaryNodes(ring, partition, 3).includes(node),
        `partition ${partition} asked of ${String(node)}`,
      );
      assert.ok(isAlive(node));
    }
    const live = ring.members.map((member) => member.id).filter(isAlive);
    const smallest = smallestCoverSize(ring, 3, live);
    assert.ok(plan.nodes.length <= smallest + 1, `asked ${plan.nodes.length} nodes; ${smallest} cover the ring`);
    if (dead.length === 0) assert.ok(plan.nodes.length < live.length, `asked every one of ${live.length} nodes`);
    assert.deepEqual(new Set(plan.assignments.map((entry) => entry.node)), new Set(plan.nodes));
  }
});

test('partitions with no live primary are reported as uncovered, in order, never silently assigned', () => {
  const ring = createRing({ partitionCount: 32, members: nodes(4) });
  const plan = planCoverage({ ring, n: 1, isAlive: aliveExcept('n2') });
  const expected = Array.from({ length: 32 }, (_, index) => index).filter(
    (partition) => ring.owners[partition] === 'n2',
  );
  assert.ok(expected.length > 0);
  assert.deepEqual(plan.uncovered, expected);
  for (const entry of plan.assignments) assert.equal(entry.node === undefined, expected.includes(entry.partition));
});

test('excluded nodes are not asked; a subset of partitions is planned alone; the plan is deterministic', () => {
  const ring = createRing({ partitionCount: 64, members: nodes(5) });
  const partitions = [3, 9, 40].map(asPartitionIndex);
  const input = { ring, n: 2, isAlive: allAlive, excluded: new Set([asNodeId('n1'), asNodeId('n4')]), partitions };
  const plan = planCoverage(input);
  assert.deepEqual(
    plan.assignments.map((entry) => entry.partition),
    [3, 9, 40],
  );
  for (const entry of plan.assignments)
    assert.ok(
      entry.node === undefined
        ? primaryNodes(ring, entry.partition, 2).every((node) => node === 'n1' || node === 'n4')
        : !['n1', 'n4'].includes(entry.node),
    );
  assert.deepEqual(planCoverage(input), plan);
});

test('an N larger than the cluster plans with every member as a primary', () => {
  const ring = createRing({ partitionCount: 16, members: nodes(2) });
  const plan = planCoverage({ ring, n: 5, isAlive: aliveExcept('n1') });
  assert.deepEqual(plan.nodes, ['n2']);
  assert.deepEqual(plan.uncovered, []);
});
