// Why: every client request asks "which N nodes hold this key?", so the answer must cost almost
// nothing. Walking the ring per request would be O(Q) in the worst case; instead, the first time a
// ring is asked for a given N, the walk from every partition is computed once (the primaries, then
// the next few distinct nodes as fallbacks) and kept in a WeakMap beside the frozen ring. A lookup is
// then a few bit operations and an array copy; only a request that finds more dead nodes than the
// stored fallbacks pays for a full walk.
//
// Semantics (docs/ARCHITECTURE.md section 1, Replication): walk partitions clockwise from the key's partition;
// the primaries are the first N distinct nodes, taking one node per zone first when zones are given
// and there are enough of them, listed in walk order. The result is the first N healthy nodes: each
// alive primary in walk order, then, for each dead primary in order, the next alive non-primary node
// of the walk standing in for it. It is shorter than N when too few nodes are alive.
import { assert } from '../base/assert.ts';
import { asPartitionIndex, type NodeId, type PartitionIndex } from '../base/ids.ts';
import { partitionBits, top32Bits } from './position.ts';
import type { Ring } from './ring.ts';

export interface PreferenceEntry {
  readonly node: NodeId;
  readonly role: 'primary' | 'fallback';
  /** The dead primary a fallback stands in for; its hint is delivered there later. */
  readonly standsInFor?: NodeId;
}

export interface PreferenceOptions {
  /** Replicas wanted (N), an integer >= 1. */
  readonly n: number;
  /** Liveness as this node sees it; all nodes are alive when omitted. */
  readonly isAlive?: (node: NodeId) => boolean;
}

/** Fallback candidates stored per partition; a lookup needing more walks the ring instead. */
const storedFallbacksCount = 16;

/** The walk from every partition, for one N: primaries then stored fallbacks, as member indexes. */
interface PreferenceTable {
  readonly primaryCount: number;
  /** Entries per partition in `rows`: primaryCount + stored fallbacks. */
  readonly width: number;
  readonly rows: Int32Array;
  /** The primary entries of each partition (frozen entries, shared); lookups return a copy of the array. */
  readonly primaries: ReadonlyArray<readonly PreferenceEntry[]>;
  /** The primaries' node ids of each partition, frozen and shared (see placementOf). */
  readonly primaryIds: ReadonlyArray<readonly NodeId[]>;
  /** True when `rows` hold every distinct owner, so no lookup ever needs a full walk. */
  readonly complete: boolean;
}

/** What lookups need from a ring, derived once per ring. */
interface RingIndex {
  readonly memberIds: readonly NodeId[];
  readonly ownerIndexes: Int32Array;
  readonly zoneOf: Int32Array;
  /** Distinct members owning at least one partition, and their distinct zones. */
  readonly ownerCount: number;
  readonly ownerZoneCount: number;
  readonly primaryEntryOf: readonly PreferenceEntry[];
  readonly tables: Map<number, PreferenceTable>;
  /** Scratch for walks: generation stamps so no clearing between walks. */
  readonly seenMember: Int32Array;
  readonly seenZone: Int32Array;
  stamp: number;
}

const indexes = new WeakMap<Ring, RingIndex>();
/** The last ring looked up: requests come in runs against the same ring, and this skips the WeakMap. */
let lastRing: Ring | undefined;
let lastIndex: RingIndex | undefined;

function zoneNumbersOf(ring: Ring): Int32Array {
  const byName = new Map<string, number>();
  return Int32Array.from(ring.members, (member, index) => {
    if (member.zone === undefined) return ring.members.length + index;
    let zone = byName.get(member.zone);
    if (zone === undefined) byName.set(member.zone, (zone = byName.size));
    return zone;
  });
}

function buildIndex(ring: Ring): RingIndex {
  const memberIds = ring.members.map((member) => member.id);
  const indexById = new Map(memberIds.map((id, index) => [id, index] as const));
  const ownerIndexes = Int32Array.from(ring.owners, (owner) => {
    const index = indexById.get(owner);
    assert(index !== undefined, `ring owner ${owner} is not a member`);
    return index;
  });
  const zoneOf = zoneNumbersOf(ring);
  const owning = new Set(ownerIndexes);
  return {
    memberIds,
    ownerIndexes,
    zoneOf,
    ownerCount: owning.size,
    ownerZoneCount: new Set(Array.from(owning, (member) => zoneOf[member]!)).size,
    primaryEntryOf: memberIds.map((node) => Object.freeze({ node, role: 'primary' as const })),
    tables: new Map(),
    seenMember: new Int32Array(memberIds.length),
    seenZone: new Int32Array(memberIds.length * 2),
    stamp: 0,
  };
}

function indexOf(ring: Ring): RingIndex {
  if (ring === lastRing) return lastIndex!;
  let index = indexes.get(ring);
  if (index === undefined) {
    index = buildIndex(ring);
    indexes.set(ring, index);
  }
  lastRing = ring;
  lastIndex = index;
  return index;
}

/**
 * Distinct owners in walk order from `start`, into `out`, until at least `membersWanted` members and
 * `zonesWanted` zones are found or the whole ring is walked. Returns how many were written.
 */
function walkDistinct(
  index: RingIndex,
  start: number,
  membersWanted: number,
  zonesWanted: number,
  out: Int32Array,
): number {
  const { ownerIndexes, zoneOf, seenMember, seenZone } = index;
  const stamp = ++index.stamp;
  const mask = ownerIndexes.length - 1;
  let found = 0;
  let zones = 0;
  for (let step = 0; step < ownerIndexes.length && (found < membersWanted || zones < zonesWanted); step++) {
    const member = ownerIndexes[(start + step) & mask]!;
    if (seenMember[member] === stamp) continue;
    seenMember[member] = stamp;
    out[found++] = member;
    const zone = zoneOf[member]!;
    if (seenZone[zone] !== stamp) {
      seenZone[zone] = stamp;
      zones++;
    }
  }
  return found;
}

/** Marks the primaries among a walk: one per new zone first, then the earliest others. */
function choosePrimaries(
  index: RingIndex,
  walk: Int32Array,
  walked: number,
  primaryCount: number,
  chosen: Uint8Array,
): void {
  const stamp = ++index.stamp;
  chosen.fill(0, 0, walked);
  let count = 0;
  for (let position = 0; position < walked && count < primaryCount; position++) {
    const zone = index.zoneOf[walk[position]!]!;
    if (index.seenZone[zone] === stamp) continue;
    index.seenZone[zone] = stamp;
    chosen[position] = 1;
    count++;
  }
  for (let position = 0; position < walked && count < primaryCount; position++) {
    if (chosen[position] === 0) {
      chosen[position] = 1;
      count++;
    }
  }
}

/** The full row of a partition: primaries in walk order, then every other owner in walk order. */
function fullRow(index: RingIndex, partition: number, primaryCount: number): Int32Array {
  const walk = new Int32Array(index.ownerCount);
  const walked = walkDistinct(index, partition, index.ownerCount, index.ownerZoneCount, walk);
  const chosen = new Uint8Array(walked);
  choosePrimaries(index, walk, walked, primaryCount, chosen);
  const row = new Int32Array(walked);
  let next = 0;
  for (let position = 0; position < walked; position++) if (chosen[position] === 1) row[next++] = walk[position]!;
  for (let position = 0; position < walked; position++) if (chosen[position] === 0) row[next++] = walk[position]!;
  return row;
}

function buildTable(index: RingIndex, primaryCount: number): PreferenceTable {
  const partitionCount = index.ownerIndexes.length;
  const width = Math.min(index.ownerCount, primaryCount + storedFallbacksCount);
  const rows = new Int32Array(partitionCount * width);
  const primaries: (readonly PreferenceEntry[])[] = [];
  const walk = new Int32Array(index.ownerCount);
  const chosen = new Uint8Array(index.ownerCount);
  const zonesWanted = Math.min(primaryCount, index.ownerZoneCount);
  for (let partition = 0; partition < partitionCount; partition++) {
    const walked = walkDistinct(index, partition, width, zonesWanted, walk);
    choosePrimaries(index, walk, walked, primaryCount, chosen);
    let next = partition * width;
    const entries: PreferenceEntry[] = [];
    for (let position = 0; position < walked; position++) {
      if (chosen[position] === 0) continue;
      rows[next++] = walk[position]!;
      entries.push(index.primaryEntryOf[walk[position]!]!);
    }
    for (let position = 0; position < walked && next < (partition + 1) * width; position++) {
      if (chosen[position] === 0) rows[next++] = walk[position]!;
    }
    primaries.push(Object.freeze(entries));
  }
  const primaryIds = primaries.map((entries) => Object.freeze(entries.map((entry) => entry.node)));
  return { primaryCount, width, rows, primaries, primaryIds, complete: width === index.ownerCount };
}

function tableOf(index: RingIndex, n: number): PreferenceTable {
  assert(Number.isInteger(n) && n >= 1, `replica count must be an integer >= 1, got ${n}`);
  const primaryCount = Math.min(n, index.ownerCount);
  let table = index.tables.get(primaryCount);
  if (table === undefined) {
    table = buildTable(index, primaryCount);
    index.tables.set(primaryCount, table);
  }
  return table;
}

/** The partition holding a key: the top log2(Q) bits of its placement hash. */
export function partitionOf(ring: Ring, keyHash: Uint8Array): PartitionIndex {
  const bits = partitionBits(ring.partitionCount);
  return asPartitionIndex(bits === 0 ? 0 : top32Bits(keyHash) >>> (32 - bits));
}

/** The first N distinct nodes (zones first) walking clockwise from `partition`, in walk order. */
export function primaryNodes(ring: Ring, partition: PartitionIndex, n: number): NodeId[] {
  assert(
    Number.isInteger(partition) && partition >= 0 && partition < ring.partitionCount,
    `partition ${partition} out of range`,
  );
  return tableOf(indexOf(ring), n).primaryIds[partition]!.slice();
}

/** The first N healthy nodes for a key: alive primaries, then fallbacks for the dead ones (a fresh array). */
export function preferenceList(ring: Ring, keyHash: Uint8Array, options: PreferenceOptions): PreferenceEntry[] {
  return placementOf(ring, partitionOf(ring, keyHash), options.n, options.isAlive ?? everyNodeAlive).targets.slice();
}

function everyNodeAlive(): boolean {
  return true;
}

/** Where a key of `partition` lives for a coordinator: its N primaries, and the first N healthy nodes. */
export interface KeyPlacement {
  /** All N primaries, alive or not (frozen, shared between requests). */
  readonly primaries: readonly NodeId[];
  /** As preferenceList: the alive primaries, then fallbacks for the dead ones. */
  readonly targets: readonly PreferenceEntry[];
}

/**
 * preferenceList and primaryNodes in one lookup, for the request path: when every primary is
 * alive (nearly always) both arrays are the table's own frozen ones, so a request allocates nothing.
 */
export function placementOf(
  ring: Ring,
  partition: PartitionIndex,
  n: number,
  isAlive: (node: NodeId) => boolean,
): KeyPlacement {
  const index = indexOf(ring);
  const table = tableOf(index, n);
  const primaryIds = table.primaryIds[partition]!;
  const primaries = table.primaries[partition]!;
  let dead: NodeId[] | undefined;
  for (let position = 0; position < primaryIds.length; position++) {
    const node = primaryIds[position]!;
    if (!isAlive(node)) (dead ??= []).push(node);
  }
  if (dead === undefined) return { primaries: primaryIds, targets: primaries };
  const targets: PreferenceEntry[] = [];
  for (const entry of primaries) if (isAlive(entry.node)) targets.push(entry);
  appendFallbacks(index, table, partition, dead, isAlive, targets);
  return { primaries: primaryIds, targets };
}

/** Pairs each dead primary, in order, with the next alive non-primary node of the walk. */
function appendFallbacks(
  index: RingIndex,
  table: PreferenceTable,
  partition: number,
  dead: readonly NodeId[],
  isAlive: (node: NodeId) => boolean,
  result: PreferenceEntry[],
): void {
  let replaced = 0;
  const offer = (member: number): boolean => {
    const node = index.memberIds[member]!;
    if (isAlive(node)) result.push({ node, role: 'fallback', standsInFor: dead[replaced++]! });
    return replaced === dead.length;
  };
  const rowStart = partition * table.width;
  for (let position = table.primaryCount; position < table.width; position++) {
    if (offer(table.rows[rowStart + position]!)) return;
  }
  if (table.complete) return;
  const row = fullRow(index, partition, table.primaryCount);
  for (let position = table.width; position < row.length; position++) {
    if (offer(row[position]!)) return;
  }
}
