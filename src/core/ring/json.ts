// Why: rings travel between nodes (gossip), to operators (/admin/ring) and to partition-aware
// clients, so they need one stable JSON form, and a ring read from the wire must be checked before
// any node acts on it: a malformed ring is refused with EVERWRITE_BAD_REQUEST, never half-applied.
// Owners are written as indexes into the member list, which keeps a 256-partition ring small.
import { EverwriteError } from '../base/errors.ts';
import type { NodeId } from '../base/ids.ts';
import { freezeRing, normalizeMembers, validatePartitionCount, type Ring } from './ring.ts';

/** The JSON form of a ring. */
export interface RingJSON {
  readonly version: number;
  readonly partitionCount: number;
  /** Members sorted by id: {id, weight?, zone?}. */
  readonly members: ReadonlyArray<{ readonly id: string; readonly weight?: number; readonly zone?: string }>;
  /** Owner of each partition as an index into `members`. */
  readonly owners: readonly number[];
}

export function ringToJSON(ring: Ring): RingJSON {
  const indexById = new Map(ring.members.map((member, index) => [member.id as string, index] as const));
  return {
    version: ring.version,
    partitionCount: ring.partitionCount,
    members: ring.members.map((member) => ({ ...member })),
    owners: ring.owners.map((owner) => indexById.get(owner)!),
  };
}

function badRing(message: string): EverwriteError {
  return new EverwriteError('EVERWRITE_BAD_REQUEST', `bad ring: ${message}`);
}

/** Parses and validates a ring's JSON form; throws EverwriteError('EVERWRITE_BAD_REQUEST') if malformed. */
export function ringFromJSON(json: unknown): Ring {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw badRing('expected an object');
  const { version, partitionCount, members, owners } = json as Record<string, unknown>;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0)
    throw badRing('version must be a non-negative integer');
  let count: number;
  let sortedMembers;
  try {
    count = validatePartitionCount(partitionCount);
    sortedMembers = normalizeMembers(members);
  } catch (error) {
    throw error instanceof EverwriteError ? badRing(error.message) : error;
  }
  if (!Array.isArray(owners) || owners.length !== count)
    throw badRing('owners must list one member index per partition');
  // Members are re-sorted by id, so owner indexes are mapped through the ids in the order given.
  const givenIds = (members as ReadonlyArray<{ id: NodeId }>).map((member) => member.id);
  const ownerIds = owners.map((owner: unknown) => {
    if (typeof owner !== 'number' || !Number.isInteger(owner) || owner < 0 || owner >= givenIds.length)
      throw badRing('owner index out of range');
    return givenIds[owner]!;
  });
  return freezeRing(version, count, ownerIds, sortedMembers);
}
