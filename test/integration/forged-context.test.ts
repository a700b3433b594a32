// Why: a client's context is a claim the core believes. Before contexts were sealed (decision
// 0011), any client could take an actor name from a read and send a context whose counter for it
// sat near 2^53: the write went through, and every later write that node coordinated for the key
// failed with 500 EVERWRITE_STORAGE_FAILED, across restarts. Or it could send made-up actors by the
// thousand until the key's context outgrew what clients can send back. Against real processes:
// each forgery is refused with 400 EVERWRITE_BAD_CONTEXT over HTTP and RESP, and the key stays
// readable and writable every way, also after a clean restart of the node that was attacked.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { ClusterFixture } from '../support/cluster-fixture.ts';
import { EverwriteClient } from '../../src/index.ts';
import { contextSealBytes, decodeContext, encodeContext, type VersionVector } from '../../src/core/versioning/index.ts';

let fixture: ClusterFixture;
/** RESP keys live in this bucket (api/resp/keys.ts). */
const respBucket = 'redis';

before(async () => {
  fixture = await ClusterFixture.start({ name: 'forged-context' });
});

after(async () => {
  await fixture?.stop();
});

/**
 * The actors a handed-out context names, as an attacker reads them: the token is base64url of the
 * documented layout, with the seal's tag after it (or without one, on a node that does not seal).
 */
function actorsOf(context: string): string[] {
  let vector: VersionVector;
  try {
    vector = decodeContext(context.slice(0, context.length - contextSealBytes));
  } catch {
    vector = decodeContext(context);
  }
  return [...vector.keys()];
}

function connect(index: number): Redis {
  return new Redis({
    host: '127.0.0.1',
    port: fixture.respPort(index),
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
  });
}

async function respError(attempt: Promise<unknown>): Promise<string> {
  try {
    const answer = await attempt;
    return `answered ${JSON.stringify(answer)}`;
  } catch (error) {
    return String((error as Error).message);
  }
}

/** Every way of writing the key through node `index` works, and reads see each write. */
async function assertReadableAndWritable(index: number, key: string, round: string): Promise<void> {
  const read = await fixture.get(index, respBucket, key);
  assert.ok(read.status === 200 || read.status === 404 || read.status === 300, `read: ${read.status} ${read.text}`);
  const readThenWrite = await fixture.put(index, respBucket, key, `${round} read-then-write`, {
    context: read.context ?? '',
  });
  assert.equal(readThenWrite.status, 204, `read-then-write: ${readThenWrite.text}`);
  const after = await fixture.get(index, respBucket, key);
  assert.equal(after.status, 200, `read after write: ${after.text}`);
  assert.equal(after.text, `${round} read-then-write`);
  assert.equal((await fixture.put(index, respBucket, key, `${round} blind`)).status, 204, 'blind PUT');
  const both = await fixture.get(index, respBucket, key);
  assert.ok(both.status === 200 || both.status === 300, `read of the blind write: ${both.status} ${both.text}`);
  const removed = await fixture.delete(index, respBucket, key, { context: both.context ?? '' });
  assert.equal(removed.status, 204, `DELETE: ${removed.text}`);
  assert.equal((await fixture.get(index, respBucket, key)).status, 404, 'deleted');
  const redis = connect(index);
  try {
    await redis.connect();
    assert.equal(await redis.set(key, `${round} resp`), 'OK');
    assert.equal(await redis.get(key), `${round} resp`);
    assert.equal(
      await redis.set(key, `${round} resp again`, 'GET'),
      `${round} resp`,
      'SET GET (read, then write with its context)',
    );
    assert.equal(await redis.del(key), 1);
    assert.equal(await redis.get(key), null);
    assert.equal(await redis.set(key, `${round} kept`), 'OK');
  } finally {
    redis.disconnect();
  }
}

test(
  'a forged counter near 2^53 and 1,024 made-up actors are refused with 400 over HTTP and RESP, and the key stays usable, also after a clean restart',
  { timeout: 120_000 },
  async () => {
    const key = 'victim';
    assert.equal((await fixture.put(1, respBucket, key, 'original')).status, 204);
    const read = await fixture.get(1, respBucket, key);
    assert.equal(read.status, 200);
    const actors = actorsOf(read.context ?? '');
    assert.ok(actors.length >= 1, 'a read names the actor that wrote');

    const forgeries: [string, string][] = [
      ...[2 ** 53 - 2, 2 ** 53 - 1].map((counter): [string, string] => [
        `counter ${counter}`,
        encodeContext(new Map(actors.map((actor) => [actor, counter]))),
      ]),
      // Short names keep it under Node's 16 KiB header limit, so HTTP reaches the node at all.
      ['1,024 made-up actors', encodeContext(new Map(Array.from({ length: 1024 }, (_, index) => [`x${index}`, 1])))],
      ['4 made-up actors', encodeContext(new Map(Array.from({ length: 4 }, (_, index) => [`x${index}.1`, 1])))],
    ];
    const redis = connect(1);
    try {
      await redis.connect();
      for (const [what, forged] of forgeries) {
        const put = await fixture.put(1, respBucket, key, `forged: ${what}`, { context: forged });
        assert.equal(put.status, 400, `HTTP PUT with ${what}: ${put.status} ${put.text}`);
        assert.equal(put.json<{ code: string }>().code, 'EVERWRITE_BAD_CONTEXT');
        const removal = await fixture.delete(1, respBucket, key, { context: forged });
        assert.equal(removal.status, 400, `HTTP DELETE with ${what}: ${removal.status} ${removal.text}`);
        assert.match(
          await respError(redis.call('EW.PUT', key, forged, `forged: ${what}`)),
          /^ERR EVERWRITE_BAD_CONTEXT/,
          `EW.PUT with ${what}`,
        );
        assert.match(
          await respError(redis.call('EW.DEL', key, forged)),
          /^ERR EVERWRITE_BAD_CONTEXT/,
          `EW.DEL with ${what}`,
        );
      }
      // The 1,024-actor context twice over RESP made the key's context ~115 KB before the seal.
      const many = encodeContext(
        new Map(Array.from({ length: 1024 }, (_, index) => [`made-up-actor-${index}.${1_000_000_000 + index}`, 1])),
      );
      for (let round = 0; round < 2; round++)
        assert.match(await respError(redis.call('EW.PUT', key, many, 'inflate')), /^ERR EVERWRITE_BAD_CONTEXT/);
      const [context] = (await redis.call('EW.GETALL', key)) as [string, unknown];
      assert.ok(context.length < 200, `the key's context stayed small: ${context.length} characters`);
    } finally {
      redis.disconnect();
    }
    // The TypeScript client passes the token on as it is and surfaces the node's code.
    const client = new EverwriteClient({ nodes: [fixture.url(1), fixture.url(2), fixture.url(3)], routing: 'server' });
    try {
      for (const [what, forged] of forgeries) {
        await assert.rejects(
          client.put(respBucket, key, `forged: ${what}`, { context: forged }),
          (error: unknown) => (error as { code?: string }).code === 'EVERWRITE_BAD_CONTEXT',
          `client put with ${what}`,
        );
      }
      const viaClient = await client.get(respBucket, key);
      assert.ok(viaClient.found);
      const tampered = `${viaClient.context.slice(0, -1)}${viaClient.context.endsWith('A') ? 'B' : 'A'}`;
      await assert.rejects(
        client.put(respBucket, key, 'tampered', { context: tampered }),
        (error: unknown) => (error as { code?: string }).code === 'EVERWRITE_BAD_CONTEXT',
        'a handed-out context with its last character changed',
      );
    } finally {
      await client.close();
    }
    const intact = await fixture.get(2, respBucket, key);
    assert.equal(intact.status, 200);
    assert.equal(intact.text, 'original', 'no forged write landed');

    for (const index of [1, 2, 3]) await assertReadableAndWritable(index, key, `node ${index}`);
    await fixture.stopCleanly(1);
    await fixture.restart(1);
    await assertReadableAndWritable(1, key, 'after restart');
    fixture.assertNoCrashes();
  },
);
