// Why: the bucket-props table is state any client can add to and every node repeats to its peers. These
// tests hold its bounds (the cap on configured buckets, deletion markers that are themselves bounded
// and forgotten), its convergence (deletes and updates in any order end in the same table on every
// node), and its anti-entropy (a node that missed updates is repaired by digest and bounded deltas,
// and a converged cluster sends only digests), plus what a peer's hostile message can do: nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { asNodeId, type NodeId } from '../../../../src/core/base/ids.ts';
import { BucketPropsTable, propsDigestSlotCount } from '../../../../src/core/node/bucket-props.ts';
import type { Effect } from '../../../../src/core/node/effects.ts';
import type { Event } from '../../../../src/core/node/events.ts';
import { NodeCore } from '../../../../src/core/node/node-core.ts';
import { defaultNodeCoreSettings, type NodeCoreSettings } from '../../../../src/core/node/options.ts';
import type { Message, PropsEntry } from '../../../../src/core/protocol/messages.ts';
import { createRing } from '../../../../src/core/ring/index.ts';
import { actorOf } from '../../../../src/core/versioning/index.ts';
import { encodeMessages } from '../../../../src/core/protocol/codec/message-codec.ts';
import { md5 } from '../../../support/core-cluster.ts';
import { propertyOptions } from '../../../support/property.ts';

const defaults = defaultNodeCoreSettings.defaultProps;

interface Sent {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly message: Message;
}

/** NodeCores stepped by hand: sent messages wait in `inbox` until delivered (or dropped). */
class PropsCluster {
  readonly cores = new Map<NodeId, NodeCore>();
  inbox: Sent[] = [];
  readonly sent: Sent[] = [];
  readonly effects: { node: NodeId; effect: Effect }[] = [];
  readonly replies = new Map<number, Extract<Effect, { type: 'reply' }>['outcome']>();
  nowMs = 0;
  realtimeMs = 1_800_000_000_000;
  private nextRequestId = 1;

  constructor(size: number, settings: Partial<NodeCoreSettings> = {}) {
    const ids = Array.from({ length: size }, (_, index) => asNodeId(`n${index + 1}`));
    const ring = createRing({ partitionCount: 16, members: ids.map((id) => ({ id })) });
    for (const id of ids) this.cores.set(id, new NodeCore({ self: id, actor: actorOf(id, 1), ring, md5, settings }));
  }

  core(id: string): NodeCore {
    return this.cores.get(asNodeId(id)) as NodeCore;
  }

  step(id: string, event: Event): void {
    const node = asNodeId(id);
    const core = this.core(id);
    core.step(event);
    for (const effect of core.takeEffects()) {
      this.effects.push({ node, effect });
      if (effect.type === 'send') {
        const sent = { from: node, to: effect.to, message: effect.message };
        this.sent.push(sent);
        this.inbox.push(sent);
      } else if (effect.type === 'reply') this.replies.set(effect.requestId, effect.outcome);
    }
  }

  set(at: string, bucket: string, patch: Record<string, unknown>): Extract<Effect, { type: 'reply' }>['outcome'] {
    const requestId = this.nextRequestId++;
    this.step(at, {
      type: 'clientSetProps',
      nowMs: this.nowMs,
      requestId,
      bucket,
      patch,
      realtimeMs: this.realtimeMs++,
    });
    return this.replies.get(requestId) as Extract<Effect, { type: 'reply' }>['outcome'];
  }

  delete(at: string, bucket: string): Extract<Effect, { type: 'reply' }>['outcome'] {
    const requestId = this.nextRequestId++;
    this.step(at, { type: 'clientDeleteProps', nowMs: this.nowMs, requestId, bucket, realtimeMs: this.realtimeMs++ });
    return this.replies.get(requestId) as Extract<Effect, { type: 'reply' }>['outcome'];
  }

  /** Delivers every queued message (and what they cause), except to nodes in `down`. */
  deliverAll(down: ReadonlySet<string> = new Set()): void {
    for (let rounds = 0; this.inbox.length > 0; rounds++) {
      assert.ok(rounds < 10_000, 'message delivery did not settle');
      const batch = this.inbox;
      this.inbox = [];
      for (const sent of batch)
        if (!down.has(sent.to))
          this.step(sent.to, { type: 'message', nowMs: this.nowMs, from: sent.from, message: sent.message });
    }
  }

  /** One gossip round on every node: advance past the sync interval and tick. */
  gossipRound(down: ReadonlySet<string> = new Set(), intervalMs = defaultNodeCoreSettings.propsSyncIntervalMs): void {
    this.nowMs += intervalMs;
    for (const id of this.cores.keys()) if (!down.has(id)) this.step(id, { type: 'tick', nowMs: this.nowMs });
    this.deliverAll(down);
  }

  sentSince(index: number): Sent[] {
    return this.sent.slice(index);
  }
}

function assertError(outcome: Extract<Effect, { type: 'reply' }>['outcome'], code: string): string {
  assert.equal(outcome.ok, false, `expected ${code}`);
  assert.ok(!outcome.ok);
  assert.equal(outcome.error.code, code);
  return outcome.error.message;
}

test('the cap: a new bucket past bucketPropsCountMax is EVERWRITE_TOO_MANY_BUCKETS naming the limit; updates and deletes still work', () => {
  const cluster = new PropsCluster(3, { bucketPropsCountMax: 3 });
  for (const bucket of ['a', 'b', 'c']) assert.equal(cluster.set('n1', bucket, { w: 1 }).ok, true);
  const message = assertError(cluster.set('n1', 'd', { w: 1 }), 'EVERWRITE_TOO_MANY_BUCKETS');
  assert.match(message, /limit is 3 \(bucketPropsCountMax\)/);
  const refused = cluster.set('n1', 'd', { w: 1 });
  assert.ok(!refused.ok);
  assert.deepEqual(refused.error.details, { bucketPropsCountMax: 3 }, 'the limit travels as a field too');
  assert.equal(cluster.core('n1').bucketProps('d'), defaults, 'the refused bucket keeps the defaults');
  assert.equal(cluster.set('n1', 'a', { r: 1 }).ok, true, 'an already configured bucket can still be updated');
  cluster.deliverAll();
  assertError(cluster.set('n2', 'd', { w: 1 }), 'EVERWRITE_TOO_MANY_BUCKETS');
  assert.equal(cluster.delete('n2', 'b').ok, true);
  cluster.deliverAll();
  assert.equal(cluster.set('n1', 'd', { w: 1 }).ok, true, 'a delete makes room');
});

test('delete returns the bucket to the defaults on every node, persists the marker, and deleting an unknown bucket does nothing', () => {
  const cluster = new PropsCluster(3);
  assert.equal(cluster.set('n1', 'carts', { n: 2, r: 1, w: 1, resolver: 'lww' }).ok, true);
  cluster.deliverAll();
  for (const id of ['n1', 'n2', 'n3']) assert.equal(cluster.core(id).bucketProps('carts').resolver, 'lww');
  const before = cluster.effects.length;
  assert.equal(cluster.delete('n3', 'carts').ok, true);
  cluster.deliverAll();
  for (const id of ['n1', 'n2', 'n3']) assert.deepEqual(cluster.core(id).bucketProps('carts'), defaults, id);
  const saves = cluster.effects.slice(before).filter(({ effect }) => effect.type === 'propsSave');
  assert.equal(saves.length, 3, 'every node saves the marker');
  for (const { effect } of saves)
    assert.equal((effect as Extract<Effect, { type: 'propsSave' }>).entries[0]?.deleted, true);
  const sentBefore = cluster.sent.length;
  assert.equal(cluster.delete('n1', 'never-configured').ok, true);
  assert.equal(cluster.sent.length, sentBefore, 'no marker is made or sent for a bucket nobody configured');
  assertError(cluster.delete('n1', ''), 'EVERWRITE_BAD_REQUEST');
});

test('a node that missed updates and deletes is repaired by digest and bounded deltas; a converged cluster sends only digests', () => {
  const deltaMax = 20;
  const cluster = new PropsCluster(3, { propsDeltaEntriesMax: deltaMax });
  const down = new Set(['n3']);
  for (let index = 0; index < 200; index++)
    assert.equal(cluster.set('n1', `bucket-${index}`, { w: 1 + (index % 3) }).ok, true);
  cluster.deliverAll(down);
  for (let index = 0; index < 200; index += 4) assert.equal(cluster.delete('n2', `bucket-${index}`).ok, true);
  cluster.deliverAll(down);
  assert.equal(cluster.core('n3').bucketProps('bucket-1'), defaults, 'n3 missed everything');
  const start = cluster.sent.length;
  for (let round = 0; round < 60; round++) cluster.gossipRound();
  for (let index = 0; index < 200; index++) {
    const expected = index % 4 === 0 ? defaults.w : 1 + (index % 3);
    for (const id of ['n1', 'n2', 'n3'])
      assert.equal(cluster.core(id).bucketProps(`bucket-${index}`).w, expected, `${id} bucket-${index}`);
  }
  // Failure detection (decision 0014) and the users table (decision 0025) tick along with the gossip; only the props messages are looked at.
  const propsMessages = (since: number) =>
    cluster.sentSince(since).filter(({ message }) => message.type === 'props' || message.type === 'propsDigest');
  for (const { message } of propsMessages(start)) {
    if (message.type === 'props')
      assert.ok(message.entries.length <= deltaMax, `a delta of ${message.entries.length} entries`);
    else assert.equal(message.type, 'propsDigest');
    assert.ok(encodeMessages([message]).length < 32 * 1024, 'every gossip message is small');
  }
  const converged = cluster.sent.length;
  for (let round = 0; round < 5; round++) cluster.gossipRound();
  const after = propsMessages(converged);
  assert.ok(after.length > 0);
  assert.deepEqual(
    new Set(after.map(({ message }) => message.type)),
    new Set(['propsDigest']),
    'converged: digests only',
  );
  for (const { message } of after)
    assert.equal(encodeMessages([message]).length < 1024, true, 'a digest is under 1 KiB whatever the table size');
});

test('deletion markers are forgotten after the retention and past their count, with propsForget; the bucket can be configured again', () => {
  const cluster = new PropsCluster(3, { bucketPropsCountMax: 4, propsDeletedRetentionMs: 60_000 });
  for (const bucket of ['a', 'b', 'c', 'd']) cluster.set('n1', bucket, { w: 1 });
  cluster.deliverAll();
  for (const bucket of ['a', 'b', 'c', 'd']) cluster.delete('n1', bucket);
  cluster.deliverAll();
  for (const bucket of ['e', 'f', 'g']) cluster.set('n1', bucket, { w: 1 });
  cluster.deliverAll();
  for (const bucket of ['e', 'f']) cluster.delete('n1', bucket);
  cluster.deliverAll();
  const before = cluster.effects.length;
  cluster.gossipRound();
  const forgetCount = (from: number): string[] =>
    cluster.effects
      .slice(from)
      .filter(({ node, effect }) => node === 'n1' && effect.type === 'propsForget')
      .flatMap(({ effect }) => [...(effect as Extract<Effect, { type: 'propsForget' }>).buckets]);
  assert.deepEqual(forgetCount(before).sort(), ['a', 'b'], 'six markers, four kept: the two oldest go');
  const retention = cluster.effects.length;
  for (let round = 0; round < 31; round++) cluster.gossipRound();
  assert.deepEqual(forgetCount(retention).sort(), ['c', 'd', 'e', 'f'], 'the rest go after the retention');
  assert.equal(cluster.set('n2', 'c', { w: 1 }).ok, true);
  cluster.deliverAll();
  assert.equal(cluster.core('n1').bucketProps('c').w, 1);
});

test('property: updates and deletes delivered in any order, duplicated, leave every table the same (the (version, origin) winner)', () => {
  const entry = fc.record({
    bucket: fc.constantFrom('a', 'b', 'c'),
    version: fc.integer({ min: 1, max: 6 }),
    origin: fc.constantFrom('n1', 'n2', 'n3'),
    deleted: fc.boolean(),
    w: fc.integer({ min: 1, max: 3 }),
  });
  fc.assert(
    fc.property(
      fc.uniqueArray(entry, { selector: (item) => `${item.bucket}/${item.version}/${item.origin}`, maxLength: 20 }),
      fc.array(fc.nat(), { maxLength: 40 }),
      (items, shuffle) => {
        const entries: PropsEntry[] = items.map((item) => ({
          bucket: item.bucket,
          version: item.version,
          origin: item.origin,
          props: { ...defaults, w: item.w },
          ...(item.deleted ? { deleted: true } : {}),
        }));
        const limits = { entriesCountMax: 100, deletedCountMax: 100, deletedRetentionMs: 1000 };
        const inOrder = new BucketPropsTable(defaults, limits, entries);
        const shuffled = [...entries, ...entries];
        for (let index = 0; index < shuffle.length && shuffled.length > 1; index++) {
          const from = (shuffle[index] as number) % shuffled.length;
          const [moved] = shuffled.splice(from, 1);
          shuffled.push(moved as PropsEntry);
        }
        const other = new BucketPropsTable(defaults, limits);
        for (const one of shuffled) other.merge([one], 0);
        assert.deepEqual(other.digest(), inOrder.digest());
        for (const bucket of ['a', 'b', 'c']) {
          const winner = entries
            .filter((candidate) => candidate.bucket === bucket)
            .sort((x, y) => y.version - x.version || (y.origin > x.origin ? 1 : -1))[0];
          const expected = winner === undefined || winner.deleted === true ? defaults : winner.props;
          assert.deepEqual(other.get(bucket), expected);
          assert.deepEqual(inOrder.get(bucket), expected);
        }
      },
    ),
    propertyOptions(),
  );
});

test('a peer cannot put bad entries in the table: bad versions, unknown origins, oversized or empty names, impossible n/r/w', () => {
  const cluster = new PropsCluster(3);
  const good: PropsEntry = { bucket: 'ok', props: { ...defaults, w: 1 }, version: 5, origin: 'n2' };
  const bad: PropsEntry[] = [
    { ...good, bucket: '' },
    { ...good, bucket: 'x'.repeat(256) },
    { ...good, bucket: 'é'.repeat(128) },
    { ...good, bucket: 'v1', version: Number.NaN },
    { ...good, bucket: 'v2', version: -1 },
    { ...good, bucket: 'v3', version: 0.5 },
    { ...good, bucket: 'v4', version: 2 ** 60 },
    { ...good, bucket: 'o1', origin: 'intruder' },
    { ...good, bucket: 'p1', props: { ...defaults, n: 4 } },
    { ...good, bucket: 'p2', props: { ...defaults, n: 2, r: 3 } },
    { ...good, bucket: 'p3', props: { ...defaults, w: 0 } },
    { ...good, bucket: 'p4', props: { ...defaults, w: Number.POSITIVE_INFINITY } },
  ];
  const start = cluster.effects.length;
  cluster.step('n1', {
    type: 'message',
    nowMs: 0,
    from: asNodeId('n2'),
    message: { type: 'props', entries: [...bad, good] },
  });
  assert.equal(cluster.core('n1').bucketProps('ok').w, 1, 'the valid entry is taken');
  for (const entry of bad)
    assert.equal(cluster.core('n1').bucketProps(entry.bucket), defaults, `rejected: ${entry.bucket.slice(0, 10)}`);
  const logs = cluster.effects.slice(start).filter(({ effect }) => effect.type === 'log');
  assert.equal(logs.length, 1, 'one warning for the message');
  assert.equal((logs[0]?.effect as Extract<Effect, { type: 'log' }>).fields?.invalid, bad.length);
});

test('a peer cannot grow the table past members x bucketPropsCountMax, and hostile digests are ignored', () => {
  const cluster = new PropsCluster(2, { bucketPropsCountMax: 5 });
  const flood: PropsEntry[] = Array.from({ length: 50 }, (_, index) => ({
    bucket: `flood-${index}`,
    props: { ...defaults, n: 2, w: 1 },
    version: 1,
    origin: 'n2',
  }));
  cluster.step('n1', { type: 'message', nowMs: 0, from: asNodeId('n2'), message: { type: 'props', entries: flood } });
  const configured = flood.filter((entry) => cluster.core('n1').bucketProps(entry.bucket) !== defaults).length;
  assert.equal(configured, 10, 'members (2) x bucketPropsCountMax (5)');
  for (const slots of [
    [],
    Array.from({ length: propsDigestSlotCount + 1 }, () => 0),
    Array.from({ length: propsDigestSlotCount }, () => -1),
    Array.from({ length: propsDigestSlotCount }, () => 2 ** 40),
    Array.from({ length: propsDigestSlotCount }, () => 0.5),
  ]) {
    const sentBefore = cluster.sent.length;
    const logsBefore = cluster.effects.filter(({ effect }) => effect.type === 'log').length;
    cluster.step('n1', {
      type: 'message',
      nowMs: 0,
      from: asNodeId('n2'),
      message: { type: 'propsDigest', slots, reply: true },
    });
    assert.equal(cluster.sent.length, sentBefore, `no answer to a digest of ${slots.length} slots`);
    assert.equal(cluster.effects.filter(({ effect }) => effect.type === 'log').length, logsBefore + 1, 'logged');
  }
});
