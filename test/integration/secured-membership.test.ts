// Why: membership changes are an admin's act once users exist (decision 0025), yet a new node joins
// by asking a seed's HTTP API itself (decision 0017), and a node without the operator's credentials
// was refused 401 there: no node could join a cluster that had users. The joining node now carries
// the credentials the operator gave its /admin/join on to the seed, through the seed's 307 to the
// claimant, and while it waits for the commit (decision 0040). These nodes run in this process with
// startNode, as in membership-admin.test.ts, on ports the OS hands out.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startNode, type RunningNode } from '../../src/index.ts';
import { eventually } from '../support/polling.ts';
import { freePorts } from '../support/free-port.ts';

/** Node i (1..4) listens for peers on peerPorts[i - 1] and for HTTP on httpPorts[i - 1]. */
const ports = await freePorts(8);
const peerPort = (index: number): number => ports[index - 1] as number;
const httpPort = (index: number): number => ports[index + 3] as number;
const secret = new Uint8Array(Buffer.from('secured membership test secret, 32+ bytes', 'utf8'));
const admin = { name: 'ops', password: 'ops-password-long-1' };
const reader = { name: 'viewer', password: 'viewer-password-1' };

function basic(user: { name: string; password: string }): string {
  return `Basic ${Buffer.from(`${user.name}:${user.password}`).toString('base64')}`;
}

interface Answer {
  readonly status: number;
  readonly json: Record<string, unknown>;
}

async function call(url: string, method: string, body: unknown, authorization?: string): Promise<Answer> {
  const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
  const response = await fetch(url, {
    method,
    headers,
    redirect: 'manual',
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  return { status: response.status, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

const member = (index: number) => ({
  id: `s${index}`,
  host: '127.0.0.1',
  port: peerPort(index),
  http: `127.0.0.1:${httpPort(index)}`,
});
const url = (index: number): string => `http://127.0.0.1:${httpPort(index)}`;

function start(index: number, seeds: ReturnType<typeof member>[]): Promise<RunningNode> {
  return startNode({
    nodeId: `s${index}`,
    listen: { host: '127.0.0.1', port: peerPort(index) },
    http: { host: '127.0.0.1', port: httpPort(index) },
    members: seeds,
    engine: 'memory',
    secret,
    partitionCount: 16,
    settings: { viewGossipIntervalMs: 100, propsSyncIntervalMs: 200 },
  });
}

describe('a node joins a cluster that has users (decisions 0017, 0025, 0040)', () => {
  const nodes = new Map<number, RunningNode>();

  before(
    async () => {
      const seeds = [1, 2, 3].map(member);
      for (const index of [1, 2, 3]) nodes.set(index, await start(index, seeds));
      nodes.set(4, await start(4, []));
      assert.equal(
        (await call(`${url(1)}/admin/users/${admin.name}`, 'PUT', { roles: ['admin'], password: admin.password }))
          .status,
        200,
      );
      assert.equal(
        (
          await call(
            `${url(1)}/admin/users/${reader.name}`,
            'PUT',
            { roles: ['read'], password: reader.password },
            basic(admin),
          )
        ).status,
        200,
      );
      // s3 is asked below and redirects to the claimant s1: both must know the users.
      await eventually(
        's3 to know the users',
        async () =>
          (await call(`${url(3)}/admin/plan`, 'GET', undefined, basic(reader))).status === 403 ? true : undefined,
        { timeoutMs: 20_000 },
      );
    },
    { timeout: 60_000 },
  );

  after(
    async () => {
      await Promise.all([...nodes.values()].map((node) => node.stop()));
    },
    { timeout: 30_000 },
  );

  test(
    "without credentials, or with a non-admin's, the seed refuses the join by code and nothing is staged",
    { timeout: 30_000 },
    async () => {
      const anonymous = await call(`${url(4)}/admin/join`, 'POST', { seed: `127.0.0.1:${httpPort(3)}` });
      assert.equal(anonymous.status, 401, JSON.stringify(anonymous.json));
      assert.equal(anonymous.json.code, 'EVERWRITE_UNAUTHENTICATED');
      const notAdmin = await call(`${url(4)}/admin/join`, 'POST', { seed: `127.0.0.1:${httpPort(3)}` }, basic(reader));
      assert.equal(notAdmin.status, 403, JSON.stringify(notAdmin.json));
      assert.equal(notAdmin.json.code, 'EVERWRITE_FORBIDDEN');
      const oversized = await call(
        `${url(4)}/admin/join`,
        'POST',
        { seed: `127.0.0.1:${httpPort(3)}` },
        `Basic ${'A'.repeat(2000)}`,
      );
      assert.equal(oversized.json.code, 'EVERWRITE_BAD_REQUEST');
      assert.equal((await call(`${url(1)}/admin/plan`, 'GET', undefined, basic(admin))).json.staged, null);
    },
  );

  test(
    "with an admin's credentials the join is staged through a member that is not the claimant, committed, and the new node adopts the view and learns the users",
    { timeout: 60_000 },
    async () => {
      const joined = await call(`${url(4)}/admin/join`, 'POST', { seed: `127.0.0.1:${httpPort(3)}` }, basic(admin));
      assert.equal(joined.status, 202, JSON.stringify(joined.json));
      const plan = await call(`${url(1)}/admin/plan`, 'GET', undefined, basic(admin));
      assert.deepEqual(
        (plan.json.staged as { changes: { kind: string; id: string }[] }).changes.map(
          (change) => `${change.kind} ${change.id}`,
        ),
        ['join s4'],
      );
      const committed = await call(`${url(1)}/admin/commit`, 'POST', undefined, basic(admin));
      assert.equal(committed.status, 200, JSON.stringify(committed.json));
      const version = committed.json.version as number;
      // s4 polls s3's /admin/view with the operator's credentials until it sees itself in a committed view.
      await eventually(
        's4 to adopt the committed view',
        async () =>
          (nodes.get(4) as RunningNode).runtime.core.viewGossip?.view.version === version ? true : undefined,
        { timeoutMs: 30_000 },
      );
      await eventually(
        's4 to learn the users and ask for credentials',
        async () => ((await call(`${url(4)}/admin/status`, 'GET', undefined)).status === 401 ? true : undefined),
        { timeoutMs: 30_000 },
      );
      assert.equal((await call(`${url(4)}/admin/status`, 'GET', undefined, basic(reader))).status, 200);
    },
  );
});
