// Why: the HTTP conventions and RESP read-modify-write commands of decision 0028 against a real
// 3-node cluster of separate processes: conditional writes checked against a quorum read (create
// only, optimistic concurrency across nodes, siblings resolved by If-Match), SETNX/GETSET/INCR
// through redis-cli, and, with one node killed, a W=3 write whose 503 says truly how many
// replicas it could reach and that the write went to them, and when to retry.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { ClusterFixture, eventually, request, type Reply } from '../support/cluster-fixture.ts';
import { missingTool, testNeeding } from '../support/environment.ts';

const bucket = 'conventions';
const trustedOrigin = 'https://app.example.com';
let fixture: ClusterFixture;

before(
  async () => {
    fixture = await ClusterFixture.start({
      name: 'http-conventions',
      extraArguments: ['--cors-origins', trustedOrigin],
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

function keyUrl(index: number, key: string, query = '?timeout_ms=10000'): string {
  return `${fixture.url(index)}/buckets/${bucket}/keys/${encodeURIComponent(key)}${query}`;
}

function send(
  index: number,
  method: string,
  key: string,
  headers: Record<string, string>,
  body?: string,
): Promise<Reply> {
  return request(keyUrl(index, key), {
    method,
    headers: { 'content-type': 'text/plain', ...headers },
    ...(body === undefined ? {} : { body }),
  });
}

function assertPreconditionFailed(reply: Reply, what: string): void {
  assert.equal(reply.status, 412, `${what}: ${reply.text}`);
  assert.equal(reply.json<{ code: string }>().code, 'EVERWRITE_PRECONDITION_FAILED', what);
}

test(
  "If-None-Match: * creates once across nodes; If-Match updates only from the current tag; a 300's tag resolves its siblings",
  { timeout: 60_000 },
  async () => {
    const created = await send(1, 'PUT', 'doc', { 'if-none-match': '*' }, 'v1');
    assert.equal(created.status, 204, created.text);
    const createdTag = created.headers.get('etag') ?? '';
    assert.match(createdTag, /^"[A-Za-z0-9_-]{22}"$/);
    const read = await send(2, 'GET', 'doc', {});
    assert.equal(read.status, 200);
    assert.equal(
      read.headers.get('etag'),
      createdTag,
      'a read of the state a write made has the tag the write answered',
    );

    assertPreconditionFailed(
      await send(3, 'PUT', 'doc', { 'if-none-match': '*' }, 'second create'),
      'a second create through another node',
    );
    const still = await send(1, 'GET', 'doc', {});
    assert.equal(still.status, 200, 'no sibling was made');
    assert.equal(still.text, 'v1');

    const updated = await send(3, 'PUT', 'doc', { 'if-match': createdTag }, 'v2');
    assert.equal(updated.status, 204, updated.text);
    assertPreconditionFailed(
      await send(2, 'PUT', 'doc', { 'if-match': createdTag }, 'lost update'),
      'a write from the stale tag',
    );
    const afterUpdate = await send(2, 'GET', 'doc', {});
    assert.equal(afterUpdate.text, 'v2');
    assert.equal(afterUpdate.headers.get('etag'), updated.headers.get('etag'));

    // A blind write makes a sibling; the 300's tag covers both, and If-Match with it supersedes both.
    assert.equal((await send(1, 'PUT', 'doc', {}, 'blind')).status, 204);
    const siblings = await send(2, 'GET', 'doc', {});
    assert.equal(siblings.status, 300, siblings.text);
    const resolved = await send(3, 'PUT', 'doc', { 'if-match': siblings.headers.get('etag') ?? '' }, 'merged');
    assert.equal(resolved.status, 204, resolved.text);
    const merged = await send(1, 'GET', 'doc', {});
    assert.equal(merged.status, 200);
    assert.equal(merged.text, 'merged');

    const deleted = await send(2, 'DELETE', 'doc', { 'if-match': merged.headers.get('etag') ?? '' });
    assert.equal(deleted.status, 204, deleted.text);
    const recreated = await send(3, 'PUT', 'doc', { 'if-none-match': '*' }, 'reborn');
    assert.equal(recreated.status, 204, `a deleted key counts as absent: ${recreated.text}`);
    assert.equal((await send(1, 'GET', 'doc', {})).text, 'reborn');
    const revalidated = await send(2, 'GET', 'doc', { 'if-none-match': recreated.headers.get('etag') ?? '' });
    assert.equal(revalidated.status, 304);
    const refused = await send(1, 'PUT', 'doc', { 'if-unmodified-since': 'Mon, 01 Jan 2024 00:00:00 GMT' }, 'x');
    assert.equal(refused.status, 400);
  },
);

test(
  "a node started with --cors-origins answers that origin's preflight and no other's",
  { timeout: 30_000 },
  async () => {
    const preflight = (origin: string): Promise<Reply> =>
      request(keyUrl(2, 'cors'), {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'if-match' },
      });
    const trusted = await preflight(trustedOrigin);
    assert.equal(trusted.status, 204);
    assert.equal(trusted.headers.get('allow'), 'GET, PUT, DELETE, HEAD, OPTIONS');
    assert.equal(trusted.headers.get('access-control-allow-origin'), trustedOrigin);
    assert.match(trusted.headers.get('access-control-allow-headers') ?? '', /If-Match/);
    const stranger = await preflight('https://elsewhere.example');
    assert.equal(stranger.status, 204);
    assert.equal(stranger.headers.get('access-control-allow-origin'), null);
  },
);

const redisCliMissing = missingTool('redis-cli', 'redis-tools');

function redisCli(index: number, ...args: string[]): string {
  const port = fixture.cluster.node(index).respAddress.split(':')[1] as string;
  const run = spawnSync('redis-cli', ['--no-raw', '-p', port, ...args], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout.trim();
}

testNeeding(
  redisCliMissing,
  "redis-cli: SETNX, GETSET, INCR, INCRBY, DECR and DECRBY work across nodes with Redis's replies",
  { timeout: 60_000 },
  () => {
    assert.equal(redisCli(1, 'setnx', 'lock', 'owner-1'), '(integer) 1');
    assert.equal(redisCli(2, 'setnx', 'lock', 'owner-2'), '(integer) 0');
    assert.equal(redisCli(3, 'getset', 'lock', 'owner-3'), '"owner-1"');
    assert.equal(redisCli(1, 'get', 'lock'), '"owner-3"');
    assert.equal(redisCli(1, 'incr', 'visits'), '(integer) 1');
    assert.equal(redisCli(2, 'incrby', 'visits', '10'), '(integer) 11');
    assert.equal(redisCli(3, 'decr', 'visits'), '(integer) 10');
    assert.equal(redisCli(1, 'decrby', 'visits', '4'), '(integer) 6');
    assert.equal(redisCli(2, 'get', 'visits'), '"6"');
    assert.equal(redisCli(3, 'incr', 'lock'), '(error) ERR value is not an integer or out of range');
    assert.equal(redisCli(3, 'incrby', 'visits', 'ten'), '(error) ERR value is not an integer or out of range');
    assert.equal(redisCli(1, 'incr'), "(error) ERR wrong number of arguments for 'incr' command");
  },
);

test(
  'with one node killed, a W=3 write fails with a 503 that counts the replica known down apart from the live ones, and carries Retry-After',
  { timeout: 90_000 },
  async () => {
    await fixture.kill(3);
    await fixture.makeCoordinatorSeeDown(1, 3);
    const failed = await request(keyUrl(1, 'w3', '?w=3&timeout_ms=3000'), { method: 'PUT', body: 'x' });
    assert.equal(failed.status, 503, failed.text);
    const body = failed.json<{
      code: string;
      message: string;
      answered: number;
      required: number;
      refused: number;
      unanswered: number;
      down: number;
      tried: number;
      replicas: number;
    }>();
    assert.equal(body.code, 'EVERWRITE_QUORUM_NOT_MET');
    // Failure is certain at the first acknowledgement (two targets cannot give three), so the answer
    // comes then: the live replica that had not acknowledged yet is counted as such, not as tried.
    assert.match(
      body.message,
      /^write quorum not met: 3 of the key's 3 replicas required; [12] acknowledged, 0 refused, [01] had not answered yet, 1 known down with no live node to try; /,
    );
    assert.deepEqual(
      [body.required, body.tried, body.replicas, body.down, body.refused, body.answered + body.unanswered],
      [3, 2, 3, 1, 0, 2],
    );
    assert.equal(failed.headers.get('retry-after'), '1');
    // Both live replicas did store it, as the message said.
    for (const index of [1, 2])
      await eventually(
        `n${index} to hold the W=3 write`,
        async () => ((await fixture.localValue(index, bucket, 'w3')) === 'x' ? true : undefined),
        { timeoutMs: 10_000 },
      );
  },
);
