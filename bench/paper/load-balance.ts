// Why: the paper's Figure 8 (section 6.2) compares the load-balancing efficiency of its three
// partitioning strategies against the membership metadata each node keeps, and Figure 6 the share
// of nodes more than 15% above the mean load. This computes both for S nodes with the very
// placement code the planner uses (src/core/ring/strategies.ts): each key of a fixed key set is
// hashed to the ring like a node hashes it, and each node's load is the sum of the request shares of
// the keys it serves, exactly (no sampling), under uniform and zipfian (theta 0.99) popularity.
// Efficiency is the paper's: mean load / load of the busiest node.
import { createHash } from 'node:crypto';
import { asNodeId, type NodeId } from '../../src/core/base/ids.ts';
import { Prng } from '../../src/core/base/prng.ts';
import { keyHash, ringPosition } from '../../src/core/ring/position.ts';
import { createRing } from '../../src/core/ring/ring.ts';
import {
  placeByRing,
  placeByTokens,
  placeByTokensAndPartitions,
  randomTokens,
  rangeAt,
  type Placement,
  type StrategyNumber,
} from '../../src/core/ring/strategies.ts';

const md5 = (bytes: Uint8Array): Uint8Array => createHash('md5').update(bytes).digest();

export interface KeySet {
  readonly positions: Float64Array;
  /** Request share of each key under zipfian popularity (rank i = key i), summing to 1. */
  readonly zipfianShares: Float64Array;
}

export function buildKeySet(keys: number, theta = 0.99): KeySet {
  const positions = new Float64Array(keys);
  const zipfianShares = new Float64Array(keys);
  let zeta = 0;
  for (let rank = 0; rank < keys; rank++) {
    positions[rank] = ringPosition(keyHash(md5, 'bench', `k${rank}`));
    zipfianShares[rank] = 1 / (rank + 1) ** theta;
    zeta += zipfianShares[rank] as number;
  }
  for (let rank = 0; rank < keys; rank++) zipfianShares[rank] = (zipfianShares[rank] as number) / zeta;
  return { positions, zipfianShares };
}

export interface BalanceRow {
  readonly strategy: StrategyNumber;
  /** T (tokens per node) for strategies 1 and 2, Q for strategy 3. */
  readonly parameter: string;
  /** Entries of the membership metadata every node keeps: tokens (1, 2) or partitions (3). */
  readonly metadataEntries: number;
  /** The same in bytes: a token is a 52-bit position and a node index (8 + 2 bytes), a partition a node index (2 bytes). */
  readonly metadataBytes: number;
  readonly uniformEfficiency: number;
  readonly zipfianEfficiency: number;
  /** Fraction of nodes whose zipfian load is more than 15% above the mean. */
  readonly zipfianOutOfBalance: number;
  readonly uniformOutOfBalance: number;
}

const nodeIds = (count: number): NodeId[] => Array.from({ length: count }, (_, index) => asNodeId(`n${index + 1}`));

function placement(
  strategy: StrategyNumber,
  nodes: readonly NodeId[],
  tokensPerNode: number,
  partitionCount: number,
  seed: number,
): Placement {
  if (strategy === 3)
    return placeByRing(createRing({ partitionCount, members: nodes.map((id) => ({ id })), targetN: 3 }), 3);
  const tokens = randomTokens(
    nodes,
    nodes.map(() => tokensPerNode),
    new Prng(seed),
  );
  return strategy === 1 ? placeByTokens(tokens, 3) : placeByTokensAndPartitions(tokens, partitionCount, 3);
}

/** Load per node when a request for key k goes to its coordinator (the first of its N owners). */
function loads(place: Placement, keySet: KeySet, shareOf: (rank: number) => number): Map<NodeId, number> {
  const load = new Map<NodeId, number>();
  for (let rank = 0; rank < keySet.positions.length; rank++) {
    const owner = place.ranges[rangeAt(place, keySet.positions[rank] as number)]!.owners[0]!;
    load.set(owner, (load.get(owner) ?? 0) + shareOf(rank));
  }
  return load;
}

function balance(
  load: ReadonlyMap<NodeId, number>,
  nodes: readonly NodeId[],
): { efficiency: number; outOfBalance: number } {
  const values = nodes.map((node) => load.get(node) ?? 0);
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  return {
    efficiency: mean / Math.max(...values),
    outOfBalance: values.filter((value) => value > 1.15 * mean).length / values.length,
  };
}

export function measureBalance(
  strategy: StrategyNumber,
  nodeCount: number,
  tokensPerNode: number,
  partitionCount: number,
  keySet: KeySet,
  seed: number,
): BalanceRow {
  const nodes = nodeIds(nodeCount);
  const place = placement(strategy, nodes, tokensPerNode, partitionCount, seed);
  const uniform = balance(
    loads(place, keySet, () => 1 / keySet.positions.length),
    nodes,
  );
  const zipfian = balance(
    loads(place, keySet, (rank) => keySet.zipfianShares[rank] as number),
    nodes,
  );
  const metadataEntries = strategy === 3 ? partitionCount : nodeCount * tokensPerNode;
  return {
    strategy,
    parameter:
      strategy === 3
        ? `Q=${partitionCount}`
        : strategy === 2
          ? `T=${tokensPerNode}, Q=${partitionCount}`
          : `T=${tokensPerNode}`,
    metadataEntries,
    metadataBytes: metadataEntries * (strategy === 3 ? 2 : 10),
    uniformEfficiency: uniform.efficiency,
    zipfianEfficiency: zipfian.efficiency,
    zipfianOutOfBalance: zipfian.outOfBalance,
    uniformOutOfBalance: uniform.outOfBalance,
  };
}
