// Why: the cluster view is what every node must hold identically (decision 0015): the same seeds
// must give the same first view byte for byte, a change must move only what claimPartitions moves,
// the encoding must refuse anything but its canonical form, and the comparison must name conflicts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EverwriteError } from '../../../../src/core/base/errors.ts';
import { asNodeId } from '../../../../src/core/base/ids.ts';
import { claimPartitions, createRing, preferenceList } from '../../../../src/core/ring/index.ts';
import {
  decodeView,
  firstView,
  nextView,
  relateViews,
  summaryOf,
  viewLimits,
  ownedCounts,
} from '../../../../src/core/cluster-view/index.ts';
import { member, members, view } from './support.ts';

function assertBadView(action: () => unknown, pattern?: RegExp, what?: string): void {
  assert.throws(
    action,
    (error: unknown) =>
      error instanceof EverwriteError &&
      error.code === 'EVERWRITE_BAD_VIEW' &&
      (pattern === undefined || pattern.test(error.message)),
    what,
  );
}

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
const bytes = (value: string): Uint8Array => new TextEncoder().encode(value);

test('the same seeds in any order give the same version-1 view, byte for byte, on every node', () => {
  const seeds = members(5, (index) => ({ zone: `z${index % 3}`, weight: index === 2 ? 2 : 1 }));
  const a = firstView(64, seeds);
  const b = firstView(64, [...seeds].reverse());
  assert.equal(a.version, 1);
  assert.equal(a.digest, b.digest);
  assert.deepEqual(a.encoded, b.encoded);
  assert.deepEqual(
    a.ring.owners,
    createRing({
      partitionCount: 64,
      members: seeds.map((each) => ({
        id: each.id,
        weight: each.weight,
        ...(each.zone === undefined ? {} : { zone: each.zone }),
      })),
    }).owners,
  );
  // A different zone, weight, address or partition count is a different view.
  for (const other of [
    firstView(64, members(5)),
    firstView(128, seeds),
    firstView(
      64,
      seeds.map((each, index) => (index === 0 ? { ...each, http: '127.0.0.1:9999' } : each)),
    ),
  ]) {
    assert.notEqual(other.digest, a.digest);
  }
});

test('decodeView(encoded) rebuilds the same view, and a next view moves exactly what claimPartitions moves', () => {
  const first = view(3, 64);
  assert.deepEqual(decodeView(first.encoded), first);
  const grown = nextView(first, members(4));
  assert.equal(grown.version, 2);
  assert.deepEqual(
    grown.ring.owners,
    claimPartitions(
      first.ring,
      members(4).map((each) => ({ id: each.id, weight: 1 })),
    ).owners,
  );
  const moved = grown.ring.owners.filter((owner, partition) => owner !== first.ring.owners[partition]).length;
  assert.equal(moved, 16, 'a fourth node of four takes a quarter of 64 partitions, and nothing else moves');
  assert.ok(grown.ring.owners.every((owner, partition) => owner === first.ring.owners[partition] || owner === 'n4'));
  assert.deepEqual(decodeView(grown.encoded), grown);
});

test('weights and zones reach the ring: weight 2 owns twice the partitions, and preference lists span three zones', () => {
  const weighted = view(4, 256, (index) => ({ weight: index === 1 ? 2 : 1 }));
  const counts = ownedCounts(weighted);
  assert.ok(Math.abs(counts.get(asNodeId('n1'))! - 2 * counts.get(asNodeId('n2'))!) <= 2, JSON.stringify([...counts]));
  const zoned = view(6, 64, (index) => ({ zone: `z${index % 3}` }));
  const zoneOf = new Map(zoned.members.map((each) => [each.id, each.zone] as const));
  for (let partition = 0; partition < 64; partition++) {
    const hash = new Uint8Array(16);
    hash[0] = partition << 2;
    const zones = new Set(preferenceList(zoned.ring, hash, { n: 3 }).map((entry) => zoneOf.get(entry.node)));
    assert.equal(zones.size, 3, `partition ${partition}`);
  }
});

test('malformed, oversized, non-canonical and unknown views are refused with EVERWRITE_BAD_VIEW', () => {
  const good = view(3, 16);
  const json = JSON.parse(text(good.encoded)) as Record<string, unknown>;
  const variants: Array<[string, string | Uint8Array]> = [
    ['not JSON', '{"format":1,'],
    ['not UTF-8', new Uint8Array([0x7b, 0xff, 0x7d])],
    ['an array', '[]'],
    ['deep nesting', `${'['.repeat(100_000)}${']'.repeat(100_000)}`],
    ['unknown field', JSON.stringify({ ...json, extra: 1 })],
    ['format 2', JSON.stringify({ ...json, format: 2 })],
    ['version 0', JSON.stringify({ ...json, version: 0 })],
    ['version 1.5', JSON.stringify({ ...json, version: 1.5 })],
    ['version string', JSON.stringify({ ...json, version: '1' })],
    ['partition count 3', JSON.stringify({ ...json, partitionCount: 3 })],
    ['too few owners', JSON.stringify({ ...json, owners: (json.owners as number[]).slice(1) })],
    ['owner out of range', JSON.stringify({ ...json, owners: (json.owners as number[]).map(() => 3) })],
    ['no members', JSON.stringify({ ...json, members: [] })],
    ['member not an object', JSON.stringify({ ...json, members: ['n1'] })],
    [
      'member unknown field',
      JSON.stringify({ ...json, members: (json.members as object[]).map((each) => ({ ...each, secret: 1 })) }),
    ],
    [
      'bad peer address',
      JSON.stringify({ ...json, members: (json.members as object[]).map((each) => ({ ...each, peer: 'nowhere' })) }),
    ],
    [
      'port 0',
      JSON.stringify({ ...json, members: (json.members as object[]).map((each) => ({ ...each, peer: 'h:0' })) }),
    ],
    [
      'weight 0',
      JSON.stringify({ ...json, members: (json.members as object[]).map((each) => ({ ...each, weight: 0 })) }),
    ],
    [
      'unknown state',
      JSON.stringify({ ...json, members: (json.members as object[]).map((each) => ({ ...each, state: 'joining' })) }),
    ],
    [
      'duplicate ids',
      JSON.stringify({ ...json, members: (json.members as object[]).map((each) => ({ ...each, id: 'n1' })) }),
    ],
    ['members out of order', JSON.stringify({ ...json, members: [...(json.members as object[])].reverse() })],
    ['spaces', JSON.stringify(json, null, 1)],
    ['oversized', ' '.repeat(viewLimits.viewBytesMax + 1)],
  ];
  for (const [what, variant] of variants)
    assertBadView(() => decodeView(typeof variant === 'string' ? bytes(variant) : variant), undefined, what);
  assert.doesNotThrow(() => decodeView(bytes(JSON.stringify(json))), 'the canonical text itself decodes');
});

test('views refuse bad members when built too, so a bad seed never becomes a view', () => {
  assertBadView(() => firstView(16, [member('n1', 1), member('n1', 2)]), /duplicate/);
  assertBadView(() => firstView(16, [member('n1', 1, { http: 'no port' })]), /http/);
  assertBadView(() => firstView(16, [member('n1', 1, { weight: 1001 })]), /weight/);
  assertBadView(() => firstView(16, []), /members/);
});

test('relateViews: same, newer, older, and conflicts that name what differs', () => {
  const first = view(3, 64);
  const second = nextView(first, members(4));
  assert.equal(relateViews(summaryOf(first), summaryOf(first)).kind, 'same');
  assert.equal(relateViews(summaryOf(first), summaryOf(second)).kind, 'newer');
  assert.equal(relateViews(summaryOf(second), summaryOf(first)).kind, 'older');
  const otherMembers = firstView(64, members(4));
  const sameVersion = relateViews(summaryOf(first), summaryOf(otherMembers), 'n2');
  assert.equal(sameVersion.kind, 'conflict');
  assert.match(
    (sameVersion as { reason: string }).reason,
    /view version 1 differs: digest [0-9a-f]{32} here, [0-9a-f]{32} at n2/,
  );
  const otherCount = relateViews(summaryOf(first), summaryOf(nextView(view(3, 128), members(3))), 'n3');
  assert.equal(otherCount.kind, 'conflict', 'a different partition count conflicts whatever the versions');
  assert.match((otherCount as { reason: string }).reason, /partition count 64 here, 128 at n3/);
});
