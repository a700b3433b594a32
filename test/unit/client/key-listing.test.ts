// Why: the client's key listing (decision 0030) is an async iterator over pages: it must yield every
// key once across pages, fetch a page only when the loop wants more keys, end with a coded
// EVERWRITE_PARTIAL_LISTING when partitions were missing (unless allowed), and refuse bad arguments
// before sending anything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EverwriteClient, EverwriteClientError } from '../../../src/index.ts';
import { startFakeNodes, stopAll, type FakeNode } from './harness.ts';

const bounded = { timeout: 20_000 };

async function withListing(body: (client: EverwriteClient, node: FakeNode) => Promise<void>): Promise<void> {
  const nodes = await startFakeNodes(1);
  const client = new EverwriteClient({ nodes: nodes.map((node) => node.url), routing: 'server' });
  try {
    await body(client, nodes[0] as FakeNode);
  } finally {
    await client.close();
    await stopAll(nodes);
  }
}

async function putKeys(client: EverwriteClient, keys: readonly string[]): Promise<void> {
  for (const key of keys) await client.put('carts', key, 'v');
}

test(
  'listKeys yields every key once, a page at a time, fetching the next page only when the loop wants it',
  bounded,
  () =>
    withListing(async (client, node) => {
      const keys = Array.from({ length: 23 }, (_, index) => `k${String(index).padStart(2, '0')}`);
      await putKeys(client, keys);
      const listed: string[] = [];
      for await (const key of client.listKeys('carts', { pageKeys: 5 })) listed.push(key);
      assert.deepEqual(listed, keys);
      assert.equal(node.fake.listingPagesServed, 5);

      const iterator = client.listKeys('carts', { pageKeys: 5 });
      for (let index = 0; index < 6; index++) await iterator.next();
      assert.equal(node.fake.listingPagesServed, 7, 'six keys need two pages, no more');
      await iterator.return();

      const page = await client.listKeysPage('carts', { pageKeys: 20 });
      assert.equal(page.keys.length, 20);
      const rest = await client.listKeysPage('carts', { continuation: page.continuation as string });
      assert.deepEqual([...page.keys, ...rest.keys], keys);
      assert.equal(rest.continuation, null);
    }),
);

test(
  'a listing with missing partitions yields what it has, then fails EVERWRITE_PARTIAL_LISTING unless allowed',
  bounded,
  () =>
    withListing(async (client, node) => {
      await putKeys(client, ['a', 'b']);
      node.fake.listingMissingPartitions = [3, 5];
      const listed: string[] = [];
      await assert.rejects(
        (async () => {
          for await (const key of client.listKeys('carts')) listed.push(key);
        })(),
        (error: unknown) =>
          error instanceof EverwriteClientError &&
          error.code === 'EVERWRITE_PARTIAL_LISTING' &&
          JSON.stringify(error.details.missingPartitions) === '[3,5]',
      );
      assert.deepEqual(listed, ['a', 'b']);
      const allowed: string[] = [];
      for await (const key of client.listKeys('carts', { allowPartial: true })) allowed.push(key);
      assert.deepEqual(allowed, ['a', 'b']);
      assert.deepEqual((await client.listKeysPage('carts')).missingPartitions, [3, 5]);
    }),
);

test(
  "bad listing arguments are EVERWRITE_BAD_REQUEST before anything is sent; a bad continuation is the node's 400",
  bounded,
  () =>
    withListing(async (client, node) => {
      const badRequest = (error: unknown): boolean =>
        error instanceof EverwriteClientError && error.code === 'EVERWRITE_BAD_REQUEST';
      assert.throws(() => client.listKeys(''), badRequest);
      assert.throws(() => client.listKeys('carts', { pageKeys: 0 }), badRequest);
      assert.throws(() => client.listKeys('carts', { pageKeys: 1001 }), badRequest);
      await assert.rejects(client.listKeysPage('carts', { continuation: '' }), badRequest);
      await assert.rejects(client.listKeysPage('\ud800'), badRequest);
      assert.equal(node.fake.listingPagesServed, 0);
      await assert.rejects(
        client.listKeysPage('carts', { continuation: 'forged' }),
        (error: unknown) => badRequest(error) && (error as EverwriteClientError).status === 400,
      );
    }),
);
