// Why: the quorum is a promise to the client. With two of three replicas killed, a write that asks
// for W=2 must fail with 503 EVERWRITE_QUORUM_NOT_MET, and must do so within the timeout the client
// gave (not hang), while a W=1 write must still succeed on the one live node (the sloppy quorum keeps
// the store writeable) and be readable once the other nodes return (the paper, sections 4.5-4.6).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterFixture, eventually, type Reply } from '../support/cluster-fixture.ts';

const bucket = 'quorum';
const timeoutMs = 1500;
/** Scheduling slack on a loaded two-core machine, on top of the request's own timeout. */
const marginMs = 2500;
let fixture: ClusterFixture;

interface QuorumBody {
  code: string;
  message: string;
  answered: number;
  required: number;
  refused: number;
  unanswered: number;
  down: number;
  tried: number;
  replicas: number;
}

before(
  async () => {
    fixture = await ClusterFixture.start({ name: 'quorum-loss' });
  },
  { timeout: 60_000 },
);

after(
  async () => {
    await fixture?.stop();
  },
  { timeout: 30_000 },
);

function assertQuorumNotMet(reply: Reply, required: number, what: string): void {
  assert.equal(reply.status, 503, `${what}: ${reply.text}`);
  const body = reply.json<QuorumBody>();
  assert.equal(body.code, 'EVERWRITE_QUORUM_NOT_MET', what);
  assert.equal(body.required, required, `${what}: the body names the quorum it missed`);
  assert.equal(
    body.answered + body.refused + body.unanswered + body.down,
    body.replicas,
    `${what}: every replica is counted once: ${reply.text}`,
  );
  const verb = body.message.startsWith('read') ? 'answered' : 'acknowledged';
  assert.ok(
    body.message.includes(` ${body.answered} ${verb}, ${body.refused} refused, ${body.unanswered} `),
    `${what}: the message says the body's counts: ${body.message}`,
  );
  assert.ok(
    reply.elapsedMs < timeoutMs + marginMs,
    `${what}: answered after ${Math.round(reply.elapsedMs)} ms; the timeout was ${timeoutMs} ms`,
  );
}

test(
  'with two of three nodes killed, W=2 and W=3 writes fail with 503 EVERWRITE_QUORUM_NOT_MET within the timeout',
  { timeout: 60_000 },
  async () => {
    assert.equal((await fixture.put(1, bucket, 'warm-up', 'all three up', { w: 3 })).status, 204);
    await Promise.all([fixture.kill(2), fixture.kill(3)]);

    // The first write still believes the peers are up: it waits for them until its deadline.
    assertQuorumNotMet(await fixture.put(1, bucket, 'unlucky', 'v1', { w: 2, timeoutMs }), 2, 'the first W=2 write');
    // Now the coordinator knows they are down; the answer may come at once, but never later.
    assertQuorumNotMet(await fixture.put(1, bucket, 'unlucky', 'v2', { w: 2, timeoutMs }), 2, 'a second W=2 write');
    assertQuorumNotMet(await fixture.put(1, bucket, 'unlucky', 'v3', { w: 3, timeoutMs }), 3, 'a W=3 write');
    assertQuorumNotMet(await fixture.get(1, bucket, 'warm-up', { r: 2, timeoutMs }), 2, 'an R=2 read');
    const health = await fixture.get(1, bucket, 'warm-up', { r: 1 });
    assert.equal(health.status, 200, 'the surviving node still serves R=1 reads');
    assert.equal(health.text, 'all three up');
  },
);

test(
  'a W=1 write succeeds with two nodes down and is readable with R=1, and with R=3 after they return',
  { timeout: 90_000 },
  async () => {
    assert.equal(fixture.pid(2), undefined, 'node 2 is down from the previous test');
    assert.equal(fixture.pid(3), undefined, 'node 3 is down from the previous test');
    const written = await fixture.put(1, bucket, 'sloppy', 'written alone', { w: 1, timeoutMs });
    assert.equal(written.status, 204, written.text);
    const alone = await fixture.get(1, bucket, 'sloppy', { r: 1 });
    assert.equal(alone.status, 200, alone.text);
    assert.equal(alone.text, 'written alone');

    await Promise.all([fixture.restart(2), fixture.restart(3)]);
    // Node 2 has just started, so it believes every peer is up and asks all three replicas.
    const everyone = await eventually(
      'an R=3 read through node 2 to succeed',
      async () => {
        const read = await fixture.get(2, bucket, 'sloppy', { r: 3, timeoutMs: 10_000 });
        return read.status === 200 ? read : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    assert.equal(everyone.text, 'written alone');
    // Node 1 saw the others fail; it reads them again once its down interval has passed.
    const quorumRead = await eventually(
      'a default-quorum read through node 1 to succeed',
      async () => {
        const read = await fixture.get(1, bucket, 'sloppy');
        return read.status === 200 ? read : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    assert.equal(quorumRead.text, 'written alone');
    // And the write reaches both returning replicas (hinted handoff or read repair).
    for (const index of [2, 3]) {
      await eventually(
        `node ${index} to hold the W=1 write`,
        async () => ((await fixture.localValue(index, bucket, 'sloppy')) === 'written alone' ? true : undefined),
        { timeoutMs: 30_000, intervalMs: 250 },
      );
    }
    fixture.assertNoCrashes();
  },
);

test(
  'with one node killed and known down, a W=3 write fails at once and its counts are true: the replica it called unanswered stores the write',
  { timeout: 90_000 },
  async () => {
    await fixture.kill(3);
    await fixture.makeCoordinatorSeeDown(1, 3);
    const failed = await fixture.put(1, bucket, 'w3', 'three asked for', { w: 3, timeoutMs });
    assertQuorumNotMet(failed, 3, 'a W=3 write with n3 known down');
    const body = failed.json<QuorumBody>();
    // n3 was never sent the write; the two live replicas were, and neither refused.
    assert.deepEqual([body.replicas, body.down, body.tried, body.refused], [3, 1, 2, 0], failed.text);
    assert.equal(
      body.answered + body.unanswered,
      2,
      `every live replica is acknowledged or not answered yet: ${failed.text}`,
    );
    assert.ok(body.answered >= 1, `the coordinator's own replica acknowledged: ${failed.text}`);
    assert.ok(
      failed.elapsedMs < timeoutMs,
      `certain failure is answered before the ${timeoutMs} ms deadline, took ${Math.round(failed.elapsedMs)} ms`,
    );
    // The message states the body's counts, whatever they were.
    assert.equal(
      body.message,
      `write quorum not met: 3 of the key's 3 replicas required; ${body.answered} acknowledged, 0 refused, ${body.unanswered} had not answered yet, 1 known down with no live node to try; answered as soon as 3 could no longer acknowledge; the write is not undone where it was stored`,
    );
    // And the counts were the truth: both live replicas, acknowledged or not yet, store it.
    for (const index of [1, 2])
      await eventually(
        `n${index} to hold the W=3 write`,
        async () => ((await fixture.localValue(index, bucket, 'w3')) === 'three asked for' ? true : undefined),
        { timeoutMs: 10_000 },
      );
    assert.equal(failed.headers.get('retry-after'), '1');
    fixture.assertNoCrashes();
  },
);
