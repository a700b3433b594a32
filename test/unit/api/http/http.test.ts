// Why: the HTTP API is the external contract of docs/ARCHITECTURE.md section 4. These tests pin every route,
// every answer shape and every error code against the fake service, over real sockets on loopback,
// and check that no bad input, oversized upload or service failure stops the server from serving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { EverwriteError } from '../../../../src/core/base/errors.ts';
import { startHttpServer } from '../../../../src/api/http/server.ts';
import { FakeKvService } from '../../../support/fake-kv-service.ts';
import { rawExchange, startHarness, withHarness } from './http-harness.ts';
import type { Harness } from './http-harness.ts';

const bounded = { timeout: 10_000 };
const lastModifiedIso = '2025-01-02T03:04:05.678Z';

async function put(
  harness: Harness,
  path: string,
  value: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${harness.base}${path}`, { method: 'PUT', body: value, headers });
}

async function expectError(response: Response, status: number, code: string): Promise<Record<string, unknown>> {
  const body = (await response.json()) as Record<string, unknown>;
  assert.equal(response.status, status, JSON.stringify(body));
  assert.equal(body.code, code);
  assert.equal(typeof body.message, 'string');
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  return body;
}

async function assertStillServing(harness: Harness): Promise<void> {
  const response = await fetch(`${harness.base}/health`);
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { status: 'ok' });
}

test('PUT then GET answers the raw value with its content type, context and Last-Modified', bounded, () =>
  withHarness(async (harness) => {
    const written = await put(harness, '/buckets/users/keys/alice', 'hello', {
      'content-type': 'text/plain; charset=utf-8',
    });
    assert.equal(written.status, 204);
    const writtenContext = written.headers.get('x-everwrite-context');
    assert.ok(writtenContext);
    const read = await fetch(`${harness.base}/buckets/users/keys/alice`);
    assert.equal(read.status, 200);
    assert.equal(await read.text(), 'hello');
    assert.equal(read.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(read.headers.get('last-modified'), new Date(lastModifiedIso).toUTCString());
    assert.ok(read.headers.get('x-everwrite-context'));
    assert.equal(read.headers.get('connection'), 'keep-alive');
  }),
);

test('PUT without Content-Type stores application/octet-stream and binary bytes round-trip exactly', bounded, () =>
  withHarness(async (harness) => {
    const bytes = new Uint8Array([0, 255, 1, 254, 10, 13]);
    const written = await fetch(`${harness.base}/buckets/b/keys/bin`, { method: 'PUT', body: bytes });
    assert.equal(written.status, 204);
    assert.equal(harness.fake.calls.at(-1)?.contentType, 'application/octet-stream');
    const read = await fetch(`${harness.base}/buckets/b/keys/bin`);
    assert.equal(read.headers.get('content-type'), 'application/octet-stream');
    assert.deepEqual(new Uint8Array(await read.arrayBuffer()), bytes);
  }),
);

test('a PUT with the context of a GET supersedes what was read, a blind PUT becomes a sibling', bounded, () =>
  withHarness(async (harness) => {
    await put(harness, '/buckets/b/keys/k', 'one');
    const read = await fetch(`${harness.base}/buckets/b/keys/k`);
    const context = read.headers.get('x-everwrite-context') ?? '';
    await put(harness, '/buckets/b/keys/k', 'two', { 'x-everwrite-context': context });
    assert.equal(harness.fake.calls.at(-1)?.context, context);
    const after = await fetch(`${harness.base}/buckets/b/keys/k`);
    assert.equal(after.status, 200);
    assert.equal(await after.text(), 'two');
    await put(harness, '/buckets/b/keys/k', 'three');
    assert.equal((await fetch(`${harness.base}/buckets/b/keys/k`)).status, 300);
  }),
);

test('concurrent versions answer 300 with the documented siblings JSON, deleted siblings included', bounded, () =>
  withHarness(async (harness) => {
    await put(harness, '/buckets/b/keys/k', 'left', { 'content-type': 'text/plain' });
    await fetch(`${harness.base}/buckets/b/keys/k`, { method: 'PUT', body: new Uint8Array([1, 2, 3]) });
    await fetch(`${harness.base}/buckets/b/keys/k`, { method: 'DELETE' });
    const read = await fetch(`${harness.base}/buckets/b/keys/k`);
    assert.equal(read.status, 300);
    assert.match(read.headers.get('content-type') ?? '', /^application\/json/);
    const body = (await read.json()) as { context: string; siblings: unknown[] };
    assert.equal(read.headers.get('x-everwrite-context'), body.context);
    assert.deepEqual(body.siblings, [
      { value: Buffer.from('left').toString('base64'), contentType: 'text/plain', lastModified: lastModifiedIso },
      { value: 'AQID', contentType: 'application/octet-stream', lastModified: lastModifiedIso },
      { deleted: true, lastModified: lastModifiedIso },
    ]);
    const resolved = await put(harness, '/buckets/b/keys/k', 'merged', { 'x-everwrite-context': body.context });
    assert.equal(resolved.status, 204);
    assert.equal(await (await fetch(`${harness.base}/buckets/b/keys/k`)).text(), 'merged');
  }),
);

test('a never-written key is 404 EVERWRITE_NOT_FOUND without a context header', bounded, () =>
  withHarness(async (harness) => {
    const read = await fetch(`${harness.base}/buckets/b/keys/nothing`);
    await expectError(read, 404, 'EVERWRITE_NOT_FOUND');
    assert.equal(read.headers.get('x-everwrite-context'), null);
  }),
);

test('a deleted key is 404 with the tombstone context, and a write with it supersedes the tombstone', bounded, () =>
  withHarness(async (harness) => {
    const written = await put(harness, '/buckets/b/keys/k', 'v');
    const deleted = await fetch(`${harness.base}/buckets/b/keys/k`, {
      method: 'DELETE',
      headers: { 'x-everwrite-context': written.headers.get('x-everwrite-context') ?? '' },
    });
    assert.equal(deleted.status, 204);
    assert.ok(deleted.headers.get('x-everwrite-context'));
    const read = await fetch(`${harness.base}/buckets/b/keys/k`);
    await expectError(read, 404, 'EVERWRITE_NOT_FOUND');
    const tombstoneContext = read.headers.get('x-everwrite-context');
    assert.ok(tombstoneContext);
    await put(harness, '/buckets/b/keys/k', 'again', { 'x-everwrite-context': tombstoneContext });
    const after = await fetch(`${harness.base}/buckets/b/keys/k`);
    assert.equal(after.status, 200, 'the write superseded the tombstone instead of becoming its sibling');
    assert.equal(await after.text(), 'again');
  }),
);

test('when every sibling is deleted the key is 404 with the context header', bounded, () =>
  withHarness(async (harness) => {
    await fetch(`${harness.base}/buckets/b/keys/k`, { method: 'DELETE' });
    await fetch(`${harness.base}/buckets/b/keys/k`, { method: 'DELETE' });
    const read = await fetch(`${harness.base}/buckets/b/keys/k`);
    await expectError(read, 404, 'EVERWRITE_NOT_FOUND');
    assert.ok(read.headers.get('x-everwrite-context'));
  }),
);

test('DELETE answers 204 with a new context and passes the given context and options through', bounded, () =>
  withHarness(async (harness) => {
    const deleted = await fetch(`${harness.base}/buckets/b/keys/k?w=1&timeout_ms=250`, {
      method: 'DELETE',
      headers: { 'x-everwrite-context': 'fake.7' },
    });
    assert.equal(deleted.status, 204);
    assert.equal(await deleted.text(), '');
    assert.equal(deleted.headers.get('x-everwrite-context'), 'fake.7.1');
    assert.deepEqual(harness.fake.calls.at(-1), {
      operation: 'delete',
      bucket: 'b',
      key: 'k',
      options: { w: 1, timeoutMs: 250 },
      context: 'fake.7',
    });
  }),
);

test(
  'r, w and timeout_ms reach the service as request options; an empty context header is a blind write',
  bounded,
  () =>
    withHarness(async (harness) => {
      await fetch(`${harness.base}/buckets/b/keys/k?r=1&timeout_ms=1500`);
      assert.deepEqual(harness.fake.calls.at(-1)?.options, { r: 1, timeoutMs: 1500 });
      await put(harness, '/buckets/b/keys/k?w=3', 'v', { 'x-everwrite-context': '' });
      const call = harness.fake.calls.at(-1);
      assert.deepEqual(call?.options, { w: 3 });
      assert.equal(call?.context, undefined);
      await fetch(`${harness.base}/buckets/b/keys/k`);
      assert.equal(harness.fake.calls.at(-1)?.options, undefined);
    }),
);

test('bad r, w or timeout_ms, unknown and repeated parameters are 400 EVERWRITE_BAD_REQUEST', bounded, () =>
  withHarness(async (harness) => {
    const queries = [
      'r=0',
      'w=-1',
      'timeout_ms=abc',
      'r=1.5',
      'w=',
      'r=01',
      'timeout_ms=1e3',
      'W=2',
      'x=1',
      'r=1&r=2',
      'w=99999999999999999999',
    ];
    for (const query of queries) {
      const read = await fetch(`${harness.base}/buckets/b/keys/k?${query}`);
      await expectError(read, 400, 'EVERWRITE_BAD_REQUEST');
      const written = await put(harness, `/buckets/b/keys/k?${query}`, 'v');
      await expectError(written, 400, 'EVERWRITE_BAD_REQUEST');
    }
    assert.equal(harness.fake.calls.length, 0, 'no bad request reached the service');
    await assertStillServing(harness);
  }),
);

test('bucket and key are percent-decoded path segments; %2F stays inside the key', bounded, () =>
  withHarness(async (harness) => {
    const key = 'a/b?c d#é';
    const written = await put(
      harness,
      `/buckets/${encodeURIComponent('my bucket')}/keys/${encodeURIComponent(key)}`,
      'v',
    );
    assert.equal(written.status, 204);
    assert.equal(harness.fake.calls.at(-1)?.bucket, 'my bucket');
    assert.equal(harness.fake.calls.at(-1)?.key, key);
    const read = await fetch(`${harness.base}/buckets/my%20bucket/keys/${encodeURIComponent(key)}`);
    assert.equal(await read.text(), 'v');
  }),
);

test('an empty bucket or key and malformed percent-encoding are 400 EVERWRITE_BAD_REQUEST', bounded, () =>
  withHarness(async (harness) => {
    for (const path of [
      '/buckets//keys/k',
      '/buckets/b/keys/',
      '/buckets/b/keys/%E0%A4%A',
      '/buckets/%FF/keys/k',
      '/buckets//props',
    ]) {
      await expectError(await fetch(`${harness.base}${path}`), 400, 'EVERWRITE_BAD_REQUEST');
    }
    await expectError(await put(harness, '/buckets/b/keys/', 'v'), 400, 'EVERWRITE_BAD_REQUEST');
    await expectError(await fetch(`${harness.base}/buckets/${'b'.repeat(256)}/keys/k`), 400, 'EVERWRITE_BAD_REQUEST');
    await assertStillServing(harness);
  }),
);

test('a key over keyBytesMax (counted in UTF-8 bytes) is 413 EVERWRITE_KEY_TOO_LARGE on every key route', bounded, () =>
  withHarness(async (harness) => {
    const fits = 'é'.repeat(512); // 1024 bytes
    const tooLarge = `${fits}x`; // 1025 bytes
    assert.equal((await put(harness, `/buckets/b/keys/${encodeURIComponent(fits)}`, 'v')).status, 204);
    const path = `/buckets/b/keys/${encodeURIComponent(tooLarge)}`;
    const body = await expectError(await put(harness, path, 'v'), 413, 'EVERWRITE_KEY_TOO_LARGE');
    assert.equal(body.bytesMax, 1024);
    await expectError(await fetch(`${harness.base}${path}`), 413, 'EVERWRITE_KEY_TOO_LARGE');
    await expectError(await fetch(`${harness.base}${path}`, { method: 'DELETE' }), 413, 'EVERWRITE_KEY_TOO_LARGE');
    await expectError(await fetch(`${harness.base}/admin/local${path}`), 413, 'EVERWRITE_KEY_TOO_LARGE');
    await assertStillServing(harness);
  }),
);

test(
  'a value over valueBytesMax is 413 EVERWRITE_VALUE_TOO_LARGE, the connection closes, the server keeps serving',
  bounded,
  () =>
    withHarness(
      async (harness) => {
        assert.equal((await put(harness, '/buckets/b/keys/k', 'x'.repeat(64))).status, 204);
        const refused = await put(harness, '/buckets/b/keys/k', 'x'.repeat(65));
        assert.equal(refused.headers.get('connection'), 'close');
        const body = await expectError(refused, 413, 'EVERWRITE_VALUE_TOO_LARGE');
        assert.equal(body.bytesMax, 64);
        const huge = await fetch(`${harness.base}/buckets/b/keys/k`, {
          method: 'PUT',
          body: new Uint8Array(8 * 1024 * 1024),
        });
        await expectError(huge, 413, 'EVERWRITE_VALUE_TOO_LARGE');
        assert.equal(harness.fake.calls.filter((call) => call.operation === 'put').length, 1);
        await assertStillServing(harness);
      },
      { limits: { valueBytesMax: 64 } },
    ),
);

test('a chunked upload is cut off as soon as it crosses valueBytesMax, before the client finishes', bounded, () =>
  withHarness(
    async (harness) => {
      const chunk = `${(600).toString(16)}\r\n${'y'.repeat(600)}\r\n`;
      const head = 'PUT /buckets/b/keys/k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n';
      const parts = [head, ...Array.from({ length: 50 }, () => chunk), '0\r\n\r\n'];
      const exchange = await rawExchange(harness.port, parts, {
        pauseMs: 10,
        stopWhen: /HTTP\/1\.1 413/,
        deadlineMs: 5000,
      });
      assert.match(exchange.received, /^HTTP\/1\.1 413 /);
      assert.match(exchange.received, /EVERWRITE_VALUE_TOO_LARGE/);
      assert.match(exchange.received, /Connection: close/i);
      assert.ok(
        exchange.partsWritten < 10,
        `answered after ${exchange.partsWritten} parts, not at the end of the upload`,
      );
      assert.ok(exchange.closedByServer);
      await assertStillServing(harness);
    },
    { limits: { valueBytesMax: 1000 } },
  ),
);

test('an error answered before the body is read closes the connection; a bodyless request keeps it', bounded, () =>
  withHarness(async (harness) => {
    const pending = await rawExchange(harness.port, [
      'PUT /buckets/b/keys/k?r=0 HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nabc',
    ]);
    assert.match(pending.received, /^HTTP\/1\.1 400 /);
    assert.match(pending.received, /Connection: close/i);
    assert.ok(pending.closedByServer);
    const bodyless = await rawExchange(harness.port, ['GET /buckets/b/keys/k?r=0 HTTP/1.1\r\nHost: x\r\n\r\n'], {
      deadlineMs: 300,
    });
    assert.match(bodyless.received, /^HTTP\/1\.1 400 /);
    assert.match(bodyless.received, /Connection: keep-alive/i);
    assert.equal(bodyless.closedByServer, false);
  }),
);

test('Expect: 100-continue is refused with 413 and no 100 when the declared length is too large', bounded, () =>
  withHarness(
    async (harness) => {
      const head = 'PUT /buckets/b/keys/k HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n';
      const exchange = await rawExchange(harness.port, [head]);
      assert.match(exchange.received, /^HTTP\/1\.1 413 /);
      assert.doesNotMatch(exchange.received, /100 Continue/);
      const fits =
        'PUT /buckets/b/keys/k HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n';
      const accepted = await rawExchange(harness.port, [fits, 'hello'], { pauseMs: 50 });
      assert.match(accepted.received, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 204 /);
      assert.equal(harness.fake.calls.at(-1)?.operation, 'put');
    },
    { limits: { valueBytesMax: 1000 } },
  ),
);

test('bucket props: GET, partial PUT, and bad bodies answered 400 with the right code', bounded, () =>
  withHarness(
    async (harness) => {
      const initial = await fetch(`${harness.base}/buckets/users/props`);
      assert.equal(initial.status, 200);
      assert.deepEqual(await initial.json(), { n: 3, r: 2, w: 2, resolver: 'siblings', durability: 'durable' });
      const updated = await fetch(`${harness.base}/buckets/users/props`, {
        method: 'PUT',
        body: '{"r":1,"resolver":"lww"}',
      });
      assert.equal(updated.status, 200);
      assert.deepEqual(await updated.json(), { n: 3, r: 1, w: 2, resolver: 'lww', durability: 'durable' });
      assert.deepEqual(await (await fetch(`${harness.base}/buckets/users/props`)).json(), {
        n: 3,
        r: 1,
        w: 2,
        resolver: 'lww',
        durability: 'durable',
      });
      for (const body of ['{"r":', '[1,2]', 'null', '42', '']) {
        await expectError(
          await fetch(`${harness.base}/buckets/users/props`, { method: 'PUT', body }),
          400,
          'EVERWRITE_BAD_REQUEST',
        );
      }
      await expectError(
        await fetch(`${harness.base}/buckets/users/props`, { method: 'PUT', body: '{"colour":"red"}' }),
        400,
        'EVERWRITE_BAD_PROPS',
      );
      await expectError(
        await fetch(`${harness.base}/buckets/users/props`, { method: 'PUT', body: '{"w":9}' }),
        400,
        'EVERWRITE_BAD_PROPS',
      );
      await expectError(
        await fetch(`${harness.base}/buckets/users/props`, {
          method: 'PUT',
          body: JSON.stringify({ n: 3, pad: 'x'.repeat(100) }),
        }),
        413,
        'EVERWRITE_VALUE_TOO_LARGE',
      );
      await assertStillServing(harness);
    },
    { jsonBodyBytesMax: 64 },
  ),
);

test(
  'bucket props DELETE: back to the defaults, bad bucket names 400, the bucket cap 409 with its message',
  bounded,
  () =>
    withHarness(async (harness) => {
      assert.equal(
        (await fetch(`${harness.base}/buckets/users/props`, { method: 'PUT', body: '{"r":1}' })).status,
        200,
      );
      const deleted = await fetch(`${harness.base}/buckets/users/props`, { method: 'DELETE' });
      assert.equal(deleted.status, 200);
      const defaults = { n: 3, r: 2, w: 2, resolver: 'siblings', durability: 'durable' };
      assert.deepEqual(await deleted.json(), defaults);
      assert.deepEqual(await (await fetch(`${harness.base}/buckets/users/props`)).json(), defaults);
      assert.equal(harness.fake.calls.at(-2)?.operation, 'deleteBucketProps');
      for (const path of ['/buckets//props', '/buckets/%FF/props', `/buckets/${'b'.repeat(256)}/props`]) {
        const reply = await fetch(`${harness.base}${path}`, { method: 'DELETE' });
        assert.ok(reply.status === 400 || reply.status === 404, `${path.slice(0, 20)}: ${reply.status}`);
        await reply.arrayBuffer();
      }
      harness.fake.failNext(
        'setBucketProps',
        new EverwriteError(
          'EVERWRITE_TOO_MANY_BUCKETS',
          '10000 buckets have configured properties; the limit is 10000 (bucketPropsCountMax)',
        ),
      );
      const refused = await fetch(`${harness.base}/buckets/one-too-many/props`, { method: 'PUT', body: '{"w":1}' });
      assert.equal(refused.status, 409);
      const body = (await refused.json()) as { code: string; message: string };
      assert.equal(body.code, 'EVERWRITE_TOO_MANY_BUCKETS');
      assert.match(body.message, /limit is 10000/);
      const wrong = await fetch(`${harness.base}/buckets/b/props`, { method: 'POST', body: '{}' });
      assert.equal(wrong.headers.get('allow'), 'GET, PUT, DELETE, HEAD, OPTIONS');
      await expectError(wrong, 405, 'EVERWRITE_METHOD_NOT_ALLOWED');
      await assertStillServing(harness);
    }),
);

test('connections past connectionsMax are closed at once; those within it keep serving', bounded, () =>
  withHarness(
    async (harness) => {
      const open = (): Promise<Socket> =>
        new Promise((resolve, reject) => {
          const socket = connect(harness.port, '127.0.0.1', () => resolve(socket));
          socket.once('error', reject);
        });
      const kept = [await open(), await open()];
      await new Promise((resolve) => setTimeout(resolve, 50));
      const extra = await open();
      // The refusal is answered (429: this address holds its share, decision 0013) before the close;
      // a client sees the close once it has read the answer.
      extra.resume();
      const closed = await new Promise<boolean>((resolve) => {
        extra.once('close', () => resolve(true));
        extra.on('error', () => undefined);
        setTimeout(() => resolve(false), 2000).unref();
      });
      assert.equal(closed, true, 'the third connection is closed by the server');
      for (const socket of kept) socket.destroy();
      await new Promise((resolve) => setTimeout(resolve, 50));
      await assertStillServing(harness);
    },
    { connectionsMax: 2 },
  ),
);

test('admin status and ring answer the service JSON', bounded, () =>
  withHarness(async (harness) => {
    const status = await fetch(`${harness.base}/admin/status`);
    assert.equal(status.status, 200);
    assert.deepEqual(await status.json(), {
      id: 'n1',
      members: [{ id: 'n1', address: '127.0.0.1:7001', state: 'up', partitions: 8 }],
    });
    const ring = await fetch(`${harness.base}/admin/ring`);
    assert.equal(ring.status, 200);
    assert.deepEqual(await ring.json(), harness.fake.ring());
  }),
);

test('admin local key: 200 siblings JSON for a live version, 404 when absent or only a tombstone', bounded, () =>
  withHarness(async (harness) => {
    await expectError(await fetch(`${harness.base}/admin/local/buckets/b/keys/k`), 404, 'EVERWRITE_NOT_FOUND');
    await put(harness, '/buckets/b/keys/k', 'v', { 'content-type': 'text/plain' });
    const local = await fetch(`${harness.base}/admin/local/buckets/b/keys/k`);
    assert.equal(local.status, 200);
    const body = (await local.json()) as { context: string; siblings: unknown[] };
    assert.equal(local.headers.get('x-everwrite-context'), body.context);
    assert.deepEqual(body.siblings, [
      { value: Buffer.from('v').toString('base64'), contentType: 'text/plain', lastModified: lastModifiedIso },
    ]);
    await fetch(`${harness.base}/buckets/b/keys/k`, {
      method: 'DELETE',
      headers: { 'x-everwrite-context': body.context },
    });
    const tombstone = await fetch(`${harness.base}/admin/local/buckets/b/keys/k`);
    await expectError(tombstone, 404, 'EVERWRITE_NOT_FOUND');
    assert.ok(tombstone.headers.get('x-everwrite-context'));
  }),
);

test('POST /admin/join, /admin/leave and /admin/remove answer 501 EVERWRITE_NOT_IMPLEMENTED', bounded, () =>
  withHarness(async (harness) => {
    for (const operation of ['join', 'leave', 'remove']) {
      const body = await expectError(
        await fetch(`${harness.base}/admin/${operation}`, { method: 'POST', body: '{}' }),
        501,
        'EVERWRITE_NOT_IMPLEMENTED',
      );
      assert.match(String(body.message), new RegExp(operation));
    }
    await assertStillServing(harness);
  }),
);

test('GET /health is ok and GET / is the dashboard page loading its script', bounded, () =>
  withHarness(async (harness) => {
    await assertStillServing(harness);
    const page = await fetch(`${harness.base}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(await page.text(), /src="\/dashboard\/dashboard\.js"/);
  }),
);

test('GET /metrics counts requests by route, method and status, with a latency histogram per route', bounded, () =>
  withHarness(async (harness) => {
    await put(harness, '/buckets/b/keys/k', 'v');
    await fetch(`${harness.base}/buckets/b/keys/k`);
    await fetch(`${harness.base}/buckets/b/keys/missing`);
    await fetch(`${harness.base}/nowhere/${Math.random()}`);
    const metrics = await fetch(`${harness.base}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await metrics.text();
    assert.match(
      text,
      /everwrite_http_requests_total\{route="\/buckets\/\{bucket\}\/keys\/\{key\}",method="PUT",status="204"\} 1/,
    );
    assert.match(
      text,
      /everwrite_http_requests_total\{route="\/buckets\/\{bucket\}\/keys\/\{key\}",method="GET",status="200"\} 1/,
    );
    assert.match(
      text,
      /everwrite_http_requests_total\{route="\/buckets\/\{bucket\}\/keys\/\{key\}",method="GET",status="404"\} 1/,
    );
    assert.match(text, /everwrite_http_requests_total\{route="unmatched",method="GET",status="404"\} 1/);
    assert.match(
      text,
      /everwrite_http_request_duration_seconds_count\{route="\/buckets\/\{bucket\}\/keys\/\{key\}",method="GET"\} 2/,
    );
    assert.doesNotMatch(text, /nowhere/, 'raw paths never become labels');
  }),
);

test('each server has its own metrics registry', bounded, async () => {
  const first = await startHarness();
  const second = await startHarness();
  try {
    await fetch(`${first.base}/health`);
    const text = await (await fetch(`${second.base}/metrics`)).text();
    assert.doesNotMatch(text, /route="\/health"/);
  } finally {
    await first.close();
    await second.close();
  }
});

test('an unknown route is 404 EVERWRITE_NOT_FOUND; a wrong method is 405 with Allow', bounded, () =>
  withHarness(async (harness) => {
    for (const path of [
      '/nope',
      '/buckets/b',
      '/buckets/b/keys/k/extra',
      '/admin',
      '/admin/local/buckets/b/keys',
      '/health/',
    ]) {
      await expectError(await fetch(`${harness.base}${path}`), 404, 'EVERWRITE_NOT_FOUND');
    }
    const wrong = await fetch(`${harness.base}/buckets/b/keys/k`, { method: 'POST', body: 'v' });
    assert.equal(wrong.headers.get('allow'), 'GET, PUT, DELETE, HEAD, OPTIONS');
    await expectError(wrong, 405, 'EVERWRITE_METHOD_NOT_ALLOWED');
    await expectError(await fetch(`${harness.base}/admin/join`), 405, 'EVERWRITE_METHOD_NOT_ALLOWED');
    await expectError(await fetch(`${harness.base}/health`, { method: 'DELETE' }), 405, 'EVERWRITE_METHOD_NOT_ALLOWED');
    await expectError(
      await fetch(`${harness.base}/buckets/b/props`, { method: 'PATCH', body: '{}' }),
      405,
      'EVERWRITE_METHOD_NOT_ALLOWED',
    );
  }),
);

test('HEAD on a key answers the GET status and headers without a body', bounded, () =>
  withHarness(async (harness) => {
    await put(harness, '/buckets/b/keys/k', 'hello', { 'content-type': 'text/plain' });
    const head = await fetch(`${harness.base}/buckets/b/keys/k`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), '5');
    assert.ok(head.headers.get('x-everwrite-context'));
    assert.equal(await head.text(), '');
  }),
);

test('a coded service error keeps its HTTP status, code, message and details', bounded, () =>
  withHarness(async (harness) => {
    harness.fake.failNext(
      'put',
      new EverwriteError('EVERWRITE_QUORUM_NOT_MET', 'only 1 of 2 replicas acknowledged', { replied: 1, required: 2 }),
    );
    const quorum = await expectError(await put(harness, '/buckets/b/keys/k', 'v'), 503, 'EVERWRITE_QUORUM_NOT_MET');
    assert.deepEqual(quorum, {
      code: 'EVERWRITE_QUORUM_NOT_MET',
      message: 'only 1 of 2 replicas acknowledged',
      replied: 1,
      required: 2,
    });
    harness.fake.failNext('get', new EverwriteError('EVERWRITE_OVERLOADED', 'too many requests in flight'));
    await expectError(await fetch(`${harness.base}/buckets/b/keys/k`), 429, 'EVERWRITE_OVERLOADED');
    harness.fake.failNext('get', new EverwriteError('EVERWRITE_TIMEOUT', 'no quorum within 100 ms', { replied: 0 }));
    await expectError(await fetch(`${harness.base}/buckets/b/keys/k`), 503, 'EVERWRITE_TIMEOUT');
    await expectError(
      await put(harness, '/buckets/b/keys/k', 'v', { 'x-everwrite-context': 'garbage' }),
      400,
      'EVERWRITE_BAD_CONTEXT',
    );
    assert.equal(
      harness.logs.filter((record) => record.level === 50).length,
      0,
      'client-visible failures are not logged as errors',
    );
  }),
);

test('too many siblings is 409 EVERWRITE_TOO_MANY_SIBLINGS', bounded, () =>
  withHarness(
    async (harness) => {
      assert.equal((await put(harness, '/buckets/b/keys/k', 'one')).status, 204);
      assert.equal((await put(harness, '/buckets/b/keys/k', 'two')).status, 204);
      await expectError(await put(harness, '/buckets/b/keys/k', 'three'), 409, 'EVERWRITE_TOO_MANY_SIBLINGS');
    },
    { fake: { siblingsCountMax: 2 } },
  ),
);

test(
  'an unexpected failure is 500 EVERWRITE_INTERNAL, logged with its stack, and the server keeps serving',
  bounded,
  () =>
    withHarness(async (harness) => {
      harness.fake.failNext('get', new TypeError('boom in the service'));
      const failed = await expectError(await fetch(`${harness.base}/buckets/b/keys/k`), 500, 'EVERWRITE_INTERNAL');
      assert.doesNotMatch(String(failed.message), /boom/, 'internals are not shown to clients');
      harness.fake.failNext('status', new Error('synchronous bug'));
      await expectError(await fetch(`${harness.base}/admin/status`), 500, 'EVERWRITE_INTERNAL');
      const errors = harness.logs.filter((record) => record.level === 50);
      assert.equal(errors.length, 2);
      assert.match(JSON.stringify(errors[0]), /boom in the service/);
      assert.equal(errors[0]?.route, '/buckets/{bucket}/keys/{key}');
      await assertStillServing(harness);
    }),
);

test('malformed HTTP gets a JSON 400 and a closed connection; the server keeps serving', bounded, () =>
  withHarness(async (harness) => {
    const exchange = await rawExchange(harness.port, ['THIS IS NOT HTTP\r\n\r\n']);
    assert.match(exchange.received, /^HTTP\/1\.1 400 /);
    assert.match(exchange.received, /"code":"EVERWRITE_BAD_REQUEST"/);
    assert.ok(exchange.closedByServer);
    const afterGood = await rawExchange(
      harness.port,
      ['GET /health HTTP/1.1\r\nHost: x\r\n\r\n', 'NOT HTTP EITHER\r\n\r\n'],
      { pauseMs: 50 },
    );
    assert.match(afterGood.received, /^HTTP\/1\.1 200 [\s\S]*HTTP\/1\.1 400 [\s\S]*EVERWRITE_BAD_REQUEST/);
    await assertStillServing(harness);
  }),
);

test('a client that disconnects mid-body or mid-request disturbs nothing', bounded, () =>
  withHarness(async (harness) => {
    const head = 'PUT /buckets/b/keys/k HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n';
    const cut = await rawExchange(harness.port, [head, 'only ten b'], { deadlineMs: 200 });
    assert.equal(cut.received, '');
    const release = harness.fake.holdNext('get');
    const abandoned = new AbortController();
    const read = fetch(`${harness.base}/buckets/b/keys/k`, { signal: abandoned.signal });
    while (harness.fake.calls.at(-1)?.operation !== 'get') await new Promise((resolve) => setTimeout(resolve, 5));
    abandoned.abort();
    await assert.rejects(read);
    release();
    await assertStillServing(harness);
    assert.equal(harness.fake.calls.filter((call) => call.operation === 'put').length, 0);
    assert.equal(harness.logs.filter((record) => record.level === 50).length, 0);
  }),
);

test('keep-alive: consecutive requests reuse one connection', bounded, () =>
  withHarness(async (harness) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const reused: boolean[] = [];
      for (let i = 0; i < 3; i++) {
        await new Promise<void>((resolve, reject) => {
          const request = httpRequest(`${harness.base}/health`, { agent }, (response) => {
            reused.push(request.reusedSocket);
            response.resume();
            response.on('end', resolve);
          });
          request.on('error', reject);
          request.end();
        });
      }
      assert.deepEqual(reused, [false, true, true]);
    } finally {
      agent.destroy();
    }
  }),
);

test('close lets a request in flight finish, then resolves', bounded, () =>
  withHarness(async (harness) => {
    await put(harness, '/buckets/b/keys/k', 'v');
    const release = harness.fake.holdNext('get');
    const inFlight = fetch(`${harness.base}/buckets/b/keys/k`);
    while (harness.fake.calls.at(-1)?.operation !== 'get') await new Promise((resolve) => setTimeout(resolve, 5));
    const closed = harness.server.close();
    release();
    const response = await inFlight;
    assert.equal(response.status, 200);
    assert.equal(await response.text(), 'v');
    await closed;
    await assert.rejects(fetch(`${harness.base}/health`));
  }),
);

test('close cuts a request that outlives closeTimeoutMs instead of hanging', bounded, () =>
  withHarness(
    async (harness) => {
      const release = harness.fake.holdNext('get');
      const inFlight = fetch(`${harness.base}/buckets/b/keys/k`);
      while (harness.fake.calls.at(-1)?.operation !== 'get') await new Promise((resolve) => setTimeout(resolve, 5));
      const startedMs = performance.now();
      await harness.server.close();
      assert.ok(performance.now() - startedMs < 2000);
      await assert.rejects(inFlight);
      release();
    },
    { closeTimeoutMs: 100 },
  ),
);

test('options are validated once: bad host, port or limits are refused at start', bounded, async () => {
  const service = new FakeKvService();
  await assert.rejects(startHttpServer({ service, host: '', port: 0 }), RangeError);
  await assert.rejects(startHttpServer({ service, host: '127.0.0.1', port: -1 }), RangeError);
  await assert.rejects(
    startHttpServer({ service, host: '127.0.0.1', port: 0, limits: { valueBytesMax: 0 } }),
    RangeError,
  );
  await assert.rejects(startHttpServer({ service, host: '127.0.0.1', port: 0, keepAliveTimeoutMs: 1.5 }), RangeError);
  await assert.rejects(
    startHttpServer({ service, host: '127.0.0.1', port: 0, limits: { unknownLimit: 1 } as never }),
    RangeError,
  );
});

test('a port already in use rejects the start with the listen error', bounded, () =>
  withHarness(async (harness) => {
    await assert.rejects(startHttpServer({ service: harness.fake, host: '127.0.0.1', port: harness.port }), {
      code: 'EADDRINUSE',
    });
    await assertStillServing(harness);
  }),
);
