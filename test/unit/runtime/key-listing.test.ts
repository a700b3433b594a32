// Why: a key listing (decision 0030) must list every live key of a bucket exactly once, leave out
// deletes, page with a cursor that resumes without repeats, ask another replica when one does not
// answer, say which partitions nobody could answer for, and never let a peer's request make a
// replica answer more than its page bounds. Three runtimes over the in-memory network show each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asNodeId, asPartitionIndex, type NodeId } from '../../../src/core/base/ids.ts';
import { keyListLimits } from '../../../src/core/key-listing/index.ts';
import { encodeStorageKey } from '../../../src/core/protocol/storage-key.ts';
import type { Message } from '../../../src/core/protocol/messages.ts';
import { primaryNodes } from '../../../src/core/ring/index.ts';
import type { MemoryEngine } from '../../../src/io/storage/memory.ts';
import { MemoryNetwork } from '../../../src/io/transport/memory.ts';
import { decodeMessages, encodeMessages } from '../../../src/core/protocol/codec/message-codec.ts';
import { startMemoryRuntimes } from '../../support/memory-runtimes.ts';
import type { NodeRuntime } from '../../../src/runtime/node-runtime.ts';
import type { KeyListing, KeyListPage } from '../../../src/runtime/service.ts';

interface Cluster {
  readonly runtimes: NodeRuntime[];
  readonly engines: MemoryEngine[];
  readonly network: MemoryNetwork;
  readonly ids: NodeId[];
  stop(): Promise<void>;
}

/** Three nodes, 64 partitions, every bucket at `n` replicas written at W = n (so every primary holds each key). */
async function startCluster(n: number): Promise<Cluster> {
  const network = new MemoryNetwork();
  const { ids, runtimes, engines } = await startMemoryRuntimes({
    ids: ['n1', 'n2', 'n3'],
    partitionCount: 64,
    network,
    settings: { defaultProps: { n, r: 1, w: n, resolver: 'siblings', durability: 'buffered' } },
    runtime: { valueBytesMax: 1024, keyListPageTimeoutMs: 300 },
    secret: 'key listing test secret',
  });
  // The system timers are unref'd (a node's process stays up through its sockets); this keeps the test's up.
  const keepAlive = setInterval(() => undefined, 1000);
  const stop = async (): Promise<void> => {
    clearInterval(keepAlive);
    await Promise.all(runtimes.map((runtime) => runtime.stop()));
  };
  return { runtimes, engines, network, ids, stop };
}

async function writeKeys(runtime: NodeRuntime, bucket: string, count: number): Promise<string[]> {
  const keys = Array.from({ length: count }, (_, index) => `key-${index}-é`);
  for (const key of keys)
    await runtime.put({ bucket, key, value: new TextEncoder().encode(key), contentType: 'text/plain' });
  return keys;
}

async function drain(listing: KeyListing): Promise<{ keys: string[]; pages: KeyListPage[] }> {
  const keys: string[] = [];
  const pages: KeyListPage[] = [];
  for (let count = 0; count < 10_000; count++) {
    const page = await listing.nextPage();
    if (page === undefined) return { keys, pages };
    pages.push(page);
    keys.push(...page.keys);
  }
  return assert.fail('the listing did not end within 10,000 pages');
}

function assertExactlyOnce(listed: readonly string[], expected: readonly string[]): void {
  assert.equal(new Set(listed).size, listed.length, 'a key was listed twice');
  assert.deepEqual([...listed].sort(), [...expected].sort());
}

test(
  'every live key is listed once, deletes and other buckets are not, and a cursor resumes without repeats',
  { timeout: 30_000 },
  async () => {
    const cluster = await startCluster(3);
    try {
      const [n1, n2] = cluster.runtimes as [NodeRuntime, NodeRuntime];
      // A key may start with a byte order mark; the listing must not drop it (decoders do by default).
      const keys = [...(await writeKeys(n1, 'carts', 150)), '\uFEFFmarked'];
      await n1.put({ bucket: 'carts', key: '\uFEFFmarked', value: new Uint8Array([1]), contentType: 'text/plain' });
      await writeKeys(n1, 'cart', 5);
      const deleted = keys.slice(0, 15);
      for (const key of deleted)
        await n1.delete({ bucket: 'carts', key, context: (await n1.get('carts', key)).context });
      const live = keys.slice(15);
      const whole = await drain(n2.listKeys('carts'));
      assertExactlyOnce(whole.keys, live);
      assert.ok(whole.pages.every((page) => page.missingPartitions.length === 0));
      assert.equal(whole.pages.at(-1)?.cursor, undefined);

      const paged = await drain(n2.listKeys('carts', { pageKeysMax: 7 }));
      assert.ok(paged.pages.every((page) => page.keys.length <= 7));
      assertExactlyOnce(paged.keys, live);

      // Stop after three pages and resume from the third page's cursor in a new listing, on another node.
      const first = n1.listKeys('carts', { pageKeysMax: 10 });
      const taken: string[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 3; page++) {
        const answer = (await first.nextPage()) as KeyListPage;
        taken.push(...answer.keys);
        cursor = answer.cursor;
      }
      const rest = await drain(cluster.runtimes[2]!.listKeys('carts', { cursor: cursor as string, pageKeysMax: 10 }));
      assertExactlyOnce([...taken, ...rest.keys], live);
      assert.deepEqual((await drain(n1.listKeys('empty-bucket'))).keys, []);
    } finally {
      await cluster.stop();
    }
  },
);

test(
  'a copy of a key in a partition the ring does not place it in (left by a handoff) is not listed again',
  { timeout: 30_000 },
  async () => {
    const cluster = await startCluster(3);
    try {
      const n1 = cluster.runtimes[0] as NodeRuntime;
      const keys = await writeKeys(n1, 'carts', 20);
      const storageKey = encodeStorageKey('carts', keys[0] as string).slice();
      const partition = n1.placement('carts', keys[0] as string).partition;
      for (const engine of cluster.engines) {
        const record = (await engine.get(partition, storageKey)) as Uint8Array;
        await engine.batch((partition + 1) % 64, [{ type: 'put', key: storageKey, value: record }], { durable: false });
      }
      assertExactlyOnce((await drain(n1.listKeys('carts'))).keys, keys);
    } finally {
      await cluster.stop();
    }
  },
);

test('a malformed cursor is EVERWRITE_BAD_REQUEST', { timeout: 30_000 }, async () => {
  const cluster = await startCluster(3);
  try {
    const n1 = cluster.runtimes[0] as NodeRuntime;
    for (const cursor of ['', 'x', '64.', '-1.', '1.@@', '01.', `1.${'A'.repeat(200_000)}`, '1./w']) {
      assert.throws(
        () => n1.listKeys('carts', { cursor }),
        (error: unknown) => (error as { code?: string }).code === 'EVERWRITE_BAD_REQUEST',
        cursor,
      );
    }
  } finally {
    await cluster.stop();
  }
});

test(
  'a replica that does not answer is replaced by another; partitions no replica answers are reported missing',
  { timeout: 30_000 },
  async () => {
    const cluster = await startCluster(2);
    try {
      const [n1] = cluster.runtimes as [NodeRuntime];
      const [id1, id2, id3] = cluster.ids as [NodeId, NodeId, NodeId];
      const keys = await writeKeys(n1, 'carts', 120);
      // n1 still believes n2 alive (the failure detector has not had time), but n2 never hears n1.
      cluster.network.cutLink(id1, id2);
      assertExactlyOnce((await drain(n1.listKeys('carts'))).keys, keys);
      cluster.network.cutLink(id1, id3);
      const partial = await drain(n1.listKeys('carts'));
      const missing = partial.pages.flatMap((page) => page.missingPartitions);
      const ring = n1.core.ring;
      const expectedMissing = Array.from({ length: ring.partitionCount }, (_, partition) => partition).filter(
        (partition) => !primaryNodes(ring, asPartitionIndex(partition), 2).includes(id1),
      );
      assert.deepEqual(missing, expectedMissing);
      assert.ok(missing.length > 0);
      // What n1 itself holds is still listed, once.
      assert.equal(new Set(partial.keys).size, partial.keys.length);
      assert.ok(partial.keys.length > 0 && partial.keys.length < keys.length);
    } finally {
      await cluster.stop();
    }
  },
);

test(
  'a hostile peer asking for a billion keys gets at most a page; a partition the node does not hold is refused',
  { timeout: 30_000 },
  async () => {
    const cluster = await startCluster(3);
    try {
      const [n1] = cluster.runtimes as [NodeRuntime];
      await writeKeys(n1, 'carts', keyListLimits.pageKeysMax + 300);
      const intruder = cluster.network.transport(asNodeId('n9'));
      const replies: Message[] = [];
      intruder.receive((_from, frame) => replies.push(...decodeMessages(frame)));
      await intruder.start();
      const everyPartition = Array.from({ length: 64 }, (_, index) => index);
      intruder.send(
        asNodeId('n1'),
        encodeMessages([
          {
            type: 'keyListRequest',
            id: 7,
            bucket: 'carts',
            partitions: everyPartition,
            after: new Uint8Array(0),
            keysMax: 1_000_000_000,
          },
        ]),
      );
      await waitFor(() => replies.length === 1);
      const reply = replies[0];
      assert.ok(reply?.type === 'keyListReply' && reply.ok && reply.id === 7);
      assert.equal(reply.keys.length, keyListLimits.pageKeysMax);
      assert.ok(reply.next !== undefined);
      intruder.send(
        asNodeId('n1'),
        encodeMessages([
          { type: 'keyListRequest', id: 8, bucket: 'carts', partitions: [64], after: new Uint8Array(0), keysMax: 5 },
        ]),
      );
      await waitFor(() => replies.length === 2);
      assert.deepEqual(replies[1], { type: 'keyListReply', id: 8, ok: false, keys: [] });
      // A reply nobody asked for and a damaged frame are dropped; the node goes on serving.
      intruder.send(
        asNodeId('n1'),
        encodeMessages([
          {
            type: 'keyListReply',
            id: 1,
            ok: true,
            keys: [new Uint8Array([97])],
            next: { partition: 3, after: new Uint8Array([1]) },
          },
        ]),
      );
      intruder.send(asNodeId('n1'), new Uint8Array([0xc1, 1, 10, 1, 0xff]));
      intruder.send(
        asNodeId('n1'),
        encodeMessages([
          { type: 'keyListRequest', id: 9, bucket: 'carts', partitions: [0], after: new Uint8Array(0), keysMax: 3 },
        ]),
      );
      await waitFor(() => replies.length === 3);
      assert.ok(
        replies[2]?.type === 'keyListReply' && replies[2].id === 9 && replies[2].ok && replies[2].keys.length <= 3,
      );
      await intruder.stop();
    } finally {
      await cluster.stop();
    }
  },
);

async function waitFor(condition: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < 500 && !condition(); attempt++)
    await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(condition(), 'timed out waiting');
}
