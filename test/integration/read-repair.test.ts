// Why: read repair is how a replica that missed writes catches up on the keys people actually read
// (the paper, section 4.5). To see it alone, the replica is made stale by killing it while writes
// happen, and every other way back is shut: hint delivery runs only every ten minutes, and the
// coordinator already counts the node as down (for a minute) before the writes, so it does not even
// queue them for it. After the restart its own replica (/admin/local) must be missing the new key
// and hold the old version of the updated one; one R=3 read through another node must fix both.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterFixture, eventually, request } from '../support/cluster-fixture.ts';

const bucket = 'repair';
let fixture: ClusterFixture;

before(
  async () => {
    // Anti-entropy (decision 0016) would repair the stale replica this test is about: it runs too rarely to act here.
    fixture = await ClusterFixture.start({
      name: 'read-repair',
      settings: {
        antiEntropyIntervalMs: 600_000_000,
        antiEntropyCatchUpOutageMsMax: 1,
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

/** everwrite_read_repairs_total on node `index` (docs/OPERATIONS.md "Metrics"). */
async function readRepairsCounted(index: number): Promise<number> {
  const page = (await request(`${fixture.url(index)}/metrics`, { fetchTimeoutMs: 5000 })).text;
  return Number(/^everwrite_read_repairs_total (\d+)$/m.exec(page)?.[1] ?? Number.NaN);
}

test(
  'a replica that missed writes while killed is repaired by a read through another node',
  { timeout: 90_000 },
  async (context) => {
    const before = await fixture.put(1, bucket, 'updated', 'old', { w: 3 });
    assert.equal(before.status, 204, before.text);
    assert.ok(before.context);

    await fixture.kill(3);
    await fixture.makeCoordinatorSeeDown(1, 3);

    assert.equal((await fixture.put(1, bucket, 'created', 'new key', { w: 2 })).status, 204);
    assert.equal((await fixture.put(1, bucket, 'updated', 'new', { w: 2, context: before.context })).status, 204);
    for (const index of [1, 2]) {
      assert.equal(await fixture.localValue(index, bucket, 'created'), 'new key', `n${index} holds the created key`);
      assert.equal(await fixture.localValue(index, bucket, 'updated'), 'new', `n${index} holds the update`);
    }

    await fixture.restart(3);
    const missing = await fixture.local(3, bucket, 'created');
    assert.equal(missing.status, 404, `the restarted replica must not hold the key yet: ${missing.text}`);
    assert.equal(await fixture.localValue(3, bucket, 'updated'), 'old', 'the restarted replica holds the old version');

    const repairsBefore = await readRepairsCounted(2);
    const repairStarted = performance.now();
    for (const [key, value] of [
      ['created', 'new key'],
      ['updated', 'new'],
    ] as const) {
      const read = await fixture.get(2, bucket, key, { r: 3, timeoutMs: 10_000 });
      assert.equal(read.status, 200, `R=3 read of ${key} through n2: ${read.text}`);
      assert.equal(read.text, value);
    }
    await eventually(
      'read repair to bring both keys to n3',
      async () =>
        (await fixture.localValue(3, bucket, 'created')) === 'new key' &&
        (await fixture.localValue(3, bucket, 'updated')) === 'new'
          ? true
          : undefined,
      { timeoutMs: 20_000 },
    );
    context.diagnostic(
      `read repair reached n3 ${Math.round(performance.now() - repairStarted)} ms after the reads started`,
    );
    const repaired = await fixture.local(3, bucket, 'updated');
    assert.equal(
      repaired.json<{ siblings: unknown[] }>().siblings.length,
      1,
      'the repaired replica holds the update, not a sibling of it',
    );
    assert.equal(
      (await readRepairsCounted(2)) - repairsBefore,
      2,
      'the coordinator counted one read repair per stale key',
    );
    fixture.assertNoCrashes();
  },
);
