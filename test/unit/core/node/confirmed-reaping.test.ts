// Why: decision 0019 in the pure core, over the in-memory CoreCluster: a tombstone no full-ack write
// or full read confirmed is reaped once anti-entropy confirmed every primary holds it; the
// context-only record is removed only once every primary was confirmed to hold it and the grace
// passed; a primary that is away holds everything back, and once back it gets the delete without
// the value coming back; a reap message that is hostile (live record, undecodable, misplaced, or a
// removal from a node that does not decide the key) changes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreCluster } from '../../../support/core-cluster.ts';
import { encodeStorageKey } from '../../../../src/core/protocol/storage-key.ts';
import { keyHash, partitionOf, primaryNodes } from '../../../../src/core/ring/index.ts';
import { encodeContext, encodeRecord, isLive, type VersionedRecord } from '../../../../src/core/versioning/index.ts';
import type { Effect } from '../../../../src/core/node/effects.ts';
import type { Message } from '../../../../src/core/protocol/messages.ts';
import { md5 } from '../../../support/core-cluster.ts';
import { asNodeId, asPartitionIndex } from '../../../../src/core/base/ids.ts';

const bucket = 'reaping';
// An exchange with a node that is away is abandoned quickly, so the exchanges with the others go on.
const settings = {
  antiEntropyIntervalMs: 1000,
  antiEntropyExchangeTimeoutMs: 300,
  reapDelayMs: 500,
  contextRemovalGraceMs: 5000,
  hintDeliveryIntervalMs: 1_000_000_000,
};

type State = 'live' | 'tombstone' | 'context-only' | 'nothing';

function stateOf(records: readonly VersionedRecord[]): State {
  const record = records[0];
  if (record === undefined) return 'nothing';
  if (isLive(record)) return 'live';
  return record.siblings.length > 0 ? 'tombstone' : 'context-only';
}

function states(cluster: CoreCluster): State[] {
  return cluster.ids.map((id) => stateOf(cluster.localRecords(id)));
}

/** Writes the key with every node up, then deletes it with `down` away (no hints: they are held back). */
function deleteWhileAway(cluster: CoreCluster, down: readonly string[]): void {
  const put = cluster.put('n1', bucket, 'k', 'doomed', undefined, { w: 3 });
  cluster.run();
  const context = encodeContext(cluster.record(put).context);
  for (const id of down) cluster.down.add(asNodeId(id));
  const deletion = cluster.put('n1', bucket, 'k', '', context, { w: 2 }, true);
  cluster.run();
  assert.equal(cluster.outcome(deletion).ok, true);
}

test('a fully acknowledged delete is reaped, then its context-only record is removed once confirmed and after the grace', () => {
  const cluster = new CoreCluster(3, settings);
  deleteWhileAway(cluster, []);
  cluster.runFor(settings.reapDelayMs + 200);
  assert.deepEqual(
    states(cluster),
    ['context-only', 'context-only', 'context-only'],
    'the full-ack rule reaped the tombstone',
  );
  cluster.runFor(settings.contextRemovalGraceMs - 1500);
  assert.deepEqual(states(cluster), ['context-only', 'context-only', 'context-only'], 'kept during the grace');
  cluster.runFor(3 * settings.antiEntropyIntervalMs + 2000);
  assert.deepEqual(states(cluster), ['nothing', 'nothing', 'nothing'], 'removed on every primary');
  const status = cluster.node('n1').core.antiEntropyStatus().reaping;
  assert.equal(status.contextRemovalsAsked, 1, 'n1, the lowest id, decided');
  assert.equal(cluster.node('n2').core.antiEntropyStatus().reaping.contextRemovalsAsked, 0);
  for (const id of cluster.ids)
    assert.equal(cluster.node(id).core.antiEntropyStatus().reaping.contextsRemoved, 1, `${id} removed it`);
  // Written again, blind: the counter floor gives n1 a dot past the removed ones.
  const again = cluster.put('n1', bucket, 'k', 'reborn');
  cluster.run();
  const dot = cluster.record(again).siblings[0]?.dot;
  assert.ok(
    dot !== undefined && dot.counter > 2,
    `n1 minted ${JSON.stringify(dot)}, past the removed n1 counters 1 and 2`,
  );
});

test('a primary that missed the delete holds back both steps while away; back, it gets the delete and the value does not return', () => {
  const cluster = new CoreCluster(3, settings);
  deleteWhileAway(cluster, ['n3']);
  cluster.runFor(settings.contextRemovalGraceMs + 5 * settings.antiEntropyIntervalMs);
  const exchanges = cluster
    .node('n1')
    .core.antiEntropyStatus()
    .partitions.reduce((sum, entry) => sum + entry.exchanges, 0);
  assert.ok(exchanges >= 5, `n1 kept exchanging with n2 meanwhile (${exchanges} exchanges), which confirmed n2 only`);
  assert.deepEqual(states(cluster), ['tombstone', 'tombstone', 'live'], 'nothing reaped while n3 cannot confirm');
  cluster.down.clear();
  cluster.runFor(3 * settings.antiEntropyIntervalMs);
  assert.notEqual(states(cluster)[2], 'live', 'anti-entropy gave n3 the delete');
  cluster.runFor(settings.contextRemovalGraceMs + 6 * settings.antiEntropyIntervalMs);
  assert.deepEqual(states(cluster), ['nothing', 'nothing', 'nothing']);
  assert.ok(
    cluster.node('n1').core.antiEntropyStatus().reaping.tombstoneReapsAsked >= 1,
    'the tombstone was reaped by exchange confirmation (no full-ack write or full read happened)',
  );
  const read = cluster.get('n2', bucket, 'k', { r: 3 });
  cluster.run();
  assert.equal(cluster.outcome(read).ok, true);
  assert.equal(isLive(cluster.record(read)), false, 'the deleted value does not come back');
});

test('a context-only record is not removed while a primary holds something else: the removal waits for it', () => {
  const cluster = new CoreCluster(3, { ...settings, contextRemovalGraceMs: 1000 });
  deleteWhileAway(cluster, []);
  cluster.runFor(settings.reapDelayMs + 200);
  // n2 gets a newer write through another path while the others hold the context-only record.
  const rewrite = cluster.put('n2', bucket, 'k', 'back', undefined, { w: 1 });
  cluster.run();
  assert.equal(cluster.outcome(rewrite).ok, true);
  cluster.runFor(10 * settings.antiEntropyIntervalMs);
  assert.deepEqual(states(cluster), ['live', 'live', 'live'], 'the newer write wins everywhere and nothing removes it');
});

function partitionOfKey(cluster: CoreCluster, key: string): number {
  return partitionOf(cluster.node('n1').core.ring, keyHash(md5, bucket, key));
}

function storeEffects(effects: readonly Effect[]): Effect[] {
  return effects.filter((effect) => effect.type !== 'send' && effect.type !== 'log');
}

test('hostile reap messages change nothing and are logged', () => {
  const cluster = new CoreCluster(3, { ...settings, contextRemovalGraceMs: 1_000_000_000 });
  deleteWhileAway(cluster, []);
  cluster.runFor(settings.reapDelayMs + 200);
  assert.deepEqual(states(cluster), ['context-only', 'context-only', 'context-only']);
  const contextOnly = cluster.localRecords('n2')[0] as VersionedRecord;
  const partition = partitionOfKey(cluster, 'k');
  const storageKey = encodeStorageKey(bucket, 'k');
  const live = {
    context: new Map([['n1.9', 1]]),
    siblings: [
      {
        dot: { actor: 'n1.9', counter: 1 },
        stored: {
          value: new Uint8Array([1]),
          contentType: 'text/plain',
          lastModifiedMs: 1,
          deleted: false,
          timestamp: 1,
        },
      },
    ],
  };
  const cases: Array<{ what: string; from: string; message: Message }> = [
    {
      what: 'a removal from a node that does not decide the key (n3; n1 decides)',
      from: 'n3',
      message: { type: 'reap', partition, storageKey, record: encodeRecord(contextOnly) },
    },
    {
      what: 'a reap of a live record',
      from: 'n1',
      message: { type: 'reap', partition, storageKey, record: encodeRecord(live) },
    },
    {
      what: 'an undecodable record',
      from: 'n1',
      message: { type: 'reap', partition, storageKey, record: new Uint8Array([2, 255, 255, 255]) },
    },
    {
      what: 'a key placed in another partition',
      from: 'n1',
      message: { type: 'reap', partition: (partition + 1) % 256, storageKey, record: encodeRecord(contextOnly) },
    },
    {
      what: 'an empty record',
      from: 'n1',
      message: { type: 'reap', partition, storageKey, record: encodeRecord({ context: new Map(), siblings: [] }) },
    },
  ];
  for (const { what, from, message } of cases) {
    const logsBefore = cluster.logs.length;
    const effects = cluster.deliver('n2', from, message);
    assert.deepEqual(storeEffects(effects), [], `${what}: no store effect`);
    assert.ok(cluster.logs.length > logsBefore, `${what}: logged`);
  }
  cluster.run();
  assert.equal(states(cluster)[1], 'context-only', 'n2 still holds the context-only record');
  // The decider's own removal is accepted.
  const accepted = cluster.deliver('n2', 'n1', {
    type: 'reap',
    partition,
    storageKey,
    record: encodeRecord(contextOnly),
  });
  assert.equal(storeEffects(accepted).length, 1);
  cluster.run();
  assert.equal(states(cluster)[1], 'nothing');
});

test('a context naming a node that is no primary (it coordinated as a fallback and keeps its copy) is kept, so that copy cannot come back', () => {
  const cluster = new CoreCluster(4, { ...settings, contextRemovalGraceMs: 2000, hintDeliveryIntervalMs: 200 });
  const ring = cluster.node('n1').core.ring;
  const primaries = primaryNodes(ring, asPartitionIndex(partitionOfKey(cluster, 'k')), 3).map(String);
  const outsider = cluster.ids.find((id) => !primaries.includes(id)) as string;
  // Every primary away: the outsider coordinates the write itself and keeps the version in its own store.
  for (const id of primaries) cluster.down.add(asNodeId(id));
  // A read first, so the outsider learns the primaries are down: a write whose forward times out is
  // answered with a timeout rather than coordinated a second time.
  cluster.get(outsider, bucket, 'k', { r: 1, timeoutMs: 300 });
  cluster.runFor(1000);
  const put = cluster.put(outsider, bucket, 'k', 'doomed', undefined, { w: 1 });
  cluster.runFor(3000);
  assert.equal(cluster.outcome(put).ok, true, 'written through the outsider');
  cluster.down.clear();
  cluster.runFor(3000);
  const read = cluster.get(primaries[0] as string, bucket, 'k', { r: 3 });
  cluster.run();
  assert.deepEqual(cluster.values(read), ['doomed'], 'the hints reached the primaries');
  const deletion = cluster.put(
    primaries[0] as string,
    bucket,
    'k',
    '',
    encodeContext(cluster.record(read).context),
    { w: 3 },
    true,
  );
  cluster.run();
  assert.equal(cluster.outcome(deletion).ok, true);
  cluster.runFor(2000 + 10 * settings.antiEntropyIntervalMs);
  for (const id of primaries)
    assert.equal(stateOf(cluster.localRecords(id)), 'context-only', `${id} keeps the context-only record`);
  assert.equal(stateOf(cluster.localRecords(outsider)), 'live', 'the outsider still holds its fallback copy');
  const decider = [...primaries].sort()[0] as string;
  assert.equal(cluster.node(decider).core.antiEntropyStatus().reaping.contextsKept, 1);
  // Reads while a primary is away: once the coordinators count it as down, they ask the outsider in
  // its place, and its copy is dominated by the kept context.
  cluster.down.add(asNodeId(primaries[2] as string));
  for (const at of [outsider, primaries[0] as string, primaries[1] as string, outsider]) {
    const during = cluster.get(at, bucket, 'k', { r: 2 });
    cluster.runFor(3000);
    const outcome = cluster.outcome(during);
    assert.ok(
      !outcome.ok || !isLive(outcome.record),
      `a read through ${at} while ${primaries[2]} is away does not return the deleted value`,
    );
  }
  cluster.down.clear();
  cluster.runFor(3000);
  for (const id of primaries)
    assert.notEqual(
      stateOf(cluster.localRecords(id)),
      'live',
      `${id} does not hold the deleted value after the read's repair`,
    );
  const after = cluster.get(primaries[1] as string, bucket, 'k', { r: 3 });
  cluster.run();
  assert.equal(isLive(cluster.record(after)), false, 'and no later read returns it');
});
