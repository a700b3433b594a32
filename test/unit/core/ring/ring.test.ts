// Why: examples that pin the live ring's contract where properties would be vague: the exact bits a
// partition comes from, what a fallback looks like, zone preference, validation with coded errors,
// and the claim's behaviour on the joins and leaves operators actually do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { EverwriteError } from '../../../../src/core/base/errors.ts';
import { asNodeId, asPartitionIndex, type NodeId } from '../../../../src/core/base/ids.ts';
import { md5 } from '../../../../src/core/base/md5.ts';
import {
  claimPartitions,
  createRing,
  keyHash,
  partitionOf,
  preferenceList,
  primaryNodes,
  ringFromJSON,
  ringToJSON,
  ringPosition,
  type Ring,
  type RingMember,
} from '../../../../src/core/ring/index.ts';

const nodes = (count: number): RingMember[] =>
  Array.from({ length: count }, (_, index) => ({ id: asNodeId(`n${String(index + 1).padStart(2, '0')}`) }));

function assertBadRequest(action: () => unknown, messagePart: string): void {
  assert.throws(
    action,
    (error: unknown) =>
      error instanceof EverwriteError && error.code === 'EVERWRITE_BAD_REQUEST' && error.message.includes(messagePart),
  );
}

/** A hash whose first bytes are given, so the partition is known in advance. */
function hashStartingWith(...bytes: number[]): Uint8Array {
  const hash = new Uint8Array(16);
  hash.set(bytes);
  return hash;
}

/** Pairs of consecutive partitions within `window` that share an owner. */
function spacingConflicts(ring: Ring, window: number): number {
  let conflicts = 0;
  for (let partition = 0; partition < ring.partitionCount; partition++) {
    for (let distance = 1; distance < window; distance++)
      if (ring.owners[partition] === ring.owners[(partition + distance) % ring.partitionCount]) conflicts++;
  }
  return conflicts;
}

test('keyHash is md5 of utf8(bucket/key) and the partition is the top log2(Q) bits', () => {
  const hash = keyHash(md5, 'users', 'ada');
  assert.deepEqual(hash, new Uint8Array(createHash('md5').update('users/ada').digest()));
  const ring = createRing({ partitionCount: 256, members: nodes(3) });
  assert.equal(partitionOf(ring, hash), hash[0]);
  assert.equal(partitionOf(ring, hashStartingWith(0xff, 0xff)), 255);
  assert.equal(
    partitionOf(createRing({ partitionCount: 1024, members: nodes(3) }), hashStartingWith(0xab, 0xcd)),
    (0xab << 2) | (0xcd >> 6),
  );
  assert.equal(partitionOf(createRing({ partitionCount: 1, members: nodes(3) }), hashStartingWith(0xff)), 0);
  assert.equal(ringPosition(hashStartingWith(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)), 2 ** 52 - 1);
  assert.equal(ringPosition(hashStartingWith(0x80)), 2 ** 51);
});

test('createRing sorts members by id, starts at version 1, freezes, and balances 256 partitions over 8 nodes', () => {
  const ring = createRing({ partitionCount: 256, members: [...nodes(8)].reverse() });
  assert.equal(ring.version, 1);
  assert.deepEqual(
    ring.members.map((member) => member.id),
    nodes(8).map((member) => member.id),
  );
  assert.ok(Object.isFrozen(ring) && Object.isFrozen(ring.owners) && Object.isFrozen(ring.members));
  for (const member of ring.members) assert.equal(ring.owners.filter((owner) => owner === member.id).length, 32);
  assert.equal(spacingConflicts(ring, 3), 0);
});

test('createRing gives weight 2 twice the partitions of weight 1', () => {
  const ring = createRing({
    partitionCount: 256,
    members: [{ id: asNodeId('small-1') }, { id: asNodeId('small-2'), weight: 1 }, { id: asNodeId('big'), weight: 2 }],
  });
  const count = (id: string): number => ring.owners.filter((owner) => owner === id).length;
  assert.deepEqual([count('small-1'), count('small-2'), count('big')], [64, 64, 128]);
});

test('createRing and claimPartitions refuse bad input with EVERWRITE_BAD_REQUEST', () => {
  assertBadRequest(() => createRing({ partitionCount: 100, members: nodes(3) }), 'power of two');
  assertBadRequest(() => createRing({ partitionCount: 2 ** 15, members: nodes(3) }), 'power of two');
  assertBadRequest(() => createRing({ partitionCount: 0, members: nodes(3) }), 'power of two');
  assertBadRequest(() => createRing({ partitionCount: 64, members: [] }), 'members');
  assertBadRequest(() => createRing({ partitionCount: 64, members: [...nodes(2), ...nodes(1)] }), 'duplicate');
  assertBadRequest(() => createRing({ partitionCount: 64, members: [{ id: asNodeId('a'), weight: 0 }] }), 'weight');
  assertBadRequest(
    () => createRing({ partitionCount: 64, members: [{ id: asNodeId('a'), weight: Number.NaN }] }),
    'weight',
  );
  assertBadRequest(() => createRing({ partitionCount: 64, members: [{ id: asNodeId('') }] }), 'id');
  assertBadRequest(() => createRing({ partitionCount: 64, members: [{ id: asNodeId('a'), zone: '' }] }), 'zone');
  assertBadRequest(() => createRing({ partitionCount: 64, members: nodes(3), targetN: 0 }), 'targetN');
  const ring = createRing({ partitionCount: 64, members: nodes(3) });
  assertBadRequest(() => claimPartitions(ring, []), 'members');
});

test('preferenceList: N distinct primaries from the key partition clockwise, coordinator first', () => {
  const ring = createRing({ partitionCount: 64, members: nodes(5) });
  const hash = hashStartingWith(10 << 2);
  assert.equal(partitionOf(ring, hash), 10);
  const entries = preferenceList(ring, hash, { n: 3 });
  assert.deepEqual(
    entries.map((entry) => entry.node),
    [ring.owners[10], ring.owners[11], ring.owners[12]],
  );
  assert.ok(entries.every((entry) => entry.role === 'primary' && entry.standsInFor === undefined));
  assert.deepEqual(
    primaryNodes(ring, asPartitionIndex(10), 3),
    entries.map((entry) => entry.node),
  );
  // The result is the caller's to change; the ring's tables are not.
  entries.pop();
  assert.equal(preferenceList(ring, hash, { n: 3 }).length, 3);
});

test('preferenceList: a dead primary is replaced by the next alive node of the walk, standing in for it', () => {
  const ring = createRing({ partitionCount: 64, members: nodes(5) });
  const hash = hashStartingWith(0);
  const [first, second, third] = primaryNodes(ring, asPartitionIndex(0), 3) as [NodeId, NodeId, NodeId];
  const walk = primaryNodes(ring, asPartitionIndex(0), 5);
  const entries = preferenceList(ring, hash, { n: 3, isAlive: (node) => node !== second });
  assert.deepEqual(entries, [
    { node: first, role: 'primary' },
    { node: third, role: 'primary' },
    { node: walk[3], role: 'fallback', standsInFor: second },
  ]);
  const twoDead = preferenceList(ring, hash, { n: 3, isAlive: (node) => node !== first && node !== walk[3] });
  assert.deepEqual(twoDead, [
    { node: second, role: 'primary' },
    { node: third, role: 'primary' },
    { node: walk[4], role: 'fallback', standsInFor: first },
  ]);
});

test('preferenceList is shorter than N when too few nodes are alive, and N is capped at the node count', () => {
  const ring = createRing({ partitionCount: 16, members: nodes(3) });
  const hash = hashStartingWith(0x50);
  assert.equal(preferenceList(ring, hash, { n: 5 }).length, 3);
  assert.deepEqual(preferenceList(ring, hash, { n: 3, isAlive: () => false }), []);
  const alive = ring.owners[5]!;
  assert.deepEqual(preferenceList(ring, hash, { n: 3, isAlive: (node) => node === alive }), [
    { node: alive, role: 'primary' },
  ]);
});

test('preferenceList prefers distinct zones, then fills with distinct nodes when zones run out', () => {
  const zoned = (id: string, zone: string): RingMember => ({ id: asNodeId(id), zone });
  const ring = createRing({
    partitionCount: 64,
    members: [
      zoned('a1', 'a'),
      zoned('a2', 'a'),
      zoned('a3', 'a'),
      zoned('b1', 'b'),
      zoned('b2', 'b'),
      zoned('c1', 'c'),
    ],
  });
  const zoneOf = (node: NodeId): string => ring.members.find((member) => member.id === node)!.zone!;
  for (let partition = 0; partition < 64; partition++) {
    const hash = hashStartingWith(partition << 2);
    assert.equal(new Set(preferenceList(ring, hash, { n: 3 }).map((entry) => zoneOf(entry.node))).size, 3);
    const four = preferenceList(ring, hash, { n: 4 });
    assert.equal(new Set(four.map((entry) => entry.node)).size, 4);
    assert.equal(new Set(four.map((entry) => zoneOf(entry.node))).size, 3);
  }
});

test("a join moves about Q/(S+1) partitions, all to the joiner; a leave moves only the leaver's", () => {
  const ring = createRing({ partitionCount: 256, members: nodes(8) });
  const joined = claimPartitions(ring, nodes(9));
  const movedToJoiner = ring.owners.filter((owner, partition) => joined.owners[partition] !== owner);
  assert.equal(joined.version, 2);
  assert.ok(Math.abs(movedToJoiner.length - 256 / 9) <= 1, `moved ${movedToJoiner.length}`);
  assert.ok(joined.owners.every((owner, partition) => owner === ring.owners[partition] || owner === 'n09'));
  assert.equal(spacingConflicts(joined, 3), 0);
  const left = claimPartitions(
    ring,
    nodes(8).filter((member) => member.id !== 'n03'),
  );
  assert.ok(
    left.owners.every((owner, partition) => owner === ring.owners[partition] || ring.owners[partition] === 'n03'),
  );
  assert.equal(left.owners.filter((owner, partition) => owner !== ring.owners[partition]).length, 32);
  assert.equal(spacingConflicts(left, 3), 0);
});

test('a plain rebalance repairs a lopsided ring read from JSON', () => {
  const json = {
    version: 7,
    partitionCount: 16,
    members: [{ id: 'x' }, { id: 'y' }, { id: 'z' }, { id: 'w' }],
    owners: Array.from({ length: 16 }, () => 0),
  };
  const lopsided = ringFromJSON(json);
  const fixed = claimPartitions(lopsided, lopsided.members);
  assert.equal(fixed.version, 8);
  for (const member of fixed.members) assert.equal(fixed.owners.filter((owner) => owner === member.id).length, 4);
  assert.equal(spacingConflicts(fixed, 3), 0);
});

test('ringToJSON writes owners as member indexes and ringFromJSON rebuilds the same ring', () => {
  const ring = createRing({
    partitionCount: 8,
    members: [{ id: asNodeId('b'), weight: 2, zone: 'z1' }, { id: asNodeId('a') }],
  });
  const json = ringToJSON(ring);
  assert.deepEqual(json.members, [{ id: 'a' }, { id: 'b', weight: 2, zone: 'z1' }]);
  assert.deepEqual(
    json.owners,
    ring.owners.map((owner) => (owner === 'a' ? 0 : 1)),
  );
  assert.deepEqual(ringFromJSON(json), ring);
  // Members given out of order are re-sorted, owner indexes following them.
  const reordered = ringFromJSON({
    ...json,
    members: [...json.members].reverse(),
    owners: json.owners.map((owner) => 1 - owner),
  });
  assert.deepEqual(reordered, ring);
  assertBadRequest(() => ringFromJSON(null), 'bad ring');
  assertBadRequest(() => ringFromJSON({ ...json, owners: [0] }), 'bad ring');
});
