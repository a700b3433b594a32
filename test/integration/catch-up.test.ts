// Why: the fast catch-up after a known outage (decision 0020), in real processes over TCP. The
// periodic tree exchange is pushed past the test and hints are held back, so neither the schedule
// nor hinted handoff can do the work, and nothing reads through the cluster before the check (no read
// repair). A node killed with kill -9 while writes go on, and restarted, must get every write it
// missed from its peers' change logs, offered only the keys changed since it was last seen up,
// with no fallback to a full exchange; /admin/aae shows the catch-up's counts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClusterFixture, eventually, request } from '../support/cluster-fixture.ts';

const bucket = 'catch-up';
const marginMs = 3000;
let fixture: ClusterFixture;

before(
  async () => {
    fixture = await ClusterFixture.start({
      name: 'catch-up',
      settings: {
        antiEntropyIntervalMs: 600_000_000,
        hintDeliveryIntervalMs: 7 * 24 * 3600 * 1000,
        antiEntropyCatchUpMarginMs: marginMs,
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

async function writeAll(
  keys: Map<string, string>,
  names: readonly string[],
  coordinators: readonly number[],
): Promise<void> {
  for (const [index, key] of names.entries()) {
    const value = `${key}-${Math.random().toString(36).slice(2)}`;
    const coordinator = coordinators[index % coordinators.length] as number;
    const reply = await fixture.put(coordinator, bucket, key, value, { w: 2 });
    assert.equal(reply.status, 204, `write ${key} through n${coordinator}: ${reply.text}\n${fixture.logs()}`);
    keys.set(key, value);
  }
}

/** The live values node `index` holds for the key on its own replica, sorted. */
async function liveValues(index: number, key: string): Promise<string[]> {
  const reply = await fixture.local(index, bucket, key);
  if (reply.status !== 200) return [];
  const siblings = reply.json<{ siblings: Array<{ value?: string; deleted?: boolean }> }>().siblings;
  return siblings
    .filter((sibling) => sibling.deleted !== true)
    .map((sibling) => Buffer.from(sibling.value ?? '', 'base64').toString('utf8'))
    .sort();
}

interface CatchUpReport {
  readonly catchUps: number;
  readonly fallbacks: number;
  readonly keysOffered: number;
  readonly keysDiffering: number;
}

async function catchUpOf(index: number): Promise<CatchUpReport> {
  const reply = await request(`${fixture.url(index)}/admin/aae`);
  assert.equal(reply.status, 200, reply.text);
  const report = reply.json<{ catchUp?: CatchUpReport }>().catchUp;
  assert.ok(report !== undefined, '/admin/aae reports the catch-up');
  return report;
}

test(
  "a node killed while writes went on gets every write it missed from its peers' change logs, and only those are offered",
  { timeout: 120_000 },
  async (context) => {
    const written = new Map<string, string>();
    const before = Array.from({ length: 40 }, (_, index) => `before-${index}`);
    await writeAll(written, before, [1, 2, 3]);
    // The margin before the outage must not reach back to these writes.
    await sleep(marginMs + 1500);
    await fixture.kill(3);
    await fixture.makeCoordinatorSeeDown(1, 3);
    await fixture.makeCoordinatorSeeDown(2, 3);
    // Ten `before` keys are overwritten while n3 is down; with no context, their old value stays as a sibling.
    const during = [...Array.from({ length: 30 }, (_, index) => `during-${index}`), ...before.slice(0, 10)];
    await writeAll(written, during, [1, 2]);
    await fixture.restart(3);
    const restartedAt = performance.now();
    // An overwrite without a context is concurrent with the old value: both stay, as siblings, on n1 and n2.
    const stale = async (): Promise<string[]> => {
      const absent: string[] = [];
      for (const [key, value] of written) {
        const held = await liveValues(3, key);
        if (!held.includes(value) || held.join('\n') !== (await liveValues(1, key)).join('\n')) absent.push(key);
      }
      return absent;
    };
    try {
      await eventually(
        'the restarted n3 to hold every write it missed',
        async () => ((await stale()).length === 0 ? true : undefined),
        { timeoutMs: 30_000, intervalMs: 200 },
      );
    } catch (error) {
      const reports = await Promise.all(
        [1, 2, 3].map(
          async (index) =>
            (await request(`${fixture.url(index)}/admin/aae`)).json<{ catchUp?: CatchUpReport }>().catchUp,
        ),
      );
      throw new Error(
        `${String(error)}\nstill stale on n3: ${(await stale()).join(' ')}\ncatch-up on n1, n2, n3: ${JSON.stringify(reports)}\n${fixture.logs()}`,
      );
    }
    context.diagnostic(`n3 held every key ${Math.round(performance.now() - restartedAt)} ms after its restart`);
    const reports = [await catchUpOf(1), await catchUpOf(2)];
    context.diagnostic(`catch-up on n1 and n2: ${JSON.stringify(reports)}`);
    for (const [position, report] of reports.entries()) {
      assert.ok(report.catchUps >= 1, `n${position + 1} caught n3 up`);
      assert.equal(report.fallbacks, 0, `n${position + 1} needed no full exchange`);
      // Each offers the outage's 40 writes and the two probe writes, not the 30 `before` keys left alone.
      assert.ok(
        report.keysOffered >= during.length && report.keysOffered <= during.length + 2,
        `n${position + 1} offered ${report.keysOffered} keys`,
      );
    }
    assert.ok(reports[0]!.keysDiffering + reports[1]!.keysDiffering >= 1, 'the peers found keys n3 held differently');
    fixture.assertNoCrashes();
  },
);
