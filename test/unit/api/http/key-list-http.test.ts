// Why: GET /buckets/{b}/keys is the HTTP face of key listing (decision 0030). These tests hold its
// contract over the fake service: the two forms (a page with a continuation, and a newline-delimited
// stream whose last line says whether it is complete), the coded partial marker, coded refusals of
// every bad query, backpressure (a reader that stops reading stops the listing, it is not buffered),
// and the bound on listings running at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { EverwriteError } from '../../../../src/core/base/errors.ts';
import { keyListHttpLimits } from '../../../../src/api/http/key-list-handlers.ts';
import { withHarness, type Harness } from './http-harness.ts';

const bounded = { timeout: 60_000 };

async function putKeys(harness: Harness, bucket: string, keys: readonly string[]): Promise<void> {
  for (const key of keys)
    await harness.fake.put({ bucket, key, value: new Uint8Array([1]), contentType: 'text/plain' });
}

test(
  'keys=true answers one page and a continuation; following it lists the rest, then continuation is null',
  bounded,
  () =>
    withHarness(async (harness) => {
      const keys = Array.from({ length: 25 }, (_, index) => `k${String(index).padStart(2, '0')}`);
      await putKeys(harness, 'carts', keys);
      await putKeys(harness, 'other', ['x']);
      const listed: string[] = [];
      let continuation: string | null = null;
      let pages = 0;
      do {
        const query: string = continuation === null ? '' : `&continuation=${encodeURIComponent(continuation)}`;
        const response = await fetch(`${harness.base}/buckets/carts/keys?keys=true&max_keys=10${query}`);
        assert.equal(response.status, 200);
        const body = (await response.json()) as { keys: string[]; continuation: string | null; partial: unknown };
        assert.ok(body.keys.length <= 10);
        assert.equal(body.partial, null);
        listed.push(...body.keys);
        continuation = body.continuation;
        pages += 1;
      } while (continuation !== null && pages < 10);
      assert.equal(pages, 3);
      assert.deepEqual(listed, keys);
    }),
);

test(
  'keys=stream writes one JSON line per page and a last line that is done, with the partial marker when partitions were missing',
  bounded,
  () =>
    withHarness(async (harness) => {
      await putKeys(harness, 'carts', ['a', 'b', 'c']);
      const complete = await fetch(`${harness.base}/buckets/carts/keys?keys=stream`);
      assert.equal(complete.status, 200);
      assert.match(complete.headers.get('content-type') ?? '', /^application\/x-ndjson/);
      const lines = (await complete.text())
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      assert.deepEqual(lines, [{ keys: ['a', 'b', 'c'] }, { done: true, partial: null }]);

      harness.fake.listingMissingPartitions = [4, 9];
      const partial = await fetch(`${harness.base}/buckets/carts/keys?keys=stream`);
      const last = JSON.parse((await partial.text()).trimEnd().split('\n').at(-1) as string) as {
        done: boolean;
        partial: { code: string; missingPartitions: number[] };
      };
      assert.equal(last.done, true);
      assert.equal(last.partial.code, 'EVERWRITE_PARTIAL_LISTING');
      assert.deepEqual(last.partial.missingPartitions, [4, 9]);
      const page = (await (await fetch(`${harness.base}/buckets/carts/keys?keys=true`)).json()) as {
        partial: { code: string };
      };
      assert.equal(page.partial.code, 'EVERWRITE_PARTIAL_LISTING');
    }),
);

test('a failure after the stream started ends it with an error line, not a silent cut', bounded, () =>
  withHarness(async (harness) => {
    await putKeys(
      harness,
      'carts',
      Array.from({ length: 2500 }, (_, index) => `k${index}`),
    );
    harness.fake.failNext('listKeys', new EverwriteError('EVERWRITE_TIMEOUT', 'a replica did not answer'));
    const lines = (await (await fetch(`${harness.base}/buckets/carts/keys?keys=stream`)).text()).trimEnd().split('\n');
    assert.deepEqual(JSON.parse(lines.at(-1) as string), {
      done: true,
      error: { code: 'EVERWRITE_TIMEOUT', message: 'a replica did not answer' },
    });
  }),
);

test('bad listing queries and bucket names are coded 4xx answers', bounded, () =>
  withHarness(async (harness) => {
    const paths = [
      '/buckets/carts/keys',
      '/buckets/carts/keys?keys=maybe',
      '/buckets/carts/keys?keys=true&max_keys=0',
      '/buckets/carts/keys?keys=true&max_keys=1001',
      '/buckets/carts/keys?keys=true&max_keys=99999999999999999999',
      '/buckets/carts/keys?keys=true&max_keys=ten',
      '/buckets/carts/keys?keys=true&keys=stream',
      '/buckets/carts/keys?keys=true&limit=5',
      '/buckets/carts/keys?keys=stream&max_keys=5',
      '/buckets/carts/keys?keys=true&continuation=not-a-cursor',
      '/buckets/carts/keys?keys=stream&continuation=fake.1',
      '/buckets//keys?keys=true',
      '/buckets/%E0%A4%A/keys?keys=true',
      `/buckets/${'b'.repeat(256)}/keys?keys=true`,
    ];
    for (const path of paths) {
      const response = await fetch(`${harness.base}${path}`);
      assert.equal(response.status, 400, path);
      assert.equal(((await response.json()) as { code: string }).code, 'EVERWRITE_BAD_REQUEST', path);
    }
    const post = await fetch(`${harness.base}/buckets/carts/keys?keys=true`, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD, OPTIONS');
    // A bucket nobody wrote is simply empty.
    assert.deepEqual(await (await fetch(`${harness.base}/buckets/never-written/keys?keys=true`)).json(), {
      keys: [],
      continuation: null,
      partial: null,
    });
  }),
);

/** Opens a stream and reads nothing: its socket fills, and the server must stop pulling pages. */
function openUnreadStream(port: number, path: string): Promise<Socket> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
      socket.pause();
      resolve(socket);
    });
    socket.on('error', () => undefined);
  });
}

function readAll(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (chunk.toString('latin1').endsWith('0\r\n\r\n')) socket.end();
    });
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.resume();
  });
}

test(
  'a reader that stops reading stops the listing; reading again finishes it; listings at once are bounded',
  bounded,
  () =>
    withHarness(async (harness) => {
      // 120 pages of 1000 keys of about 200 bytes: about 24 MB, far more than the sockets between them buffer.
      const keys = Array.from(
        { length: 120_000 },
        (_, index) => `${String(index).padStart(8, '0')}-${'x'.repeat(190)}`,
      );
      await putKeys(harness, 'big', keys);
      const stalled = await openUnreadStream(harness.port, '/buckets/big/keys?keys=stream');
      await sleep(1500);
      const servedWhileStalled = harness.fake.listingPagesServed;
      assert.ok(
        servedWhileStalled > 0 && servedWhileStalled < 60,
        `pages served to a reader that read nothing: ${servedWhileStalled}`,
      );

      // The bound on listings at once: the stalled one and more that read nothing fill it, one more is refused.
      const more = await Promise.all(
        Array.from({ length: keyListHttpLimits.listingsMax - 1 }, () =>
          openUnreadStream(harness.port, '/buckets/big/keys?keys=stream'),
        ),
      );
      await sleep(500);
      const refused = await fetch(`${harness.base}/buckets/big/keys?keys=true`);
      assert.equal(refused.status, 429);
      assert.equal(((await refused.json()) as { code: string }).code, 'EVERWRITE_OVERLOADED');
      for (const socket of more) socket.destroy();

      const text = await readAll(stalled);
      const lines = text.split('\r\n\r\n').slice(1).join('').split('\n');
      const listedCount = (text.match(/-x{190}/g) ?? []).length;
      assert.equal(listedCount, keys.length);
      assert.ok(lines.some((line) => line.includes('"done":true')));
      await sleep(200);
      assert.equal(
        (await fetch(`${harness.base}/buckets/big/keys?keys=true&max_keys=1`)).status,
        200,
        'closed listings free their slots',
      );
    }),
);
