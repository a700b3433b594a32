// Why: Dynamo stays writeable through a crashed replica and catches it up afterwards (the paper,
// section 4.6). With N=3, W=2 and one node killed by SIGKILL, writes and reads through the other two
// must keep succeeding, and once the node is back the hints its peers kept must land on it: its own
// replica (/admin/local) ends up holding every write it missed. The two coordinators are first made
// to see the node as down (a probe write per coordinator), so the writes below are never even sent
// to it and only hinted handoff — not a TCP queue replayed on reconnect — can bring them to it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterFixture, eventually } from '../support/cluster-fixture.ts';

const bucket = 'handoff';
const writeCount = 20;
let fixture: ClusterFixture;

before(
  async () => {
    // A down node stays down in a coordinator's eyes for 5 s, long enough for the 20 writes.
    // Anti-entropy (decision 0016) would repair the stale replica this test is about: it runs too rarely to act here.
    fixture = await ClusterFixture.start({
      name: 'hinted-handoff',
      settings: { antiEntropyIntervalMs: 600_000_000, antiEntropyCatchUpOutageMsMax: 1, downBackoffMs: 5000 },
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

test(
  'writes made while a replica is killed reach it by hinted handoff after it restarts',
  { timeout: 120_000 },
  async (context) => {
    await fixture.kill(3);
    await Promise.all([fixture.makeCoordinatorSeeDown(1, 3), fixture.makeCoordinatorSeeDown(2, 3)]);

    const written = new Map<string, string>();
    for (let index = 0; index < writeCount; index++) {
      const key = `k${String(index).padStart(2, '0')}`;
      const value = `value-${index}-${Math.random().toString(36).slice(2)}`;
      const coordinator = 1 + (index % 2);
      const reply = await fixture.put(coordinator, bucket, key, value, { w: 2 });
      assert.equal(reply.status, 204, `write ${key} through node ${coordinator}: ${reply.text}`);
      written.set(key, value);
    }
    for (const [key, value] of written) {
      for (const reader of [1, 2]) {
        const read = await fixture.get(reader, bucket, key);
        assert.equal(read.status, 200, `read ${key} through node ${reader} while n3 is down: ${read.text}`);
        assert.equal(read.text, value);
      }
    }
    for (const key of ['k00', 'k19']) {
      assert.equal((await fixture.local(1, bucket, key)).status, 200, `n1 holds ${key}`);
    }

    await fixture.restart(3);
    const restartedAt = performance.now();
    await eventually(
      'n3 to hold every write made while it was down',
      async () => {
        for (const [key, value] of written) {
          if ((await fixture.localValue(3, bucket, key)) !== value) return undefined;
        }
        return true;
      },
      { timeoutMs: 45_000, intervalMs: 250 },
    );
    const deliveredMs = Math.round(performance.now() - restartedAt);
    context.diagnostic(`hinted handoff delivered ${writeCount} writes ${deliveredMs} ms after the restart`);

    for (const [key, value] of written) {
      const read = await fixture.get(3, bucket, key, { r: 3 });
      assert.equal(read.status, 200, `read ${key} through the restarted node with r=3: ${read.text}`);
      assert.equal(read.text, value);
    }
    fixture.assertNoCrashes();
  },
);
