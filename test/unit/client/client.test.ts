// Why: the client against real HTTP front ends over the fake KvService on loopback: every answer
// shape becomes the documented result, every failure a coded EverwriteClientError, and the
// request path keeps its promises (round robin, back-off, retry only what is safe, bounded
// concurrency, a clean close).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EverwriteClient, EverwriteClientError } from '../../../src/index.ts';
import { EverwriteError } from '../../../src/core/base/errors.ts';
import {
  callsOf,
  refusedPort,
  startBreakingServer,
  startCountingRelay,
  startFakeNode,
  startFakeNodes,
  stopAll,
  type FakeNode,
} from './harness.ts';

const bounded = { timeout: 20_000 };
/** Polls `condition` every 10 ms; fails the test after 5 s. */
async function until(condition: () => boolean): Promise<void> {
  const deadline = performance.now() + 5000;
  while (!condition()) {
    assert.ok(performance.now() < deadline, 'condition not met within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const text = (bytes: Uint8Array | undefined): string => new TextDecoder().decode(bytes);

async function withNodes(count: number, body: (nodes: FakeNode[]) => Promise<void>): Promise<void> {
  const nodes = await startFakeNodes(count);
  try {
    await body(nodes);
  } finally {
    await stopAll(nodes);
  }
}

async function withClient(
  nodes: readonly FakeNode[],
  body: (client: EverwriteClient) => Promise<void>,
  options: Partial<ConstructorParameters<typeof EverwriteClient>[0]> = {},
): Promise<void> {
  const client = new EverwriteClient({ nodes: nodes.map((node) => node.url), routing: 'server', ...options });
  try {
    await body(client);
  } finally {
    await client.close();
  }
}

test('put then get returns the value, its content type, lastModified and a context', bounded, () =>
  withNodes(1, (nodes) =>
    withClient(nodes, async (client) => {
      const written = await client.put('users', 'alice', 'hello');
      assert.ok(written.context.length > 0);
      assert.equal(nodes[0]!.fake.calls.at(-1)?.contentType, 'text/plain; charset=utf-8');
      const read = await client.get('users', 'alice');
      assert.equal(read.found, true);
      assert.equal(read.context, written.context);
      assert.equal(read.siblings.length, 1);
      assert.equal(text(read.siblings[0]?.value), 'hello');
      assert.equal(read.siblings[0]?.contentType, 'text/plain; charset=utf-8');
      assert.equal(read.siblings[0]?.lastModified.toISOString(), '2025-01-02T03:04:05.000Z');
      const bytes = new Uint8Array([0, 255, 7]);
      await client.put('users', 'bin', bytes);
      const binary = await client.get('users', 'bin');
      assert.deepEqual(binary.siblings[0]?.value, bytes);
      assert.equal(binary.siblings[0]?.contentType, 'application/octet-stream');
    }),
  ),
);

test('keys and buckets are percent-encoded; r and w are passed as query overrides', bounded, () =>
  withNodes(1, (nodes) =>
    withClient(nodes, async (client) => {
      await client.put('a bucket', 'key/with?odd#chars é', 'v', { w: 1, contentType: 'application/x-test' });
      const call = nodes[0]!.fake.calls.at(-1);
      assert.deepEqual(
        [call?.bucket, call?.key, call?.options, call?.contentType],
        ['a bucket', 'key/with?odd#chars é', { w: 1 }, 'application/x-test'],
      );
      const read = await client.get('a bucket', 'key/with?odd#chars é', { r: 1 });
      assert.equal(read.found, true);
      assert.deepEqual(nodes[0]!.fake.calls.at(-1)?.options, { r: 1 });
    }),
  ),
);

test('concurrent blind writes come back as siblings; a write with their context resolves them', bounded, () =>
  withNodes(1, (nodes) =>
    withClient(nodes, async (client) => {
      await client.put('b', 'k', 'one');
      await client.put('b', 'k', 'two');
      const read = await client.get('b', 'k');
      assert.equal(read.found, true);
      assert.deepEqual(read.siblings.map((sibling) => text(sibling.value)).sort(), ['one', 'two']);
      await client.put('b', 'k', 'merged', { context: read.context });
      const after = await client.get('b', 'k');
      assert.deepEqual(
        after.siblings.map((sibling) => text(sibling.value)),
        ['merged'],
      );
    }),
  ),
);

test(
  'absent is found: false with an empty context; deleted is found: false with the tombstone context, which a later put supersedes',
  bounded,
  () =>
    withNodes(1, (nodes) =>
      withClient(nodes, async (client) => {
        assert.deepEqual(await client.get('b', 'nobody'), {
          found: false,
          siblings: [],
          context: '',
          reason: 'key not found',
        });
        const written = await client.put('b', 'gone', 'v');
        const deleted = await client.delete('b', 'gone', { context: written.context });
        const read = await client.get('b', 'gone');
        assert.equal(read.found, false);
        assert.deepEqual(read.siblings, []);
        assert.equal(read.reason, 'key is deleted');
        assert.equal(deleted.context, 'fake.1.2');
        assert.equal(read.context, 'fake.2', 'the tombstone (dot 2) is what the 404 carries');
        await client.put('b', 'gone', 'back', { context: read.context });
        const back = await client.get('b', 'gone');
        assert.deepEqual(
          back.siblings.map((sibling) => text(sibling.value)),
          ['back'],
        );
      }),
    ),
);

test('a delete concurrent with a write shows as a deleted sibling in a 300', bounded, () =>
  withNodes(1, (nodes) =>
    withClient(nodes, async (client) => {
      await client.put('b', 'k', 'live');
      await client.delete('b', 'k');
      const read = await client.get('b', 'k');
      assert.equal(read.found, true);
      assert.deepEqual(
        read.siblings.map((sibling) => [text(sibling.value), sibling.deleted]),
        [
          ['live', false],
          ['', true],
        ],
      );
    }),
  ),
);

test('node errors keep their code, status, message and details', bounded, () =>
  withNodes(1, (nodes) =>
    withClient(nodes, async (client) => {
      await assert.rejects(client.put('b', 'k', 'v', { context: 'not-a-fake-token' }), (error: unknown) => {
        assert.ok(error instanceof EverwriteClientError);
        assert.deepEqual(
          [error.code, error.status, error.retryable, error.node],
          ['EVERWRITE_BAD_CONTEXT', 400, false, nodes[0]!.url],
        );
        return true;
      });
      await assert.rejects(client.get('b', 'k'.repeat(1025)), {
        code: 'EVERWRITE_KEY_TOO_LARGE',
        status: 413,
        details: { bytesMax: 1024 },
      });
      nodes[0]!.fake.failNext(
        'put',
        new EverwriteError('EVERWRITE_QUORUM_NOT_MET', 'write quorum not met: 1 of 2 replicas answered', {
          replied: 1,
          required: 2,
        }),
      );
      await assert.rejects(client.put('b', 'k', 'v'), (error: unknown) => {
        assert.ok(error instanceof EverwriteClientError);
        assert.deepEqual(
          [error.code, error.status, error.message, error.details, error.retryable],
          [
            'EVERWRITE_QUORUM_NOT_MET',
            503,
            'write quorum not met: 1 of 2 replicas answered',
            { replied: 1, required: 2 },
            true,
          ],
        );
        return true;
      });
      assert.equal(callsOf(nodes[0]!.fake, 'put'), 2, 'a write that failed with a node error is not sent again');
      await assert.rejects(client.setProps('b', { w: 5 }), { code: 'EVERWRITE_BAD_PROPS', status: 400 });
    }),
  ),
);

test('bad arguments reject with EVERWRITE_BAD_REQUEST before anything is sent', bounded, () =>
  withNodes(1, (nodes) =>
    withClient(nodes, async (client) => {
      await assert.rejects(client.get('', 'k'), { code: 'EVERWRITE_BAD_REQUEST' });
      await assert.rejects(client.put('b', '', 'v'), { code: 'EVERWRITE_BAD_REQUEST' });
      await assert.rejects(client.get('b', '\ud800'), { code: 'EVERWRITE_BAD_REQUEST' });
      await assert.rejects(client.put('b', 'k', 'v', { w: 0 }), { code: 'EVERWRITE_BAD_REQUEST' });
      await assert.rejects(client.get('b', 'k', { timeoutMs: -1 }), { code: 'EVERWRITE_BAD_REQUEST' });
      await assert.rejects(client.put('b', 'k', 42 as unknown as string), { code: 'EVERWRITE_BAD_REQUEST' });
      assert.equal(nodes[0]!.fake.calls.length, 0);
    }),
  ),
);

test('the constructor refuses bad options with EVERWRITE_BAD_REQUEST, half or mixed credentials and the removed secret option', () => {
  const bad: unknown[] = [
    { nodes: [], routing: 'server' },
    { nodes: ['http://127.0.0.1:1'], routing: 'sideways' },
    { nodes: ['ftp://127.0.0.1:1'], routing: 'server' },
    { nodes: ['https://127.0.0.1:1'], routing: 'server', ca: 'not a certificate' },
    { nodes: ['https://127.0.0.1:1'], routing: 'server', ca: [42] },
    { nodes: ['http://127.0.0.1:1/path'], routing: 'server' },
    { nodes: ['http://127.0.0.1:1', 'http://127.0.0.1:1/'], routing: 'server' },
    { nodes: ['http://127.0.0.1:1'], routing: 'server', timeoutMs: 0 },
    { nodes: ['http://127.0.0.1:1'], routing: 'server', maxConcurrency: 1.5 },
    { nodes: ['http://127.0.0.1:1'], routing: 'server', secret: 'a secret is no longer an option' },
    { nodes: ['http://127.0.0.1:1'], routing: 'server', user: 'alice' },
    { nodes: ['http://127.0.0.1:1'], routing: 'server', password: 'no user given' },
    { nodes: ['http://127.0.0.1:1'], routing: 'server', user: 'alice', password: 'pw-123456', token: 'ew_x' },
    { nodes: ['http://127.0.0.1:1'], routing: 'server', user: 'al:ice', password: 'pw-123456' },
    { nodes: ['http://127.0.0.1:1'], routing: 'server', token: 'two\nlines' },
  ];
  for (const options of bad)
    assert.throws(
      () => new EverwriteClient(options as never),
      { code: 'EVERWRITE_BAD_REQUEST' },
      JSON.stringify(options),
    );
  const client = new EverwriteClient({
    nodes: ['http://127.0.0.1:1/'],
    routing: 'client',
    user: 'alice',
    password: 'pw-123456',
  });
  assert.deepEqual(client.options.nodes, ['http://127.0.0.1:1']);
  assert.equal(client.options.authorization, `Basic ${Buffer.from('alice:pw-123456').toString('base64')}`);
  void client.close();
});

test(
  'a node that cannot be reached is EVERWRITE_UNAVAILABLE without a status; no answer in time is EVERWRITE_TIMEOUT',
  bounded,
  async () => {
    const port = await refusedPort();
    const client = new EverwriteClient({ nodes: [`http://127.0.0.1:${port}`], routing: 'server' });
    await assert.rejects(client.get('b', 'k'), (error: unknown) => {
      assert.ok(error instanceof EverwriteClientError);
      assert.deepEqual(
        [error.code, error.status, error.fromServer, error.retryable],
        ['EVERWRITE_UNAVAILABLE', undefined, false, true],
      );
      return true;
    });
    await client.close();
    await withNodes(1, (nodes) =>
      withClient(nodes, async (slow) => {
        const release = nodes[0]!.fake.holdNext('get');
        const started = performance.now();
        await assert.rejects(slow.get('b', 'k', { timeoutMs: 200 }), { code: 'EVERWRITE_TIMEOUT', status: undefined });
        assert.ok(performance.now() - started < 2000);
        release();
      }),
    );
  },
);

test('server routing sends each request to the next node round robin', bounded, () =>
  withNodes(3, (nodes) =>
    withClient(nodes, async (client) => {
      for (let index = 0; index < 9; index++) await client.get('b', `k${index}`);
      assert.deepEqual(
        nodes.map((node) => callsOf(node.fake, 'get')),
        [3, 3, 3],
      );
      for (let index = 0; index < 3; index++) await client.put('b', `k${index}`, 'v');
      assert.deepEqual(
        nodes.map((node) => callsOf(node.fake, 'put')),
        [1, 1, 1],
      );
    }),
  ),
);

test(
  'a node that refuses connections is skipped for its back-off (requests go elsewhere, writes too), then tried again',
  bounded,
  () =>
    withNodes(3, async (nodes) => {
      await nodes[1]!.stop();
      await withClient(
        nodes,
        async (client) => {
          for (let index = 0; index < 6; index++) await client.put('b', `k${index}`, 'v');
          assert.deepEqual(
            nodes.map((node) => callsOf(node.fake, 'put')),
            [3, 0, 3],
          );
          assert.equal(client.stats().retries, 1, 'only the first request met the dead node; then it was backing off');
          await nodes[1]!.restart();
          await new Promise((resolve) => setTimeout(resolve, 1100));
          for (let index = 0; index < 3; index++) await client.get('b', `k${index}`);
          assert.equal(callsOf(nodes[1]!.fake, 'get'), 1, 'after its back-off the node is back in the rotation');
        },
        { backoffMs: 1000 },
      );
    }),
);

test(
  'a connection broken after sending: a read is retried once on another node, a write is not resent',
  bounded,
  async () => {
    const breaking = await startBreakingServer();
    const healthy = await startFakeNode();
    const client = new EverwriteClient({ nodes: [breaking.url, healthy.url], routing: 'server', backoffMs: 60_000 });
    try {
      await healthy.fake.put({
        bucket: 'b',
        key: 'k',
        value: new TextEncoder().encode('v'),
        contentType: 'text/plain',
      });
      const read = await client.get('b', 'k');
      assert.equal(text(read.siblings[0]?.value), 'v');
      assert.equal(breaking.accepted(), 1);
      assert.equal(client.stats().retries, 1);
      // A fresh client starts its round robin at the breaking node.
      const writer = new EverwriteClient({ nodes: [breaking.url, healthy.url], routing: 'server' });
      const putsBefore = callsOf(healthy.fake, 'put');
      await assert.rejects(writer.put('b', 'k', 'w'), { code: 'EVERWRITE_UNAVAILABLE' });
      assert.equal(
        callsOf(healthy.fake, 'put'),
        putsBefore,
        'a write that may have been delivered is never sent twice',
      );
      await writer.close();
    } finally {
      await client.close();
      await healthy.stop();
      await breaking.close();
    }
  },
);

test('bounded concurrency: calls beyond maxConcurrency wait in order, beyond maxQueued they are refused', bounded, () =>
  withNodes(1, (nodes) =>
    withClient(
      nodes,
      async (client) => {
        const release = nodes[0]!.fake.holdNext('get');
        const first = client.get('b', 'first');
        await until(() => callsOf(nodes[0]!.fake, 'get') === 1);
        const second = client.get('b', 'second');
        await assert.rejects(client.get('b', 'third'), { code: 'EVERWRITE_OVERLOADED' });
        assert.deepEqual([client.stats().inFlight, client.stats().queued], [1, 1]);
        assert.equal(callsOf(nodes[0]!.fake, 'get'), 1, 'the second call is queued, not sent');
        release();
        await Promise.all([first, second]);
        assert.deepEqual(
          nodes[0]!.fake.calls.map((call) => call.key),
          ['first', 'second'],
        );
      },
      { maxConcurrency: 1, maxQueued: 1 },
    ),
  ),
);

test(
  'connections are kept alive and pooled: sequential calls share one connection, concurrent ones at most maxConcurrency',
  bounded,
  () =>
    withNodes(1, async (nodes) => {
      const relay = await startCountingRelay(nodes[0]!.port);
      const client = new EverwriteClient({ nodes: [relay.url], routing: 'server', maxConcurrency: 8 });
      try {
        for (let index = 0; index < 30; index++) {
          await client.put('b', `k${index}`, 'v');
          assert.equal((await client.get('b', `k${index}`)).found, true);
        }
        assert.equal(relay.connections(), 1, '60 sequential calls over one keep-alive connection');
        for (let round = 0; round < 3; round++)
          await Promise.all(Array.from({ length: 40 }, (_, index) => client.get('b', `k${index % 30}`)));
        assert.ok(
          relay.connections() <= 8,
          `3 x 40 concurrent calls opened ${relay.connections()} connections, more than the 8 maxConcurrency allows`,
        );
      } finally {
        await client.close();
        await relay.close();
      }
    }),
);

test('close() refuses queued and new calls, lets the call in flight finish, and closes connections', bounded, () =>
  withNodes(1, async (nodes) => {
    const client = new EverwriteClient({ nodes: [nodes[0]!.url], routing: 'server', maxConcurrency: 1 });
    await client.put('b', 'k', 'v');
    const release = nodes[0]!.fake.holdNext('get');
    const inFlight = client.get('b', 'k');
    await until(() => callsOf(nodes[0]!.fake, 'get') === 1);
    const queued = client.get('b', 'k');
    const closed = client.close();
    await assert.rejects(queued, { code: 'EVERWRITE_CLIENT_CLOSED' });
    release();
    assert.equal((await inFlight).found, true);
    await closed;
    await assert.rejects(client.get('b', 'k'), { code: 'EVERWRITE_CLIENT_CLOSED' });
    assert.equal(client.close(), closed);
  }),
);

test('getProps, setProps, deleteProps and status talk to the bucket and admin routes', bounded, () =>
  withNodes(2, (nodes) =>
    withClient(nodes, async (client) => {
      assert.deepEqual(await client.getProps('b'), { n: 3, r: 2, w: 2, resolver: 'siblings', durability: 'durable' });
      assert.deepEqual(await client.setProps('b', { r: 1, resolver: 'lww' }), {
        n: 3,
        r: 1,
        w: 2,
        resolver: 'lww',
        durability: 'durable',
      });
      assert.deepEqual(await client.deleteProps('b'), {
        n: 3,
        r: 2,
        w: 2,
        resolver: 'siblings',
        durability: 'durable',
      });
      assert.ok(
        nodes.some((node) =>
          node.fake.calls.some((call) => call.operation === 'deleteBucketProps' && call.bucket === 'b'),
        ),
        'DELETE reached a node',
      );
      const status = await client.status();
      assert.equal(status.id, 'n1');
      assert.ok(nodes.some((node) => node.url === status.node));
      assert.equal(status.members.length, 1);
    }),
  ),
);
