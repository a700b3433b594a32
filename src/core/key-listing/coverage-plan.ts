// Why: listing a bucket's keys must read every partition once, and a partition's keys live on each
// of its N primaries, so one live primary per partition is enough (the coverage queries of Riak,
// learned from its documentation). Asking fewer nodes means fewer connections tied up by an
// expensive scan, so the plan is a set cover: greedily take the live node holding the most
// partitions still uncovered (ties: the preferred node, usually the coordinator itself, then the
// smallest id), which is deterministic and within ln(Q) of the smallest cover. A partition no
// live primary holds is reported in `uncovered`, never dropped (decision 0030).
import type { NodeId, PartitionIndex } from '../base/ids.ts';
import { asPartitionIndex } from '../base/ids.ts';
import { compareIds } from '../ring/ring.ts';
import { primaryNodes, type Ring } from '../ring/index.ts';

export interface CoveragePlanInput {
  readonly ring: Ring;
  /** The bucket's replica count N. */
  readonly n: number;
  /** Liveness as the planning node believes it. */
  readonly isAlive: (node: NodeId) => boolean;
  /** Preferred among nodes covering as many partitions (the coordinator: its scan needs no network). */
  readonly preferred?: NodeId;
  /** Nodes not to ask (they failed to answer during this listing). */
  readonly excluded?: ReadonlySet<NodeId>;
  /** Plan only these partitions (ascending); every partition when absent. */
  readonly partitions?: readonly PartitionIndex[];
}

export interface CoveragePlan {
  /** For each partition planned, in ascending order, the node to ask; undefined when no live primary holds it. */
  readonly assignments: ReadonlyArray<{ readonly partition: PartitionIndex; readonly node: NodeId | undefined }>;
  /** The distinct nodes asked, in the order the greedy cover chose them. */
  readonly nodes: readonly NodeId[];
  /** Partitions with no live primary (ascending): a listing over this plan is partial. */
  readonly uncovered: readonly PartitionIndex[];
}

/** One live primary per partition, covering every partition that has one with as few nodes as the greedy cover finds. */
export function planCoverage(input: CoveragePlanInput): CoveragePlan {
  const partitions = input.partitions ?? allPartitions(input.ring.partitionCount);
  const candidates = liveHolders(input, partitions);
  const chosen = greedyCover(candidates, input.preferred);
  const order = new Map(chosen.map((node, rank) => [node, rank]));
  const uncovered: PartitionIndex[] = [];
  const assignments = partitions.map((partition, position) => {
    const node = firstChosen(candidates[position] as readonly NodeId[], order);
    if (node === undefined) uncovered.push(partition);
    return { partition, node };
  });
  return { assignments, nodes: chosen, uncovered };
}

function allPartitions(partitionCount: number): PartitionIndex[] {
  return Array.from({ length: partitionCount }, (_, index) => asPartitionIndex(index));
}

/** Per partition, its primaries believed alive and not excluded. */
function liveHolders(input: CoveragePlanInput, partitions: readonly PartitionIndex[]): NodeId[][] {
  const n = Math.min(input.n, input.ring.members.length);
  return partitions.map((partition) =>
    primaryNodes(input.ring, partition, Math.max(1, n)).filter(
      (node) => input.isAlive(node) && input.excluded?.has(node) !== true,
    ),
  );
}

/** Greedy set cover over the partitions' candidate lists; answers the chosen nodes in choice order. */
function greedyCover(candidates: readonly (readonly NodeId[])[], preferred: NodeId | undefined): NodeId[] {
  const uncovered = new Set<number>();
  candidates.forEach((holders, position) => {
    if (holders.length > 0) uncovered.add(position);
  });
  const chosen: NodeId[] = [];
  while (uncovered.size > 0) {
    const counts = new Map<NodeId, number>();
    for (const position of uncovered)
      for (const node of candidates[position] as readonly NodeId[]) counts.set(node, (counts.get(node) ?? 0) + 1);
    const best = bestNode(counts, preferred);
    chosen.push(best);
    for (const position of [...uncovered])
      if ((candidates[position] as readonly NodeId[]).includes(best)) uncovered.delete(position);
  }
  return chosen;
}

function bestNode(counts: ReadonlyMap<NodeId, number>, preferred: NodeId | undefined): NodeId {
  let best: NodeId | undefined;
  let bestCount = 0;
  for (const [node, count] of counts) {
    const better =
      count > bestCount ||
      (count === bestCount &&
        best !== undefined &&
        node !== best &&
        (node === preferred || (best !== preferred && compareIds(node, best) < 0)));
    if (better) {
      best = node;
      bestCount = count;
    }
  }
  return best as NodeId;
}

/** The holder chosen earliest by the cover: every partition's holders include at least one chosen node. */
function firstChosen(holders: readonly NodeId[], order: ReadonlyMap<NodeId, number>): NodeId | undefined {
  let first: NodeId | undefined;
  for (const node of holders) {
    const rank = order.get(node);
    if (rank !== undefined && (first === undefined || rank < (order.get(first) as number))) first = node;
  }
  return first;
}
