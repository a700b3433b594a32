// Why: bench/node-floor.ts is the yardstick redis-compare holds every Everwrite row to, so its
// figures are only worth something if it does the work it claims: a SET answered OK is held by the
// coordinator and reaches both replicas, a GET answers what was set (nil when nothing was), and
// with --log a SET is acknowledged only once the coordinator's own log holds it, with every
// replica's log holding it too soon after. Checked with ioredis, as redis-benchmark would speak.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startNodeFloor, type RunningNodeFloor } from '../../bench/node-floor-processes.ts';
import { eventually } from '../support/cluster-fixture.ts';
import { freePorts } from '../support/free-port.ts';

const floors: RunningNodeFloor[] = [];
const directories: string[] = [];

after(async () => {
  await Promise.all(floors.map((floor) => floor.stop()));
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

/** A coordinator and two replicas on free ports (durable with `logDirectory`), and a client of it. */
async function startFloor(logDirectory?: string): Promise<{ client: Redis; logs: readonly string[] }> {
  const floor = await startNodeFloor({
    ports: (await freePorts(3)) as [number, number, number],
    ...(logDirectory === undefined ? {} : { logDirectory }),
  });
  floors.push(floor);
  const client = new Redis({
    host: '127.0.0.1',
    port: floor.respPort,
    lazyConnect: true,
    enableReadyCheck: false,
    maxRetriesPerRequest: 1,
  });
  await client.connect();
  return { client, logs: floor.logs };
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
    assert.deepEqual(replies, [
      ...Array.from({ length: 16 }, () => 'OK'),
      ...Array.from({ length: 16 }, (_, index) => `value ${index}`),
    ]);
  } finally {
    client.disconnect();
  }
});

test(
  'the durable node floor acknowledges a SET only once its own log holds it, and both replicas log it',
  { timeout: 60_000 },
  async () => {
    const logDirectory = mkdtempSync(join(tmpdir(), 'everwrite-node-floor-test-'));
    directories.push(logDirectory);
    const { client, logs } = await startFloor(logDirectory);
    try {
      const value = 'durable-floor-value-7d1e';
      assert.equal(await client.set('floor:durable', value), 'OK');
      assert.ok(
        readFileSync(logs[0] as string).includes(value),
        'the coordinator answered before its log held the write',
      );
      for (const log of logs.slice(1))
        await eventually(
          `${log} to hold the write`,
          async () => (readFileSync(log).includes(value) ? true : undefined),
          { timeoutMs: 10_000 },
        );
    } finally {
      client.disconnect();
    }
  },
);
