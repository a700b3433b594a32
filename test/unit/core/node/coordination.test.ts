// Why: the coordinator's protocol, end to end across several NodeCores with virtual time: quorum
// writes and reads, siblings and their collapse, the sloppy quorum with hinted handoff, read repair,
// forwarding, deletes that stay deleted, and coded errors for bad requests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreCluster, md5 } from '../../../support/core-cluster.ts';
import { asNodeId } from '../../../../src/core/base/ids.ts';
import { encodeStorageKey } from '../../../../src/core/protocol/storage-key.ts';
import { keyHash, partitionOf } from '../../../../src/core/ring/index.ts';
import { encodeContext, isLive } from '../../../../src/core/versioning/index.ts';
import { defaultNodeCoreSettings } from '../../../../src/core/node/options.ts';
import { chooseSibling } from '../../../../src/api/resp/resolve.ts';
import { toGetResult } from '../../../../src/runtime/node-runtime.ts';
import { testContextSeal } from '../../../support/context-seal.ts';

const bucket = 'carts';

function contextOf(cluster: CoreCluster, requestId: number): string {
  return encodeContext(cluster.record(requestId).context);
}

test('a put is readable from every node', () => {
  const cluster = new CoreCluster(3);
  const put = cluster.put('n1', bucket, 'alice', 'apple');
  cluster.run();
  assert.equal(cluster.outcome(put).ok, true);
  for (const id of cluster.ids) {
    const get = cluster.get(id, bucket, 'alice');
    cluster.run();
    assert.deepEqual(cluster.values(get), ['apple'], `read at ${id}`);
  }
  for (const id of cluster.ids) assert.equal(cluster.localRecords(id).length, 1, `replica on ${id}`);
});

test('two concurrent puts with the same context through the same coordinator become siblings; the merged context collapses them', () => {
  const cluster = new CoreCluster(3);
  const first = cluster.put('n1', bucket, 'k', 'v0');
  cluster.run();
  const context = contextOf(cluster, first);
  const a = cluster.put('n1', bucket, 'k', 'from-a', context);
  const b = cluster.put('n1', bucket, 'k', 'from-b', context);
  cluster.run();
  assert.equal(cluster.outcome(a).ok && cluster.outcome(b).ok, true);
  const read = cluster.get('n2', bucket, 'k');
  cluster.run();
  assert.deepEqual(cluster.values(read), ['from-a', 'from-b']);
  const resolved = cluster.put('n3', bucket, 'k', 'merged', contextOf(cluster, read));
  cluster.run();
  assert.equal(cluster.outcome(resolved).ok, true);
  const after = cluster.get('n1', bucket, 'k');
  cluster.run();
  assert.deepEqual(cluster.values(after), ['merged']);
});

test('N=3 W=2 with one primary down: the write succeeds, a hint is kept, and handoff delivers it when the node returns', () => {
  const cluster = new CoreCluster(3, { hintDeliveryIntervalMs: 500 });
  cluster.down.add(cluster.ids[2]!);
  const put = cluster.put('n1', bucket, 'k', 'while-down', undefined, { w: 2 });
  cluster.run();
  assert.equal(cluster.outcome(put).ok, true);
  assert.equal(cluster.localRecords('n3').length, 0);
  const heldHints = [...cluster.node('n1').hints.values(), ...cluster.node('n2').hints.values()];
  assert.equal(heldHints.length, 1);
  assert.equal(heldHints[0]!.target, 'n3');
  cluster.down.clear();
  cluster.runFor(5000);
  assert.equal(cluster.localRecords('n3').length, 1);
  assert.equal(cluster.node('n1').hints.size + cluster.node('n2').hints.size, 0, 'hints are deleted once acknowledged');
});

test('with two of three down a W=2 write fails with EVERWRITE_QUORUM_NOT_MET at the deadline and a W=1 write succeeds', () => {
  const cluster = new CoreCluster(3);
  cluster.down.add(cluster.ids[1]!);
  cluster.down.add(cluster.ids[2]!);
  const start = cluster.nowMs;
  const failing = cluster.put('n1', bucket, 'k', 'x', undefined, { w: 2, timeoutMs: 300 });
  cluster.run(start + 1000);
  const outcome = cluster.outcome(failing);
  assert.equal(outcome.ok, false);
  if (!outcome.ok) {
    assert.equal(outcome.error.code, 'EVERWRITE_QUORUM_NOT_MET');
    assert.match(outcome.error.message, /; 1 acknowledged, 0 refused, 2 did not answer within 300 ms, /);
  }
  const succeeding = cluster.put('n1', bucket, 'k', 'y', undefined, { w: 1 });
  cluster.run();
  assert.equal(cluster.outcome(succeeding).ok, true);
});

test('a read repairs a stale primary', () => {
  // Read repair alone: anti-entropy runs too rarely to reach the key first.
  const cluster = new CoreCluster(3, { antiEntropyIntervalMs: 1_000_000_000, antiEntropyCatchUpOutageMsMax: 1 });
  cluster.down.add(cluster.ids[2]!);
  const put = cluster.put('n1', bucket, 'k', 'fresh', undefined, { w: 2 });
  cluster.run();
  assert.equal(cluster.outcome(put).ok, true);
  for (const id of cluster.ids) cluster.node(id).hints.clear();
  cluster.down.clear();
  cluster.runFor(3000);
  assert.equal(cluster.localRecords('n3').length, 0, 'no handoff in this test');
  const read = cluster.get('n1', bucket, 'k', { r: 2 });
  cluster.run();
  assert.deepEqual(cluster.values(read), ['fresh']);
  assert.equal(cluster.localRecords('n3').length, 1, 'read repair wrote the stale replica');
});

test('a deleted key does not come back when a stale replica returns, and the tombstone is reaped only once every primary holds it', () => {
  // Read repair's part alone: anti-entropy (which would also give n3 the tombstone) runs too rarely to act here.
  const cluster = new CoreCluster(3, {
    reapDelayMs: 1000,
    hintDeliveryIntervalMs: 1_000_000,
    antiEntropyIntervalMs: 1_000_000_000,
    antiEntropyCatchUpOutageMsMax: 1,
  });
  const put = cluster.put('n1', bucket, 'k', 'doomed');
  cluster.run();
  cluster.down.add(cluster.ids[2]!);
  const deletion = cluster.put('n1', bucket, 'k', '', contextOf(cluster, put), { w: 2 }, true);
  cluster.run();
  assert.equal(cluster.outcome(deletion).ok, true);
  for (const id of cluster.ids) cluster.node(id).hints.clear();
  cluster.down.clear();
  cluster.runFor(3000);
  const siblingsOn = (id: string): number =>
    cluster.localRecords(id).reduce((sum, record) => sum + record.siblings.length, 0);
  assert.equal(siblingsOn('n1'), 1, 'not reaped while n3 lacks the tombstone');
  assert.equal(isLive(cluster.localRecords('n3')[0]!), true, 'n3 still holds the deleted value');
  const read = cluster.get('n2', bucket, 'k', { r: 3 });
  cluster.run();
  assert.equal(isLive(cluster.record(read)), false, 'the stale value from n3 does not resurrect');
  assert.equal(isLive(cluster.localRecords('n3')[0]!), false, 'read repair gave n3 the tombstone');
  cluster.runFor(3000);
  assert.equal(siblingsOn('n1'), 1, 'the first read saw disagreement, so nothing is reaped yet');
  const agreeing = cluster.get('n2', bucket, 'k', { r: 3 });
  cluster.run();
  assert.equal(isLive(cluster.record(agreeing)), false);
  cluster.runFor(3000);
  for (const id of cluster.ids) assert.equal(siblingsOn(id), 0, `tombstone reaped on ${id}`);
  for (const id of cluster.ids)
    assert.ok(
      cluster.localRecords(id).every((record) => record.context.size > 0),
      `the causal context stays on ${id}`,
    );
  const again = cluster.get('n3', bucket, 'k', { r: 3 });
  cluster.run();
  assert.equal(cluster.record(again).siblings.length, 0);
});

test('a non-primary forwards a write to a primary and relays its answer while another primary is down', () => {
  const cluster = new CoreCluster(5, { forwardTimeoutMs: 200 });
  const probe = cluster.put('n1', bucket, 'fwd', 'one', undefined, { w: 3 });
  cluster.run();
  assert.equal(cluster.outcome(probe).ok, true);
  const holders = cluster.ids.filter((id) => cluster.localRecords(id).length > 0);
  const outsider = cluster.ids.find((id) => !holders.includes(id))!;
  assert.equal(holders.length, 3);
  for (const holder of holders) cluster.down.add(holder);
  cluster.down.delete(holders[1]!);
  cluster.down.delete(holders[2]!);
  const write = cluster.put(outsider, bucket, 'fwd', 'two', contextOf(cluster, probe), { w: 2 });
  cluster.run();
  assert.equal(cluster.outcome(write).ok, true);
  const read = cluster.get(outsider, bucket, 'fwd', { r: 2 });
  cluster.run();
  assert.deepEqual(cluster.values(read), ['two']);
});

test('a forwarded write whose primary answers too late is a timeout, never coordinated a second time under another dot', () => {
  // Latency 5 ms each way: the primary mints and stores the write before the 8 ms forward timeout,
  // but its answer arrives after it. Coordinating the write again at the outsider would give the one
  // client write a second dot that a later delete, seeing the first, would not remove.
  const cluster = new CoreCluster(5, { forwardTimeoutMs: 8 }, 5);
  const probe = cluster.put('n1', bucket, 'late', 'one', undefined, { w: 3 });
  cluster.run();
  assert.equal(cluster.outcome(probe).ok, true);
  const holders = cluster.ids.filter((id) => cluster.localRecords(id).length > 0);
  const outsider = cluster.ids.find((id) => !holders.includes(id))!;
  const write = cluster.put(outsider, bucket, 'late', 'two', contextOf(cluster, probe), { w: 1 });
  cluster.runFor(3000);
  const outcome = cluster.outcome(write);
  assert.equal(
    outcome.ok ? 'ok' : outcome.error.code,
    'EVERWRITE_TIMEOUT',
    'the outsider cannot know whether the primary applied it',
  );
  const read = cluster.get(holders[0]!, bucket, 'late', { r: 3 });
  cluster.run();
  assert.deepEqual(
    cluster.record(read).siblings.map((sibling) => new TextDecoder().decode(sibling.stored.value)),
    ['two'],
    'one version of the write, under one dot',
  );
  for (const id of cluster.ids)
    assert.ok(
      cluster.localRecords(id).every((record) => record.siblings.length <= 1),
      `no second dot of the write on ${id}`,
    );
});

test('a forwarded write delivered twice is coordinated once: the second copy mints no second dot', () => {
  const cluster = new CoreCluster(3);
  const forward = {
    type: 'forward',
    id: 7,
    operation: {
      kind: 'put',
      bucket,
      key: 'twice',
      value: new TextEncoder().encode('v'),
      contentType: 'text/plain',
      deleted: false,
      lastModifiedMs: 1_700_000_000_000,
    },
  } as const;
  cluster.deliver('n1', 'n2', forward);
  cluster.run();
  cluster.deliver('n1', 'n2', forward);
  cluster.run();
  for (const id of cluster.ids) {
    for (const record of cluster.localRecords(id)) {
      assert.equal(record.siblings.length, 1, `one version on ${id}`);
      assert.deepEqual([...record.context.values()], [1], `one dot minted, seen on ${id}`);
    }
  }
  assert.ok(
    cluster.ids.some((id) => cluster.localRecords(id).length > 0),
    'the first copy was coordinated',
  );
});

test('bad requests get coded errors, never a crash', () => {
  const cluster = new CoreCluster(3);
  const badContext = cluster.put('n1', bucket, 'k', 'v', '!!not-a-context!!');
  const badQuorum = cluster.get('n1', bucket, 'k', { r: 4 });
  const bigKey = cluster.get('n1', bucket, 'x'.repeat(1025));
  const emptyKey = cluster.get('n1', bucket, '');
  cluster.run();
  const codes = [badContext, badQuorum, bigKey, emptyKey].map((id) => {
    const outcome = cluster.outcome(id);
    return outcome.ok ? 'ok' : outcome.error.code;
  });
  assert.deepEqual(codes, [
    'EVERWRITE_BAD_CONTEXT',
    'EVERWRITE_BAD_REQUEST',
    'EVERWRITE_KEY_TOO_LARGE',
    'EVERWRITE_BAD_REQUEST',
  ]);
});

test('a replica refuses requests placed by a different ring instead of filing them where nobody reads', () => {
  const cluster = new CoreCluster(3);
  const node = cluster.node('n2').core;
  const storageKey = encodeStorageKey(bucket, 'k');
  const wrongPartition = (partitionOf(node.ring, keyHash(md5, bucket, 'k')) + 1) % node.ring.partitionCount;
  node.step({
    type: 'message',
    nowMs: 0,
    from: asNodeId('n1'),
    message: { type: 'replicaGet', id: 7, partition: wrongPartition, storageKey },
  });
  const effects = node.takeEffects();
  assert.ok(effects.some((effect) => effect.type === 'log' && effect.level === 'error'));
  assert.ok(
    effects.some((effect) => effect.type === 'send' && effect.message.type === 'replicaGetReply' && !effect.message.ok),
  );
  assert.ok(!effects.some((effect) => effect.type === 'storeRead'));
});

test('a write with supersedeLocal supersedes every version its coordinator holds, in one round, and answers a context that covers them', () => {
  const cluster = new CoreCluster(3);
  cluster.put('n1', bucket, 'k', 'apples');
  cluster.put('n1', bucket, 'k', 'pears');
  cluster.run();
  const before = cluster.get('n2', bucket, 'k');
  cluster.run();
  assert.deepEqual(cluster.values(before), ['apples', 'pears']);
  const write = cluster.put('n2', bucket, 'k', 'plums', undefined, {}, false, true);
  cluster.run();
  const outcome = cluster.outcome(write);
  assert.equal(outcome.ok, true);
  const after = cluster.get('n3', bucket, 'k');
  cluster.run();
  assert.deepEqual(cluster.values(after), ['plums']);
  assert.equal(
    outcome.ok && outcome.context !== undefined && encodeContext(outcome.context),
    contextOf(cluster, after),
    "the answered context is the record's",
  );
});

test('supersedeLocal keeps, as a sibling, a concurrent version its coordinator has not seen (nothing is lost)', () => {
  const cluster = new CoreCluster(3, { hintDeliveryIntervalMs: 60_000 });
  cluster.down.add(cluster.ids[1]!);
  const unseen = cluster.put('n1', bucket, 'k', 'unseen-by-n2', undefined, { w: 2 });
  cluster.run();
  assert.equal(cluster.outcome(unseen).ok, true);
  cluster.down.clear();
  assert.equal(cluster.localRecords('n2').length, 0, 'n2 missed the first write');
  const overwrite = cluster.put('n2', bucket, 'k', 'set-at-n2', undefined, { w: 2 }, false, true);
  cluster.run();
  assert.equal(cluster.outcome(overwrite).ok, true);
  const read = cluster.get('n1', bucket, 'k', { r: 3 });
  cluster.run();
  assert.deepEqual(cluster.values(read), ['set-at-n2', 'unseen-by-n2']);
});

test('a forwarded write keeps supersedeLocal: the primary that coordinates it supersedes what it holds', () => {
  const cluster = new CoreCluster(5);
  const first = cluster.put('n1', bucket, 'fwd', 'a', undefined, { w: 3 });
  const second = cluster.put('n1', bucket, 'fwd', 'b', undefined, { w: 3 });
  cluster.run();
  assert.equal(cluster.outcome(first).ok && cluster.outcome(second).ok, true);
  const holders = cluster.ids.filter((id) => cluster.localRecords(id).length > 0);
  const outsider = cluster.ids.find((id) => !holders.includes(id))!;
  const write = cluster.put(outsider, bucket, 'fwd', 'c', undefined, { w: 3 }, false, true);
  cluster.run();
  assert.equal(cluster.outcome(write).ok, true);
  const read = cluster.get(outsider, bucket, 'fwd', { r: 3 });
  cluster.run();
  assert.deepEqual(cluster.values(read), ['c']);
});

test('last-writer-wins orders by hybrid logical clock: a blind write made after seeing a version from a clock 10 s ahead wins over it', () => {
  const text = (bytes: Uint8Array | undefined): string => new TextDecoder().decode(bytes);
  for (const resolver of ['siblings', 'lww'] as const) {
    const cluster = new CoreCluster(3, { defaultProps: { ...defaultNodeCoreSettings.defaultProps, resolver } });
    cluster.clockSkewMs.set('n1', 10_000);
    // Each step gets 100 ms of virtual time, well inside the 10 s lead of n1's clock.
    const first = cluster.put('n1', bucket, 'clock', 'v1 from the fast clock');
    cluster.run(cluster.nowMs + 100);
    assert.equal(cluster.outcome(first).ok, true);
    assert.equal(cluster.localRecords('n2').length, 1, 'n2 received v1 as a replica');
    const second = cluster.put('n2', bucket, 'clock', 'v2 written after seeing v1');
    cluster.run(cluster.nowMs + 100);
    assert.equal(cluster.outcome(second).ok, true);
    const read = cluster.get('n3', bucket, 'clock', { r: 3 });
    cluster.run(cluster.nowMs + 100);
    const siblings = toGetResult(cluster.record(read), testContextSeal).siblings;
    if (resolver === 'siblings') {
      assert.deepEqual(
        cluster.values(read),
        ['v1 from the fast clock', 'v2 written after seeing v1'],
        'blind writes make siblings',
      );
      const [byWallClock] = [...siblings].sort((a, b) => b.lastModifiedMs - a.lastModifiedMs);
      assert.equal(
        text(byWallClock?.value),
        'v1 from the fast clock',
        'by lastModified (wall clock) v1 would have won',
      );
    }
    assert.equal(
      text(chooseSibling(siblings)?.value),
      'v2 written after seeing v1',
      `RESP GET on a ${resolver} bucket`,
    );
    if (resolver === 'lww')
      assert.deepEqual(
        cluster.values(read),
        ['v2 written after seeing v1'],
        'the lww bucket keeps v2, not the wall-clock winner v1',
      );
  }
});

test('a node stamps its writes after every version it has seen, on any key, though its clock is 10 s behind', () => {
  const cluster = new CoreCluster(3, { hintDeliveryIntervalMs: 60_000 });
  cluster.clockSkewMs.set('n1', 10_000);
  cluster.down.add(asNodeId('n2'));
  const fast = cluster.put('n1', bucket, 'seen', 'from the fast clock', undefined, { w: 2 });
  cluster.run(cluster.nowMs + 100);
  cluster.down.clear();
  assert.equal(cluster.localRecords('n2').length, 0, 'n2 missed the write as a replica');
  const seenTimestamp = cluster.record(fast).siblings[0]!.stored.timestamp;
  const read = cluster.get('n2', bucket, 'seen');
  cluster.run(cluster.nowMs + 100);
  assert.deepEqual(cluster.values(read), ['from the fast clock']);
  const later = cluster.put('n2', bucket, 'other key', 'written after the read');
  cluster.run(cluster.nowMs + 100);
  const stamped = cluster.record(later).siblings[0]!.stored;
  assert.ok(stamped.timestamp > seenTimestamp, `timestamp ${stamped.timestamp} passes the one read, ${seenTimestamp}`);
  assert.ok(
    stamped.lastModifiedMs < cluster.record(fast).siblings[0]!.stored.lastModifiedMs,
    'while its wall clock is behind',
  );
});

test('a malformed forwarded request is answered with EVERWRITE_BAD_REQUEST, never a failed assertion', () => {
  const cluster = new CoreCluster(3);
  const node = cluster.node('n2').core;
  const flawed = [
    { kind: 'put', bucket: bucket, key: 'k', value: new Uint8Array(1), lastModifiedMs: 1.5 },
    { kind: 'put', bucket: 42, key: 'k' },
    { kind: 'get', bucket: bucket, key: 'k', r: 'two' },
    { kind: 'delete', bucket: bucket, key: 'k' },
    // Longer than a record may store (a client's is bounded by Node's header limit; a peer's frame is not).
    { kind: 'put', bucket: bucket, key: 'k', value: new Uint8Array(1), contentType: 'x'.repeat(16 * 1024 + 1) },
  ];
  for (const [index, operation] of flawed.entries()) {
    node.step({
      type: 'message',
      nowMs: 0,
      from: asNodeId('n1'),
      message: { type: 'forward', id: 100 + index, operation: operation as never },
    });
    const replies = node
      .takeEffects()
      .filter((effect) => effect.type === 'send' && effect.message.type === 'forwardReply');
    assert.equal(replies.length, 1, `one answer for ${JSON.stringify(operation).slice(0, 200)}`);
    const reply = replies[0]!;
    assert.ok(
      reply.type === 'send' &&
        reply.message.type === 'forwardReply' &&
        reply.message.error?.code === 'EVERWRITE_BAD_REQUEST',
    );
  }
});

/** The quorum error of a request, failing the test if it succeeded or failed otherwise. */
function quorumError(cluster: CoreCluster, requestId: number): { message: string; details: Record<string, unknown> } {
  const outcome = cluster.outcome(requestId);
  assert.ok(!outcome.ok, 'the request failed');
  assert.equal(outcome.error.code, 'EVERWRITE_QUORUM_NOT_MET');
  return { message: outcome.error.message, details: { ...outcome.error.details } };
}

/** Teaches n1 that n3 is down: a write's deadline passes without n3's acknowledgement. */
function teachN1ThatN3IsDown(cluster: CoreCluster): void {
  cluster.down.add(asNodeId('n3'));
  const teaching = cluster.put('n1', bucket, 'teaching', 'x', undefined, { w: 3, timeoutMs: 300 });
  cluster.run(cluster.nowMs + 1000);
  assert.equal(cluster.outcome(teaching).ok, false);
}

test('W=3 with one primary known down fails fast and counts truly: 1 acknowledged, 1 not answered yet, 1 known down; the unanswered one then stores it', () => {
  const cluster = new CoreCluster(3);
  teachN1ThatN3IsDown(cluster);
  const start = cluster.nowMs;
  const write = cluster.put('n1', bucket, 'k', 'y', undefined, { w: 3, timeoutMs: 300 });
  // Failure is certain once the local write is done: two targets cannot give three acknowledgements.
  cluster.run(start + 50);
  const { message, details } = quorumError(cluster, write);
  assert.deepEqual(details, { answered: 1, required: 3, refused: 0, unanswered: 1, down: 1, tried: 2, replicas: 3 });
  assert.equal(
    message,
    "write quorum not met: 3 of the key's 3 replicas required; 1 acknowledged, 0 refused, 1 had not answered yet, 1 known down with no live node to try; answered as soon as 3 could no longer acknowledge; the write is not undone where it was stored",
  );
  // What the message says is so: the replica that had not answered yet stores the write.
  assert.deepEqual(
    cluster.localRecords('n2').filter((record) => record.siblings.length > 0).length,
    2,
    'n2 holds the teaching write and this one',
  );
  const read = cluster.get('n1', bucket, 'k', { r: 3, timeoutMs: 300 });
  cluster.run(cluster.nowMs + 50);
  assert.deepEqual(quorumError(cluster, read).details, {
    answered: 1,
    required: 3,
    refused: 0,
    unanswered: 1,
    down: 1,
    tried: 2,
    replicas: 3,
  });
});

test('a primary whose disk fails refuses: the quorum error counts it as refused, not as unanswered', () => {
  const cluster = new CoreCluster(3);
  cluster.failingDisks.add(asNodeId('n2'));
  const write = cluster.put('n1', bucket, 'k', 'y', undefined, { w: 3, timeoutMs: 300 });
  cluster.run(cluster.nowMs + 50);
  const written = quorumError(cluster, write);
  assert.equal(written.details.refused, 1, written.message);
  assert.equal(written.details.down, 0, written.message);
  // Every replica is in exactly one count, and the message says the same counts.
  const writeCounts = written.details as { answered: number; refused: number; unanswered: number; down: number };
  assert.equal(writeCounts.answered + writeCounts.refused + writeCounts.unanswered + writeCounts.down, 3);
  assert.match(
    written.message,
    new RegExp(
      `; ${writeCounts.answered} acknowledged, 1 refused, ${writeCounts.unanswered} had not answered yet, 0 known down`,
    ),
  );
  const read = cluster.get('n1', bucket, 'k', { r: 3, timeoutMs: 300 });
  cluster.run(cluster.nowMs + 50);
  const readError = quorumError(cluster, read);
  assert.equal(readError.details.refused, 1, readError.message);
  assert.match(readError.message, /^read quorum not met: 3 of the key's 3 replicas required; \d answered, 1 refused, /);
});

test('a primary that never answers is counted as not answering within the timeout, and the answer waits for the deadline', () => {
  const cluster = new CoreCluster(3);
  // n1 does not know n3 is down: it sends to all three and waits.
  cluster.down.add(asNodeId('n3'));
  const start = cluster.nowMs;
  const write = cluster.put('n1', bucket, 'k', 'y', undefined, { w: 3, timeoutMs: 300 });
  cluster.run(start + 250);
  assert.equal(cluster.outcomes.has(write), false, 'no answer before the deadline: n3 might still acknowledge');
  cluster.run(start + 400);
  const { message, details } = quorumError(cluster, write);
  assert.deepEqual(details, { answered: 2, required: 3, refused: 0, unanswered: 1, down: 0, tried: 3, replicas: 3 });
  assert.equal(
    message,
    "write quorum not met: 3 of the key's 3 replicas required; 2 acknowledged, 0 refused, 1 did not answer within 300 ms, 0 known down with no live node to try; the timeout passed; the write is not undone where it was stored",
  );
});
