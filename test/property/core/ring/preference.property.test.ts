// Why: the preference list decides where every replica goes, and the fast version reads precomputed
// tables. These properties hold it to a brute-force ring walk written the obvious way, and check that
// the N entries are distinct nodes, in distinct zones whenever there are enough zones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { propertyOptions } from '../../../support/property.ts';
import { asNodeId, asPartitionIndex, type NodeId } from '../../../../src/core/base/ids.ts';
import { createRing, partitionOf, preferenceList, primaryNodes } from '../../../../src/core/ring/index.ts';
import { hashArbitrary, modelPartition, modelPreferenceList, modelPrimaries, ringArbitrary } from './arbitraries.ts';

test('preferenceList equals a brute-force ring walk, with and without dead nodes', () => {
  fc.assert(
    fc.property(
      ringArbitrary,
      hashArbitrary,
      fc.integer({ min: 1, max: 6 }),
      fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
      ({ ring }, hash, n, aliveFlags) => {
        const aliveById = new Map(ring.members.map((member, index) => [member.id, aliveFlags[index]!]));
        const isAlive = (node: NodeId): boolean => aliveById.get(node)!;
        assert.equal(partitionOf(ring, hash), modelPartition(ring.partitionCount, hash));
        assert.deepEqual(preferenceList(ring, hash, { n, isAlive }), modelPreferenceList(ring, hash, n, isAlive));
        assert.deepEqual(
          preferenceList(ring, hash, { n }),
          modelPreferenceList(ring, hash, n, () => true),
        );
      },
    ),
    propertyOptions(),
  );
});

test('primaryNodes equals the brute-force primaries for every partition', () => {
  fc.assert(
    fc.property(ringArbitrary, fc.integer({ min: 1, max: 6 }), ({ ring }, n) => {
      for (let partition = 0; partition < ring.partitionCount; partition++) {
        assert.deepEqual(primaryNodes(ring, asPartitionIndex(partition), n), modelPrimaries(ring, partition, n));
      }
    }),
    propertyOptions(),
  );
});

test('the N entries are distinct nodes, in as many distinct zones as the ring allows', () => {
  fc.assert(
    fc.property(ringArbitrary, hashArbitrary, fc.integer({ min: 1, max: 6 }), ({ ring }, hash, n) => {
      const entries = preferenceList(ring, hash, { n });
      const owning = new Set(ring.owners);
      const zoneOf = (node: NodeId): string =>
        ring.members.find((member) => member.id === node)!.zone ?? `node:${node}`;
      const ownerZones = new Set(Array.from(owning, zoneOf));
      assert.equal(entries.length, Math.min(n, owning.size));
      assert.equal(new Set(entries.map((entry) => entry.node)).size, entries.length);
      assert.equal(new Set(entries.map((entry) => zoneOf(entry.node))).size, Math.min(entries.length, ownerZones.size));
      assert.ok(entries.every((entry) => entry.role === 'primary'));
      // The coordinator is always the owner of the key's partition.
      assert.equal(entries[0]!.node, ring.owners[partitionOf(ring, hash)]);
    }),
    propertyOptions(),
  );
});

test('with dead nodes, entries are distinct alive nodes and each fallback stands in for a distinct dead primary', () => {
  fc.assert(
    fc.property(
      ringArbitrary,
      hashArbitrary,
      fc.integer({ min: 1, max: 6 }),
      fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
      ({ ring }, hash, n, aliveFlags) => {
        const aliveById = new Map(ring.members.map((member, index) => [member.id, aliveFlags[index]!]));
        const entries = preferenceList(ring, hash, { n, isAlive: (node) => aliveById.get(node)! });
        const primaries = primaryNodes(ring, partitionOf(ring, hash), n);
        const aliveOwners = new Set(ring.owners.filter((owner) => aliveById.get(owner)));
        assert.equal(entries.length, Math.min(primaries.length, aliveOwners.size));
        assert.equal(new Set(entries.map((entry) => entry.node)).size, entries.length);
        assert.ok(entries.every((entry) => aliveById.get(entry.node)));
        const fallbacks = entries.filter((entry) => entry.role === 'fallback');
        assert.ok(
          fallbacks.every(
            (entry) =>
              !primaries.includes(entry.node) && entry.standsInFor !== undefined && !aliveById.get(entry.standsInFor),
          ),
        );
        assert.equal(new Set(fallbacks.map((entry) => entry.standsInFor)).size, fallbacks.length);
      },
    ),
    propertyOptions(),
  );
});

test('with more dead nodes than the stored fallbacks, the list still equals the brute-force walk', () => {
  // 18..30 nodes with most of them dead: lookups exhaust the 16 stored fallbacks and walk the ring.
  fc.assert(
    fc.property(
      fc.integer({ min: 18, max: 30 }),
      fc.constantFrom(32, 64),
      hashArbitrary,
      fc.integer({ min: 1, max: 5 }),
      fc.array(fc.boolean(), { minLength: 30, maxLength: 30 }),
      (nodeCount, partitionCount, hash, n, aliveFlags) => {
        const ring = createRing({
          partitionCount,
          members: Array.from({ length: nodeCount }, (_, index) => ({ id: asNodeId(`node-${index}`) })),
        });
        const aliveById = new Map(
          ring.members.map((member, index) => [member.id, aliveFlags[index]! && index % 4 === 0]),
        );
        const isAlive = (node: NodeId): boolean => aliveById.get(node)!;
        assert.deepEqual(preferenceList(ring, hash, { n, isAlive }), modelPreferenceList(ring, hash, n, isAlive));
      },
    ),
    propertyOptions(),
  );
});
