// Why: who the members are, where they are reached, their zones and weights, and which of them owns
// each partition is one value every node must hold identically (decision 0015). Before, each boot
// rebuilt a version-1 ring from `--seeds`, so a longer seed list silently re-dealt most partitions
// and a node with a different list answered from a different ring. A ClusterView is versioned and
// immutable, changes only through claimPartitions (minimal movement, what `everwrite ring`
// predicts), and carries a digest of its canonical encoding, so two nodes compare views by
// (version, digest) alone and a mismatch is seen, not served. Liveness (up, suspect, down) is not
// part of it: a view changes only by an operator's versioned change.
import { EverwriteError } from '../base/errors.ts';
import type { NodeId } from '../base/ids.ts';
import { claimPartitions, compareIds, createRing, ringLimits, type Ring } from '../ring/ring.ts';

/**
 * A member's standing in the view (decision 0017). Outside a transition every member is `valid`.
 * During one (the view has `pending`): `joining` members own nothing yet and receive partitions;
 * `leaving` members still own theirs and hand them off; `removed` members (declared dead by an
 * operator) still appear as owners of the current ring but are never asked to send anything.
 */
export type ViewMemberState = 'valid' | 'joining' | 'leaving' | 'removed';
export const viewMemberStates: readonly ViewMemberState[] = Object.freeze(['valid', 'joining', 'leaving', 'removed']);

/** The ring a committed plan moves to, while its partitions are handed off (decision 0017). */
export interface PendingRing {
  /** Owners after the transition; same version as the view; its members are the valid and joining ones. */
  readonly ring: Ring;
  /** Replicas per partition the handoff provides on the new ring (the largest bucket N at commit). */
  readonly transferN: number;
}

export interface ViewMember {
  readonly id: NodeId;
  /** Where peers reach it (inter-node TCP), "host:port". */
  readonly peer: string;
  /** Its HTTP API, "host:port", when known to the view. */
  readonly http?: string;
  /** Its Redis-protocol front end, "host:port", when known to the view. */
  readonly resp?: string;
  /** Failure domain; preference lists span distinct zones when there are enough. */
  readonly zone?: string;
  /** Relative capacity: weight 2 owns about twice the partitions of weight 1. */
  readonly weight: number;
  readonly state: ViewMemberState;
}

export interface ClusterView {
  /** Starts at 1 (the first view, built from the seeds) and grows by one with every change. */
  readonly version: number;
  readonly partitionCount: number;
  /** Sorted by id. */
  readonly members: readonly ViewMember[];
  /**
   * Owners of the partitions, the ring that serves reads and writes; ring.version === version. Its
   * members are the view's members except joining ones.
   */
  readonly ring: Ring;
  /** Set while a committed plan's partitions are handed off; reads and writes still follow `ring`. */
  readonly pending?: PendingRing;
  /** Hex MD5 of the canonical encoding (codec.ts): equal digests mean equal views. */
  readonly digest: string;
  /** The canonical encoding itself (what is persisted and sent). */
  readonly encoded: Uint8Array;
}

/** What two nodes compare every gossip round, without the whole view. */
export interface ViewSummary {
  readonly version: number;
  readonly partitionCount: number;
  readonly digest: string;
}

/** Bounds on a view, each with its unit last. */
export const viewLimits = Object.freeze({
  /** Largest encoded view, in bytes: 1024 members with 256-character names and four addresses, and 16384 owners, fit. */
  viewBytesMax: 2 * 1024 * 1024,
  /** Longest "host:port" address, in UTF-16 code units (a DNS name is at most 253). */
  addressLengthMax: 261,
  /** Largest version: a view changes once per operator change, so 2^31 is never reached. */
  versionMax: 2 ** 31 - 1,
});

export function badView(message: string, details: Record<string, unknown> = {}): EverwriteError {
  return new EverwriteError('EVERWRITE_BAD_VIEW', `bad cluster view: ${message}`, details);
}

/** "host:port" with a non-empty host without spaces or commas, and a port 1..65535. */
export function isAddress(value: unknown): value is string {
  if (typeof value !== 'string' || value.length > viewLimits.addressLengthMax) return false;
  const match = /^([^\s,;@]+):(\d{1,5})$/.exec(value);
  return match !== null && Number(match[2]) >= 1 && Number(match[2]) <= 65535;
}

function isName(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= ringLimits.nameLengthMax;
}

/** Checks one member's fields and freezes it with only the fields it has; throws EVERWRITE_BAD_VIEW. */
export function checkMember(member: ViewMember): ViewMember {
  if (!isName(member.id))
    throw badView(`member id must be 1 to ${ringLimits.nameLengthMax} characters`, { id: member.id });
  if (!isAddress(member.peer)) throw badView(`member ${member.id}: peer must be host:port`, { peer: member.peer });
  for (const field of ['http', 'resp'] as const) {
    if (member[field] !== undefined && !isAddress(member[field]))
      throw badView(`member ${member.id}: ${field} must be host:port`, { [field]: member[field] });
  }
  if (member.zone !== undefined && !isName(member.zone))
    throw badView(`member ${member.id}: zone must be 1 to ${ringLimits.nameLengthMax} characters`);
  if (
    typeof member.weight !== 'number' ||
    !Number.isFinite(member.weight) ||
    member.weight <= 0 ||
    member.weight > ringLimits.weightMax
  ) {
    throw badView(`member ${member.id}: weight must be a number above 0 and at most ${ringLimits.weightMax}`, {
      weight: member.weight,
    });
  }
  if (!viewMemberStates.includes(member.state))
    throw badView(`member ${member.id}: unknown state ${JSON.stringify(member.state)}`);
  const checked: { -readonly [K in keyof ViewMember]: ViewMember[K] } = {
    id: member.id,
    peer: member.peer,
    weight: member.weight,
    state: member.state,
  };
  if (member.http !== undefined) checked.http = member.http;
  if (member.resp !== undefined) checked.resp = member.resp;
  if (member.zone !== undefined) checked.zone = member.zone;
  return Object.freeze(checked);
}

/** Members checked, sorted by id, distinct; throws EVERWRITE_BAD_VIEW. */
export function checkMembers(members: readonly ViewMember[]): readonly ViewMember[] {
  if (members.length === 0 || members.length > ringLimits.membersCountMax)
    throw badView(`a view has 1 to ${ringLimits.membersCountMax} members`);
  const sorted = members.map(checkMember).sort((a, b) => compareIds(a.id, b.id));
  for (let index = 1; index < sorted.length; index++) {
    if (sorted[index]!.id === sorted[index - 1]!.id) throw badView(`duplicate member ${sorted[index]!.id}`);
  }
  return Object.freeze(sorted);
}

/** The ring's view of a member: only what placement depends on. */
export function ringMemberOf(member: ViewMember): { id: NodeId; weight: number; zone?: string } {
  return member.zone === undefined
    ? { id: member.id, weight: member.weight }
    : { id: member.id, weight: member.weight, zone: member.zone };
}

export function summaryOf(view: ClusterView): ViewSummary {
  return { version: view.version, partitionCount: view.partitionCount, digest: view.digest };
}

/** Partitions each member owns. */
export function ownedCounts(view: ClusterView): Map<NodeId, number> {
  const counts = new Map<NodeId, number>(view.members.map((member) => [member.id, 0] as const));
  for (const owner of view.ring.owners) counts.set(owner, (counts.get(owner) ?? 0) + 1);
  return counts;
}

export function memberOf(view: ClusterView, id: string): ViewMember | undefined {
  return view.members.find((member) => member.id === id);
}

/** Builds the ring for the first view. Deterministic: the same seeds give the same view on every node. */
export function firstRing(partitionCount: number, members: readonly ViewMember[]): Ring {
  return createRing({ partitionCount, members: members.map(ringMemberOf) });
}

/** The next ring after a change of members (join, leave, weight, zone), moving as little as claimPartitions allows. */
export function nextRing(view: ClusterView, members: readonly ViewMember[]): Ring {
  return claimPartitions(view.ring, members.map(ringMemberOf));
}
