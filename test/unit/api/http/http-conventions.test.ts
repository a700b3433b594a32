// Why: the HTTP conventions a client relies on beyond the data routes (decision 0028): conditional
// requests (ETag, If-Match, If-None-Match, If-Modified-Since) honoured or refused with 400 but never
// ignored, Retry-After on every 503 and 429, OPTIONS with Allow, and CORS only for listed origins.
// Against the fake service over real sockets; the real cluster's behaviour is in
// test/integration/http-conventions.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EverwriteError } from '../../../../src/core/base/errors.ts';
import { startHttpServer } from '../../../../src/api/http/server.ts';
import { FakeKvService } from '../../../support/fake-kv-service.ts';
import { withHarness, type Harness } from './http-harness.ts';

const bounded = { timeout: 10_000 };
const keyPath = '/buckets/b/keys/k';

function send(
  harness: Harness,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Response> {
  return fetch(`${harness.base}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
}

async function expectError(
  response: Response,
  status: number,
  code: string,
  message?: RegExp,
): Promise<Record<string, unknown>> {
  const body = (await response.json()) as Record<string, unknown>;
  assert.equal(response.status, status, JSON.stringify(body));
  assert.equal(body.code, code);
  if (message !== undefined) assert.match(String(body.message), message);
  return body;
}

function puts(harness: Harness): number {
  return harness.fake.calls.filter((call) => call.operation === 'put' || call.operation === 'delete').length;
}

test('GET 200 and 300 and PUT 204 carry a strong, bounded ETag that changes with the versions read', bounded, () =>
  withHarness(async (harness) => {
    const written = await send(harness, 'PUT', keyPath, {}, 'one');
    assert.match(written.headers.get('etag') ?? '', /^"[A-Za-z0-9_-]{22}"$/);
    const read = await send(harness, 'GET', keyPath);
    const tag = read.headers.get('etag') ?? '';
    assert.match(tag, /^"[A-Za-z0-9_-]{22}"$/);
    assert.equal(
      (await send(harness, 'GET', keyPath)).headers.get('etag'),
      tag,
      'the same state reads with the same tag',
    );
    await send(harness, 'PUT', keyPath, {}, 'concurrent');
    const siblings = await send(harness, 'GET', keyPath);
    assert.equal(siblings.status, 300);
    assert.match(siblings.headers.get('etag') ?? '', /^"[A-Za-z0-9_-]{22}"$/);
    assert.notEqual(siblings.headers.get('etag'), tag, 'a new sibling changes the tag');
    assert.equal(
      (await send(harness, 'GET', '/buckets/b/keys/never')).headers.get('etag'),
      null,
      'an absent key has no tag',
    );
  }),
);

test(
  'If-None-Match: * creates only: 412 EVERWRITE_PRECONDITION_FAILED over a live version, no sibling made; a deleted key counts as absent',
  bounded,
  () =>
    withHarness(async (harness) => {
      const created = await send(harness, 'PUT', keyPath, { 'if-none-match': '*' }, 'first');
      assert.equal(created.status, 204);
      const writesBefore = puts(harness);
      const refused = await expectError(
        await send(harness, 'PUT', keyPath, { 'if-none-match': '*' }, 'second'),
        412,
        'EVERWRITE_PRECONDITION_FAILED',
      );
      assert.match(String(refused.etag), /^"[A-Za-z0-9_-]{22}"$/, 'the body names the current tag');
      assert.equal(puts(harness), writesBefore, 'nothing was written');
      const read = await send(harness, 'GET', keyPath);
      assert.equal(read.status, 200, 'still one version, not two siblings');
      assert.equal(await read.text(), 'first');
      await send(harness, 'DELETE', keyPath, { 'x-everwrite-context': read.headers.get('x-everwrite-context') ?? '' });
      const recreated = await send(harness, 'PUT', keyPath, { 'if-none-match': '*' }, 'again');
      assert.equal(recreated.status, 204);
      const after = await send(harness, 'GET', keyPath);
      assert.equal(after.status, 200, 'the create superseded the tombstone it read');
      assert.equal(await after.text(), 'again');
    }),
);

test(
  "If-Match: the tag of the read writes with that read's context; a stale tag is 412 and writes nothing",
  bounded,
  () =>
    withHarness(async (harness) => {
      await send(harness, 'PUT', keyPath, {}, 'one');
      const read = await send(harness, 'GET', keyPath);
      const tag = read.headers.get('etag') ?? '';
      const updated = await send(harness, 'PUT', keyPath, { 'if-match': tag }, 'two');
      assert.equal(updated.status, 204);
      assert.equal(
        harness.fake.calls.at(-1)?.context,
        read.headers.get('x-everwrite-context'),
        'the write went with the context the check read',
      );
      const writesBefore = puts(harness);
      await expectError(
        await send(harness, 'PUT', keyPath, { 'if-match': tag }, 'three'),
        412,
        'EVERWRITE_PRECONDITION_FAILED',
      );
      await expectError(
        await send(harness, 'DELETE', keyPath, { 'if-match': tag }),
        412,
        'EVERWRITE_PRECONDITION_FAILED',
      );
      await expectError(
        await send(
          harness,
          'PUT',
          keyPath,
          { 'if-match': `W/${(await send(harness, 'GET', keyPath)).headers.get('etag') ?? ''}` },
          'weak',
        ),
        412,
        'EVERWRITE_PRECONDITION_FAILED',
      );
      assert.equal(puts(harness), writesBefore);
      assert.equal(await (await send(harness, 'GET', keyPath)).text(), 'two');
      await expectError(
        await send(harness, 'PUT', '/buckets/b/keys/absent', { 'if-match': '*' }, 'x'),
        412,
        'EVERWRITE_PRECONDITION_FAILED',
        /no live version/,
      );
      assert.equal(
        (
          await send(
            harness,
            'PUT',
            keyPath,
            { 'if-match': `"nope", ${(await send(harness, 'GET', keyPath)).headers.get('etag') ?? ''}` },
            'listed',
          )
        ).status,
        204,
        'any tag of a list may match',
      );
    }),
);

test(
  'GET answers 304 for a matching If-None-Match or an If-Modified-Since at or after the last modification, 412 for a failed If-Match',
  bounded,
  () =>
    withHarness(async (harness) => {
      await send(harness, 'PUT', keyPath, {}, 'v');
      const read = await send(harness, 'GET', keyPath);
      const tag = read.headers.get('etag') ?? '';
      const revalidated = await send(harness, 'GET', keyPath, { 'if-none-match': `"other", W/${tag}` });
      assert.equal(revalidated.status, 304);
      assert.equal(revalidated.headers.get('etag'), tag);
      assert.equal((await send(harness, 'GET', keyPath, { 'if-none-match': '"other"' })).status, 200);
      const lastModified = read.headers.get('last-modified') ?? '';
      assert.equal((await send(harness, 'GET', keyPath, { 'if-modified-since': lastModified })).status, 304);
      assert.equal(
        (await send(harness, 'GET', keyPath, { 'if-modified-since': 'Mon, 01 Jan 2024 00:00:00 GMT' })).status,
        200,
      );
      await expectError(
        await send(harness, 'GET', keyPath, { 'if-match': '"other"' }),
        412,
        'EVERWRITE_PRECONDITION_FAILED',
      );
      assert.equal((await send(harness, 'HEAD', keyPath, { 'if-none-match': tag })).status, 304);
    }),
);

test(
  'conditional headers the API does not honour, malformed or oversized ones are 400 before the service is asked',
  bounded,
  () =>
    withHarness(async (harness) => {
      const callsBefore = harness.fake.calls.length;
      const cases: Array<[string, Record<string, string>, RegExp]> = [
        ['PUT', { 'if-unmodified-since': 'Mon, 01 Jan 2024 00:00:00 GMT' }, /if-unmodified-since is not supported/],
        ['GET', { 'if-unmodified-since': 'Mon, 01 Jan 2024 00:00:00 GMT' }, /if-unmodified-since is not supported/],
        ['PUT', { 'if-modified-since': 'Mon, 01 Jan 2024 00:00:00 GMT' }, /GET and HEAD only/],
        ['PUT', { 'if-none-match': '"abc"' }, /must be \* \(create only\)/],
        ['DELETE', { 'if-none-match': '"abc"' }, /must be \* \(create only\)/],
        ['PUT', { 'if-match': 'abc' }, /quoted entity tags/],
        ['PUT', { 'if-match': '"a", b' }, /quoted entity tags/],
        ['PUT', { 'if-match': '"a"b"' }, /quoted entity tags/],
        ['PUT', { 'if-match': '*, "a"' }, /quoted entity tags/],
        ['PUT', { 'if-match': ' , ' }, /it is empty/],
        [
          'PUT',
          { 'if-match': Array.from({ length: 17 }, (_, index) => `"t${index}"`).join(', ') },
          /more than 16 entity tags/,
        ],
        ['PUT', { 'if-match': `"${'a'.repeat(2000)}"` }, /longer than 1024 bytes/],
        ['GET', { 'if-modified-since': 'yesterday' }, /must be an HTTP date/],
        ['GET', { 'if-modified-since': 'Mon, 99 Jan 2024 00:00:00 GMT' }, /must be an HTTP date/],
        ['PUT', { 'if-match': '"a"', 'x-everwrite-context': 'fake.1' }, /not both/],
      ];
      for (const [method, headers, message] of cases) {
        await expectError(
          await send(harness, method, keyPath, headers, method === 'PUT' ? 'v' : undefined),
          400,
          'EVERWRITE_BAD_REQUEST',
          message,
        );
      }
      await expectError(
        await send(harness, 'GET', '/buckets/b/props', { 'if-none-match': '"a"' }),
        400,
        'EVERWRITE_BAD_REQUEST',
        /honours no conditional header/,
      );
      await expectError(
        await send(harness, 'GET', '/admin/status', { 'if-modified-since': 'Mon, 01 Jan 2024 00:00:00 GMT' }),
        400,
        'EVERWRITE_BAD_REQUEST',
      );
      assert.equal(harness.fake.calls.length, callsBefore, 'no bad header reached the service');
      assert.equal((await send(harness, 'GET', '/health')).status, 200);
    }),
);

test('every 503 and 429 carries Retry-After in whole seconds; a conflicting view asks for longer', bounded, () =>
  withHarness(async (harness) => {
    const cases: Array<[EverwriteError, number, string]> = [
      [new EverwriteError('EVERWRITE_QUORUM_NOT_MET', 'q'), 503, '1'],
      [new EverwriteError('EVERWRITE_TIMEOUT', 't'), 503, '1'],
      [new EverwriteError('EVERWRITE_UNAVAILABLE', 'u'), 503, '1'],
      [new EverwriteError('EVERWRITE_VIEW_CONFLICT', 'v'), 503, '5'],
      [new EverwriteError('EVERWRITE_OVERLOADED', 'o'), 429, '1'],
    ];
    for (const [error, status, seconds] of cases) {
      harness.fake.failNext('get', error);
      const answer = await send(harness, 'GET', keyPath);
      await expectError(answer, status, error.code);
      assert.equal(answer.headers.get('retry-after'), seconds, error.code);
    }
    harness.fake.failNext('get', new EverwriteError('EVERWRITE_BAD_REQUEST', 'b'));
    assert.equal((await send(harness, 'GET', keyPath)).headers.get('retry-after'), null, 'a 400 has none');
  }),
);

test('OPTIONS answers 204 with Allow on every route and on *, and Allow in a 405 names OPTIONS', bounded, () =>
  withHarness(async (harness) => {
    const key = await send(harness, 'OPTIONS', keyPath);
    assert.equal(key.status, 204);
    assert.equal(key.headers.get('allow'), 'GET, PUT, DELETE, HEAD, OPTIONS');
    assert.equal((await send(harness, 'OPTIONS', '/admin/commit')).headers.get('allow'), 'POST, OPTIONS');
    assert.equal((await send(harness, 'OPTIONS', '/nowhere')).status, 404);
    const wrong = await send(harness, 'POST', keyPath);
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'GET, PUT, DELETE, HEAD, OPTIONS');
    const star = await new Promise<string>((resolve, reject) => {
      import('node:net').then(({ connect }) => {
        const socket = connect(harness.port, '127.0.0.1', () =>
          socket.end('OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
        );
        let text = '';
        socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
        socket.on('close', () => resolve(text));
        socket.on('error', reject);
      }, reject);
    });
    assert.match(star, /^HTTP\/1\.1 204/);
    assert.match(star, /Allow: GET, HEAD, PUT, POST, DELETE, OPTIONS/i);
    assert.equal(key.headers.get('access-control-allow-origin'), null, 'CORS is off by default');
  }),
);

test(
  'CORS: off by default; with origins listed, a trusted origin gets preflight answers and readable headers, another gets none',
  bounded,
  async () => {
    await withHarness(async (harness) => {
      const preflight = await send(harness, 'OPTIONS', keyPath, {
        origin: 'https://app.example.com',
        'access-control-request-method': 'PUT',
      });
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers.get('access-control-allow-origin'), null);
      assert.equal(preflight.headers.get('access-control-allow-methods'), null);
    });
    await withHarness(
      async (harness) => {
        const trusted = { origin: 'https://app.example.com' };
        const preflight = await send(harness, 'OPTIONS', keyPath, {
          ...trusted,
          'access-control-request-method': 'PUT',
          'access-control-request-headers': 'if-match, x-everwrite-context',
        });
        assert.equal(preflight.status, 204);
        assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://app.example.com');
        assert.equal(preflight.headers.get('access-control-allow-methods'), 'GET, PUT, DELETE, HEAD, OPTIONS');
        assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /If-Match/);
        assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /X-Everwrite-Context/);
        assert.equal(preflight.headers.get('vary'), 'Origin');
        await send(harness, 'PUT', keyPath, trusted, 'v');
        const read = await send(harness, 'GET', keyPath, trusted);
        assert.equal(read.headers.get('access-control-allow-origin'), 'https://app.example.com');
        assert.match(read.headers.get('access-control-expose-headers') ?? '', /ETag, X-Everwrite-Context, Retry-After/);
        const stranger = await send(harness, 'OPTIONS', keyPath, {
          origin: 'https://evil.example',
          'access-control-request-method': 'PUT',
        });
        assert.equal(stranger.headers.get('access-control-allow-origin'), null);
        assert.equal(stranger.headers.get('access-control-allow-methods'), null);
        assert.equal(
          (await send(harness, 'GET', keyPath, { origin: 'https://evil.example' })).headers.get(
            'access-control-allow-origin',
          ),
          null,
        );
      },
      { corsOrigins: ['https://app.example.com', 'http://localhost:3000'] },
    );
  },
);

test('corsOrigins is checked at start: no wildcard, no path, no upper case, bounded in count', bounded, async () => {
  const service = new FakeKvService();
  for (const corsOrigins of [
    ['*'],
    ['https://app.example.com/'],
    ['https://App.example.com'],
    ['ftp://x'],
    Array.from({ length: 65 }, (_, index) => `https://h${index}.example`),
  ]) {
    await assert.rejects(
      startHttpServer({ service, host: '127.0.0.1', port: 0, corsOrigins }),
      (error: unknown) => error instanceof RangeError && /corsOrigins/.test(error.message),
      JSON.stringify(corsOrigins).slice(0, 60),
    );
  }
});
