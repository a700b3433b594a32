// Why: strategy 3 (Q equal partitions) is only as good as the rule that hands partitions to nodes.
// Moving a partition costs a bulk transfer, so a membership change must move as little as it can:
// a join moves partitions only TO the joiner, a leave moves only the leaver's partitions, a weight or
// zone change moves partitions only to or from the changed node, and partitions move between two
// unchanged nodes only in a plain rebalance (same members, nothing changed). Movement is a hard
// rule. Within it, counts track the weighted fair share Q * w / W (a new ring and a plain rebalance
// end within one partition of it; joins and leaves, which may not shuffle stayers, within two, one
// in practice), and owners of any `targetN` consecutive partitions are kept distinct, in distinct
// zones when zones are given, so a preference list of N distinct nodes comes from neighbouring
// partitions. Spacing is best effort: it cannot always hold (fewer nodes than N, a node weighing
// more than 1/N of the ring, Q not a multiple of S).
//
// The claim works on member indexes (0..S-1, members sorted by id) and runs in three steps:
//   1. counts: free partitions (no owner, or a leaver's) go one by one to the member furthest below
//      its fair share; then single transfers donor -> recipient are planned, best pair first, while
//      they reduce the squared distance from the fair shares and the movement rules allow them;
//   2. placement: free partitions are dealt in ring order, each to the recipient that conflicts least
//      with its neighbours and is furthest behind its quota; transfers pick, one at a time, the
//      donor partition that conflicts least and lies furthest from the recipient's other partitions;
//   3. repair: while a moved partition conflicts, rotate moved partitions around a cycle of members
//      (a swap is the shortest) when that lowers the conflicts; counts and movement rules are kept.
import { assert } from '../base/assert.ts';

/** How a member relates to the ring before the claim. */
export type MemberChange = 'joined' | 'changed' | 'unchanged';

export interface ClaimMember {
  /** Relative capacity; the member's fair share is Q * weight / total weight. */
  readonly weight: number;
  /** Zone number; members without a zone each get a zone number of their own. */
  readonly zone: number;
  readonly change: MemberChange;
}

export interface ClaimInput {
  /** Owner (member index) of each partition before the claim; -1 when it has none or a leaver's. */
  readonly previousOwners: Int32Array;
  readonly members: readonly ClaimMember[];
  /** Owners of any `targetN` consecutive partitions should be distinct. */
  readonly targetN: number;
  /** Whether any member of the previous ring is gone (even one that owned nothing). */
  readonly someoneLeft: boolean;
}

/** The partition layout being built, with what the spacing checks need. */
interface Layout {
  readonly owners: Int32Array;
  readonly mask: number;
  readonly nodeWindow: number;
  readonly zoneWindow: number;
  readonly zoneOf: Int32Array;
  readonly checkZones: boolean;
}

/** Work budget of the repair step, in penalty evaluations, so large rings claim in bounded time. */
const repairEvaluationsMax = 4_000_000;
/** Conflict costs: a node repeated within the window is worse than a zone repeated. */
const nodeConflictCost = 4;
const zoneConflictCost = 2;
const epsilon = 1e-9;

/** New owner (member index) of each partition. Deterministic: same input, same output. */
export function claimOwners(input: ClaimInput): Int32Array {
  const partitionCount = input.previousOwners.length;
  assert(partitionCount > 0 && (partitionCount & (partitionCount - 1)) === 0, 'partition count must be a power of two');
  assert(input.members.length > 0, 'a claim needs at least one member');
  const counts = ownedCounts(input);
  const fairShares = fairSharesOf(input.members, partitionCount);
  const targets = Int32Array.from(counts);
  const freeUnits = distributeFree(input.previousOwners, fairShares, targets);
  const rules = movementRules(input);
  const transfers = planTransfers(rules, fairShares, targets, counts);
  const layout = createLayout(input);
  const moved = new Uint8Array(partitionCount);
  assignFree(layout, freeUnits, moved);
  assignTransfers(layout, transfers, input.members.length, moved);
  repairSpacing(layout, input.previousOwners, rules, moved);
  return layout.owners;
}

function ownedCounts(input: ClaimInput): Int32Array {
  const counts = new Int32Array(input.members.length);
  for (const owner of input.previousOwners) {
    assert(owner < input.members.length, 'previous owner out of range');
    if (owner >= 0) counts[owner]!++;
  }
  return counts;
}

function fairSharesOf(members: readonly ClaimMember[], partitionCount: number): Float64Array {
  let totalWeight = 0;
  for (const member of members) totalWeight += member.weight;
  return Float64Array.from(members, (member) => (partitionCount * member.weight) / totalWeight);
}

/** Step 1a: each free partition raises the count of the member furthest below its fair share. */
function distributeFree(previousOwners: Int32Array, fairShares: Float64Array, targets: Int32Array): Int32Array {
  const freeUnits = new Int32Array(targets.length);
  let freeCount = 0;
  for (const owner of previousOwners) if (owner < 0) freeCount++;
  for (let unit = 0; unit < freeCount; unit++) {
    let best = 0;
    for (let member = 1; member < targets.length; member++) {
      if (fairShares[member]! - targets[member]! > fairShares[best]! - targets[best]! + epsilon) best = member;
    }
    targets[best]!++;
    freeUnits[best]!++;
  }
  return freeUnits;
}

/** Who may hand a partition to whom (see the file comment). */
interface MovementRules {
  /** No member joined, left or changed: a plain rebalance, any move allowed. */
  readonly plainRebalance: boolean;
  readonly changes: readonly MemberChange[];
}

function movementRules(input: ClaimInput): MovementRules {
  const changes = input.members.map((member) => member.change);
  const plainRebalance =
    !input.someoneLeft &&
    changes.every((change) => change === 'unchanged') &&
    input.previousOwners.every((owner) => owner >= 0);
  return { plainRebalance, changes };
}

/** Whether the rules let a partition go from `donor` to `recipient` (-1: a free partition). */
function moveAllowed(rules: MovementRules, donor: number, recipient: number): boolean {
  if (donor < 0 || donor === recipient || rules.plainRebalance) return true;
  return rules.changes[recipient] !== 'unchanged' || rules.changes[donor] === 'changed';
}

/**
 * Step 1b: single partitions donor -> recipient, best pair first, while a move lowers the squared
 * distance to the fair shares (surplus of the donor + deficit of the recipient > 1) and is allowed.
 * Returns units per pair, keyed donor * S + recipient.
 */
function planTransfers(
  rules: MovementRules,
  fairShares: Float64Array,
  targets: Int32Array,
  counts: Int32Array,
): Map<number, number> {
  const transfers = new Map<number, number>();
  const given = new Int32Array(counts.length);
  const partitionCount = counts.reduce((sum, count) => sum + count, 0);
  for (let round = 0; round <= partitionCount; round++) {
    const pair = bestTransfer(
      rules,
      fairShares,
      targets,
      (donor) => given[donor]! < counts[donor]! && targets[donor]! > 0,
    );
    if (pair === undefined) return transfers;
    const [donor, recipient] = pair;
    targets[donor]!--;
    targets[recipient]!++;
    given[donor]!++;
    const key = donor * counts.length + recipient;
    transfers.set(key, (transfers.get(key) ?? 0) + 1);
  }
  assert(false, 'transfer planning did not converge');
}

/** The two best members by `score` among the `eligible` ones (-1 when missing). */
function bestTwo(
  memberCount: number,
  score: (member: number) => number,
  eligible: (member: number) => boolean,
): [number, number] {
  let first = -1;
  let second = -1;
  for (let member = 0; member < memberCount; member++) {
    if (!eligible(member)) continue;
    if (first < 0 || score(member) > score(first) + epsilon) {
      second = first;
      first = member;
    } else if (second < 0 || score(member) > score(second) + epsilon) {
      second = member;
    }
  }
  return [first, second];
}

/**
 * The allowed pair with the largest surplus + deficit above 1, in O(S): either a recipient that may
 * take from anyone paired with the best donor, or a changed donor paired with the best recipient.
 */
function bestTransfer(
  rules: MovementRules,
  fairShares: Float64Array,
  targets: Int32Array,
  canGive: (member: number) => boolean,
): [number, number] | undefined {
  const memberCount = targets.length;
  const surplus = (member: number): number => targets[member]! - fairShares[member]!;
  const deficit = (member: number): number => fairShares[member]! - targets[member]!;
  const donors = bestTwo(memberCount, surplus, canGive);
  const recipients = bestTwo(memberCount, deficit, () => true);
  let bestScore = 1 + epsilon;
  let best: [number, number] | undefined;
  const consider = (donor: number, recipient: number): void => {
    if (donor < 0 || recipient < 0) return;
    const score = surplus(donor) + deficit(recipient);
    if (score > bestScore) {
      bestScore = score;
      best = [donor, recipient];
    }
  };
  for (let member = 0; member < memberCount; member++) {
    if (rules.plainRebalance || rules.changes[member] !== 'unchanged')
      consider(donors[0] === member ? donors[1] : donors[0], member);
    if (rules.changes[member] === 'changed' && canGive(member))
      consider(member, recipients[0] === member ? recipients[1] : recipients[0]);
  }
  return best;
}

function createLayout(input: ClaimInput): Layout {
  const zones = new Set(input.members.map((member) => member.zone));
  const zoneOf = Int32Array.from(input.members, (member) => member.zone);
  return {
    owners: Int32Array.from(input.previousOwners),
    mask: input.previousOwners.length - 1,
    nodeWindow: Math.min(input.targetN, input.members.length),
    zoneWindow: Math.min(input.targetN, zones.size),
    zoneOf,
    checkZones: zones.size > 1 && zones.size < input.members.length,
  };
}

/** How badly `member` would sit at `partition`: repeats of it, and of its zone, within the window. */
function conflictPenalty(layout: Layout, partition: number, member: number): number {
  const { owners, mask } = layout;
  let penalty = 0;
  for (let distance = 1; distance < layout.nodeWindow; distance++) {
    const after = (partition + distance) & mask;
    const before = (partition - distance) & mask;
    if (after !== partition && owners[after] === member) penalty += nodeConflictCost;
    if (before !== partition && owners[before] === member) penalty += nodeConflictCost;
  }
  if (!layout.checkZones) return penalty;
  const zone = layout.zoneOf[member];
  for (let distance = 1; distance < layout.zoneWindow; distance++) {
    for (const neighbour of [(partition + distance) & mask, (partition - distance) & mask]) {
      const owner = owners[neighbour]!;
      if (neighbour !== partition && owner >= 0 && owner !== member && layout.zoneOf[owner] === zone)
        penalty += zoneConflictCost;
    }
  }
  return penalty;
}

/**
 * A fixed pseudo-random 32-bit mix of (partition, member): the tie-break among members equally due.
 * It makes each round of the deal a different permutation, so a node's partitions end up with varied
 * neighbours; with a fixed round-robin every partition of a leaver would sit between the same two
 * pairs of nodes, and only S - 5 of the stayers could take them without breaking the spacing.
 */
function tieBreak(partition: number, member: number): number {
  let mixed = Math.imul(partition ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(member + 0x68e31da4, 0xc2b2ae35);
  mixed ^= mixed >>> 15;
  mixed = Math.imul(mixed, 0x2c1b3c6d);
  mixed ^= mixed >>> 12;
  return mixed >>> 0;
}

/**
 * Step 2a: deal free partitions in ring order. Each goes to the recipient that conflicts least with
 * its neighbours; among those, the one most partitions behind its proportional schedule; among
 * those, the first by the fixed tie-break.
 */
function assignFree(layout: Layout, freeUnits: Int32Array, moved: Uint8Array): void {
  const received = new Int32Array(freeUnits.length);
  const freeTotal = freeUnits.reduce((sum, units) => sum + units, 0);
  let dealt = 0;
  for (let partition = 0; partition < layout.owners.length; partition++) {
    if (layout.owners[partition]! >= 0) continue;
    let best = -1;
    let bestKey: readonly [number, number, number] = [0, 0, 0];
    for (let member = 0; member < freeUnits.length; member++) {
      if (received[member]! >= freeUnits[member]!) continue;
      const behind = Math.floor(((dealt + 1) * freeUnits[member]!) / freeTotal - received[member]! + epsilon);
      const key = [conflictPenalty(layout, partition, member), -behind, tieBreak(partition, member)] as const;
      if (
        best < 0 ||
        key[0] < bestKey[0] ||
        (key[0] === bestKey[0] && (key[1] < bestKey[1] || (key[1] === bestKey[1] && key[2] < bestKey[2])))
      ) {
        best = member;
        bestKey = key;
      }
    }
    assert(best >= 0, 'free partitions outnumber the planned free units');
    layout.owners[partition] = best;
    received[best]!++;
    moved[partition] = 1;
    dealt++;
  }
}

/** Step 2b: one partition at a time to the recipient most behind, from one of its planned donors. */
function assignTransfers(layout: Layout, transfers: Map<number, number>, memberCount: number, moved: Uint8Array): void {
  const remaining = new Map(transfers);
  const incoming = new Int32Array(memberCount);
  for (const [key, units] of transfers) incoming[key % memberCount]! += units;
  const received = new Int32Array(memberCount);
  const distances = new Int32Array(layout.owners.length);
  let total = 0;
  for (const units of transfers.values()) total += units;
  for (let unit = 0; unit < total; unit++) {
    let recipient = -1;
    for (let member = 0; member < memberCount; member++) {
      if (received[member]! >= incoming[member]!) continue;
      if (
        recipient < 0 ||
        (received[member]! + 1) / incoming[member]! < (received[recipient]! + 1) / incoming[recipient]! - epsilon
      )
        recipient = member;
    }
    distancesToOwned(layout.owners, recipient, distances);
    const partition = pickDonorPartition(layout, remaining, memberCount, recipient, distances, moved);
    const key = layout.owners[partition]! * memberCount + recipient;
    remaining.set(key, remaining.get(key)! - 1);
    layout.owners[partition] = recipient;
    moved[partition] = 1;
    received[recipient]!++;
  }
}

function pickDonorPartition(
  layout: Layout,
  remaining: Map<number, number>,
  memberCount: number,
  recipient: number,
  distances: Int32Array,
  moved: Uint8Array,
): number {
  let best = -1;
  let bestScore = 0;
  for (let partition = 0; partition < layout.owners.length; partition++) {
    const donor = layout.owners[partition]!;
    if (moved[partition] === 1 || donor < 0 || (remaining.get(donor * memberCount + recipient) ?? 0) <= 0) continue;
    // Taking a partition where the donor itself conflicts fixes that conflict: worth one point.
    const penalty =
      conflictPenalty(layout, partition, recipient) - (conflictPenalty(layout, partition, donor) > 0 ? 1 : 0);
    const better =
      best < 0 || penalty < bestScore || (penalty === bestScore && distances[partition]! > distances[best]!);
    if (better) {
      best = partition;
      bestScore = penalty;
    }
  }
  assert(best >= 0, 'a planned transfer has no partition to take');
  return best;
}

/** Circular distance from each partition to the nearest one owned by `member` (Q when it owns none). */
function distancesToOwned(owners: Int32Array, member: number, out: Int32Array): void {
  const count = owners.length;
  out.fill(count);
  for (const direction of [1, -1]) {
    let last = -1;
    for (let step = 0; step < count * 2; step++) {
      const partition = direction === 1 ? step % count : count - 1 - (step % count);
      if (owners[partition] === member) last = step;
      if (last >= 0 && step - last < out[partition]!) out[partition] = step - last;
    }
  }
}

/**
 * Step 3: while a moved partition conflicts with its neighbours, hand it to a member that fits there
 * and let that member pass one of its moved partitions on, around a cycle back to the first owner
 * (a swap is the two-member cycle). Counts are unchanged, every hop obeys the movement rules, and a
 * cycle is kept only if it lowers the conflicts around the partitions it touched.
 */
function repairSpacing(layout: Layout, previousOwners: Int32Array, rules: MovementRules, moved: Uint8Array): void {
  const movable: number[] = [];
  for (let partition = 0; partition < moved.length; partition++) if (moved[partition] === 1) movable.push(partition);
  const repair: Repair = { layout, previousOwners, rules, movable, budget: repairEvaluationsMax };
  for (let pass = 0; pass < 4 && repair.budget > 0; pass++) {
    let improved = false;
    for (const partition of movable) {
      if (repair.budget <= 0) return;
      if (conflictPenalty(layout, partition, layout.owners[partition]!) > 0 && rotateAlongCycle(repair, partition))
        improved = true;
    }
    if (!improved) return;
  }
}

interface Repair {
  readonly layout: Layout;
  readonly previousOwners: Int32Array;
  readonly rules: MovementRules;
  readonly movable: readonly number[];
  /** Penalty evaluations left. */
  budget: number;
}

/** A hop of a cycle: `partition` goes to `member`. */
interface Hop {
  readonly partition: number;
  readonly member: number;
}

function hopFits(repair: Repair, partition: number, member: number, strictlyBetter: boolean): boolean {
  const { layout } = repair;
  const owner = layout.owners[partition]!;
  if (member === owner || !moveAllowed(repair.rules, repair.previousOwners[partition]!, member)) return false;
  repair.budget -= 2;
  const now = conflictPenalty(layout, partition, owner);
  const then = conflictPenalty(layout, partition, member);
  return strictlyBetter ? then < now : then <= now;
}

/** Breadth-first search for the shortest cycle starting with `start`; applies it if it helps. */
function rotateAlongCycle(repair: Repair, start: number): boolean {
  const { layout } = repair;
  const memberCount = layout.zoneOf.length;
  const origin = layout.owners[start]!;
  const movableOf: number[][] = Array.from({ length: memberCount }, () => []);
  for (const partition of repair.movable) movableOf[layout.owners[partition]!]!.push(partition);
  const reachedBy = new Array<Hop | undefined>(memberCount).fill(undefined);
  const queue: number[] = [];
  for (let member = 0; member < memberCount; member++) {
    if (!hopFits(repair, start, member, true)) continue;
    reachedBy[member] = { partition: start, member };
    queue.push(member);
  }
  for (let head = 0; head < queue.length && repair.budget > 0; head++) {
    const holder = queue[head]!;
    for (const partition of movableOf[holder]!) {
      if (partition === start) continue;
      for (let member = 0; member < memberCount; member++) {
        if ((member !== origin && reachedBy[member] !== undefined) || !hopFits(repair, partition, member, false))
          continue;
        if (member === origin) return applyCycle(repair, reachedBy, { partition, member });
        reachedBy[member] = { partition, member };
        queue.push(member);
      }
    }
  }
  return false;
}

/** Applies the cycle ending with `last`, keeping it only if the conflicts around it went down. */
function applyCycle(repair: Repair, reachedBy: ReadonlyArray<Hop | undefined>, last: Hop): boolean {
  const { layout } = repair;
  // Each hop's partition is held by the member the previous hop reached; the chain ends at the first
  // hop, whose partition is held by the cycle's origin (never itself reached).
  const hops: Hop[] = [last];
  for (
    let hop = reachedBy[layout.owners[last.partition]!];
    hop !== undefined;
    hop = reachedBy[layout.owners[hop.partition]!]
  ) {
    hops.push(hop);
    assert(hops.length <= layout.zoneOf.length + 1, 'a repair cycle visits each member once');
  }
  const previous = hops.map((hop) => layout.owners[hop.partition]!);
  const before = penaltyAround(repair, hops);
  for (const hop of hops) layout.owners[hop.partition] = hop.member;
  if (penaltyAround(repair, hops) < before) return true;
  hops.forEach((hop, index) => (layout.owners[hop.partition] = previous[index]!));
  return false;
}

/** Sum of the conflicts of every partition within a window of the hops (each affected pair counts twice). */
function penaltyAround(repair: Repair, hops: readonly Hop[]): number {
  const { layout } = repair;
  const reach = Math.max(layout.nodeWindow, layout.zoneWindow) - 1;
  const around = new Set<number>();
  for (const hop of hops)
    for (let distance = -reach; distance <= reach; distance++) around.add((hop.partition + distance) & layout.mask);
  let total = 0;
  for (const partition of around) total += conflictPenalty(layout, partition, layout.owners[partition]!);
  repair.budget -= around.size;
  return total;
}
