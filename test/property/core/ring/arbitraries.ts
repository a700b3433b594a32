// Why: the ring property tests share their generators and one dumb model. Rings are small (Q <= 64,
// S <= 8) so a thousand runs stay fast, yet cover the edges: Q smaller than S, one member, weights,
// zones fewer than N, and rings reached through a few claims rather than only fresh ones.
import fc from 'fast-check';
import { asNodeId, type NodeId } from '../../../../src/core/base/ids.ts';
import {
  claimPartitions,
  createRing,
  type PreferenceEntry,
  type Ring,
  type RingMember,
} from '../../../../src/core/ring/index.ts';

const idPool = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l'];
const zonePool = ['z1', 'z2', 'z3'];

export const partitionCountArbitrary = fc.integer({ min: 0, max: 6 }).map((bits) => 2 ** bits);

/** One member's optional weight (1..4) and optional zone. */
const memberShape = fc.record({
  weight: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
  zone: fc.option(fc.constantFrom(...zonePool), { nil: undefined }),
});

function withShape(
  id: string,
  shape: { weight: number | undefined; zone: string | undefined },
  zoned: boolean,
): RingMember {
  return {
    id: asNodeId(id),
    ...(shape.weight === undefined ? {} : { weight: shape.weight }),
    ...(zoned && shape.zone !== undefined ? { zone: shape.zone } : {}),
  };
}

/** 1..8 members with distinct ids; zones on all, some or none of them. */
export const membersArbitrary: fc.Arbitrary<RingMember[]> = fc
  .tuple(
    fc.uniqueArray(fc.constantFrom(...idPool), { minLength: 1, maxLength: 8 }),
    fc.array(memberShape, { minLength: 8, maxLength: 8 }),
    fc.boolean(),
  )
  .map(([ids, shapes, zoned]) => ids.map((id, index) => withShape(id, shapes[index]!, zoned)));

/** A member id that is not in `members` (for joins). */
export function newcomerId(members: readonly RingMember[]): NodeId {
  return asNodeId(idPool.find((id) => !members.some((member) => member.id === id)) ?? 'zz');
}

export interface RingCase {
  readonly ring: Ring;
  readonly targetN: number;
}

/** A ring from createRing, then 0..3 joins or leaves, so rings also come out of claims. */
export const ringArbitrary: fc.Arbitrary<RingCase> = fc
  .tuple(
    partitionCountArbitrary,
    membersArbitrary,
    fc.integer({ min: 1, max: 4 }),
    fc.array(fc.tuple(fc.boolean(), fc.nat(), memberShape), { maxLength: 3 }),
  )
  .map(([partitionCount, members, targetN, steps]) => {
    let ring = createRing({ partitionCount, members, targetN });
    for (const [join, pick, shape] of steps) {
      const current = ring.members;
      if (join && current.length < idPool.length)
        ring = claimPartitions(ring, [...current, withShape(newcomerId(current), shape, true)], { targetN });
      else if (!join && current.length > 1)
        ring = claimPartitions(
          ring,
          current.filter((_, index) => index !== pick % current.length),
          { targetN },
        );
    }
    return { ring, targetN };
  });

/** 16 random bytes standing for a key's MD5. */
export const hashArbitrary = fc.uint8Array({ minLength: 16, maxLength: 16 });

/** The partition of a hash among Q = 2^k, computed the slow, obvious way: top k bits of a BigInt. */
export function modelPartition(partitionCount: number, hash: Uint8Array): number {
  const bits = BigInt(Math.log2(partitionCount));
  let top64 = 0n;
  for (let index = 0; index < 8; index++) top64 = (top64 << 8n) | BigInt(hash[index]!);
  return Number(top64 >> (64n - bits));
}

function zoneKey(ring: Ring, node: NodeId): string {
  const zone = ring.members.find((member) => member.id === node)?.zone;
  return zone === undefined ? `node:${node}` : `zone:${zone}`;
}

/** The first N distinct nodes (zones first) of a brute-force walk over the owners. */
export function modelPrimaries(ring: Ring, partition: number, n: number): NodeId[] {
  const walk: NodeId[] = [];
  for (let step = 0; step < ring.partitionCount; step++) {
    const owner = ring.owners[(partition + step) % ring.partitionCount]!;
    if (!walk.includes(owner)) walk.push(owner);
  }
  const chosen = new Set<NodeId>();
  const zones = new Set<string>();
  for (const node of walk) {
    if (chosen.size < n && !zones.has(zoneKey(ring, node))) {
      chosen.add(node);
      zones.add(zoneKey(ring, node));
    }
  }
  for (const node of walk) if (chosen.size < n) chosen.add(node);
  return walk.filter((node) => chosen.has(node));
}

/** The preference list by brute force: alive primaries, then the next alive others for the dead ones. */
export function modelPreferenceList(
  ring: Ring,
  hash: Uint8Array,
  n: number,
  isAlive: (node: NodeId) => boolean,
): PreferenceEntry[] {
  const partition = modelPartition(ring.partitionCount, hash);
  const primaries = modelPrimaries(ring, partition, n);
  const walk: NodeId[] = [];
  for (let step = 0; step < ring.partitionCount; step++) {
    const owner = ring.owners[(partition + step) % ring.partitionCount]!;
    if (!walk.includes(owner) && !primaries.includes(owner)) walk.push(owner);
  }
  const dead = primaries.filter((node) => !isAlive(node));
  const result: PreferenceEntry[] = primaries.filter(isAlive).map((node) => ({ node, role: 'primary' }));
  for (const node of walk) {
    if (result.length - (primaries.length - dead.length) >= dead.length) break;
    if (isAlive(node))
      result.push({ node, role: 'fallback', standsInFor: dead[result.length - (primaries.length - dead.length)]! });
  }
  return result;
}

export function ownedCounts(ring: Ring): Map<NodeId, number> {
  const counts = new Map<NodeId, number>(ring.members.map((member) => [member.id, 0]));
  for (const owner of ring.owners) counts.set(owner, counts.get(owner)! + 1);
  return counts;
}
