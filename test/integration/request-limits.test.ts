// Why: what one client request may carry is set once, in `--limits-json`'s "request" section, and
// every layer obeys that one object (decision 0035): a real node started with a larger value limit
// takes a value the default would refuse over HTTP and RESP, one started with a smaller key limit
// refuses a key the default would take, on both front ends, with the documented code; a limit past
// its ceiling stops the start with a message naming it.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { LoneNode, request } from '../support/cluster-fixture.ts';
import { freePorts } from '../support/free-port.ts';

const directory = mkdtempSync(join(tmpdir(), 'everwrite-request-limits-'));
const secretFile = join(directory, 'secret');
writeFileSync(secretFile, randomBytes(32).toString('hex'), { mode: 0o600 });
const nodes: LoneNode[] = [];

after(async () => {
  await Promise.all(nodes.map((node) => node.kill()));
  rmSync(directory, { recursive: true, force: true });
});

async function startWith(
  slot: number,
  requestLimits: Record<string, number>,
): Promise<{ node: LoneNode; respPort: number }> {
  const [peerPort, httpPort, respPort] = (await freePorts(3)) as [number, number, number];
  const peer = `127.0.0.1:${peerPort}`;
  const node = new LoneNode({
    id: 'n1',
    peerPort,
    httpPort,
    dataDirectory: join(directory, `n${slot}`),
    seeds: `n1@${peer}`,
    secretFile,
    extraArguments: ['--resp', `127.0.0.1:${respPort}`, '--limits-json', JSON.stringify({ request: requestLimits })],
  });
  nodes.push(node);
  return { node, respPort };
}

test(
  'a larger valueBytesMax lets a 1.5 MB value in over HTTP and RESP; the default node refuses it',
  { timeout: 60_000 },
  async () => {
    const { node, respPort } = await startWith(1, { valueBytesMax: 2_000_000 });
    const plain = await startWith(2, {});
    await Promise.all([node.waitReady(), plain.node.waitReady()]);
    const value = 'v'.repeat(1_500_000);
    const put = await request(`${node.url}/buckets/big/keys/k?w=1`, { method: 'PUT', body: value });
    assert.equal(put.status, 204, put.text);
    const read = await request(`${node.url}/buckets/big/keys/k`);
    assert.equal(read.text.length, value.length);
    const refused = await request(`${plain.node.url}/buckets/big/keys/k?w=1`, { method: 'PUT', body: value });
    assert.equal(refused.status, 413, 'the default limit (1 MiB) refuses it');
    assert.match(refused.text, /EVERWRITE_VALUE_TOO_LARGE/);
    const redis = new Redis({ port: respPort, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await redis.connect();
      assert.equal(await redis.set('big-resp', value), 'OK');
      assert.equal((await redis.get('big-resp'))?.length, value.length);
    } finally {
      redis.disconnect();
    }
  },
);

test(
  'a smaller keyBytesMax refuses a longer key over HTTP and RESP with EVERWRITE_KEY_TOO_LARGE',
  { timeout: 60_000 },
  async () => {
    const { node, respPort } = await startWith(3, { keyBytesMax: 16 });
    await node.waitReady();
    assert.equal(
      (await request(`${node.url}/buckets/b/keys/${'k'.repeat(16)}?w=1`, { method: 'PUT', body: 'v' })).status,
      204,
    );
    const refused = await request(`${node.url}/buckets/b/keys/${'k'.repeat(17)}?w=1`, { method: 'PUT', body: 'v' });
    assert.equal(refused.status, 413);
    assert.match(refused.text, /EVERWRITE_KEY_TOO_LARGE/);
    const redis = new Redis({ port: respPort, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await redis.connect();
      await assert.rejects(redis.set('k'.repeat(17), 'v'), /EVERWRITE_KEY_TOO_LARGE/);
    } finally {
      redis.disconnect();
    }
  },
);

test('a request limit past its ceiling stops the start with a message naming it', { timeout: 60_000 }, async () => {
  const { node } = await startWith(4, { keyBytesMax: 4096 });
  assert.match(await node.waitExit(30_000), /exit code [1-9]/);
  assert.match(node.logs(), /keyBytesMax must be an integer from 1 to 1024/);
});
