// Why: membership changes (decision 0017) run in the simulator as a fault kind: a join of a new node
// (started as a singleton, given the transition view), a leave, and the remove of a crashed node,
// while crashes, partitions, pauses and a stormy network go on, so either side of a handoff may die
// during it. These pinned seeds must keep every acknowledged write, end with one view and no
// transition on every member, and hold every key on its primaries of the final ring (the replicas
// agree there). The swarm draws the same fault for a quarter of its seeds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSimulation, type FaultKind } from '../../src/sim/index.ts';

interface Pinned {
  readonly seed: number;
  readonly nodes: number;
  readonly faults: readonly FaultKind[];
  readonly change: 'joins' | 'leaves' | 'removes';
}

const stormy: readonly FaultKind[] = ['membership', 'crash', 'partition', 'pause', 'loss'];
const pinned: readonly Pinned[] = [
  { seed: 16, nodes: 4, faults: ['membership', 'crash'], change: 'joins' },
  { seed: 10, nodes: 4, faults: ['membership', 'crash'], change: 'leaves' },
  { seed: 2, nodes: 5, faults: ['membership', 'crash'], change: 'removes' },
  { seed: 8, nodes: 5, faults: stormy, change: 'joins' },
  { seed: 1, nodes: 4, faults: stormy, change: 'leaves' },
  { seed: 11, nodes: 5, faults: stormy, change: 'removes' },
];

for (const { seed, nodes, faults, change } of pinned) {
  test(`membership seed ${seed} (${nodes} nodes, ${faults.join(',')}): one ${change.slice(0, -1)}, crashes during the handoff, nothing lost`, async () => {
    let members: string[][] = [];
    let expected = 0;
    const report = await runSimulation(
      { seed, nodes, faults },
      {
        onFinish: ({ cluster }) => {
          expected = cluster.nodes.length;
          members = cluster.nodes.map((node) =>
            (node.core?.viewGossip?.view.members ?? []).map((member) => `${member.id}:${member.state}`),
          );
        },
      },
    );
    assert.deepEqual(report.failures, [], `reproduce: ${report.command}`);
    assert.equal(report.ok, true);
    assert.equal(report.lost, 0);
    assert.equal(report.nemesis[change], 1, `the seed commits one ${change.slice(0, -1)}`);
    assert.ok(report.nemesis.crashesInTransition > 0, 'a node crashed while partitions were being handed off');
    const delta = change === 'joins' ? 1 : -1;
    assert.equal(expected, nodes + delta, 'the members after the change');
    for (const view of members) {
      assert.equal(view.length, nodes + delta, 'every member holds the final view');
      assert.ok(
        view.every((member) => member.endsWith(':valid')),
        `no transition left: ${view.join(',')}`,
      );
    }
  });
}

// With no fault that can lose a write on its way, every write reached every primary of its time, so
// each key must be on every primary of the final ring before any final read repairs it: what the
// handoff (streams and dual writes) alone brought (finalRingMissing, enforced by the runner).
const lossless: ReadonlyArray<{ readonly seed: number; readonly nodes: number; readonly change: 'joins' | 'leaves' }> =
  [
    { seed: 4, nodes: 3, change: 'joins' },
    { seed: 6, nodes: 5, change: 'joins' },
    { seed: 3, nodes: 6, change: 'leaves' },
  ];

for (const { seed, nodes, change } of lossless) {
  test(`membership seed ${seed} (${nodes} nodes, no other fault): one ${change.slice(0, -1)}, every key on every final primary before the final reads`, async () => {
    const report = await runSimulation({ seed, nodes, faults: ['membership'] });
    assert.deepEqual(report.failures, [], `reproduce: ${report.command}`);
    assert.equal(report.nemesis[change], 1);
    assert.equal(report.finalRingMissing, 0);
    assert.ok(report.keys > 20, `enough keys to move: ${report.keys}`);
  });
}

// A node dropped a partition after a join, then coordinated a key of it as a fallback and minted
// from the empty record a dot its dropped version had carried (the dot ledger caught it). Dropping
// now keeps the causal context of keys the node itself versioned (LocalStore.dropKey).
test('membership seed 143 (6 nodes, all faults): a dropped partition never makes a node mint a dot twice', async () => {
  const report = await runSimulation({ seed: 143, nodes: 6, ops: 200 });
  assert.deepEqual(report.failures, [], `reproduce: ${report.command}`);
  assert.equal(report.nemesis.joins, 1);
});

// Keeping only the context of a dropped key this node had versioned (as reaping does) made its
// next version, minted as a fallback, discard live values everywhere: 22 acknowledged elements lost.
test('membership seed 114 (3 nodes, all faults): dropping a partition loses no acknowledged element', async () => {
  const report = await runSimulation({ seed: 114, nodes: 3, ops: 200 });
  assert.deepEqual(report.failures, [], `reproduce: ${report.command}`);
  assert.equal(report.lost, 0);
  assert.equal(report.nemesis.joins, 1);
});

// A leaving node restarted after its last acknowledgement was lost; the others had completed the
// transition and stopped talking to it, so it streamed to a target that refused forever. A target
// past the batch's view version now says so (a handoffAck carrying its version), and the source
// takes the transition as completed.
test('membership seed 354 (6 nodes, all faults): a leaving node restarted after the others completed still leaves', async () => {
  const report = await runSimulation({ seed: 354, nodes: 6, ops: 200 });
  assert.deepEqual(report.failures, [], `reproduce: ${report.command}`);
  assert.equal(report.nemesis.leaves, 1);
});
