// Why: the Redis-protocol front end against a real 3-node cluster (real clients against a
// real local cluster): a key SET through one node's RESP port with ioredis is read through another
// node's RESP port and over HTTP; redis-cli and a short redis-benchmark run work against it too.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { ClusterFixture, request } from '../support/cluster-fixture.ts';
import { missingTool, testNeeding } from '../support/environment.ts';

let fixture: ClusterFixture;

before(async () => {
  fixture = await ClusterFixture.start({ name: 'resp' });
});

after(async () => {
  await fixture?.stop();
});

const redisToolsMissing = missingTool('redis-cli', 'redis-tools') ?? missingTool('redis-benchmark', 'redis-tools');

test('ioredis SET through one node is read through another node and over HTTP', { timeout: 60_000 }, async () => {
  const first = new Redis({
    host: '127.0.0.1',
    port: fixture.respPort(1),
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
  });
  const second = new Redis({
    host: '127.0.0.1',
    port: fixture.respPort(2),
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
  });
  try {
    await first.connect();
    await second.connect();
    assert.equal(await first.set('greeting', 'hello'), 'OK');
    assert.equal(await second.get('greeting'), 'hello');
    assert.equal(await second.set('greeting', 'hello again'), 'OK');
    assert.equal(await first.get('greeting'), 'hello again', 'a plain SET supersedes what its read saw: no sibling');
    const http = await request(`${fixture.cluster.node(3).httpUrl}/buckets/redis/keys/greeting`);
    assert.equal(http.status, 200);
    assert.equal(http.text, 'hello again');
    assert.equal(await first.del('greeting'), 1);
    assert.equal(await second.get('greeting'), null);
  } finally {
    first.disconnect();
    second.disconnect();
  }
});

testNeeding(redisToolsMissing, 'redis-cli and redis-benchmark run against the cluster', { timeout: 120_000 }, () => {
  const cli = (...args: string[]): string =>
    spawnSync('redis-cli', ['-p', String(fixture.respPort(1)), ...args], {
      encoding: 'utf8',
      timeout: 20_000,
    }).stdout.trim();
  assert.equal(cli('ping'), 'PONG');
  assert.equal(cli('set', 'tool-key', 'from-redis-cli'), 'OK');
  assert.equal(
    spawnSync('redis-cli', ['-p', String(fixture.respPort(3)), 'get', 'tool-key'], {
      encoding: 'utf8',
      timeout: 20_000,
    }).stdout.trim(),
    'from-redis-cli',
  );
  const bench = spawnSync(
    'redis-benchmark',
    ['-p', String(fixture.respPort(2)), '-t', 'set,get', '-n', '2000', '-c', '10', '-d', '100', '-r', '500', '-q'],
    { encoding: 'utf8', timeout: 100_000 },
  );
  assert.equal(bench.status, 0, bench.stderr);
  assert.match(bench.stdout, /SET: [\d.]+ requests per second/);
  assert.match(bench.stdout, /GET: [\d.]+ requests per second/);
  assert.doesNotMatch(bench.stdout + bench.stderr, /ERR|error/i);
});
