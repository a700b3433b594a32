// Why: decision 0015 claims a new cluster view, adopted at one node, reaches all S nodes in
// O(log S) gossip rounds, pulling the whole view once per node. This runs the node core's
// ViewGossip over the simulator's network at S = 64 and S = 1,000, with no seeds (a purely random
// epidemic, the worst case: seeds only add a hub) and bounds the rounds by 2 * log2(S).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulateViewSpread } from '../../src/sim/view-spread.ts';

const roundsPerLog2 = 2;

for (const [nodes, seeds] of [
  [64, [1, 2, 3]],
  [1000, [1]],
] as const) {
  test(
    `a new view reaches all ${nodes} nodes within ${roundsPerLog2} * log2(${nodes}) rounds, one whole view pulled per node`,
    { timeout: 60_000 },
    () => {
      for (const seed of seeds) {
        const result = simulateViewSpread({ nodes, seed, seeds: 0 });
        console.log(
          `# S=${nodes} seed ${seed}: ${result.rounds} rounds (log2 S = ${Math.log2(nodes).toFixed(2)}), ${result.fullViewsSent} whole views, ${result.digestsSent} digests, ${result.elapsedMs.toFixed(0)} ms`,
        );
        assert.equal(result.reached, nodes, `seed ${seed}: every node holds the new view`);
        assert.ok(result.rounds <= roundsPerLog2 * Math.log2(nodes), `seed ${seed}: ${result.rounds} rounds`);
        assert.ok(
          result.fullViewsSent <= 1.5 * (nodes - 1),
          `seed ${seed}: ${result.fullViewsSent} whole views sent for ${nodes - 1} adoptions`,
        );
      }
    },
  );
}
