// Why: Dynamo's incremental scalability is an operator adding or removing one machine at a time while
// the data follows and the cluster keeps serving (decision 0017). An operator stages changes (join,
// leave, remove) into a plan, sees what would move, then commits it. A commit is one new view
// (version + 1) that keeps serving from the current ring and names the ring it moves to (`pending`);
// each partition whose primaries change is then handed off (node/handoff.ts) from a deterministic
// source to each new primary. When every transfer is done, any node derives the same final view
// (version + 2) from the transition view alone, so no node has to be in charge of finishing it and
// two nodes finishing it at once produce byte-identical views, not a conflict. Everything here is
// pure and deterministic: every node computes the same transfers from the same view.
import { EverwriteError } from '../base/errors.ts';
import { asPartitionIndex, type NodeId } from '../base/ids.ts';
import { claimPartitions, freezeRing } from '../ring/ring.ts';
import { primaryNodes } from '../ring/preference.ts';
import { assembleView } from './codec.ts';
import { checkMember, checkMembers, memberOf, ringMemberOf, type ClusterView, type ViewMember } from './view.ts';

/** One staged change. A join carries the whole member (addresses, zone, weight) as the joining node described itself. */
export type PlanChange =
  | { readonly kind: 'join'; readonly member: ViewMember }
  | { readonly kind: 'leave'; readonly id: NodeId }
  | { readonly kind: 'remove'; readonly id: NodeId };

/** Changes staged against a view version; committed together. */
export interface Plan {
  readonly baseVersion: number;
  readonly changes: readonly PlanChange[];
}

/** One partition streamed from a node that holds it to a node that will (decision 0017). */
export interface Transfer {
  readonly partition: number;
  readonly source: NodeId;
  readonly target: NodeId;
}

/** What `cluster plan` shows: the members after, the partitions changing owner, and the transfers the handoff will run. */
export interface PlanPreview {
  readonly members: ReadonlyArray<{
    readonly id: NodeId;
    readonly state: ViewMember['state'];
    readonly partitionsBefore: number;
    readonly partitionsAfter: number;
  }>;
  /** Partitions whose owner changes (what `everwrite ring` predicts for the same change). */
  readonly partitionsMoved: number;
  /** (partition, new primary) pairs to stream: every partition whose primaries change, once per node that becomes a primary. */
  readonly transfers: readonly Transfer[];
}

function planError(
  code:
    | 'EVERWRITE_PLAN_CONFLICT'
    | 'EVERWRITE_PLAN_EMPTY'
    | 'EVERWRITE_PLAN_STALE'
    | 'EVERWRITE_TOO_FEW_MEMBERS'
    | 'EVERWRITE_TRANSITION_IN_PROGRESS'
    | 'EVERWRITE_ALREADY_MEMBER'
    | 'EVERWRITE_NOT_A_MEMBER',
  message: string,
  details: Record<string, unknown> = {},
): EverwriteError {
  return new EverwriteError(code, message, details);
}

function changeId(change: PlanChange): NodeId {
  return change.kind === 'join' ? change.member.id : change.id;
}

function sameChange(a: PlanChange, b: PlanChange): boolean {
  if (a.kind !== b.kind || changeId(a) !== changeId(b)) return false;
  if (a.kind !== 'join' || b.kind !== 'join') return true;
  const [x, y] = [a.member, b.member];
  return x.peer === y.peer && x.http === y.http && x.resp === y.resp && x.zone === y.zone && x.weight === y.weight;
}

/** Members that stay or arrive once `changes` are applied. */
function membersAfter(view: ClusterView, changes: readonly PlanChange[]): ViewMember[] {
  const going = new Set(changes.filter((change) => change.kind !== 'join').map(changeId));
  const staying = view.members.filter((member) => !going.has(member.id));
  const joining = changes.flatMap((change) =>
    change.kind === 'join' ? [{ ...change.member, state: 'valid' as const }] : [],
  );
  return [...staying, ...joining];
}

/** Checks one change against the view and the changes already staged; throws a coded error. */
function checkChange(view: ClusterView, staged: readonly PlanChange[], change: PlanChange): void {
  const id = changeId(change);
  const member = memberOf(view, id);
  if (change.kind === 'join') {
    checkMember({ ...change.member, state: 'valid' });
    if (member !== undefined)
      throw planError('EVERWRITE_ALREADY_MEMBER', `node ${id} is already a member of the cluster`, { id });
    const takenPeer = view.members.find((other) => other.peer === change.member.peer);
    if (takenPeer !== undefined)
      throw planError(
        'EVERWRITE_PLAN_CONFLICT',
        `peer address ${change.member.peer} belongs to member ${takenPeer.id}`,
        { id, peer: change.member.peer },
      );
  } else {
    if (member === undefined)
      throw planError('EVERWRITE_NOT_A_MEMBER', `node ${id} is not a member of the cluster`, { id });
    if (member.state !== 'valid')
      throw planError('EVERWRITE_PLAN_CONFLICT', `node ${id} is ${member.state}: a change of it is already committed`, {
        id,
      });
  }
  const earlier = staged.find((other) => changeId(other) === id);
  if (earlier !== undefined && !sameChange(earlier, change)) {
    throw planError(
      'EVERWRITE_PLAN_CONFLICT',
      `the plan already stages ${earlier.kind} of ${id}; clear the plan to stage ${change.kind}`,
      { id, staged: earlier.kind, requested: change.kind },
    );
  }
}

/** Refuses a plan that would leave fewer than `replicaCount` members (and never fewer than one). */
function checkMemberCount(view: ClusterView, changes: readonly PlanChange[], replicaCount: number): void {
  const remaining = membersAfter(view, changes).length;
  const needed = Math.max(1, replicaCount);
  if (remaining < needed) {
    throw planError(
      'EVERWRITE_TOO_FEW_MEMBERS',
      `the plan would leave ${remaining} member(s); buckets need ${needed} (the largest n)`,
      { remaining, needed },
    );
  }
}

/** The plan with `change` added (an identical change already staged is a no-op); throws a coded error when it cannot be. */
export function stageChange(view: ClusterView, plan: Plan | undefined, change: PlanChange, replicaCount: number): Plan {
  const base =
    plan !== undefined && plan.baseVersion === view.version ? plan : { baseVersion: view.version, changes: [] };
  checkChange(view, base.changes, change);
  if (base.changes.some((other) => sameChange(other, change))) return base;
  const changes = [...base.changes, change];
  checkMemberCount(view, changes, replicaCount);
  return Object.freeze({ baseVersion: view.version, changes: Object.freeze(changes) });
}

/** Re-checks a plan against the view it will be committed to: it may have been staged against an older one. */
function revalidate(view: ClusterView, plan: Plan, replicaCount: number): void {
  if (plan.changes.length === 0)
    throw planError('EVERWRITE_PLAN_EMPTY', 'nothing is staged: stage a join, leave or remove first');
  if (view.pending !== undefined)
    throw planError(
      'EVERWRITE_TRANSITION_IN_PROGRESS',
      `view version ${view.version} is still handing partitions off; commit when it is done`,
      { version: view.version },
    );
  try {
    plan.changes.forEach((change, index) => checkChange(view, plan.changes.slice(0, index), change));
    checkMemberCount(view, plan.changes, replicaCount);
  } catch (error) {
    if (plan.baseVersion === view.version) throw error;
    throw planError(
      'EVERWRITE_PLAN_STALE',
      `the plan was staged against view version ${plan.baseVersion} and no longer applies to version ${view.version}: ${(error as Error).message}`,
      { baseVersion: plan.baseVersion, version: view.version },
    );
  }
}

/** The ring after the plan, from the current ring with minimal movement (claimPartitions). */
function pendingRingOf(view: ClusterView, changes: readonly PlanChange[]) {
  const next = checkMembers(membersAfter(view, changes));
  return { members: next, ring: claimPartitions(view.ring, next.map(ringMemberOf)) };
}

/**
 * The transition view of a committed plan: version + 1, still serving from the current owners, with
 * joining, leaving and removed members marked and the ring it moves to in `pending`.
 */
export function commitPlan(view: ClusterView, plan: Plan, replicaCount: number): ClusterView {
  revalidate(view, plan, replicaCount);
  const version = view.version + 1;
  const stateOf = new Map<NodeId, ViewMember['state']>(
    plan.changes.map((change) => [
      changeId(change),
      change.kind === 'join' ? 'joining' : change.kind === 'leave' ? 'leaving' : 'removed',
    ]),
  );
  const joining = plan.changes.flatMap((change) => (change.kind === 'join' ? [change.member] : []));
  const members = checkMembers(
    [...view.members, ...joining].map((member) => ({ ...member, state: stateOf.get(member.id) ?? 'valid' })),
  );
  const pending = pendingRingOf(view, plan.changes).ring;
  const transferN = Math.max(1, Math.min(replicaCount, pending.members.length));
  const current = freezeRing(
    version,
    view.partitionCount,
    view.ring.owners,
    members.filter((member) => member.state !== 'joining').map(ringMemberOf),
  );
  return assembleView(current, members, {
    ring: freezeRing(version, view.partitionCount, pending.owners, pending.members),
    transferN,
  });
}

/** What committing `plan` would do, without doing it. */
export function previewPlan(view: ClusterView, plan: Plan, replicaCount: number): PlanPreview {
  revalidate(view, plan, replicaCount);
  return previewOf(commitPlan(view, plan, replicaCount));
}

/** The preview of a transition view (what is moving now). */
export function previewOf(transition: ClusterView): PlanPreview {
  const pending = transition.pending;
  const count = (owners: readonly NodeId[], id: NodeId): number =>
    owners.reduce((sum, owner) => sum + (owner === id ? 1 : 0), 0);
  const members = transition.members.map((member) => ({
    id: member.id,
    state: member.state,
    partitionsBefore: count(transition.ring.owners, member.id),
    partitionsAfter:
      pending === undefined ? count(transition.ring.owners, member.id) : count(pending.ring.owners, member.id),
  }));
  const partitionsMoved =
    pending === undefined
      ? 0
      : transition.ring.owners.filter((owner, partition) => pending.ring.owners[partition] !== owner).length;
  return { members, partitionsMoved, transfers: transfersOf(transition) };
}

/**
 * The transfers of a transition view, in partition order (decision 0029). For each partition, every
 * node that is a primary on the pending ring but not on the current one takes the place of a
 * current primary that is not on the pending ring, paired by position. When that primary is valid
 * or leaving, it is the one source: it sends its own copy, as it is about to drop it (a staying
 * primary may lack a write acknowledged with W < N, so sending its copy instead would leave the
 * write on fewer replicas). When it was removed (its copy is gone), every valid primary that stays
 * sends: the target gets the union of what the survivors hold. Removed members are never sources.
 * A partition with no possible source (every current primary removed) has no transfer: nothing is
 * left to copy, anti-entropy cannot help, and the operator was told by the plan preview (its
 * transfers omit it).
 */
export function transfersOf(view: ClusterView): Transfer[] {
  const pending = view.pending;
  if (pending === undefined) return [];
  const stateOf = new Map(view.members.map((member) => [member.id, member.state] as const));
  const transfers: Transfer[] = [];
  const currentN = Math.min(pending.transferN, new Set(view.ring.owners).size);
  for (let partition = 0; partition < view.partitionCount; partition++) {
    const index = asPartitionIndex(partition);
    const before = primaryNodes(view.ring, index, currentN);
    const after = primaryNodes(pending.ring, index, pending.transferN);
    const targets = after.filter((node) => !before.includes(node));
    if (targets.length === 0) continue;
    const displaced = before.filter((node) => !after.includes(node));
    const stayers = before.filter((node) => after.includes(node) && stateOf.get(node) === 'valid');
    targets.forEach((target, position) => {
      const replaced = displaced[position];
      const sources = replaced !== undefined && stateOf.get(replaced) !== 'removed' ? [replaced] : stayers;
      for (const source of sources) transfers.push({ partition, source, target });
    });
  }
  return transfers;
}

/** A transfer's stable name, for done-sets, logs and progress records. */
export function transferKey(transfer: Pick<Transfer, 'partition' | 'target'>): string {
  return `${transfer.partition}>${transfer.target}`;
}

/**
 * The view that ends a transition (version + 1): the pending ring serves, joining members become
 * valid, leaving and removed ones are gone. A function of the transition view alone, so every
 * node that finishes it produces the same bytes.
 */
export function completeTransition(view: ClusterView): ClusterView {
  const pending = view.pending;
  if (pending === undefined)
    throw planError('EVERWRITE_PLAN_EMPTY', `view version ${view.version} has no transition to complete`);
  const version = view.version + 1;
  const members = checkMembers(
    view.members
      .filter((member) => member.state === 'valid' || member.state === 'joining')
      .map((member) => ({ ...member, state: 'valid' as const })),
  );
  return assembleView(
    freezeRing(version, view.partitionCount, pending.ring.owners, members.map(ringMemberOf)),
    members,
  );
}
