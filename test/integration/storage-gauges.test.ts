// Why: an operator reads a node's stored keys and bytes on /metrics (everwrite_storage_keys,
// everwrite_storage_bytes, decision 0036) to size disks and catch runaway growth. These tests start
// a one-node cluster with startNode in this process, on ports the OS chose, for each engine: the
// gauges must move with writes, overwrites and deletes through the HTTP API, carry the engine's
// name, and read the same after the node stops and starts again on its data directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startNode, type RunningNode } from '../../src/index.ts';
import type { EngineKind } from '../../src/io/storage/index.ts';
import { freePort } from '../support/free-port.ts';
import { sampleOf, samplesOf } from '../support/metrics-page.ts';
import { withTemporaryDirectory } from '../support/storage-engines.ts';

const bounded = { timeout: 60_000 };
const secret = new Uint8Array(Buffer.from('storage gauges test cluster secret, not for production', 'utf8'));

async function startOne(engine: EngineKind, dataDirectory: string, peerPort: number): Promise<RunningNode> {
  const members = [{ id: 'g1', host: '127.0.0.1', port: peerPort }];
  return startNode({
    nodeId: 'g1',
    listen: { host: '127.0.0.1', port: peerPort },
    http: { host: '127.0.0.1', port: await freePort() },
    members,
    engine,
    secret,
    partitionCount: 16,
    dataDirectory,
  });
}

const urlOf = (node: RunningNode): string => `http://${node.httpAddress.host}:${node.httpAddress.port}`;

/** A write or delete that supersedes what the key holds (with its context, as a client that read it first). */
async function send(node: RunningNode, method: 'PUT' | 'DELETE', key: string, value = ''): Promise<void> {
  const url = `${urlOf(node)}/buckets/gauges/keys/${key}`;
  const context = (await fetch(url, { signal: AbortSignal.timeout(5000) })).headers.get('x-everwrite-context');
  const headers: Record<string, string> = {
    'content-type': 'text/plain',
    ...(context === null ? {} : { 'x-everwrite-context': context }),
  };
  const reply = await fetch(url, {
    method,
    headers,
    signal: AbortSignal.timeout(5000),
    ...(method === 'PUT' ? { body: value } : {}),
  });
  assert.equal(reply.status, 204, `${method} ${key}`);
}

interface Gauges {
  readonly keys: number;
  readonly bytes: number;
}

async function gauges(node: RunningNode, engine: EngineKind): Promise<Gauges> {
  const page = await (await fetch(`${urlOf(node)}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  for (const family of ['everwrite_storage_keys', 'everwrite_storage_bytes']) {
    assert.match(page, new RegExp(`^# TYPE ${family} gauge$`, 'm'), `${family} on /metrics`);
    assert.deepEqual(
      samplesOf(page)
        .filter((sample) => sample.name === family)
        .map((sample) => [...sample.labels]),
      [[['engine', engine]]],
      `one ${family} series, labelled with the engine`,
    );
  }
  return {
    keys: sampleOf(page, 'everwrite_storage_keys', { engine }),
    bytes: sampleOf(page, 'everwrite_storage_bytes', { engine }),
  };
}

/** Writes, an overwrite with a longer value and a delete, checking the gauges after each. */
async function writeAndWatch(node: RunningNode, engine: EngineKind): Promise<Gauges> {
  assert.deepEqual(await gauges(node, engine), { keys: 0, bytes: 0 }, 'a new node stores nothing');
  for (let index = 0; index < 10; index++) await send(node, 'PUT', `k${index}`, `value ${index}`);
  const written = await gauges(node, engine);
  assert.equal(written.keys, 10);
  assert.ok(written.bytes > 10 * 'value 0'.length, `${written.bytes} bytes hold ten keys and their values`);
  await send(node, 'PUT', 'k0', 'x'.repeat(1000));
  const overwritten = await gauges(node, engine);
  assert.equal(overwritten.keys, 10, 'an overwrite adds no key');
  assert.ok(
    overwritten.bytes >= written.bytes + 1000 - 'value 0'.length,
    'an overwrite with 1000 bytes more grows the bytes by them',
  );
  await send(node, 'DELETE', 'k0');
  const deleted = await gauges(node, engine);
  assert.equal(deleted.keys, 10, "a delete's tombstone is still a stored key until it is reaped");
  assert.ok(deleted.bytes < overwritten.bytes - 900, 'the tombstone drops the value');
  return deleted;
}

for (const engine of ['memory', 'lmdb', 'level'] as const) {
  test(
    `${engine}: everwrite_storage_keys and everwrite_storage_bytes move with writes and read the same after a restart`,
    bounded,
    () =>
      withTemporaryDirectory(`storage-gauges-${engine}`, async (directory) => {
        const dataDirectory = join(directory, 'g1');
        const peerPort = await freePort();
        let node = await startOne(engine, dataDirectory, peerPort);
        let before: Gauges;
        try {
          before = await writeAndWatch(node, engine);
        } finally {
          await node.stop();
        }
        node = await startOne(engine, dataDirectory, peerPort);
        try {
          const expected = engine === 'memory' ? { keys: 0, bytes: 0 } : before;
          assert.deepEqual(
            await gauges(node, engine),
            expected,
            engine === 'memory' ? 'the memory engine keeps nothing across a restart' : 'counted again at start',
          );
          await send(node, 'PUT', 'after', 'restart');
          assert.equal((await gauges(node, engine)).keys, expected.keys + 1, 'and moves on from there');
        } finally {
          await node.stop();
        }
      }),
  );
}
