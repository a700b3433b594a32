// Why: prints how many gossip rounds a new cluster view takes to reach every node, next to
// log2(S), for the figures in docs/BENCHMARKS.md (decision 0015). Each row is one deterministic
// simulator run (src/sim/view-spread.ts) of the node core's ViewGossip; it prints, never asserts.
//   npx tsx bench/view-spread.ts [--runs 5]
import { parseArgs } from 'node:util';
import { simulateViewSpread } from '../src/sim/view-spread.ts';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const runs = Number(args.runs);

console.log(
  'S      seeds  log2(S)  rounds (min / median / max over runs)  whole views per node  digests per node per round',
);
for (const nodes of [16, 64, 256, 1000]) {
  for (const seeds of [0, 3]) {
    const results = Array.from({ length: runs }, (_, index) => simulateViewSpread({ nodes, seed: index + 1, seeds }));
    const rounds = results.map((result) => result.rounds).sort((a, b) => a - b);
    const wholeViews = results.reduce((sum, result) => sum + result.fullViewsSent, 0) / runs / (nodes - 1);
    const digests =
      results.reduce((sum, result) => sum + result.digestsSent / Math.max(1, result.rounds + 2), 0) / runs / nodes;
    console.log(
      `${String(nodes).padEnd(7)}${String(seeds).padEnd(7)}${Math.log2(nodes).toFixed(2).padEnd(9)}${`${rounds[0]} / ${rounds[Math.floor(runs / 2)]} / ${rounds[runs - 1]}`.padEnd(39)}${wholeViews.toFixed(2).padEnd(22)}${digests.toFixed(2)}`,
    );
  }
}
