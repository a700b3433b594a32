// Why: the operator half of decision 0017 over real HTTP and TCP, with nodes started by startNode
// in this process (so it runs before any partition moves): plan calls at any node are redirected
// to the claimant, a new node joins with a proof made from the cluster secret (another secret is
// 403, another partition count 409, both coded), the commit makes one transition view that every
// member and the joining node adopt, and every membership route refuses bad input with a code.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { startNode, type RunningNode } from '../../src/index.ts';
import { freePorts } from '../support/free-port.ts';

/** From the OS: peer and HTTP ports of m1..m6, and one port nothing listens on. */
const ports = await freePorts(13);
const peerPort = (index: number): number => ports[2 * index - 2] as number;
const httpPort = (index: number): number => ports[2 * index - 1] as number;
const silentPort = ports[12] as number;
const secret = new Uint8Array(Buffer.from('membership admin test secret, 32+ bytes long', 'utf8'));
const settings = { viewGossipIntervalMs: 100 };

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly json: Record<string, unknown>;
}

async function call(
  url: string,
  method = 'GET',
  body?: unknown,
  redirect: 'follow' | 'manual' = 'follow',
): Promise<Answer> {
  const init: RequestInit = { method, redirect, signal: AbortSignal.timeout(10_000) };
  if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
  const response = await fetch(url, init);
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
  };
}

function expectCode(answer: Answer, status: number, code: string): void {
  assert.equal(answer.status, status, JSON.stringify(answer.json));
  assert.equal(answer.json.code, code, JSON.stringify(answer.json));
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const member = (index: number) => ({
  id: `m${index}`,
  host: '127.0.0.1',
  port: peerPort(index),
  http: `127.0.0.1:${httpPort(index)}`,
});

function start(
  index: number,
  options: { seeds: ReturnType<typeof member>[]; partitionCount?: number; secret?: Uint8Array },
): Promise<RunningNode> {
  return startNode({
    nodeId: `m${index}`,
    listen: { host: '127.0.0.1', port: peerPort(index) },
    http: { host: '127.0.0.1', port: httpPort(index) },
    members: options.seeds,
    engine: 'memory',
    secret: options.secret ?? secret,
    partitionCount: options.partitionCount ?? 64,
    settings,
  });
}

const url = (index: number): string => `http://127.0.0.1:${httpPort(index)}`;

async function viewVersionOf(index: number): Promise<number> {
  return (await call(`${url(index)}/admin/ring`)).json.version as number;
}

describe('membership plans over HTTP (decision 0017)', () => {
  const nodes = new Map<number, RunningNode>();
  const seeds = [1, 2, 3].map(member);

  before(
    async () => {
      for (const index of [1, 2, 3]) nodes.set(index, await start(index, { seeds }));
      nodes.set(4, await start(4, { seeds: [] }));
    },
    { timeout: 30_000 },
  );

  after(
    async () => {
      await Promise.all([...nodes.values()].map((node) => node.stop()));
    },
    { timeout: 30_000 },
  );

  test(
    'plan calls at a node that is not the claimant are answered 307 with the claimant in Location',
    { timeout: 20_000 },
    async () => {
      const redirected = await call(`${url(3)}/admin/plan`, 'GET', undefined, 'manual');
      assert.equal(redirected.status, 307);
      assert.equal(redirected.headers.get('location'), `${url(1)}/admin/plan`);
      const followed = await call(`${url(3)}/admin/plan`);
      assert.equal(followed.status, 200);
      assert.equal(followed.json.claimant, 'm1');
      assert.equal(followed.json.staged, null);
      // A leave without a node, redirected, names the node that was asked, not the claimant.
      const leave = await call(`${url(3)}/admin/leave`, 'POST', undefined, 'manual');
      assert.equal(leave.headers.get('location'), `${url(1)}/admin/leave?node=m3`);
    },
  );

  test(
    'a node with another secret is refused 403, one with another partition count 409, both coded; nothing is staged',
    { timeout: 30_000 },
    async () => {
      const stranger = await start(5, {
        seeds: [],
        secret: new Uint8Array(Buffer.from('another cluster secret, also 32+ bytes', 'utf8')),
      });
      const odd = await start(6, { seeds: [], partitionCount: 128 });
      try {
        expectCode(
          await call(`${url(5)}/admin/join`, 'POST', { seed: `127.0.0.1:${httpPort(2)}` }),
          403,
          'EVERWRITE_JOIN_FORBIDDEN',
        );
        expectCode(
          await call(`${url(6)}/admin/join`, 'POST', { seed: `127.0.0.1:${httpPort(2)}` }),
          409,
          'EVERWRITE_PARTITION_COUNT_MISMATCH',
        );
        assert.equal((await call(`${url(1)}/admin/plan`)).json.staged, null);
      } finally {
        await stranger.stop();
        await odd.stop();
      }
    },
  );

  test('every membership route refuses bad input with a code', { timeout: 20_000 }, async () => {
    expectCode(await call(`${url(1)}/admin/remove`, 'POST', 'x'.repeat(9000)), 413, 'EVERWRITE_VALUE_TOO_LARGE');
    expectCode(await call(`${url(1)}/admin/remove`, 'POST', '{not json'), 400, 'EVERWRITE_BAD_REQUEST');
    expectCode(await call(`${url(1)}/admin/remove`, 'POST', '[1]'), 400, 'EVERWRITE_BAD_REQUEST');
    expectCode(await call(`${url(1)}/admin/remove`, 'POST', {}), 400, 'EVERWRITE_BAD_REQUEST');
    expectCode(await call(`${url(1)}/admin/remove`, 'POST', { node: 7 }), 400, 'EVERWRITE_BAD_REQUEST');
    expectCode(await call(`${url(1)}/admin/remove`, 'POST', { node: 'x'.repeat(300) }), 400, 'EVERWRITE_BAD_REQUEST');
    expectCode(await call(`${url(1)}/admin/remove`, 'POST', { node: 'nobody' }), 404, 'EVERWRITE_NOT_A_MEMBER');
    expectCode(await call(`${url(1)}/admin/leave`, 'POST', { node: ['m2'] }), 400, 'EVERWRITE_BAD_REQUEST');
    expectCode(await call(`${url(1)}/admin/leave`, 'POST', { node: 'nobody' }), 404, 'EVERWRITE_NOT_A_MEMBER');
    // Three members and N=3: none may go.
    expectCode(await call(`${url(1)}/admin/leave`, 'POST', { node: 'm2' }), 409, 'EVERWRITE_TOO_FEW_MEMBERS');
    expectCode(await call(`${url(1)}/admin/commit`, 'POST'), 409, 'EVERWRITE_PLAN_EMPTY');
    expectCode(await call(`${url(4)}/admin/join`, 'POST', {}), 400, 'EVERWRITE_BAD_REQUEST');
    expectCode(await call(`${url(4)}/admin/join`, 'POST', { seed: 'no port' }), 400, 'EVERWRITE_BAD_REQUEST');
    expectCode(
      await call(`${url(4)}/admin/join`, 'POST', { seed: `127.0.0.1:${silentPort}` }),
      503,
      'EVERWRITE_UNAVAILABLE',
    );
    expectCode(
      await call(`${url(1)}/admin/join`, 'POST', { seed: `127.0.0.1:${httpPort(2)}` }),
      409,
      'EVERWRITE_ALREADY_MEMBER',
    );
    // A hostile seed answering an endless body without Content-Length: read up to a bound, then refused.
    const hostile = createServer((_request, response) => {
      const chunk = Buffer.alloc(64 * 1024, 'x');
      let sent = 0;
      const more = (): void => {
        while (sent < 8 * 1024 * 1024 && !response.destroyed) {
          sent += chunk.length;
          if (!response.write(chunk)) return void response.once('drain', more);
        }
        response.end();
      };
      more();
    });
    await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
    const hostilePort = (hostile.address() as AddressInfo).port;
    try {
      const refused = await call(`${url(4)}/admin/join`, 'POST', { seed: `127.0.0.1:${hostilePort}` });
      expectCode(refused, 503, 'EVERWRITE_UNAVAILABLE');
      assert.match(refused.json.message as string, /answered more than/);
    } finally {
      hostile.closeAllConnections();
      hostile.close();
    }
    const member4 = { id: 'm4', peer: `127.0.0.1:${peerPort(4)}`, http: `127.0.0.1:${httpPort(4)}`, weight: 1 };
    expectCode(
      await call(`${url(1)}/admin/plan/join`, 'POST', { member: 'm4', partitionCount: 64, proof: 'a'.repeat(64) }),
      400,
      'EVERWRITE_BAD_REQUEST',
    );
    expectCode(
      await call(`${url(1)}/admin/plan/join`, 'POST', {
        member: { ...member4, peer: 'nowhere' },
        partitionCount: 64,
        proof: 'a'.repeat(64),
      }),
      400,
      'EVERWRITE_BAD_REQUEST',
    );
    expectCode(
      await call(`${url(1)}/admin/plan/join`, 'POST', {
        member: { ...member4, weight: -1 },
        partitionCount: 64,
        proof: 'a'.repeat(64),
      }),
      400,
      'EVERWRITE_BAD_REQUEST',
    );
    expectCode(
      await call(`${url(1)}/admin/plan/join`, 'POST', { member: member4, partitionCount: '64', proof: 'a'.repeat(64) }),
      400,
      'EVERWRITE_BAD_REQUEST',
    );
    expectCode(
      await call(`${url(1)}/admin/plan/join`, 'POST', { member: member4, partitionCount: 64, proof: 'a'.repeat(64) }),
      403,
      'EVERWRITE_JOIN_FORBIDDEN',
    );
    expectCode(
      await call(`${url(1)}/admin/plan/join`, 'POST', { member: member4, partitionCount: 64 }),
      403,
      'EVERWRITE_JOIN_FORBIDDEN',
    );
    expectCode(await call(`${url(1)}/admin/plan`, 'PUT'), 405, 'EVERWRITE_METHOD_NOT_ALLOWED');
    expectCode(await call(`${url(1)}/admin/view`, 'POST'), 405, 'EVERWRITE_METHOD_NOT_ALLOWED');
    assert.equal((await call(`${url(1)}/admin/plan`)).json.staged, null, 'no refused call staged anything');
  });

  test(
    'a new node joins: staged at the claimant through any member, previewed, committed as one view every node adopts',
    { timeout: 30_000 },
    async () => {
      const joined = await call(`${url(4)}/admin/join`, 'POST', { seed: `127.0.0.1:${httpPort(3)}` });
      assert.equal(joined.status, 202, JSON.stringify(joined.json));
      const plan = await call(`${url(2)}/admin/plan`);
      const staged = plan.json.staged as { changes: { kind: string; id: string }[] };
      assert.deepEqual(
        staged.changes.map((change) => `${change.kind} ${change.id}`),
        ['join m4'],
      );
      const preview = plan.json.preview as {
        partitionsMoved: number;
        transfers: { target: string }[];
        members: { id: string; partitionsAfter: number }[];
      };
      assert.ok(preview.partitionsMoved > 0 && preview.partitionsMoved < 64, `moved ${preview.partitionsMoved}`);
      assert.equal(
        preview.members.find((entry) => entry.id === 'm4')?.partitionsAfter,
        preview.partitionsMoved,
        'every moved partition goes to the new node',
      );
      assert.ok(
        preview.transfers.length >= preview.partitionsMoved &&
          preview.transfers.every((transfer) => transfer.target === 'm4' || transfer.target !== undefined),
      );
      // Staging the same join again is a no-op; clearing and re-staging gives the same preview.
      assert.equal((await call(`${url(4)}/admin/join`, 'POST', { seed: `127.0.0.1:${httpPort(1)}` })).status, 202);
      const versionBefore = await viewVersionOf(1);
      const committed = await call(`${url(3)}/admin/commit`, 'POST');
      assert.equal(committed.status, 200, JSON.stringify(committed.json));
      assert.equal(committed.json.version, versionBefore + 1);
      assert.equal(
        (committed.json.transition as { partitionsMoved: number }).partitionsMoved,
        preview.partitionsMoved,
        'the commit moves what the preview said',
      );
      for (const index of [1, 2, 3, 4]) {
        await eventually(`m${index} to hold view version ${versionBefore + 1}`, async () =>
          (await viewVersionOf(index)) === versionBefore + 1 ? true : undefined,
        );
      }
      const digests = await Promise.all(
        [1, 2, 3, 4].map(async (index) => (await call(`${url(index)}/admin/ring`)).json.digest),
      );
      assert.equal(new Set(digests).size, 1, 'one view everywhere, the joining node included');
      const status = await call(`${url(4)}/admin/status`);
      assert.equal(
        (status.json.members as { id: string; membership: string }[]).find((entry) => entry.id === 'm4')?.membership,
        'joining',
      );
      // The view is committed: the plan is empty, the transition is shown, and a second commit is refused.
      const after = await call(`${url(1)}/admin/plan`);
      assert.equal(after.json.staged, null);
      assert.equal((after.json.transition as { partitionsMoved: number }).partitionsMoved, preview.partitionsMoved);
      expectCode(await call(`${url(1)}/admin/commit`, 'POST'), 409, 'EVERWRITE_PLAN_EMPTY');
      assert.equal(
        (await call(`${url(1)}/admin/remove`, 'POST', { node: 'm2' })).status,
        200,
        'staging during a transition is allowed',
      );
      expectCode(await call(`${url(1)}/admin/commit`, 'POST'), 409, 'EVERWRITE_TRANSITION_IN_PROGRESS');
      expectCode(await call(`${url(1)}/admin/leave`, 'POST', { node: 'm4' }), 409, 'EVERWRITE_PLAN_CONFLICT');
      assert.equal((await call(`${url(1)}/admin/plan`, 'DELETE')).json.staged, null);
      const view = await call(`${url(2)}/admin/view`);
      assert.equal(view.json.version, versionBefore + 1);
      assert.match(view.json.tag as string, /^[0-9a-f]{64}$/);
    },
  );
});
