// Why: dotted version vector sets are why Everwrite neither loses concurrent writes nor grows
// siblings without bound. Each required property of the design has a scenario here, including the
// contrast with plain per-coordinator vector clocks that lose a write in the same scenario.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EverwriteError } from '../../../../src/core/base/errors.ts';
import {
  actorOf,
  compareClocks,
  contextAfterUpdate,
  descends,
  dotCounterMax,
  emptyClock,
  emptyRecord,
  incrementClock,
  isLive,
  mergeClocks,
  mergeContexts,
  recordsEqual,
  resolveLastWriterWins,
  sync,
  update,
  type VectorClock,
  type VersionVector,
} from '../../../../src/core/versioning/index.ts';
import { text, tombstone, valuesOf } from './support.ts';

const nodeA = actorOf('a', 1);
const nodeB = actorOf('b', 1);
const empty: VersionVector = new Map();

test('actorOf joins node id and epoch, and refuses an empty node or a bad epoch', () => {
  assert.equal(actorOf('n1', 7), 'n1.7');
  assert.throws(() => actorOf('', 1));
  assert.throws(() => actorOf('n1', -1));
  assert.throws(() => actorOf('n1', 1.5));
});

test('two concurrent puts with the same context through the same coordinator are both kept as siblings', () => {
  const first = update(emptyRecord, empty, nodeA, text('from client 1'));
  const second = update(first, empty, nodeA, text('from client 2'));
  assert.deepEqual(valuesOf(second), ['from client 1', 'from client 2']);
  assert.deepEqual(
    second.siblings.map((sibling) => sibling.dot),
    [
      { actor: nodeA, counter: 1 },
      { actor: nodeA, counter: 2 },
    ],
  );
  assert.deepEqual(second.context, new Map([[nodeA, 2]]));
});

/** The paper's store: one version per clock; a new version replaces every version it descends. */
function vectorClockPut(
  versions: Array<{ clock: VectorClock; value: string }>,
  clock: VectorClock,
  value: string,
): Array<{ clock: VectorClock; value: string }> {
  return [...versions.filter((version) => compareClocks(version.clock, clock) === 'concurrent'), { clock, value }];
}

test('plain per-coordinator vector clocks lose one of two concurrent puts through the same coordinator', () => {
  // Dynamo's way: the coordinator increments its own entry on the client's context.
  let store = vectorClockPut([], incrementClock(emptyClock, 'a', 1), 'from client 1');
  store = vectorClockPut(store, incrementClock(emptyClock, 'a', 2), 'from client 2');
  assert.deepEqual(
    store.map((version) => version.value),
    ['from client 2'],
    'both got clock {a:1}; the first write is gone',
  );
  // Riak's vnode clocks: the coordinator first merges what it stores, so the new clock dominates.
  let vnodeStore = vectorClockPut([], incrementClock(emptyClock, 'a', 1), 'from client 1');
  const stored = vnodeStore.reduce((clock, version) => mergeClocks(clock, version.clock), emptyClock);
  vnodeStore = vectorClockPut(vnodeStore, incrementClock(mergeClocks(emptyClock, stored), 'a', 2), 'from client 2');
  assert.deepEqual(
    vnodeStore.map((version) => version.value),
    ['from client 2'],
    '{a:2} descends {a:1}; the first write is gone',
  );
});

test('a put whose context covers a sibling replaces it', () => {
  const first = update(emptyRecord, empty, nodeA, text('v1'));
  const replaced = update(first, first.context, nodeA, text('v2'));
  assert.deepEqual(valuesOf(replaced), ['v2']);
  const viaOtherNode = update(sync(emptyRecord, first), first.context, nodeB, text('v3'));
  assert.deepEqual(valuesOf(viaOtherNode), ['v3']);
});

test('a put replaces only the siblings its context covers and keeps the rest as concurrent', () => {
  const first = update(emptyRecord, empty, nodeA, text('v1'));
  const readAfterFirst = first.context;
  const second = update(first, empty, nodeA, text('v2'));
  const third = update(second, readAfterFirst, nodeA, text('v3'));
  assert.deepEqual(valuesOf(third), ['v2', 'v3']);
  const resolved = update(third, third.context, nodeA, text('v4'));
  assert.deepEqual(valuesOf(resolved), ['v4']);
});

test('two clients interleaving read-modify-write cycles never hold more than two siblings', () => {
  let record = emptyRecord;
  let contextOfClient1: VersionVector = empty;
  let contextOfClient2: VersionVector = empty;
  for (let round = 0; round < 200; round++) {
    record = update(record, contextOfClient1, nodeA, text(`c1-${round}`));
    contextOfClient1 = record.context;
    record = update(record, contextOfClient2, nodeA, text(`c2-${round}`));
    contextOfClient2 = record.context;
    assert.ok(record.siblings.length <= 2, `round ${round}: ${record.siblings.length} siblings`);
  }
  // Each client's write superseded everything it had read: only the last two writes remain.
  assert.deepEqual(valuesOf(record), ['c1-199', 'c2-199']);
});

test('a wiped node with a new epoch never reuses a dot: its new write and the old one are both kept', () => {
  const oldWrite = update(emptyRecord, empty, actorOf('a', 1), text('written in epoch 1'));
  const replicaB = sync(emptyRecord, oldWrite);
  // Node a loses its disk and comes back with epoch 2 and no record; a client writes blind.
  const newWrite = update(emptyRecord, empty, actorOf('a', 2), text('written in epoch 2'));
  assert.deepEqual(newWrite.siblings[0]?.dot, { actor: 'a.2', counter: 1 });
  const merged = sync(replicaB, newWrite);
  assert.deepEqual(valuesOf(merged), ['written in epoch 1', 'written in epoch 2']);
  // Without epochs the new write would mint dot (a, 1) again and one of the two would vanish.
  const collided = sync(update(emptyRecord, empty, 'a', text('old')), update(emptyRecord, empty, 'a', text('new')));
  assert.equal(collided.siblings.length, 1);
});

test('a write from the new epoch whose context covers the old dot supersedes it', () => {
  const oldWrite = update(emptyRecord, empty, actorOf('a', 1), text('epoch 1'));
  const replicaB = sync(emptyRecord, oldWrite);
  const newWrite = update(emptyRecord, replicaB.context, actorOf('a', 2), text('epoch 2'));
  assert.deepEqual(valuesOf(sync(replicaB, newWrite)), ['epoch 2']);
  assert.deepEqual(valuesOf(sync(newWrite, replicaB)), ['epoch 2']);
});

test('sync drops a sibling the other replica superseded and keeps one it never saw', () => {
  const first = update(emptyRecord, empty, nodeA, text('v1'));
  const replicaB = sync(emptyRecord, first);
  const supersededAtA = update(first, first.context, nodeA, text('v2'));
  assert.deepEqual(valuesOf(sync(replicaB, supersededAtA)), ['v2']);
  const concurrentAtB = update(replicaB, empty, nodeB, text('v3'));
  assert.deepEqual(valuesOf(sync(supersededAtA, concurrentAtB)), ['v2', 'v3']);
});

test('a delete is a tombstone sibling: the key is not live, and a later write supersedes it causally', () => {
  const written = update(emptyRecord, empty, nodeA, text('v1'));
  const deleted = update(written, written.context, nodeA, tombstone());
  assert.equal(isLive(written), true);
  assert.equal(isLive(deleted), false);
  assert.equal(deleted.siblings.length, 1);
  const concurrentWrite = update(deleted, written.context, nodeA, text('v2'));
  assert.equal(isLive(concurrentWrite), true);
  assert.deepEqual(valuesOf(concurrentWrite), ['<deleted>', 'v2']);
  assert.deepEqual(valuesOf(update(concurrentWrite, concurrentWrite.context, nodeA, text('v3'))), ['v3']);
});

test('resolveLastWriterWins keeps the greatest (timestamp, actor, counter), not the greatest lastModifiedMs, and the whole context', () => {
  // a's clock runs 10 s ahead; b (clock right) had seen a's write, so its timestamp is past it.
  const fromA = update(emptyRecord, empty, nodeA, text('by a, clock ahead', 20_000, 20_000 * 1024));
  const fromB = update(emptyRecord, empty, nodeB, text('by b, after seeing a', 10_001, 20_000 * 1024 + 1));
  const siblings = sync(fromA, fromB);
  assert.deepEqual(valuesOf(siblings), ['by a, clock ahead', 'by b, after seeing a']);
  const resolved = resolveLastWriterWins(siblings);
  assert.deepEqual(valuesOf(resolved), ['by b, after seeing a'], 'by lastModifiedMs (20000 > 10001) a would have won');
  assert.deepEqual(resolved.context, siblings.context);
  const tieA = update(emptyRecord, empty, nodeA, text('a', 5));
  const tieB = update(emptyRecord, empty, nodeB, text('b wins the tie', 5));
  assert.deepEqual(
    valuesOf(resolveLastWriterWins(sync(tieA, tieB))),
    ['b wins the tie'],
    'equal timestamps: the greater actor',
  );
  const twiceByA = {
    context: new Map([[nodeA, 2]]),
    siblings: [
      { dot: { actor: nodeA, counter: 1 }, stored: text('a first', 5) },
      { dot: { actor: nodeA, counter: 2 }, stored: text('a second', 5) },
    ],
  };
  assert.deepEqual(
    valuesOf(resolveLastWriterWins(twiceByA)),
    ['a second'],
    'equal timestamps and actor: the greater counter',
  );
  assert.equal(resolveLastWriterWins(emptyRecord), emptyRecord);
});

test('update stamps the new version after every sibling the replica holds, even one from a faster clock', () => {
  const ahead = update(emptyRecord, empty, nodeA, text('from a fast clock', 20_000));
  const blind = update(ahead, empty, nodeB, text('written later on a slow clock', 10_000));
  const mine = blind.siblings.find((sibling) => sibling.dot.actor === nodeB)!;
  assert.equal(mine.stored.timestamp, 20_000 * 1024 + 1);
  assert.equal(mine.stored.lastModifiedMs, 10_000, 'lastModifiedMs stays the wall clock');
  assert.deepEqual(valuesOf(resolveLastWriterWins(blind)), ['written later on a slow clock']);
  const ownClockAhead = update(ahead, empty, nodeB, text('already later', 30_000));
  assert.equal(
    ownClockAhead.siblings.find((sibling) => sibling.dot.actor === nodeB)!.stored.timestamp,
    30_000 * 1024,
    'a timestamp already past them is kept',
  );
});

test('descends tells whether a record already reflects another', () => {
  const first = update(emptyRecord, empty, nodeA, text('v1'));
  const second = update(first, first.context, nodeA, text('v2'));
  const concurrent = update(first, empty, nodeB, text('v3'));
  assert.equal(descends(second, first), true);
  assert.equal(descends(first, second), false);
  assert.equal(descends(second, concurrent), false);
  assert.equal(descends(sync(second, concurrent), concurrent), true);
  assert.equal(descends(first, emptyRecord), true);
});

test('recordsEqual and mergeContexts compare and combine by value', () => {
  const first = update(emptyRecord, empty, nodeA, text('v1', 3));
  const again = update(emptyRecord, empty, nodeA, text('v1', 3));
  assert.equal(recordsEqual(first, again), true);
  assert.equal(recordsEqual(first, update(emptyRecord, empty, nodeA, text('v1', 4))), false);
  assert.equal(recordsEqual(first, emptyRecord), false);
  assert.deepEqual(
    mergeContexts(
      new Map([
        ['x', 3],
        ['y', 1],
      ]),
      new Map([
        ['y', 4],
        ['z', 2],
      ]),
    ),
    new Map([
      ['x', 3],
      ['y', 4],
      ['z', 2],
    ]),
  );
});

test('update and sync never mutate their inputs', () => {
  const first = update(emptyRecord, empty, nodeA, text('v1'));
  const snapshot = { context: new Map(first.context), siblings: [...first.siblings] };
  const clientContext = new Map([[nodeB, 3]]);
  update(first, clientContext, nodeA, text('v2'));
  // A Redis SET writes with the replica's own context: the record's context map itself comes back in.
  update(first, first.context, nodeA, text('v2'));
  update(first, empty, nodeA, text('v2'));
  sync(first, update(emptyRecord, empty, nodeB, text('v3')));
  assert.deepEqual(first, snapshot);
  assert.deepEqual(clientContext, new Map([[nodeB, 3]]));
  assert.equal(emptyRecord.context.size, 0);
  assert.equal(emptyRecord.siblings.length, 0);
});

test('the new dot is past what both the replica and the client have seen from the actor', () => {
  const updated = update(emptyRecord, new Map([[nodeA, 5]]), nodeA, text('v'));
  assert.deepEqual(updated.siblings[0]?.dot, { actor: nodeA, counter: 6 });
  assert.deepEqual(updated.context, new Map([[nodeA, 6]]));
});

test('contextAfterUpdate returns the writer its context plus the new dot only when that is exact', () => {
  const first = update(emptyRecord, empty, nodeA, text('v1'));
  assert.deepEqual(contextAfterUpdate(empty, first, nodeA), new Map([[nodeA, 1]]));
  // Another client's concurrent write (a, 2) lands first; ours becomes (a, 3). Claiming {a:3}
  // would claim (a, 2), which our client never saw, so it keeps its own context.
  const second = update(first, empty, nodeA, text('v2'));
  const ours = update(second, first.context, nodeA, text('v3'));
  assert.deepEqual(contextAfterUpdate(first.context, ours, nodeA), first.context);
  const next = update(ours, contextAfterUpdate(first.context, ours, nodeA), nodeA, text('v4'));
  assert.deepEqual(valuesOf(next), ['v2', 'v3', 'v4']);
});

test('a mint past dotCounterMax is a coded refusal, never an assertion: BAD_CONTEXT when the client claimed the counter, BAD_RECORD when the replica holds it', () => {
  const atLimit: VersionVector = new Map([[nodeA, dotCounterMax]]);
  const coded = (code: string) => (error: unknown) =>
    error instanceof EverwriteError && error.code === code && /leaves no room/.test(error.message);
  assert.throws(() => update(emptyRecord, atLimit, nodeA, text('forged')), coded('EVERWRITE_BAD_CONTEXT'));
  const stored = { context: atLimit, siblings: [] };
  assert.throws(() => update(stored, empty, nodeA, text('next')), coded('EVERWRITE_BAD_RECORD'));
  // One below the limit still mints, at the limit, and other actors are unaffected.
  const below = update(emptyRecord, new Map([[nodeA, dotCounterMax - 1]]), nodeA, text('last one'));
  assert.equal(below.context.get(nodeA), dotCounterMax);
  assert.equal(update(stored, empty, nodeB, text('another actor')).context.get(nodeB), 1);
});
