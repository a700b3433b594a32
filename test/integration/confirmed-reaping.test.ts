// Why: decision 0019 on real processes. Deleted keys must go all the way: tombstone, then the
// context-only record a reap leaves, then nothing, on every replica, seen on each node's own store
// (/admin/local); a key written again afterwards must not reuse a removed dot (a client holding a
// context from before the delete makes a sibling, it does not silently replace the new value); and
// a replica that missed the delete (killed before it, holding the old value) must hold the removal
// back while it is away and, once back, must not bring the value back. Hint delivery is held back
// for a week, so only anti-entropy can tell the returning replica of the delete.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClusterFixture, eventually, request } from '../support/cluster-fixture.ts';

const bucket = 'reap';
const antiEntropyIntervalMs = 1000;
const reapDelayMs = 1500;
const contextRemovalGraceMs = 3000;
/** Confirmation, reap, a second confirmation and the grace, with room for a loaded two-core machine. */
const removalBoundMs = 10 * antiEntropyIntervalMs + reapDelayMs + contextRemovalGraceMs + 15_000;
let fixture: ClusterFixture;

before(
  async () => {
    fixture = await ClusterFixture.start({
      name: 'confirmed-reaping',
      // Hints and the catch-up after an outage (decision 0020) are off: either would hand a returning
      // replica the tombstone at once, and these tests are about what the periodic exchange confirms.
      settings: {
        antiEntropyIntervalMs,
        reapDelayMs,
        contextRemovalGraceMs,
        hintDeliveryIntervalMs: 7 * 24 * 3600 * 1000,
        antiEntropyCatchUpOutageMsMax: 1,
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

type LocalState = 'tombstone' | 'context-only' | 'nothing' | string;

/** What node `index` holds of the key on its own store: a kind of 404, or the live value. */
async function localState(index: number, key: string): Promise<LocalState> {
  const local = await fixture.local(index, bucket, key);
  if (local.status !== 404) return (await fixture.localValue(index, bucket, key)) ?? local.text;
  if (local.context === undefined) return 'nothing';
  return local.text.includes('only a tombstone') ? 'tombstone' : 'context-only';
}

async function statesOf(key: string): Promise<LocalState[]> {
  return Promise.all([1, 2, 3].map((index) => localState(index, key)));
}

async function assertNotFoundThroughEveryNode(key: string, what: string, r: number): Promise<void> {
  for (const index of [1, 2, 3]) {
    const read = await fixture.get(index, bucket, key, { r, timeoutMs: 5000 });
    assert.equal(read.status, 404, `${what}: R=${r} read through n${index}: ${read.status} ${read.text}`);
  }
}

async function reapingStatus(index: number): Promise<{ contextsRemoved: number; tombstonesReaped: number }> {
  const reply = await request(`${fixture.url(index)}/admin/aae`);
  assert.equal(reply.status, 200, reply.text);
  return reply.json<{ reaping: { contextsRemoved: number; tombstonesReaped: number } }>().reaping;
}

test(
  'deleted keys go from tombstone to context-only to nothing on every replica, and a key written again gets a fresh dot',
  { timeout: 120_000 },
  async (context) => {
    const keys = ['gone-0', 'gone-1', 'gone-2', 'gone-3'];
    const contexts = new Map<string, string>();
    for (const key of keys) {
      const written = await fixture.put(1 + (keys.indexOf(key) % 3), bucket, key, `value of ${key}`, { w: 3 });
      assert.equal(written.status, 204, written.text);
      const deleted = await fixture.delete(1, bucket, key, { context: written.context ?? '', w: 3 });
      assert.equal(deleted.status, 204, deleted.text);
      contexts.set(key, written.context ?? '');
    }
    const startedAt = performance.now();
    const seen = new Map<string, Set<LocalState>>(keys.map((key) => [key, new Set<LocalState>()]));
    await eventually(
      'every replica of every deleted key to hold nothing',
      async () => {
        let done = true;
        for (const key of keys) {
          for (const state of await statesOf(key)) {
            (seen.get(key) as Set<LocalState>).add(state);
            if (state !== 'nothing') done = false;
          }
        }
        return done ? true : undefined;
      },
      { timeoutMs: removalBoundMs, intervalMs: 100 },
    );
    context.diagnostic(
      `removed everywhere ${Math.round(performance.now() - startedAt)} ms after the deletes; states seen: ${keys.map((key) => `${key}=${[...(seen.get(key) as Set<LocalState>)].join('>')}`).join(' ')}`,
    );
    for (const key of keys) {
      const states = seen.get(key) as Set<LocalState>;
      assert.ok(
        states.has('context-only'),
        `${key}: the tombstone was first reaped to its context (${[...states].join(', ')})`,
      );
      assert.ok(
        ![...states].some((state) => state !== 'tombstone' && state !== 'context-only' && state !== 'nothing'),
        `${key}: no replica held a value after the delete`,
      );
    }
    const removed = (await Promise.all([1, 2, 3].map(reapingStatus))).reduce(
      (sum, status) => sum + status.contextsRemoved,
      0,
    );
    assert.ok(removed >= 3 * keys.length, `/admin/aae counts ${removed} context-only records removed`);
    await assertNotFoundThroughEveryNode('gone-0', 'after the removal', 3);

    // Written again: a blind write, then a client still holding the context it read before the delete.
    const again = await fixture.put(1, bucket, 'gone-0', 'new life', { w: 3 });
    assert.equal(again.status, 204, again.text);
    const stale = await fixture.put(1, bucket, 'gone-0', 'from a stale context', {
      w: 3,
      context: contexts.get('gone-0') as string,
    });
    assert.equal(stale.status, 204, stale.text);
    const read = await fixture.get(2, bucket, 'gone-0', { r: 3 });
    assert.equal(read.status, 300, `both writes survive as siblings (no dot reused): ${read.status} ${read.text}`);
    const values = read
      .json<{ siblings: Array<{ value: string }> }>()
      .siblings.map((sibling) => Buffer.from(sibling.value, 'base64').toString('utf8'))
      .sort();
    assert.deepEqual(values, ['from a stale context', 'new life']);
    fixture.assertNoCrashes();
  },
);

test(
  'a replica that missed the delete holds the removal back while away, and does not bring the value back when it returns',
  { timeout: 150_000 },
  async (context) => {
    const key = 'missed';
    const written = await fixture.put(1, bucket, key, 'old value', { w: 3 });
    assert.equal(written.status, 204, written.text);
    await fixture.kill(3);
    await Promise.all([fixture.makeCoordinatorSeeDown(1, 3), fixture.makeCoordinatorSeeDown(2, 3)]);
    const deleted = await fixture.delete(1, bucket, key, { context: written.context ?? '', w: 2 });
    assert.equal(deleted.status, 204, deleted.text);

    // No poll can show that something did NOT happen: wait past everything the removal needs.
    await sleep(reapDelayMs + contextRemovalGraceMs + 4 * antiEntropyIntervalMs);
    for (const index of [1, 2])
      assert.equal(
        await localState(index, key),
        'tombstone',
        `n${index} keeps the tombstone while n3 cannot confirm it`,
      );

    await fixture.restart(3);
    // n3 comes back with the deleted value: it was down for the delete, and hints and catch-up are off
    // here. An exchange (1 s interval) may already have given it the tombstone by the time we look,
    // under load; it must never hold more than those two.
    assert.ok(
      ['old value', 'tombstone'].includes(await localState(3, key)),
      'the returning replica holds the deleted value or, already, the tombstone',
    );
    const restartedAt = performance.now();
    const seen = new Set<LocalState>();
    await eventually(
      'every replica to hold nothing',
      async () => {
        for (const index of [1, 2]) {
          const read = await fixture.get(index, bucket, key, { r: 2, timeoutMs: 5000 });
          assert.equal(read.status, 404, `R=2 read through n${index} after n3 returned: ${read.status} ${read.text}`);
        }
        const states = await statesOf(key);
        for (const state of states) seen.add(state);
        return states.every((state) => state === 'nothing') ? true : undefined;
      },
      { timeoutMs: removalBoundMs, intervalMs: 200 },
    );
    context.diagnostic(
      `removed everywhere ${Math.round(performance.now() - restartedAt)} ms after n3 returned; local states seen: ${[...seen].join(', ')}`,
    );
    // Two more rounds of the schedule: nothing may bring the value back.
    await sleep(2 * antiEntropyIntervalMs);
    for (const index of [1, 2, 3]) assert.equal(await localState(index, key), 'nothing', `n${index}'s own replica`);
    await assertNotFoundThroughEveryNode(key, 'after the removal', 1);
    await assertNotFoundThroughEveryNode(key, 'after the removal', 3);
    fixture.assertNoCrashes();
  },
);
