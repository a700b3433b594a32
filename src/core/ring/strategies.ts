// Why: the paper (section 6.2) compares three partitioning strategies, and the ring planner and its
// benchmark reproduce that comparison. All three are reduced here to one abstraction, a Placement:
// the ring cut into contiguous ranges, each with its ordered owners (the first N distinct nodes of
// its preference walk, coordinator first), so shares and movement are computed the same way for all.
//   1. T random tokens per node; the ranges are those between consecutive tokens.
//   2. T random tokens per node and Q equal partitions; a partition belongs to the first token
//      clockwise from its end, and its replicas to the nodes of the next tokens.
//   3. Q equal partitions dealt to nodes (the live ring, ring.ts); the walk is over partitions.
// Convention: a key at position p belongs to the first token strictly after p, so a token's range
// is [previous token, token), and a partition [start, end) goes to the first token at or after end.
import { assert } from '../base/assert.ts';
import { asPartitionIndex, type NodeId } from '../base/ids.ts';
import type { Prng } from '../base/prng.ts';
import { primaryNodes } from './preference.ts';
import { ringSize, type RingPosition } from './position.ts';
import type { Ring } from './ring.ts';

export type StrategyNumber = 1 | 2 | 3;

export interface Token {
  readonly position: RingPosition;
  readonly node: NodeId;
}

export interface PlacementRange {
  /** First position of the range; the range is [start, start + size). */
  readonly start: RingPosition;
  readonly size: number;
  /** The first N distinct nodes of the preference walk from this range, coordinator first. */
  readonly owners: readonly NodeId[];
}

export interface Placement {
  readonly strategy: StrategyNumber;
  /** Contiguous ranges sorted by start, covering [0, 2^52) exactly once. */
  readonly ranges: readonly PlacementRange[];
}

/** A uniformly random ring position from the seeded generator (52 bits from two 32-bit draws). */
export function randomPosition(prng: Prng): RingPosition {
  return prng.nextUint32() * 2 ** 20 + (prng.nextUint32() >>> 12);
}

/** `tokensPerNode[i]` random tokens for `nodes[i]`, sorted by position (ties by node id). */
export function randomTokens(nodes: readonly NodeId[], tokensPerNode: readonly number[], prng: Prng): Token[] {
  assert(nodes.length === tokensPerNode.length, 'one token count per node');
  const tokens: Token[] = [];
  nodes.forEach((node, index) => {
    for (let count = 0; count < tokensPerNode[index]!; count++) tokens.push({ position: randomPosition(prng), node });
  });
  return sortTokens(tokens);
}

export function sortTokens(tokens: readonly Token[]): Token[] {
  return [...tokens].sort((a, b) => a.position - b.position || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
}

/** The first `n` distinct nodes among the sorted tokens, starting at token `first` and wrapping. */
function tokenWalk(tokens: readonly Token[], first: number, n: number): NodeId[] {
  const owners: NodeId[] = [];
  for (let step = 0; step < tokens.length && owners.length < n; step++) {
    const node = tokens[(first + step) % tokens.length]!.node;
    if (!owners.includes(node)) owners.push(node);
  }
  return owners;
}

/** Index of the first token strictly after `position`, wrapping to 0 (binary search). */
export function tokenAfter(tokens: readonly Token[], position: RingPosition): number {
  let low = 0;
  let high = tokens.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (tokens[middle]!.position > position) high = middle;
    else low = middle + 1;
  }
  return low === tokens.length ? 0 : low;
}

/** Strategy 1: one range per gap between consecutive tokens (the wrapping gap split at 0). */
export function placeByTokens(tokens: readonly Token[], n: number): Placement {
  assert(tokens.length > 0, 'strategy 1 needs at least one token');
  const sorted = sortTokens(tokens);
  const ranges: PlacementRange[] = [];
  let start = 0;
  sorted.forEach((token, index) => {
    if (token.position > start)
      ranges.push({ start, size: token.position - start, owners: tokenWalk(sorted, index, n) });
    start = Math.max(start, token.position);
  });
  if (start < ringSize) ranges.push({ start, size: ringSize - start, owners: tokenWalk(sorted, 0, n) });
  return { strategy: 1, ranges };
}

/** Strategy 2: Q equal partitions, each walked from the first token at or after its end. */
export function placeByTokensAndPartitions(tokens: readonly Token[], partitionCount: number, n: number): Placement {
  assert(tokens.length > 0, 'strategy 2 needs at least one token');
  const sorted = sortTokens(tokens);
  const size = ringSize / partitionCount;
  const ranges: PlacementRange[] = [];
  for (let partition = 0; partition < partitionCount; partition++) {
    const lastPosition = (partition + 1) * size - 1;
    ranges.push({ start: partition * size, size, owners: tokenWalk(sorted, tokenAfter(sorted, lastPosition), n) });
  }
  return { strategy: 2, ranges };
}

/** Strategy 3: the live ring's partitions, each with its primary nodes. */
export function placeByRing(ring: Ring, n: number): Placement {
  const size = ringSize / ring.partitionCount;
  const ranges: PlacementRange[] = [];
  for (let partition = 0; partition < ring.partitionCount; partition++) {
    ranges.push({ start: partition * size, size, owners: primaryNodes(ring, asPartitionIndex(partition), n) });
  }
  return { strategy: 3, ranges };
}

/** Index of the range holding `position` (binary search). */
export function rangeAt(placement: Placement, position: RingPosition): number {
  const { ranges } = placement;
  let low = 0;
  let high = ranges.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >>> 1;
    if (ranges[middle]!.start <= position) low = middle;
    else high = middle - 1;
  }
  return low;
}

export interface Shares {
  /** Fraction of the key space each node coordinates (is first owner of); sums to 1. */
  readonly owned: ReadonlyMap<NodeId, number>;
  /** Fraction of the key space each node holds a replica of; sums to the replica count. */
  readonly replicated: ReadonlyMap<NodeId, number>;
}

export function sharesOf(placement: Placement): Shares {
  const owned = new Map<NodeId, number>();
  const replicated = new Map<NodeId, number>();
  for (const range of placement.ranges) {
    const fraction = range.size / ringSize;
    const coordinator = range.owners[0]!;
    owned.set(coordinator, (owned.get(coordinator) ?? 0) + fraction);
    for (const node of range.owners) replicated.set(node, (replicated.get(node) ?? 0) + fraction);
  }
  return { owned, replicated };
}

/** Fraction of the key space whose coordinator differs between two placements (a merge of ranges). */
export function movedShare(before: Placement, after: Placement): number {
  let moved = 0;
  let left = 0;
  let right = 0;
  let position = 0;
  while (position < ringSize) {
    const leftRange = before.ranges[left]!;
    const rightRange = after.ranges[right]!;
    const end = Math.min(leftRange.start + leftRange.size, rightRange.start + rightRange.size);
    if (leftRange.owners[0] !== rightRange.owners[0]) moved += end - position;
    position = end;
    if (leftRange.start + leftRange.size === end) left++;
    if (rightRange.start + rightRange.size === end) right++;
  }
  return moved / ringSize;
}
