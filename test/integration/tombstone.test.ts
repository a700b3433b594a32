// Why: a delete must not come back. The classic failure (Riak's resurrection bug) is a tombstone
// dropped while a replica that missed the delete is away: when it returns, its old value is the
// only version left and reads bring it back. Here one replica is killed, the key is deleted, reads
// happen while it is away, and tombstones are reaped quickly (300 ms) so premature reaping would
// show; hint delivery is held back for ten minutes and the coordinator counts the node as down
// beforehand, so the returning replica really still holds the old value. Reads must stay 404
// through every node, the stale replica must learn the delete, and only then may the key be reaped.
// Every wait checks as it polls: a premature reap or a value read back fails at the sighting.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterFixture, eventually, throughout } from '../support/cluster-fixture.ts';

const bucket = 'tombstones';
const reapDelayMs = 300;
let fixture: ClusterFixture;

before(
  async () => {
    // Anti-entropy (decision 0016) would repair the stale replica this test is about: it runs too rarely to act here.
    fixture = await ClusterFixture.start({
      name: 'tombstone',
      settings: {
        antiEntropyIntervalMs: 600_000_000,
        antiEntropyCatchUpOutageMsMax: 1,
        reapDelayMs,
        hintDeliveryIntervalMs: 600_000,
        downBackoffMs: 60_000,
      },
    });
  },
  { timeout: 60_000 },
);

after(
  async () => {
    await fixture?.stop();
  },
  { timeout: 30_000 },
);

async function assertNotFoundEverywhere(
  key: string,
  what: string,
  options: { r?: number } = {},
  nodes: readonly number[] = [1, 2, 3],
): Promise<void> {
  for (const index of nodes) {
    const read = await fixture.get(index, bucket, key, options);
    assert.equal(read.status, 404, `${what}: read through n${index} gave ${read.status} ${read.text}`);
  }
}

/** 'tombstone', 'reaped' (the context-only record a reap leaves), 'nothing', or the live value. */
async function localState(index: number, key: string): Promise<string> {
  const local = await fixture.local(index, bucket, key);
  if (local.status === 404)
    return local.context === undefined ? 'nothing' : local.text.includes('only a tombstone') ? 'tombstone' : 'reaped';
  return (await fixture.localValue(index, bucket, key)) ?? local.text;
}

test('a key deleted while a replica is down stays deleted when the replica returns', { timeout: 90_000 }, async () => {
  const key = 'doomed';
  const written = await fixture.put(1, bucket, key, 'alive', { w: 3 });
  assert.equal(written.status, 204, written.text);

  await fixture.kill(3);
  // Both coordinators count n3 as down, so nothing about this key is even queued for it; otherwise
  // a read still waiting for n3 when it returns would repair it before the checks below look.
  await Promise.all([fixture.makeCoordinatorSeeDown(1, 3), fixture.makeCoordinatorSeeDown(2, 3)]);

  const deleted = await fixture.delete(1, bucket, key, { context: written.context ?? '', w: 2 });
  assert.equal(deleted.status, 204, deleted.text);
  for (let round = 0; round < 3; round++) {
    for (const index of [1, 2]) {
      const read = await fixture.get(index, bucket, key);
      assert.equal(read.status, 404, `read through n${index} while n3 is down: ${read.text}`);
    }
  }
  // A premature reap gets five times its delay to show, and every 50 ms the replicas are looked at.
  const checks = await throughout(
    'n1 and n2 keep the tombstone while n3 has not confirmed it',
    async () => {
      for (const index of [1, 2]) {
        const state = await localState(index, key);
        if (state !== 'tombstone') return `n${index} holds ${state}`;
      }
      return undefined;
    },
    { windowMs: reapDelayMs * 5, intervalMs: 50 },
  );
  assert.ok(checks >= 2, `the window was looked at ${checks} times`);

  await fixture.restart(3);
  assert.equal(await localState(3, key), 'alive', 'the returning replica still holds the deleted value');
  await assertNotFoundEverywhere(key, 'after n3 returned');
  await eventually(
    'n3 to learn the delete',
    async () => {
      await assertNotFoundEverywhere(key, 'while n3 learns the delete');
      return (await localState(3, key)) === 'alive' ? undefined : true;
    },
    { timeoutMs: 20_000 },
  );
  await assertNotFoundEverywhere(key, 'R=1 once n3 learned the delete', { r: 1 });

  // With every replica holding the same tombstone, a full read lets it be reaped everywhere.
  // (eventually() fails at once on an assertion: a value read back while waiting is a verdict.)
  await eventually(
    'the tombstone to be reaped on every replica',
    async () => {
      const read = await fixture.get(2, bucket, key, { r: 3, timeoutMs: 5000 });
      assert.equal(read.status, 404, `R=3 read while waiting for the reap: ${read.text}`);
      const states = await Promise.all([1, 2, 3].map((index) => localState(index, key)));
      return states.every((state) => state === 'reaped') ? true : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 250 },
  );
  await assertNotFoundEverywhere(key, 'after the reap');
  await assertNotFoundEverywhere(key, 'R=1 after the reap', { r: 1 });
  // (Not through n1: it may still count n3 as down, and an R=3 read would then be refused.)
  await assertNotFoundEverywhere(key, 'R=3 after the reap', { r: 3 }, [2, 3]);
  fixture.assertNoCrashes();
});
