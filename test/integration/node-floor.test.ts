// Why: bench/node-floor.ts is the yardstick redis-compare holds every Everwrite row to, so its
// figures are only worth something if it does the work it claims: a SET answered OK is held by the
// coordinator and reaches both replicas, a GET answers what was set (nil when nothing was), and
// with --log a SET is acknowledged only once the coordinator's own log holds it, with every
// replica's log holding it too soon after. Checked with ioredis, as redis-benchmark would speak.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { eventually, killChild, watchChild } from '../support/cluster-fixture.ts';
import { freePort } from '../support/free-port.ts';

const script = fileURLToPath(new URL('../../bench/node-floor.ts', import.meta.url));
const children: ChildProcess[] = [];
const directories: string[] = [];

after(async () => {
  await Promise.all(children.map((child) => killChild(child)));
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

function startProcess(args: readonly string[]): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  watchChild(child, () => {}, () => {});
  children.push(child);
  return child;
}

/** A coordinator and two replicas; with `logDirectory`, each logs to a file of its own there. */
async function startFloor(logDirectory?: string): Promise<{ client: Redis; logs: string[] }> {
  const [respPort, ...peerPorts] = [await freePort(), await freePort(), await freePort()] as [number, number, number];
  const logs = ['coordinator', ...peerPorts.map((port) => `replica-${port}`)].map((name) => (logDirectory === undefined ? '' : join(logDirectory, `${name}.log`)));
  const logFlag = (index: number): string[] => (logDirectory === undefined ? [] : [`--log=${logs[index]}`]);
  peerPorts.forEach((port, index) => startProcess(['replica', String(port), ...logFlag(index + 1)]));
  await eventually('the replicas to listen', async () => ((await Promise.all(peerPorts.map(accepts))).every(Boolean) ? true : undefined), { timeoutMs: 20_000 });
  startProcess(['coordinator', String(respPort), ...peerPorts.map(String), ...logFlag(0)]);
  await eventually('the coordinator to listen', async () => ((await accepts(respPort)) ? true : undefined), { timeoutMs: 20_000 });
  const client = new Redis({ host: '127.0.0.1', port: respPort, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 1 });
  await client.connect();
  return { client, logs };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

test('the node floor answers SET with OK and GET with the value set, or nil', { timeout: 60_000 }, async () => {
  const { client } = await startFloor();
  try {
    assert.equal(await client.get('floor:absent'), null);
    assert.equal(await client.set('floor:key', 'a value of the floor'), 'OK');
    assert.equal(await client.get('floor:key'), 'a value of the floor');
    const pipeline = client.pipeline();
    for (let index = 0; index < 16; index++) pipeline.set(`floor:pipelined:${index}`, `value ${index}`);
    for (let index = 0; index < 16; index++) pipeline.get(`floor:pipelined:${index}`);
    const replies = ((await pipeline.exec()) ?? []).map(([error, reply]) => (error === null ? reply : error));
    assert.deepEqual(replies, [...Array.from({ length: 16 }, () => 'OK'), ...Array.from({ length: 16 }, (_, index) => `value ${index}`)]);
  } finally {
    client.disconnect();
  }
});

test('the durable node floor acknowledges a SET only once its own log holds it, and both replicas log it', { timeout: 60_000 }, async () => {
  const logDirectory = mkdtempSync(join(tmpdir(), 'everwrite-node-floor-test-'));
  directories.push(logDirectory);
  const { client, logs } = await startFloor(logDirectory);
  try {
    const value = 'durable-floor-value-7d1e';
    assert.equal(await client.set('floor:durable', value), 'OK');
    assert.ok(readFileSync(logs[0] as string).includes(value), 'the coordinator answered before its log held the write');
    for (const log of logs.slice(1)) await eventually(`${log} to hold the write`, async () => (readFileSync(log).includes(value) ? true : undefined), { timeoutMs: 10_000 });
  } finally {
    client.disconnect();
  }
});
