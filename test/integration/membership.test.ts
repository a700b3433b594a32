// Why: decision 0017's promise on real processes over TCP with durable storage: a cluster grows from
// 3 to 5 nodes (join, plan, commit) and shrinks back to 3 (leave, commit) while a load keeps adding
// keys and reading them; at the end every acknowledged key reads back with R=1 through every node
// (so every new primary really holds its partitions), no stretch of failed requests outlasts the
// failure-detection time, the partitions that changed owner are exactly those the plan predicted,
// and a leaving node exits 0 by itself once it has handed everything off.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClusterFixture, eventually, LoneNode, request } from '../support/cluster-fixture.ts';
import { freePorts } from '../support/free-port.ts';

const partitions = 64;
const settings = { viewGossipIntervalMs: 200, requestTimeoutMs: 1000 };
/** Longest stretch of failing requests allowed: SWIM's suspicion plus a request timeout, with slack for a slow VM. */
const failureStretchMsMax = 5000;

interface RingDocument {
  readonly version: number;
  readonly owners: readonly number[];
  readonly members: ReadonlyArray<{ readonly id: string; readonly state: string }>;
}

async function json<T>(url: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
  const reply = await request(url, { ...init, redirect: 'follow', fetchTimeoutMs: 10_000 });
  return { status: reply.status, body: reply.text === '' ? ({} as T) : reply.json<T>() };
}

const httpOf = (url: string): string => url.replace('http://', '');

/** Hints a node holds for others (its /metrics). */
async function hintsPending(url: string): Promise<number> {
  const page = (await request(`${url}/metrics`, { fetchTimeoutMs: 10_000 })).text;
  let total = 0;
  for (const line of page.split('\n'))
    if (line.startsWith('everwrite_hints_pending{')) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  return total;
}

/**
 * W=2 of N=3: a write acknowledged while its third replica was slow leaves a hint, delivered within
 * a few seconds. Every replica holds the write only once its hint is delivered, so the R=1 check
 * waits for that (bounded), and the leave waits for the leavers' hints, so that the check judges the
 * partition handoff alone (a leaver hands its hints out too, decision 0017, shown in the unit tests).
 */
async function waitHintsDelivered(urls: readonly string[]): Promise<void> {
  for (const url of urls)
    await eventually(`${url} to deliver its hints`, async () => ((await hintsPending(url)) === 0 ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 500,
    });
}

function ownerIds(ring: RingDocument): string[] {
  return ring.owners.map((owner) => ring.members[owner]?.id ?? '?');
}

/** Adds keys and reads them back through every node in turn until stopped; records what was acknowledged and the longest failing stretch. */
class SetAddLoad {
  readonly acknowledged = new Set<string>();
  requests = 0;
  failures = 0;
  longestFailureMs = 0;
  private failingSinceMs: number | undefined;
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(
    private readonly urls: () => readonly string[],
    countMax: number,
    workers = 4,
  ) {
    this.done = Promise.all(Array.from({ length: workers }, (_, worker) => this.run(worker, workers, countMax))).then(
      () => undefined,
    );
  }

  private record(ok: boolean): void {
    this.requests += 1;
    const nowMs = performance.now();
    if (ok) {
      if (this.failingSinceMs !== undefined)
        this.longestFailureMs = Math.max(this.longestFailureMs, nowMs - this.failingSinceMs);
      this.failingSinceMs = undefined;
      return;
    }
    this.failures += 1;
    this.failingSinceMs ??= nowMs;
  }

  /** Worker `worker` of `workers` adds keys worker, worker + workers, ... */
  private async run(worker: number, workers: number, countMax: number): Promise<void> {
    for (let index = worker; index < countMax && !this.stopped; index += workers) {
      const urls = this.urls();
      const url = urls[index % urls.length] as string;
      const key = `k${index}`;
      const put = await request(`${url}/buckets/set/keys/${key}?w=2&timeout_ms=2000`, {
        method: 'PUT',
        body: key,
        fetchTimeoutMs: 5000,
      }).catch(() => undefined);
      this.record(put?.status === 204);
      if (put?.status === 204) this.acknowledged.add(key);
      const probe = `k${Math.floor(index / 2)}`;
      const read = await request(
        `${urls[(index + 1) % urls.length] as string}/buckets/set/keys/${probe}?timeout_ms=2000`,
        { fetchTimeoutMs: 5000 },
      ).catch(() => undefined);
      this.record(read !== undefined && (read.status === 200 || read.status === 404));
      await sleep(5);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
    if (this.failingSinceMs !== undefined)
      this.longestFailureMs = Math.max(this.longestFailureMs, performance.now() - this.failingSinceMs);
  }
}

describe('a cluster grows from 3 to 5 nodes and shrinks back under load (decision 0017)', () => {
  let fixture: ClusterFixture;
  const joiners: LoneNode[] = [];
  /** Peer and HTTP ports of the joiners n4 and n5, from freePorts. */
  let joinerPorts: number[] = [];

  before(
    async () => {
      fixture = await ClusterFixture.start({ name: 'membership', nodes: 3, partitions, settings });
      joinerPorts = await freePorts(4);
    },
    { timeout: 60_000 },
  );

  after(
    async () => {
      await Promise.all(joiners.map((node) => node.kill()));
      await fixture?.stop();
    },
    { timeout: 30_000 },
  );

  function joiner(slot: number): LoneNode {
    const node = new LoneNode({
      id: `n${slot}`,
      peerPort: joinerPorts[2 * (slot - 4)] as number,
      httpPort: joinerPorts[2 * (slot - 4) + 1] as number,
      dataDirectory: join(fixture.dataDirectory, `n${slot}`),
      seeds: '',
      secretFile: fixture.cluster.secretFile,
      extraArguments: [
        '--partitions',
        String(partitions),
        '--settings-json',
        JSON.stringify(settings),
        '--log-level',
        'info',
      ],
    });
    joiners.push(node);
    return node;
  }

  async function waitSettled(urls: readonly string[], version: number, timeoutMs: number): Promise<RingDocument> {
    let ring: RingDocument | undefined;
    for (const url of urls) {
      ring = await eventually(
        `${url} at view version ${version} with no transition`,
        async () => {
          const status = await json<{ view: { version: number }; handoff?: { viewVersion?: number } }>(
            `${url}/admin/status`,
          );
          if (status.body.view.version !== version) return undefined;
          return (await json<RingDocument>(`${url}/admin/ring`)).body;
        },
        { timeoutMs },
      );
    }
    return ring as RingDocument;
  }

  async function commitAndSettle(
    claimantUrl: string,
    settledUrls: readonly string[],
  ): Promise<{ predicted: number; before: RingDocument; after: RingDocument }> {
    const plan = await json<{ preview: { partitionsMoved: number } | null }>(`${claimantUrl}/admin/plan`);
    assert.equal(plan.status, 200);
    const predicted = plan.body.preview?.partitionsMoved ?? -1;
    const before = (await json<RingDocument>(`${claimantUrl}/admin/ring`)).body;
    const committed = await json<{ version: number }>(`${claimantUrl}/admin/commit`, { method: 'POST' });
    assert.equal(committed.status, 200, JSON.stringify(committed.body));
    const after = await waitSettled(settledUrls, committed.body.version + 1, 90_000);
    return { predicted, before, after };
  }

  test(
    'join two nodes, commit, then leave them, commit: nothing acknowledged is lost, and the moves are the predicted ones',
    { timeout: 300_000 },
    async () => {
      const n4 = joiner(4);
      const n5 = joiner(5);
      await Promise.all([n4.waitReady(), n5.waitReady()]);
      let members = [1, 2, 3].map((index) => fixture.url(index));
      const load = new SetAddLoad(() => members, 4000);
      try {
        await sleep(1000);
        assert.equal(
          (
            await json(`${n4.url}/admin/join`, {
              method: 'POST',
              body: JSON.stringify({ seed: httpOf(fixture.url(2)) }),
            })
          ).status,
          202,
        );
        assert.equal(
          (
            await json(`${n5.url}/admin/join`, {
              method: 'POST',
              body: JSON.stringify({ seed: httpOf(fixture.url(3)) }),
            })
          ).status,
          202,
        );
        const grown = await commitAndSettle(fixture.url(1), [...members, n4.url, n5.url]);
        const grownMoved = ownerIds(grown.before).filter(
          (owner, partition) => ownerIds(grown.after)[partition] !== owner,
        ).length;
        assert.ok(grown.predicted > 0);
        assert.equal(grownMoved, grown.predicted, 'the partitions that changed owner are the ones the plan predicted');
        assert.deepEqual(
          new Set(grown.after.members.map((member) => member.id)),
          new Set(['n1', 'n2', 'n3', 'n4', 'n5']),
        );
        members = [...members, n4.url, n5.url];
        await sleep(1000);
        members = [1, 2, 3].map((index) => fixture.url(index));
        await waitHintsDelivered([n4.url, n5.url]);
        for (const id of ['n4', 'n5'])
          assert.equal(
            (await json(`${fixture.url(2)}/admin/leave`, { method: 'POST', body: JSON.stringify({ node: id }) }))
              .status,
            200,
          );
        const shrunk = await commitAndSettle(fixture.url(1), members);
        const shrunkMoved = ownerIds(shrunk.before).filter(
          (owner, partition) => ownerIds(shrunk.after)[partition] !== owner,
        ).length;
        assert.equal(
          shrunkMoved,
          shrunk.predicted,
          'the partitions that changed owner are the ones the plan predicted',
        );
        for (const node of [n4, n5]) assert.match(await node.waitExit(60_000), /exit code 0/, node.logs());
        assert.match(n4.logs(), /this node left the cluster/);
      } finally {
        await load.stop();
      }
      console.log(
        `load: ${load.acknowledged.size} keys acknowledged, ${load.requests} requests, ${load.failures} failed, longest failing stretch ${Math.round(load.longestFailureMs)} ms`,
      );
      assert.ok(load.acknowledged.size >= 50, `only ${load.acknowledged.size} keys acknowledged`);
      assert.ok(
        load.longestFailureMs <= failureStretchMsMax,
        `requests failed for ${Math.round(load.longestFailureMs)} ms in a row`,
      );
      await waitHintsDelivered([1, 2, 3].map((index) => fixture.url(index)));
      const missing: string[] = [];
      for (const index of [1, 2, 3]) {
        for (const key of load.acknowledged) {
          const read = await request(`${fixture.url(index)}/buckets/set/keys/${key}?r=1`);
          if (read.status !== 200 || read.text !== key) missing.push(`n${index}:${key}=${read.status}`);
        }
      }
      assert.deepEqual(missing.slice(0, 20), [], `${missing.length} acknowledged keys not readable with R=1`);
      fixture.assertNoCrashes();
    },
  );
});

describe('remove of a node killed with -9 (decision 0017)', () => {
  let fixture: ClusterFixture;

  before(
    async () => {
      fixture = await ClusterFixture.start({ name: 'membership-remove', nodes: 4, partitions, settings });
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
    'after remove and commit, every key is held by N=3 replicas again, on the three nodes left',
    { timeout: 180_000 },
    async () => {
      const keys = Array.from({ length: 150 }, (_, index) => `r${index}`);
      for (const key of keys)
        assert.equal((await fixture.put(1 + (keys.indexOf(key) % 4), 'set', key, key, { w: 3 })).status, 204);
      await fixture.kill(4);
      await eventually(
        'n1 to hold n4 down',
        async () => ((await fixture.memberState(1, 'n4')) === 'down' ? true : undefined),
        { timeoutMs: 30_000 },
      );
      const staged = await json<{ staged: { changes: { kind: string; id: string }[] } }>(
        `${fixture.url(2)}/admin/remove`,
        { method: 'POST', body: JSON.stringify({ node: 'n4' }) },
      );
      assert.equal(staged.status, 200, JSON.stringify(staged.body));
      assert.deepEqual(staged.body.staged.changes, [{ kind: 'remove', id: 'n4' }]);
      const committed = await json<{ version: number }>(`${fixture.url(1)}/admin/commit`, { method: 'POST' });
      assert.equal(committed.status, 200, JSON.stringify(committed.body));
      for (const index of [1, 2, 3]) {
        await eventually(
          `n${index} to complete the removal`,
          async () =>
            (await json<{ version: number; members: unknown[] }>(`${fixture.url(index)}/admin/ring`)).body.version ===
            committed.body.version + 1
              ? true
              : undefined,
          { timeoutMs: 90_000 },
        );
      }
      const ring = (await json<RingDocument>(`${fixture.url(1)}/admin/ring`)).body;
      assert.deepEqual(
        ring.members.map((member) => member.id),
        ['n1', 'n2', 'n3'],
      );
      const short: string[] = [];
      for (const key of keys) {
        const holders = (
          await Promise.all(
            [1, 2, 3].map(async (index) => ((await fixture.localValue(index, 'set', key)) === key ? 1 : 0)),
          )
        ).reduce((sum: number, held) => sum + held, 0);
        if (holders !== 3) short.push(`${key}:${holders}`);
      }
      assert.deepEqual(short, [], 'keys not on three replicas after the removal');
    },
  );
});

describe('kill -9 of either side of a handoff midway (decision 0017)', () => {
  /** A slow handoff (small batches, 8 KiB/s per source), so there is a middle to kill in. */
  const slow = { ...settings, handoffBatchKeysMax: 4, backgroundBytesPerSecondMax: 8 * 1024 };
  let fixture: ClusterFixture;
  const joiners: LoneNode[] = [];
  /** Peer and HTTP ports of the joiner n4, from freePorts; a restarted n4 takes them again. */
  let joinerPorts: number[] = [];

  before(
    async () => {
      fixture = await ClusterFixture.start({ name: 'membership-kill', nodes: 3, partitions, settings: slow });
      joinerPorts = await freePorts(2);
    },
    { timeout: 60_000 },
  );

  after(
    async () => {
      await Promise.all(joiners.map((node) => node.kill()));
      await fixture?.stop();
    },
    { timeout: 30_000 },
  );

  function startJoiner(): LoneNode {
    const node = new LoneNode({
      id: 'n4',
      peerPort: joinerPorts[0] as number,
      httpPort: joinerPorts[1] as number,
      dataDirectory: join(fixture.dataDirectory, 'n4'),
      seeds: '',
      secretFile: fixture.cluster.secretFile,
      extraArguments: ['--partitions', String(partitions), '--settings-json', JSON.stringify(slow)],
    });
    joiners.push(node);
    return node;
  }

  interface HandoffSummary {
    readonly transfersTotal: number;
    readonly transfersKnownDone: number;
    readonly totals: { readonly keys: number; readonly bytes: number };
    readonly transfers: ReadonlyArray<{
      readonly peer: string;
      readonly direction: string;
      readonly keys: number;
      readonly done: boolean;
    }>;
  }

  async function handoffOf(url: string): Promise<HandoffSummary | undefined> {
    const reply = await request(`${url}/admin/status`, { fetchTimeoutMs: 5000 }).catch(() => undefined);
    return reply?.status === 200 ? reply.json<{ handoff?: HandoffSummary }>().handoff : undefined;
  }

  test(
    'the target and then a source are killed midway and restarted: the transition completes, nothing is lost, the target is not sent everything twice',
    { timeout: 240_000 },
    async () => {
      const value = 'v'.repeat(400);
      const keys = Array.from({ length: 300 }, (_, index) => `h${index}`);
      for (const key of keys)
        assert.equal(
          (await fixture.put(1 + (keys.indexOf(key) % 3), 'set', key, `${key}:${value}`, { w: 3 })).status,
          204,
        );
      let n4 = startJoiner();
      await n4.waitReady();
      assert.equal(
        (await json(`${n4.url}/admin/join`, { method: 'POST', body: JSON.stringify({ seed: httpOf(fixture.url(1)) }) }))
          .status,
        202,
      );
      const committed = await json<{ version: number; transition: { transfers: unknown[] } }>(
        `${fixture.url(1)}/admin/commit`,
        { method: 'POST' },
      );
      assert.equal(committed.status, 200, JSON.stringify(committed.body));
      const transferCount = committed.body.transition.transfers.length;
      // Keys each source has had acknowledged by n4, sampled until completion (the counters end with the transition).
      const sentToN4 = new Map<number, number>();
      const sample = async (index: number): Promise<void> => {
        const handoff = await handoffOf(fixture.url(index));
        const keys =
          handoff?.transfers
            .filter((transfer) => transfer.direction === 'outgoing' && transfer.peer === 'n4')
            .reduce((sum, transfer) => sum + transfer.keys, 0) ?? 0;
        sentToN4.set(index, Math.max(sentToN4.get(index) ?? 0, keys));
      };
      // The target dies a third of the way in.
      const before = await eventually(
        'n4 to have received a third of its transfers',
        async () => {
          await Promise.all([1, 2, 3].map(sample));
          const handoff = await handoffOf(n4.url);
          return handoff !== undefined && handoff.transfersKnownDone >= transferCount / 3 ? handoff : undefined;
        },
        { timeoutMs: 60_000 },
      );
      assert.ok(before.transfersKnownDone < transferCount, 'killed midway, not after the end');
      await n4.kill();
      n4 = startJoiner();
      await n4.waitReady();
      // Then a source dies two thirds of the way in.
      await eventually(
        'two thirds of the transfers done',
        async () => {
          await Promise.all([1, 2, 3].map(sample));
          const handoff = await handoffOf(fixture.url(1));
          return handoff !== undefined && handoff.transfersKnownDone >= (2 * transferCount) / 3 ? true : undefined;
        },
        { timeoutMs: 60_000 },
      );
      await sample(2);
      const sentByN2BeforeKill = sentToN4.get(2) ?? 0;
      sentToN4.delete(2);
      await fixture.kill(2);
      await fixture.restart(2);
      for (const url of [1, 2, 3].map((index) => fixture.url(index)).concat(n4.url)) {
        await eventually(
          `${url} to complete the transition`,
          async () => {
            await Promise.all([1, 2, 3].map(sample));
            return (await json<{ version: number }>(`${url}/admin/ring`)).body.version === committed.body.version + 1
              ? true
              : undefined;
          },
          { timeoutMs: 120_000 },
        );
      }
      let held = 0;
      for (const key of keys)
        held += (await request(`${n4.url}/admin/local/buckets/set/keys/${key}`)).status === 200 ? 1 : 0;
      const sent = sentByN2BeforeKill + [...sentToN4.values()].reduce((sum, count) => sum + count, 0);
      // A resumed stream re-sends at most the batch in flight (4 keys) of each transfer running at a kill (2 per source).
      const resentKeysMax = 4 * 2 * 3 * 2;
      console.log(
        `n4 holds ${held} keys; it had ${before.totals.keys} acknowledged before its kill; the sources had ${sent} acknowledged in all; ${transferCount} transfers`,
      );
      assert.ok(
        before.totals.keys > resentKeysMax,
        `too little sent before the kill (${before.totals.keys} keys) to tell a resume from a restart`,
      );
      assert.ok(
        sent <= held + resentKeysMax,
        `the sources sent n4 ${sent} keys for the ${held} it holds: a stream started over`,
      );
      const missing: string[] = [];
      for (const url of [1, 2, 3].map((index) => fixture.url(index)).concat(n4.url)) {
        for (const key of keys) {
          const read = await request(`${url}/buckets/set/keys/${key}?r=1`);
          if (read.status !== 200 || read.text !== `${key}:${value}`) missing.push(`${url}:${key}=${read.status}`);
        }
      }
      assert.deepEqual(missing.slice(0, 20), [], `${missing.length} keys not readable with R=1`);
      fixture.assertNoCrashes();
    },
  );
});
