// Why: the client against a real 3-node cluster of separate processes (startLocalCluster, the
// package's own export): reads, writes, siblings and deletes through both routings; client routing
// must send each request straight to the key's first primary, which the nodes' own metrics and
// replicas confirm; and concurrent update() loops with a union merge must lose no item, the
// shopping-cart promise of Dynamo with dotted version vectors.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EverwriteClient, startLocalCluster, type LocalClusterHandle, type Sibling } from '../../src/index.ts';
import { keyHash, partitionOf, primaryNodes, ringFromJSON } from '../../src/core/ring/index.ts';
import { nodePortsFromTheOs } from '../support/cluster-fixture.ts';

/** Placement computed independently of the client: node:crypto's MD5, as a node did before its pure MD5. */
const md5 = (bytes: Uint8Array): Uint8Array => createHash('md5').update(bytes).digest();

const bounded = { timeout: 90_000 };
const decode = (bytes: Uint8Array | undefined): string => new TextDecoder().decode(bytes);

let handle: LocalClusterHandle | undefined;
let dataDirectory: string | undefined;

before(async () => {
  dataDirectory = mkdtempSync(join(tmpdir(), 'everwrite-client-'));
  // Ports from freePorts, so another run of this file (another checkout, another CI job) never shares them.
  handle = await startLocalCluster({
    nodes: 3,
    dataDirectory,
    engine: 'memory',
    nodePorts: await nodePortsFromTheOs(3),
    partitions: 64,
    output: 'ignore',
  });
});

after(async () => {
  await handle?.stop();
  if (dataDirectory !== undefined) rmSync(dataDirectory, { recursive: true, force: true });
});

function cluster(): LocalClusterHandle {
  assert.ok(handle, 'the cluster did not start');
  return handle;
}

async function withClient(
  routing: 'server' | 'client',
  body: (client: EverwriteClient) => Promise<void>,
): Promise<void> {
  const client = new EverwriteClient({ nodes: [...cluster().urls], routing });
  try {
    await body(client);
  } finally {
    await client.close();
  }
}

async function exerciseDataPath(client: EverwriteClient, bucket: string): Promise<void> {
  const written = await client.put(bucket, 'alice', 'hello');
  const read = await client.get(bucket, 'alice');
  assert.equal(read.found, true);
  assert.deepEqual(
    read.siblings.map((sibling) => decode(sibling.value)),
    ['hello'],
  );
  assert.equal(read.siblings[0]?.contentType, 'text/plain; charset=utf-8');
  await client.put(bucket, 'alice', 'concurrent');
  const both = await client.get(bucket, 'alice');
  assert.deepEqual(
    both.siblings.map((sibling) => decode(sibling.value)).sort(),
    ['concurrent', 'hello'],
    'a blind write next to a version makes siblings',
  );
  await client.put(bucket, 'alice', 'resolved', { context: both.context });
  const resolved = await client.get(bucket, 'alice');
  assert.deepEqual(
    resolved.siblings.map((sibling) => decode(sibling.value)),
    ['resolved'],
  );
  assert.notEqual(resolved.context, written.context);
  await client.delete(bucket, 'alice', { context: resolved.context });
  const deleted = await client.get(bucket, 'alice');
  assert.equal(deleted.found, false);
  assert.ok(deleted.context.length > 0, 'a deleted key comes back with its tombstone context');
  await client.put(bucket, 'alice', 'reborn', { context: deleted.context });
  assert.deepEqual(
    (await client.get(bucket, 'alice')).siblings.map((sibling) => decode(sibling.value)),
    ['reborn'],
    'a write with the tombstone context supersedes the delete',
  );
  assert.deepEqual(await client.get(bucket, 'nobody'), {
    found: false,
    siblings: [],
    context: '',
    reason: 'key not found',
  });
}

test('put, get, siblings and delete through server routing', bounded, () =>
  withClient('server', (client) => exerciseDataPath(client, 'server-routed')),
);

test('put, get, siblings and delete through client routing', bounded, () =>
  withClient('client', (client) => exerciseDataPath(client, 'client-routed')),
);

/** Key requests a node answered itself, from its Prometheus counter (any method and status). */
async function keyRequestsServed(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('everwrite_http_requests_total{route="/buckets/{bucket}/keys/{key}"'))
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/** Waits until every node reports the bucket's N (props spread between nodes in the background). */
async function waitForReplicas(bucket: string, n: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const answers = await Promise.all(
      cluster().urls.map(
        async (url) => ((await (await fetch(`${url}/buckets/${bucket}/props`)).json()) as { n: number }).n,
      ),
    );
    if (answers.every((answer) => answer === n)) return;
    assert.ok(Date.now() < deadline, `props of ${bucket} did not reach every node: ${answers.join(',')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test("client routing sends each request straight to the key's first primary, which holds the key", bounded, () =>
  withClient('client', async (client) => {
    await client.setProps('solo', { n: 1, r: 1, w: 1 });
    await waitForReplicas('solo', 1);
    const urls = cluster().urls;
    const ring = ringFromJSON(await (await fetch(`${urls[0]}/admin/ring`)).json());
    const urlById = new Map(cluster().cluster.nodes.map((node) => [node.id, node.httpUrl] as const));
    const served = await Promise.all(urls.map(keyRequestsServed));
    const expected = new Map<string, number>(urls.map((url) => [url, 0]));
    const before = client.stats();
    const keys = Array.from({ length: 24 }, (_, index) => `item-${index}`);
    for (const key of keys) {
      await client.put('solo', key, `value of ${key}`);
      assert.equal((await client.get('solo', key)).found, true);
      const primary = urlById.get(primaryNodes(ring, partitionOf(ring, keyHash(md5, 'solo', key)), 1)[0]!)!;
      expected.set(primary, expected.get(primary)! + 2);
      for (const url of urls) {
        const local = await fetch(`${url}/admin/local/buckets/solo/keys/${key}`);
        await local.arrayBuffer();
        assert.equal(local.status, url === primary ? 200 : 404, `${key} on ${url} (primary ${primary})`);
      }
    }
    const stats = client.stats();
    assert.equal(
      stats.primaryRequests - before.primaryRequests,
      keys.length * 2,
      'every put and get went to a primary',
    );
    assert.equal(stats.nonPrimaryRequests - before.nonPrimaryRequests, 0);
    const servedAfter = await Promise.all(urls.map(keyRequestsServed));
    urls.forEach((url, index) =>
      assert.equal(servedAfter[index]! - served[index]!, expected.get(url), `key requests answered by ${url}`),
    );
    assert.ok(
      [...expected.values()].filter((count) => count > 0).length >= 2,
      'the keys spread over several primaries',
    );
  }),
);

function cartItems(siblings: readonly Sibling[]): Set<string> {
  const items = new Set<string>();
  for (const sibling of siblings) for (const item of JSON.parse(decode(sibling.value)) as string[]) items.add(item);
  return items;
}

test(
  'concurrent updaters through both routings, with a union merge, lose no item of a shopping cart',
  bounded,
  async () => {
    const server = new EverwriteClient({ nodes: [...cluster().urls], routing: 'server' });
    const partitionAware = new EverwriteClient({ nodes: [...cluster().urls], routing: 'client' });
    try {
      const itemsOf = (prefix: string) =>
        Array.from({ length: 20 }, (_, index) => `${prefix}-${String(index).padStart(2, '0')}`);
      const shopper = async (client: EverwriteClient, prefix: string) => {
        for (const item of itemsOf(prefix)) {
          await client.update(
            'carts',
            'shared-cart',
            (siblings) => JSON.stringify([...cartItems(siblings).add(item)].sort()),
            { retries: 10 },
          );
        }
      };
      await Promise.all([shopper(server, 'left'), shopper(partitionAware, 'right'), shopper(server, 'middle')]);
      const read = await server.get('carts', 'shared-cart', { r: 3 });
      assert.deepEqual(
        [...cartItems(read.siblings)].sort(),
        [...itemsOf('left'), ...itemsOf('middle'), ...itemsOf('right')].sort(),
      );
    } finally {
      await server.close();
      await partitionAware.close();
    }
  },
);
