// Why: choosing Q, T and weights is a capacity decision an operator makes before a cluster exists, and
// the paper's section 6.2 argument (strategy 3 balances best and moves least) should be checkable
// for their numbers. The planner computes, for any of the three strategies: each node's share of the
// key space (as coordinator and as a replica), the imbalance (max share / mean share), and what one
// node joining or leaving would move. It is pure; `everwrite ring` only formats the result.
import { EverwriteError } from '../base/errors.ts';
import { asNodeId, type NodeId } from '../base/ids.ts';
import { Prng } from '../base/prng.ts';
import { isPowerOfTwo } from './position.ts';
import { claimPartitions, createRing, ringLimits, type Ring, type RingMember } from './ring.ts';
import {
  movedShare,
  placeByRing,
  placeByTokens,
  placeByTokensAndPartitions,
  randomTokens,
  sharesOf,
  type Placement,
  type StrategyNumber,
  type Token,
} from './strategies.ts';

export interface PlanOptions {
  readonly strategy: StrategyNumber;
  /** S: nodes n1..nS, 1 to 1024. */
  readonly nodeCount: number;
  /** T: tokens per node of weight 1 for strategies 1 and 2 (a node of weight w gets round(T * w)). */
  readonly tokensPerNode: number;
  /** Q: equal partitions for strategies 2 and 3, a power of two up to 16384. */
  readonly partitionCount: number;
  /** One weight per node (default all 1). */
  readonly weights?: readonly number[];
  /** Seed of the token positions (strategies 1 and 2); strategy 3 uses no randomness. */
  readonly seed: number;
  /** Replicas per key (N) for replica shares and the spacing target; default 3. */
  readonly replicas?: number;
}

export interface NodeShare {
  readonly node: NodeId;
  readonly weight: number;
  /** Tokens (strategies 1, 2) or partitions owned (strategy 3). */
  readonly tokens: number;
  /** Fraction of the key space this node coordinates. */
  readonly ownedShare: number;
  /** Fraction of the key space this node holds a replica of (the shares sum to N). */
  readonly replicaShare: number;
}

export interface Movement {
  readonly change: 'join' | 'leave';
  readonly node: NodeId;
  /** Fraction of the key space whose coordinator changes. */
  readonly movedShare: number;
  /** Partitions whose owner changes (strategies 2 and 3). */
  readonly partitionsMoved?: number;
}

export interface Plan {
  readonly strategy: StrategyNumber;
  readonly nodeCount: number;
  readonly partitionCount: number;
  readonly tokensPerNode: number;
  readonly replicas: number;
  readonly nodes: readonly NodeShare[];
  /** Max owned share / mean owned share (1 is perfect). */
  readonly imbalance: number;
  /** Max replica share / mean replica share. */
  readonly replicaImbalance: number;
  /** Max of owned share / weighted fair share: how far the heaviest-loaded node is over its due. */
  readonly weightedImbalance: number;
  readonly join: Movement;
  readonly leave: Movement;
}

/** Bounds on planner input so a typo cannot ask for a billion tokens. */
export const plannerLimits = Object.freeze({
  nodesCountMax: 1024,
  tokensPerNodeMax: 4096,
  tokensTotalMax: 1_000_000,
  replicasMax: 16,
});

function badRequest(message: string): EverwriteError {
  return new EverwriteError('EVERWRITE_BAD_REQUEST', message);
}

function validateInteger(value: number, name: string, minimum: number, maximum: number): void {
  if (!Number.isInteger(value) || value < minimum || value > maximum)
    throw badRequest(`${name} must be an integer from ${minimum} to ${maximum}`);
}

function validatePlanOptions(options: PlanOptions): void {
  if (![1, 2, 3].includes(options.strategy)) throw badRequest('strategy must be 1, 2 or 3');
  validateInteger(options.nodeCount, 'nodes', 1, plannerLimits.nodesCountMax);
  validateInteger(options.tokensPerNode, 'tokens', 1, plannerLimits.tokensPerNodeMax);
  validateInteger(options.seed, 'seed', 0, 2 ** 32 - 1);
  validateInteger(options.replicas ?? 3, 'replicas', 1, plannerLimits.replicasMax);
  if (!isPowerOfTwo(options.partitionCount) || options.partitionCount > ringLimits.partitionCountMax) {
    throw badRequest(`partitions must be a power of two from 1 to ${ringLimits.partitionCountMax}`);
  }
  const weights = options.weights;
  if (weights !== undefined && weights.length !== options.nodeCount)
    throw badRequest(`give one weight per node (${options.nodeCount})`);
  if (weights?.some((weight) => !Number.isFinite(weight) || weight <= 0 || weight > ringLimits.weightMax)) {
    throw badRequest(`weights must be numbers above 0 and at most ${ringLimits.weightMax}`);
  }
  const totalTokens = weightsOf(options).reduce((sum, weight) => sum + tokensFor(options.tokensPerNode, weight), 0);
  if (options.strategy !== 3 && totalTokens > plannerLimits.tokensTotalMax)
    throw badRequest(`at most ${plannerLimits.tokensTotalMax} tokens in all`);
}

function weightsOf(options: PlanOptions): readonly number[] {
  return options.weights ?? Array.from({ length: options.nodeCount }, () => 1);
}

/** Tokens for a node of weight `weight` under strategies 1 and 2 (at least one). */
function tokensFor(tokensPerNode: number, weight: number): number {
  return Math.max(1, Math.round(tokensPerNode * weight));
}

const nodeName = (index: number): NodeId => asNodeId(`n${index + 1}`);

/** One layout of the planned cluster, and how to derive it after a join or a leave. */
interface Layout {
  readonly placement: Placement;
  readonly tokenCounts: ReadonlyMap<NodeId, number>;
  readonly partitionOwners?: readonly NodeId[];
}

function tokenLayout(options: PlanOptions, tokens: readonly Token[], replicas: number): Layout {
  const placement =
    options.strategy === 1
      ? placeByTokens(tokens, replicas)
      : placeByTokensAndPartitions(tokens, options.partitionCount, replicas);
  const tokenCounts = new Map<NodeId, number>();
  for (const token of tokens) tokenCounts.set(token.node, (tokenCounts.get(token.node) ?? 0) + 1);
  if (options.strategy === 1) return { placement, tokenCounts };
  return { placement, tokenCounts, partitionOwners: placement.ranges.map((range) => range.owners[0]!) };
}

function ringLayout(ring: Ring, replicas: number): Layout {
  const tokenCounts = new Map<NodeId, number>();
  for (const owner of ring.owners) tokenCounts.set(owner, (tokenCounts.get(owner) ?? 0) + 1);
  return { placement: placeByRing(ring, replicas), tokenCounts, partitionOwners: ring.owners };
}

function movement(change: 'join' | 'leave', node: NodeId, before: Layout, after: Layout): Movement {
  const share = movedShare(before.placement, after.placement);
  if (before.partitionOwners === undefined || after.partitionOwners === undefined)
    return { change, node, movedShare: share };
  const partitionsMoved = before.partitionOwners.filter(
    (owner, partition) => after.partitionOwners![partition] !== owner,
  ).length;
  return { change, node, movedShare: share, partitionsMoved };
}

/** The layout now, after node S+1 (weight 1) joins, and after node S leaves. */
function layouts(options: PlanOptions, replicas: number): { current: Layout; joined: Layout; left: Layout } {
  const weights = weightsOf(options);
  const nodes = weights.map((_, index) => nodeName(index));
  const joiner = nodeName(nodes.length);
  const leaver = nodes[nodes.length - 1]!;
  if (options.strategy === 3) {
    const members: RingMember[] = nodes.map((id, index) => ({ id, weight: weights[index]! }));
    const ring = createRing({ partitionCount: options.partitionCount, members, targetN: replicas });
    const joined = claimPartitions(ring, [...members, { id: joiner, weight: 1 }], { targetN: replicas });
    const left = nodes.length > 1 ? claimPartitions(ring, members.slice(0, -1), { targetN: replicas }) : ring;
    return {
      current: ringLayout(ring, replicas),
      joined: ringLayout(joined, replicas),
      left: ringLayout(left, replicas),
    };
  }
  const prng = new Prng(options.seed);
  const tokens = randomTokens(
    nodes,
    weights.map((weight) => tokensFor(options.tokensPerNode, weight)),
    prng,
  );
  const joinerTokens = randomTokens([joiner], [options.tokensPerNode], prng);
  const remaining = nodes.length > 1 ? tokens.filter((token) => token.node !== leaver) : tokens;
  return {
    current: tokenLayout(options, tokens, replicas),
    joined: tokenLayout(options, [...tokens, ...joinerTokens], replicas),
    left: tokenLayout(options, remaining, replicas),
  };
}

/** Plans a cluster under one strategy: shares, imbalance, and the cost of one join and one leave. */
export function planRing(options: PlanOptions): Plan {
  validatePlanOptions(options);
  const replicas = options.replicas ?? 3;
  const weights = weightsOf(options);
  const { current, joined, left } = layouts(options, replicas);
  const shares = sharesOf(current.placement);
  const totalWeight = weights.reduce((sum, weight) => sum + weight, 0);
  const nodes = weights.map((weight, index): NodeShare => {
    const node = nodeName(index);
    return {
      node,
      weight,
      tokens: current.tokenCounts.get(node) ?? 0,
      ownedShare: shares.owned.get(node) ?? 0,
      replicaShare: shares.replicated.get(node) ?? 0,
    };
  });
  const maxOf = (values: readonly number[]): number => Math.max(...values);
  const meanOf = (values: readonly number[]): number => values.reduce((sum, value) => sum + value, 0) / values.length;
  const owned = nodes.map((node) => node.ownedShare);
  const replicated = nodes.map((node) => node.replicaShare);
  return {
    strategy: options.strategy,
    nodeCount: options.nodeCount,
    partitionCount: options.partitionCount,
    tokensPerNode: options.tokensPerNode,
    replicas,
    nodes,
    imbalance: maxOf(owned) / meanOf(owned),
    replicaImbalance: maxOf(replicated) / meanOf(replicated),
    weightedImbalance: maxOf(nodes.map((node) => node.ownedShare / (node.weight / totalWeight))),
    join: movement('join', nodeName(options.nodeCount), current, joined),
    leave: movement('leave', nodeName(options.nodeCount - 1), current, left),
  };
}
