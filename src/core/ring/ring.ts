// Why: the live ring (the paper's strategy 3) is a value every node must agree on: Q equal partitions,
// the owner of each, and the members with their weights and zones. It is built deterministically
// (members sorted by id, no randomness) so every node derives the same ring from the same inputs,
// and it is immutable and versioned so a newer ring can be gossiped and compared by version alone.
// Validation of operator input lives here; the claim rule itself lives in claim.ts.
import { EverwriteError } from '../base/errors.ts';
import { assert } from '../base/assert.ts';
import type { NodeId } from '../base/ids.ts';
import { claimOwners, type ClaimMember, type MemberChange } from './claim.ts';
import { isPowerOfTwo } from './position.ts';

export interface RingMember {
  readonly id: NodeId;
  /** Relative capacity (default 1): weight 2 owns about twice the partitions of weight 1. */
  readonly weight?: number;
  /** Failure domain (rack, availability zone); preference lists prefer distinct zones. */
  readonly zone?: string;
}

export interface Ring {
  /** Increases by one with every claim; the newer ring wins when two are compared. */
  readonly version: number;
  /** Q, a power of two; partition i covers ring positions [i, i + 1) * 2^52 / Q. */
  readonly partitionCount: number;
  /** Owner of each partition, length Q. */
  readonly owners: readonly NodeId[];
  /** Members sorted by id. */
  readonly members: readonly RingMember[];
}

export interface ClaimOptions {
  /**
   * Owners of any `targetN` consecutive partitions are kept distinct when possible, so preference
   * lists of up to this many distinct nodes come from neighbouring partitions. Default 3 (the
   * paper's N); 1 to 16.
   */
  readonly targetN?: number;
}

export interface CreateRingOptions extends ClaimOptions {
  /** Q: a power of two, 1 to 16384 (the default used by the cluster is 256). */
  readonly partitionCount: number;
  readonly members: readonly RingMember[];
}

/** Bounds on ring inputs, each with its unit last, so a bad configuration fails clearly and early. */
export const ringLimits = Object.freeze({
  /** Largest Q: the claim is O(Q^2 / S) on a join and the preference tables are O(Q * N) numbers. */
  partitionCountMax: 16_384,
  /** Most members a ring may have. */
  membersCountMax: 1024,
  /** Longest node id or zone name, in UTF-16 code units. */
  nameLengthMax: 256,
  /** Largest weight; the smallest is anything above 0. */
  weightMax: 1000,
  /** Largest spacing target (`targetN`). */
  targetNMax: 16,
});

export const defaultTargetN = 3;
export const defaultPartitionCount = 256;

function badRequest(message: string, details: Record<string, unknown> = {}): EverwriteError {
  return new EverwriteError('EVERWRITE_BAD_REQUEST', message, details);
}

export function memberWeight(member: RingMember): number {
  return member.weight ?? 1;
}

/** Code-unit order: the same on every node and every locale (unlike localeCompare). */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function validatePartitionCount(partitionCount: unknown): number {
  if (
    typeof partitionCount !== 'number' ||
    !isPowerOfTwo(partitionCount) ||
    partitionCount > ringLimits.partitionCountMax
  ) {
    throw badRequest(`partition count must be a power of two from 1 to ${ringLimits.partitionCountMax}`, {
      partitionCount,
    });
  }
  return partitionCount;
}

function validateTargetN(targetN: unknown): number {
  if (targetN === undefined) return defaultTargetN;
  if (typeof targetN !== 'number' || !Number.isInteger(targetN) || targetN < 1 || targetN > ringLimits.targetNMax) {
    throw badRequest(`targetN must be an integer from 1 to ${ringLimits.targetNMax}`, { targetN });
  }
  return targetN;
}

function validateName(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > ringLimits.nameLengthMax) {
    throw badRequest(`${what} must be a non-empty string of at most ${ringLimits.nameLengthMax} characters`, {
      [what]: value,
    });
  }
  return value;
}

/** One validated, frozen member carrying only the fields that were given. */
function normalizeMember(member: unknown): RingMember {
  if (typeof member !== 'object' || member === null) throw badRequest('a ring member must be an object');
  const { id, weight, zone } = member as Record<string, unknown>;
  const normalized: { id: NodeId; weight?: number; zone?: string } = { id: validateName(id, 'id') as NodeId };
  if (weight !== undefined) {
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0 || weight > ringLimits.weightMax) {
      throw badRequest(`member weight must be a number above 0 and at most ${ringLimits.weightMax}`, { id, weight });
    }
    normalized.weight = weight;
  }
  if (zone !== undefined) normalized.zone = validateName(zone, 'zone');
  return Object.freeze(normalized);
}

/** Validates members, sorts them by id and freezes them; duplicate ids are refused. */
export function normalizeMembers(members: unknown): readonly RingMember[] {
  if (!Array.isArray(members) || members.length === 0 || members.length > ringLimits.membersCountMax) {
    throw badRequest(`a ring needs 1 to ${ringLimits.membersCountMax} members`);
  }
  const sorted = members.map(normalizeMember).sort((a, b) => compareIds(a.id, b.id));
  for (let index = 1; index < sorted.length; index++) {
    if (sorted[index]!.id === sorted[index - 1]!.id)
      throw badRequest(`duplicate ring member ${sorted[index]!.id}`, { id: sorted[index]!.id });
  }
  return Object.freeze(sorted);
}

/** Builds the frozen ring value. Inputs must already be valid. */
export function freezeRing(
  version: number,
  partitionCount: number,
  owners: readonly NodeId[],
  members: readonly RingMember[],
): Ring {
  assert(owners.length === partitionCount, 'a ring has one owner per partition');
  return Object.freeze({
    version,
    partitionCount,
    owners: Object.freeze([...owners]),
    members: Object.freeze([...members]),
  });
}

/** Zone numbers: one per distinct zone name, and a fresh one for each member without a zone. */
function zoneNumbers(members: readonly RingMember[]): number[] {
  const byName = new Map<string, number>();
  let next = 0;
  return members.map((member) => {
    if (member.zone === undefined) return next++;
    let zone = byName.get(member.zone);
    if (zone === undefined) byName.set(member.zone, (zone = next++));
    return zone;
  });
}

function claimMembers(members: readonly RingMember[], changeOf: (member: RingMember) => MemberChange): ClaimMember[] {
  const zones = zoneNumbers(members);
  return members.map((member, index) => ({
    weight: memberWeight(member),
    zone: zones[index]!,
    change: changeOf(member),
  }));
}

/** A new ring: deterministic, so every node computes the same one from the same options. */
export function createRing(options: CreateRingOptions): Ring {
  const partitionCount = validatePartitionCount(options.partitionCount);
  const targetN = validateTargetN(options.targetN);
  const members = normalizeMembers(options.members);
  const owners = claimOwners({
    previousOwners: new Int32Array(partitionCount).fill(-1),
    members: claimMembers(members, () => 'joined'),
    targetN,
    someoneLeft: false,
  });
  return freezeRing(
    1,
    partitionCount,
    Array.from(owners, (owner) => members[owner]!.id),
    members,
  );
}

/**
 * The ring after a membership change (join, leave, weight or zone change, or a plain rebalance with
 * the same members), moving as few partitions as the rules in claim.ts allow. Version + 1.
 */
export function claimPartitions(ring: Ring, members: readonly RingMember[], options: ClaimOptions = {}): Ring {
  assert(ring.owners.length === ring.partitionCount, 'a ring has one owner per partition');
  const targetN = validateTargetN(options.targetN);
  const nextMembers = normalizeMembers(members);
  const previousById = new Map(ring.members.map((member) => [member.id, member] as const));
  const changeOf = (member: RingMember): MemberChange => {
    const previous = previousById.get(member.id);
    if (previous === undefined) return 'joined';
    return memberWeight(previous) === memberWeight(member) && previous.zone === member.zone ? 'unchanged' : 'changed';
  };
  const indexById = new Map(nextMembers.map((member, index) => [member.id, index] as const));
  const previousOwners = Int32Array.from(ring.owners, (owner) => indexById.get(owner) ?? -1);
  const someoneLeft = ring.members.some((member) => !indexById.has(member.id));
  const owners = claimOwners({ previousOwners, members: claimMembers(nextMembers, changeOf), targetN, someoneLeft });
  return freezeRing(
    ring.version + 1,
    ring.partitionCount,
    Array.from(owners, (owner) => nextMembers[owner]!.id),
    nextMembers,
  );
}
