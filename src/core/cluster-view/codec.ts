// Why: a view is persisted in the node's metadata and pulled from peers, so it has one canonical
// encoding, and whatever arrives (from a peer, or from a disk someone edited) is refused unless it
// is exactly that encoding of a valid view: UTF-8 JSON with fixed keys in a fixed order, members
// sorted by id, owners as member indexes, nothing else. Checking that the bytes re-encode to
// themselves makes the digest (MD5 of the bytes) a function of the view alone, so equal digests on
// two nodes mean equal views. Every failure is EVERWRITE_BAD_VIEW, never an assertion: the input is
// hostile until checked.
import { utf8Decode, utf8Encode, toHex, bytesEqual } from '../base/bytes.ts';
import type { NodeId } from '../base/ids.ts';
import { md5 } from '../base/md5.ts';
import { freezeRing, ringLimits, validatePartitionCount, type Ring } from '../ring/ring.ts';
import {
  badView,
  checkMembers,
  firstRing,
  nextRing,
  ringMemberOf,
  viewLimits,
  type ClusterView,
  type PendingRing,
  type ViewMember,
} from './view.ts';

/** The encoding's format number; a node refuses a view in a format it does not know. */
export const viewFormat = 1;

const memberKeys = ['id', 'peer', 'http', 'resp', 'zone', 'weight', 'state'] as const;
/** `pendingOwners` and `transferN` are present together, only while a transition runs (decision 0017). */
const viewKeys = ['format', 'version', 'partitionCount', 'members', 'owners', 'pendingOwners', 'transferN'] as const;

function canonicalText(ring: Ring, members: readonly ViewMember[], pending: PendingRing | undefined): string {
  const indexById = new Map(members.map((member, index) => [member.id as string, index] as const));
  // Keys are written in the order of memberKeys; absent optional fields are left out.
  const memberObjects = members.map((member) => {
    const object: Record<string, unknown> = {};
    for (const key of memberKeys) if (member[key] !== undefined) object[key] = member[key];
    return object;
  });
  const indexes = (owners: readonly NodeId[]): number[] => owners.map((owner) => indexById.get(owner)!);
  const text: Record<string, unknown> = {
    format: viewFormat,
    version: ring.version,
    partitionCount: ring.partitionCount,
    members: memberObjects,
    owners: indexes(ring.owners),
  };
  if (pending !== undefined) {
    text.pendingOwners = indexes(pending.ring.owners);
    text.transferN = pending.transferN;
  }
  return JSON.stringify(text);
}

/** The frozen view of a ring and its members (already checked), with its encoding and digest. */
export function assembleView(ring: Ring, members: readonly ViewMember[], pending?: PendingRing): ClusterView {
  const encoded = utf8Encode(canonicalText(ring, members, pending));
  if (encoded.length > viewLimits.viewBytesMax)
    throw badView(`the view would take ${encoded.length} bytes; at most ${viewLimits.viewBytesMax}`);
  const base = {
    version: ring.version,
    partitionCount: ring.partitionCount,
    members,
    ring,
    digest: toHex(md5(encoded)),
    encoded,
  };
  return Object.freeze(pending === undefined ? base : { ...base, pending: Object.freeze(pending) });
}

/** Version 1 of a new cluster, from its seeds. Every node given the same seeds builds the same view. */
export function firstView(partitionCount: number, members: readonly ViewMember[]): ClusterView {
  const checked = checkMembers(members);
  return assembleView(firstRing(validatePartitionCount(partitionCount), checked), checked);
}

/** The view after an operator's change of members: version + 1, partitions moved by claimPartitions. */
export function nextView(view: ClusterView, members: readonly ViewMember[]): ClusterView {
  const checked = checkMembers(members);
  return assembleView(nextRing(view, checked), checked);
}

export function encodeView(view: ClusterView): Uint8Array {
  return view.encoded;
}

function exactKeys(object: Record<string, unknown>, allowed: readonly string[], what: string): void {
  for (const key of Object.keys(object))
    if (!allowed.includes(key)) throw badView(`unknown field ${JSON.stringify(key)} in ${what}`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseMember(value: unknown, index: number): ViewMember {
  if (!isPlainObject(value)) throw badView(`member ${index} is not an object`);
  exactKeys(value, memberKeys, `member ${index}`);
  // checkMembers validates every field's type and range; this only shapes the object.
  return value as unknown as ViewMember;
}

function parseText(bytes: Uint8Array): Record<string, unknown> {
  if (!(bytes instanceof Uint8Array)) throw badView('a view is bytes');
  if (bytes.length > viewLimits.viewBytesMax)
    throw badView(`${bytes.length} bytes; at most ${viewLimits.viewBytesMax}`, { bytes: bytes.length });
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8Decode(bytes));
  } catch {
    // Malformed UTF-8 or JSON, or JSON nested deeper than the parser's stack.
    throw badView('not UTF-8 JSON');
  }
  if (!isPlainObject(parsed)) throw badView('expected a JSON object');
  exactKeys(parsed, viewKeys, 'the view');
  return parsed;
}

/** Member ids of an owners array of indexes; every owner must be one of `allowed` (a ring's members). */
function ownersOf(
  owners: unknown,
  count: number,
  members: readonly ViewMember[],
  allowed: readonly ViewMember[],
  field: string,
): NodeId[] {
  if (!Array.isArray(owners) || owners.length !== count)
    throw badView(`${field} must list one member index per partition`);
  return owners.map((owner: unknown) => {
    if (typeof owner !== 'number' || !Number.isInteger(owner) || owner < 0 || owner >= members.length)
      throw badView(`${field}: owner index out of range`);
    const member = members[owner]!;
    if (!allowed.includes(member))
      throw badView(`${field}: member ${member.id} (${member.state}) cannot own a partition there`);
    return member.id;
  });
}

/** Decodes and checks a view's canonical encoding; throws EverwriteError('EVERWRITE_BAD_VIEW'). */
export function decodeView(bytes: Uint8Array): ClusterView {
  const parsed = parseText(bytes);
  const { format, version, partitionCount, members, owners, pendingOwners, transferN } = parsed;
  if (format !== viewFormat) throw badView(`format ${JSON.stringify(format)} is not ${viewFormat}`);
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1 || version > viewLimits.versionMax)
    throw badView(`version must be an integer from 1 to ${viewLimits.versionMax}`);
  let count: number;
  try {
    count = validatePartitionCount(partitionCount);
  } catch {
    throw badView('partitionCount must be a power of two from 1 to 16384', { partitionCount });
  }
  if (!Array.isArray(members)) throw badView('members must be an array');
  const checked = checkMembers(members.map(parseMember));
  const inTransition = pendingOwners !== undefined || transferN !== undefined;
  const current = checked.filter((member) => member.state !== 'joining');
  const ownerIds = ownersOf(owners, count, checked, current, 'owners');
  let pending: PendingRing | undefined;
  if (inTransition) {
    if (
      typeof transferN !== 'number' ||
      !Number.isInteger(transferN) ||
      transferN < 1 ||
      transferN > ringLimits.targetNMax
    )
      throw badView(`transferN must be an integer from 1 to ${ringLimits.targetNMax}`);
    const next = checked.filter((member) => member.state === 'valid' || member.state === 'joining');
    if (next.length === 0) throw badView('a transition must leave at least one member');
    pending = {
      ring: freezeRing(
        version,
        count,
        ownersOf(pendingOwners, count, checked, next, 'pendingOwners'),
        next.map(ringMemberOf),
      ),
      transferN,
    };
  } else if (checked.some((member) => member.state !== 'valid')) {
    throw badView('members other than valid exist only while a transition runs');
  }
  const view = assembleView(freezeRing(version, count, ownerIds, current.map(ringMemberOf)), checked, pending);
  // Members out of order, extra spaces, a different number spelling: not the canonical encoding.
  if (!bytesEqual(view.encoded, bytes))
    throw badView('not in canonical form (members sorted by id, fields in order, no spaces)');
  return view;
}
