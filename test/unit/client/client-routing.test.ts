// Why: the partition-aware client must send each key request to the node that is the key's first
// primary, as a node would compute it (MD5 placement, the ring from /admin/ring, member ids from
// /admin/status whatever order the URLs were given in), fall back to the next primaries when that
// node fails, keep the ring fresh, and route like the server when it has no ring.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { EverwriteClient } from '../../../src/index.ts';
import { keyHash, partitionOf, primaryNodes, type Ring } from '../../../src/core/ring/index.ts';
import { callsOf, startFakeNodes, startRingNodes, stopAll, type FakeNode } from './harness.ts';

/** Placement computed independently of the client: node:crypto's MD5, as a node did before its pure MD5. */
const md5 = (bytes: Uint8Array): Uint8Array => createHash('md5').update(bytes).digest();

const bounded = { timeout: 20_000 };

/**
 * Lets the client see the FIN of keep-alive connections a stopped node closed. Without it the next
 * write may be sent on such a connection, fail as broken and, being a write, not be resent: the
 * documented behaviour, but not what these tests are about.
 */
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 50));

function primariesOf(ring: Ring, bucket: string, key: string, n = 3): string[] {
  return primaryNodes(ring, partitionOf(ring, keyHash(md5, bucket, key)), n);
}

test(
  'every key request goes straight to the first primary of the key, URLs mapped to members by their own id',
  bounded,
  async () => {
    const { nodes, ring } = await startRingNodes();
    // URLs in an order unrelated to member ids: n3, n1, n2.
    const client = new EverwriteClient({ nodes: [nodes[2]!.url, nodes[0]!.url, nodes[1]!.url], routing: 'client' });
    try {
      const expected = new Map<string, number>([
        ['n1', 0],
        ['n2', 0],
        ['n3', 0],
      ]);
      for (let index = 0; index < 30; index++) {
        const key = `key-${index}`;
        await client.put('b', key, 'v');
        await client.get('b', key);
        const first = primariesOf(ring, 'b', key)[0]!;
        expected.set(first, expected.get(first)! + 1);
      }
      const byId = new Map<string, FakeNode>(nodes.map((node, index) => [`n${index + 1}`, node]));
      for (const [id, count] of expected) {
        assert.equal(callsOf(byId.get(id)!.fake, 'put'), count, `puts at ${id}`);
        assert.equal(callsOf(byId.get(id)!.fake, 'get'), count, `gets at ${id}`);
      }
      assert.ok(
        [...expected.values()].every((count) => count > 0),
        'keys spread over every node',
      );
      const stats = client.stats();
      assert.deepEqual([stats.primaryRequests, stats.nonPrimaryRequests, stats.retries], [60, 0, 0]);
      assert.equal(stats.ringVersion, ring.version);
    } finally {
      await client.close();
      await stopAll(nodes);
    }
  },
);

test(
  'when the first primary is down, requests go to the next primary and it is skipped while backing off',
  bounded,
  async () => {
    const { nodes, ring } = await startRingNodes();
    const client = new EverwriteClient({ nodes: nodes.map((node) => node.url), routing: 'client', backoffMs: 60_000 });
    try {
      await client.refreshRing();
      const key = 'fallback-key';
      const [first, second] = primariesOf(ring, 'b', key);
      const nodeOf = (id: string): FakeNode => nodes[Number(id.slice(1)) - 1]!;
      await nodeOf(first!).stop();
      await settle();
      await client.put('b', key, 'v');
      await client.get('b', key);
      assert.equal(
        callsOf(nodeOf(second!).fake, 'put'),
        1,
        'the write never reached the dead node, so it went to the next primary',
      );
      assert.equal(
        callsOf(nodeOf(second!).fake, 'get'),
        1,
        'the dead primary is backing off: straight to the next one',
      );
      const stats = client.stats();
      assert.deepEqual([stats.primaryRequests, stats.nonPrimaryRequests, stats.retries], [3, 0, 1]);
    } finally {
      await client.close();
      await stopAll(nodes);
    }
  },
);

test(
  'a bucket with N = 1 has one primary: when it is down the request goes to another node, counted as not primary',
  bounded,
  async () => {
    const { nodes, ring } = await startRingNodes();
    const client = new EverwriteClient({ nodes: nodes.map((node) => node.url), routing: 'client', backoffMs: 60_000 });
    try {
      await client.setProps('single', { n: 1, r: 1, w: 1 });
      await client.refreshRing();
      const key = 'k1';
      const [only] = primariesOf(ring, 'single', key, 1);
      await nodes[Number(only!.slice(1)) - 1]!.stop();
      await settle();
      const before = client.stats();
      await client.put('single', key, 'v');
      const after = client.stats();
      assert.deepEqual(
        [after.primaryRequests - before.primaryRequests, after.nonPrimaryRequests - before.nonPrimaryRequests],
        [1, 1],
      );
    } finally {
      await client.close();
      await Promise.allSettled(nodes.map((node) => node.stop()));
    }
  },
);

test('the ring is fetched at first use and again every ringRefreshMs', bounded, async () => {
  const { nodes, fakes } = await startRingNodes();
  const client = new EverwriteClient({ nodes: nodes.map((node) => node.url), routing: 'client', ringRefreshMs: 100 });
  try {
    assert.equal(
      fakes.reduce((sum, fake) => sum + callsOf(fake, 'ring'), 0),
      0,
      'nothing is fetched before the first request',
    );
    await client.get('b', 'k');
    assert.equal(client.stats().ringRefreshes, 1);
    const deadline = performance.now() + 5000;
    while (client.stats().ringRefreshes < 3) {
      assert.ok(performance.now() < deadline, `refreshes: ${client.stats().ringRefreshes}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.ok(fakes.reduce((sum, fake) => sum + callsOf(fake, 'ring'), 0) >= 3);
  } finally {
    await client.close();
    await stopAll(nodes);
  }
});

test(
  'without a usable ring the client routes round robin like the server and counts those requests as not primary',
  bounded,
  async () => {
    // The plain fake's ring is not a valid ring document, so every refresh fails.
    const nodes = await startFakeNodes(2);
    const client = new EverwriteClient({ nodes: nodes.map((node) => node.url), routing: 'client' });
    try {
      await client.put('b', 'k', 'v');
      assert.equal(
        (await client.get('b', 'k')).found,
        false,
        'the two fakes do not share data; the get went to the other node',
      );
      const stats = client.stats();
      assert.deepEqual([stats.primaryRequests, stats.nonPrimaryRequests, stats.ringRefreshes], [0, 2, 0]);
      assert.ok(stats.ringRefreshFailures >= 1);
      assert.deepEqual(
        nodes.map((node) => callsOf(node.fake, 'put') + callsOf(node.fake, 'get')),
        [1, 1],
      );
    } finally {
      await client.close();
      await stopAll(nodes);
    }
  },
);
