// Why: the first thing a user does with Everwrite is start three nodes and read and write them over
// HTTP. This checks that contract end to end on real processes talking TCP (docs/ARCHITECTURE.md section 4):
// every node serves every key with its content type, concurrent writes become siblings in the
// documented 300 shape and collapse when written back with the merged context, deletes read as 404,
// and each kind of bad input gets its coded JSON error without hurting the node.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterFixture, request, type Reply, type SiblingsJson } from '../support/cluster-fixture.ts';

const bucket = 'basic';
let fixture: ClusterFixture;

before(
  async () => {
    fixture = await ClusterFixture.start({ name: 'basic' });
  },
  { timeout: 60_000 },
);

after(
  async () => {
    await fixture?.stop();
  },
  { timeout: 30_000 },
);

function assertError(reply: Reply, status: number, code: string, what: string): void {
  assert.equal(reply.status, status, `${what}: status (body ${reply.text})`);
  assert.match(reply.headers.get('content-type') ?? '', /^application\/json/, `${what}: JSON error body`);
  const body = reply.json<{ code: string; message: string }>();
  assert.equal(body.code, code, `${what}: code (body ${reply.text})`);
  assert.equal(typeof body.message, 'string', `${what}: message`);
}

async function assertServing(index: number): Promise<void> {
  const health = await request(`${fixture.url(index)}/health`);
  assert.equal(health.status, 200);
  const key = `still-serving-${Date.now()}-${Math.random()}`;
  assert.equal((await fixture.put(index, bucket, key, 'ok')).status, 204);
  const read = await fixture.get(index, bucket, key);
  assert.equal(read.status, 200);
  assert.equal(read.text, 'ok');
}

test(
  'a value written through one node is read with its content type from every node',
  { timeout: 30_000 },
  async () => {
    const written = await fixture.put(1, bucket, 'greeting', '{"hello":"world"}', { contentType: 'application/json' });
    assert.equal(written.status, 204, written.text);
    assert.ok(written.context, 'a write answers with its context');
    for (const index of [1, 2, 3]) {
      const read = await fixture.get(index, bucket, 'greeting');
      assert.equal(read.status, 200, `node ${index}: ${read.text}`);
      assert.equal(read.text, '{"hello":"world"}', `node ${index}`);
      assert.equal(read.headers.get('content-type'), 'application/json', `node ${index}`);
      assert.ok(read.context, `node ${index} returns a context`);
    }
    const binary = Uint8Array.from([0, 1, 2, 254, 255]);
    assert.equal(
      (await fixture.put(2, bucket, 'binary', binary, { contentType: 'application/octet-stream' })).status,
      204,
    );
    const read = await fixture.get(3, bucket, 'binary');
    assert.deepEqual([...read.body], [...binary]);
    assert.equal(read.headers.get('content-type'), 'application/octet-stream');
  },
);

test(
  'two puts with the same context give a 300 with both siblings; the merged context collapses them; delete gives 404',
  { timeout: 30_000 },
  async () => {
    const key = 'conflicted';
    assert.equal((await fixture.put(1, bucket, key, 'original')).status, 204);
    const original = await fixture.get(1, bucket, key);
    assert.equal(original.status, 200);
    const context = original.context;
    assert.ok(context);

    const [left, right] = await Promise.all([
      fixture.put(1, bucket, key, 'left', { context }),
      fixture.put(2, bucket, key, 'right', { context, contentType: 'text/x-right' }),
    ]);
    assert.equal(left.status, 204, left.text);
    assert.equal(right.status, 204, right.text);

    for (const index of [1, 2, 3]) {
      const read = await fixture.get(index, bucket, key);
      assert.equal(read.status, 300, `node ${index}: ${read.text}`);
      assert.match(read.headers.get('content-type') ?? '', /^application\/json/);
      const body = read.json<SiblingsJson>();
      assert.equal(typeof body.context, 'string');
      assert.equal(read.context, body.context, 'the header carries the same context as the body');
      const siblings = body.siblings.map((sibling) => ({
        value: Buffer.from(sibling.value ?? '', 'base64').toString('utf8'),
        contentType: sibling.contentType,
        deleted: sibling.deleted,
      }));
      siblings.sort((a, b) => a.value.localeCompare(b.value));
      assert.deepEqual(siblings, [
        { value: 'left', contentType: 'text/plain', deleted: undefined },
        { value: 'right', contentType: 'text/x-right', deleted: undefined },
      ]);
      for (const sibling of body.siblings)
        assert.ok(!Number.isNaN(Date.parse(sibling.lastModified)), `lastModified ${sibling.lastModified} is a date`);
    }

    const conflict = (await fixture.get(3, bucket, key)).json<SiblingsJson>();
    const resolved = await fixture.put(3, bucket, key, 'left+right', { context: conflict.context });
    assert.equal(resolved.status, 204, resolved.text);
    for (const index of [1, 2, 3]) {
      const read = await fixture.get(index, bucket, key);
      assert.equal(read.status, 200, `node ${index} after resolving: ${read.text}`);
      assert.equal(read.text, 'left+right');
    }

    const current = await fixture.get(2, bucket, key);
    const deleted = await fixture.delete(2, bucket, key, { context: current.context ?? '' });
    assert.equal(deleted.status, 204, deleted.text);
    for (const index of [1, 2, 3]) {
      const read = await fixture.get(index, bucket, key);
      assertError(read, 404, 'EVERWRITE_NOT_FOUND', `node ${index} after delete`);
      assert.ok(read.context, 'a 404 over a tombstone carries its context');
    }
    const never = await fixture.get(1, bucket, 'never-written');
    assertError(never, 404, 'EVERWRITE_NOT_FOUND', 'never written');
  },
);

test(
  'keys and values at their limits are accepted; one byte more is a 413 with its code',
  { timeout: 60_000 },
  async () => {
    const longestKey = 'k'.repeat(1024);
    assert.equal((await fixture.put(1, bucket, longestKey, 'fits')).status, 204);
    assert.equal((await fixture.get(2, bucket, longestKey)).text, 'fits');
    assertError(await fixture.put(1, bucket, 'k'.repeat(1025), 'v'), 413, 'EVERWRITE_KEY_TOO_LARGE', 'a 1025-byte key');
    assertError(
      await fixture.get(2, bucket, 'é'.repeat(513)),
      413,
      'EVERWRITE_KEY_TOO_LARGE',
      'a 1026-byte UTF-8 key on a read',
    );

    const largest = new Uint8Array(1024 * 1024).fill(7);
    assert.equal(
      (await fixture.put(2, bucket, 'largest', largest, { contentType: 'application/octet-stream' })).status,
      204,
    );
    const read = await fixture.get(3, bucket, 'largest');
    assert.equal(read.status, 200);
    assert.equal(read.body.length, largest.length);
    assertError(
      await fixture.put(2, bucket, 'too-large', new Uint8Array(1024 * 1024 + 1), {
        contentType: 'application/octet-stream',
      }),
      413,
      'EVERWRITE_VALUE_TOO_LARGE',
      'a 1 MiB + 1 value',
    );
    await assertServing(1);
    await assertServing(2);
  },
);

test(
  'bad contexts, quorums, parameters and bucket properties are 400 with a code, and the node keeps serving',
  { timeout: 30_000 },
  async () => {
    assertError(
      await fixture.put(1, bucket, 'bad-context', 'v', { context: 'this is not a context!' }),
      400,
      'EVERWRITE_BAD_CONTEXT',
      'an undecodable context on a put',
    );
    assertError(
      await fixture.delete(1, bucket, 'bad-context', { context: 'AAAA' }),
      400,
      'EVERWRITE_BAD_CONTEXT',
      'an undecodable context on a delete',
    );
    assertError(await fixture.get(2, bucket, 'greeting', { r: 4 }), 400, 'EVERWRITE_BAD_REQUEST', 'r=4 with n=3');
    assertError(await fixture.put(2, bucket, 'bad-w', 'v', { w: 4 }), 400, 'EVERWRITE_BAD_REQUEST', 'w=4 with n=3');
    assertError(
      await request(`${fixture.url(3)}/buckets/${bucket}/keys/bad-w?w=1.5`, { method: 'PUT', body: 'v' }),
      400,
      'EVERWRITE_BAD_REQUEST',
      'w=1.5',
    );
    assertError(
      await request(`${fixture.url(3)}/buckets/${bucket}/keys/bad-w?w=two`, { method: 'PUT', body: 'v' }),
      400,
      'EVERWRITE_BAD_REQUEST',
      'w=two',
    );
    assertError(
      await request(`${fixture.url(3)}/buckets/${bucket}/keys/bad-r?r=0`),
      400,
      'EVERWRITE_BAD_REQUEST',
      'r=0',
    );
    assertError(
      await request(`${fixture.url(3)}/buckets/${bucket}/keys/bad-r?timeout_ms=-5`),
      400,
      'EVERWRITE_BAD_REQUEST',
      'a negative timeout_ms',
    );

    const props = (body: string): Promise<Reply> =>
      request(`${fixture.url(1)}/buckets/${bucket}/props`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body,
      });
    assertError(await props('{"n":3,"replicas":5}'), 400, 'EVERWRITE_BAD_PROPS', 'an unknown bucket property');
    assertError(await props('{"w":5}'), 400, 'EVERWRITE_BAD_PROPS', 'w greater than n');
    assertError(await props('{"n":'), 400, 'EVERWRITE_BAD_REQUEST', 'a props body that is not JSON');
    const unchanged = await request(`${fixture.url(2)}/buckets/${bucket}/props`);
    assert.equal(unchanged.status, 200);
    assert.deepEqual(unchanged.json(), { n: 3, r: 2, w: 2, resolver: 'siblings', durability: 'durable' });

    for (const index of [1, 2, 3]) await assertServing(index);
    fixture.assertNoCrashes();
  },
);
