// Why: the planner's comparison of the paper's three strategies is only meaningful if each placement
// covers the ring exactly once and sends a key where the strategy says it goes. Checked here against
// brute force: for tokens, "the first token strictly after the key"; for ranges, a linear scan.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { propertyOptions } from '../../../support/property.ts';
import { asNodeId, type NodeId } from '../../../../src/core/base/ids.ts';
import { Prng } from '../../../../src/core/base/prng.ts';
import {
  createRing,
  placeByRing,
  placeByTokens,
  placeByTokensAndPartitions,
  randomTokens,
  rangeAt,
  ringSize,
  sharesOf,
  type Placement,
  type Token,
} from '../../../../src/core/ring/index.ts';
import { partitionCountArbitrary } from './arbitraries.ts';

interface StrategyCase {
  readonly nodes: NodeId[];
  readonly tokens: Token[];
  readonly partitionCount: number;
  readonly n: number;
  readonly placements: Placement[];
}

const strategyCase: fc.Arbitrary<StrategyCase> = fc
  .tuple(
    fc.integer({ min: 1, max: 6 }),
    fc.integer({ min: 1, max: 8 }),
    partitionCountArbitrary,
    fc.integer({ min: 1, max: 4 }),
    fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  )
  .map(([nodeCount, tokensPerNode, partitionCount, n, seed]) => {
    const nodes = Array.from({ length: nodeCount }, (_, index) => asNodeId(`n${index + 1}`));
    const tokens = randomTokens(
      nodes,
      nodes.map(() => tokensPerNode),
      new Prng(seed),
    );
    const ring = createRing({ partitionCount, members: nodes.map((id) => ({ id })) });
    const placements = [
      placeByTokens(tokens, n),
      placeByTokensAndPartitions(tokens, partitionCount, n),
      placeByRing(ring, n),
    ];
    return { nodes, tokens, partitionCount, n, placements };
  });

test('every strategy covers the whole ring exactly once, and shares sum to 1 (owned) and N (replicas)', () => {
  fc.assert(
    fc.property(strategyCase, ({ nodes, n, placements }) => {
      for (const placement of placements) {
        let next = 0;
        for (const range of placement.ranges) {
          assert.equal(range.start, next, `strategy ${placement.strategy}: ranges are contiguous`);
          assert.ok(range.size > 0);
          next += range.size;
        }
        assert.equal(next, ringSize, `strategy ${placement.strategy}: ranges end at 2^52`);
        const shares = sharesOf(placement);
        const owned = [...shares.owned.values()].reduce((sum, share) => sum + share, 0);
        const replicated = [...shares.replicated.values()].reduce((sum, share) => sum + share, 0);
        const owning = new Set(placement.ranges.map((range) => range.owners[0]));
        assert.ok(Math.abs(owned - 1) < 1e-9, `strategy ${placement.strategy}: owned shares sum to ${owned}`);
        assert.ok(
          Math.abs(replicated - Math.min(n, placement.strategy === 3 ? owning.size : nodes.length)) < 1e-9,
          `strategy ${placement.strategy}: replica shares sum to ${replicated}`,
        );
      }
    }),
    propertyOptions(),
  );
});

/** Brute force: the node of the first token strictly after `position`, wrapping around. */
function firstTokenAfter(tokens: readonly Token[], position: number): NodeId {
  const sorted = [...tokens].sort((a, b) => a.position - b.position || (a.node < b.node ? -1 : 1));
  return (sorted.find((token) => token.position > position) ?? sorted[0]!).node;
}

test('a key lands where its strategy says: first token after it (1), first token after its partition (2), the partition owner (3)', () => {
  const positionArbitrary = fc.oneof(
    fc.integer({ min: 0, max: 2 ** 31 - 1 }).map((value) => value * 2 ** 21),
    fc.integer({ min: 0, max: ringSize - 1 }),
    fc.constantFrom(0, ringSize - 1),
  );
  fc.assert(
    fc.property(strategyCase, positionArbitrary, ({ tokens, partitionCount, placements }, position) => {
      const [byTokens, byTokensAndPartitions, byRing] = placements as [Placement, Placement, Placement];
      assert.equal(byTokens.ranges[rangeAt(byTokens, position)]!.owners[0], firstTokenAfter(tokens, position));
      const partitionSize = ringSize / partitionCount;
      const partitionEnd = (Math.floor(position / partitionSize) + 1) * partitionSize;
      assert.equal(
        byTokensAndPartitions.ranges[rangeAt(byTokensAndPartitions, position)]!.owners[0],
        firstTokenAfter(tokens, partitionEnd - 1),
      );
      const range = byRing.ranges[rangeAt(byRing, position)]!;
      assert.ok(range.start <= position && position < range.start + range.size);
    }),
    propertyOptions(),
  );
});
