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
import { freezeRing, validatePartitionCount, type Ring } from '../ring/ring.ts';
import { badView, checkMembers, firstRing, nextRing, viewLimits, type ClusterView, type ViewMember } from './view.ts';

/** The encoding's format number; a node refuses a view in a format it does not know. */
export const viewFormat = 1;

const memberKeys = ['id', 'peer', 'http', 'resp', 'zone', 'weight', 'state'] as const;
const viewKeys = ['format', 'version', 'partitionCount', 'members', 'owners'] as const;

function canonicalText(version: number, partitionCount: number, members: readonly ViewMember[], owners: readonly NodeId[]): string {
  const indexById = new Map(members.map((member, index) => [member.id as string, index] as const));
  // Keys are written in the order of memberKeys; absent optional fields are left out.
  const memberObjects = members.map((member) => {
    const object: Record<string, unknown> = {};
    for (const key of memberKeys) if (member[key] !== undefined) object[key] = member[key];
    return object;
  });
  return JSON.stringify({ format: viewFormat, version, partitionCount, members: memberObjects, owners: owners.map((owner) => indexById.get(owner)!) });
}

/** The frozen view of a ring and its members (already checked), with its encoding and digest. */
function assemble(ring: Ring, members: readonly ViewMember[]): ClusterView {
  const encoded = utf8Encode(canonicalText(ring.version, ring.partitionCount, members, ring.owners));
  if (encoded.length > viewLimits.viewBytesMax) throw badView(`the view would take ${encoded.length} bytes; at most ${viewLimits.viewBytesMax}`);
  return Object.freeze({ version: ring.version, partitionCount: ring.partitionCount, members, ring, digest: toHex(md5(encoded)), encoded });
}

/** Version 1 of a new cluster, from its seeds. Every node given the same seeds builds the same view. */
export function firstView(partitionCount: number, members: readonly ViewMember[]): ClusterView {
  const checked = checkMembers(members);
  return assemble(firstRing(validatePartitionCount(partitionCount), checked), checked);
}

/** The view after an operator's change of members: version + 1, partitions moved by claimPartitions. */
export function nextView(view: ClusterView, members: readonly ViewMember[]): ClusterView {
  const checked = checkMembers(members);
  return assemble(nextRing(view, checked), checked);
}

export function encodeView(view: ClusterView): Uint8Array {
  return view.encoded;
}

function exactKeys(object: Record<string, unknown>, allowed: readonly string[], what: string): void {
  for (const key of Object.keys(object)) if (!allowed.includes(key)) throw badView(`unknown field ${JSON.stringify(key)} in ${what}`);
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
  if (bytes.length > viewLimits.viewBytesMax) throw badView(`${bytes.length} bytes; at most ${viewLimits.viewBytesMax}`, { bytes: bytes.length });
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

/** Decodes and checks a view's canonical encoding; throws EverwriteError('EVERWRITE_BAD_VIEW'). */
export function decodeView(bytes: Uint8Array): ClusterView {
  const parsed = parseText(bytes);
  const { format, version, partitionCount, members, owners } = parsed;
  if (format !== viewFormat) throw badView(`format ${JSON.stringify(format)} is not ${viewFormat}`);
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1 || version > viewLimits.versionMax) throw badView(`version must be an integer from 1 to ${viewLimits.versionMax}`);
  let count: number;
  try {
    count = validatePartitionCount(partitionCount);
  } catch {
    throw badView('partitionCount must be a power of two from 1 to 16384', { partitionCount });
  }
  if (!Array.isArray(members)) throw badView('members must be an array');
  const checked = checkMembers(members.map(parseMember));
  if (!Array.isArray(owners) || owners.length !== count) throw badView('owners must list one member index per partition');
  const ownerIds = owners.map((owner: unknown) => {
    if (typeof owner !== 'number' || !Number.isInteger(owner) || owner < 0 || owner >= checked.length) throw badView('owner index out of range');
    return checked[owner]!.id;
  });
  const view = assemble(freezeRing(version, count, ownerIds, checked.map((member) => (member.zone === undefined ? { id: member.id, weight: member.weight } : { id: member.id, weight: member.weight, zone: member.zone }))), checked);
  // Members out of order, extra spaces, a different number spelling: not the canonical encoding.
  if (!bytesEqual(view.encoded, bytes)) throw badView('not in canonical form (members sorted by id, fields in order, no spaces)');
  return view;
}
