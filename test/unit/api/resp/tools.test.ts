// Why: the point of a RESP front end is that the tools people already have work unchanged. These
// tests run the real redis-cli and redis-benchmark (Debian's redis-tools) and the ioredis client,
// in RESP2 and RESP3, against a server in this process over the fake service. When redis-tools
// is not installed the tool tests are skipped with the reason printed (under CI=true they fail with
// it, test/support/environment.ts); ioredis is a devDependency.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { withResp } from './harness.ts';
import { missingTool, testNeeding } from '../../../support/environment.ts';

const run = promisify(execFile);
const bounded = { timeout: 60_000 };

const redisCliMissing = missingTool('redis-cli', 'redis-tools');
const redisBenchmarkMissing = missingTool('redis-benchmark', 'redis-tools');

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 10_000 });
  return stdout;
}

testNeeding(redisCliMissing, 'redis-cli: ping, set, get, del, errors, RESP3 and INFO', bounded, async () => {
  await withResp(async ({ port }) => {
    assert.equal(await cli(port, 'ping'), 'PONG\n');
    assert.equal(await cli(port, 'set', 'tool-key', 'hello world'), 'OK\n');
    assert.equal(await cli(port, 'get', 'tool-key'), 'hello world\n');
    assert.equal(await cli(port, '--no-raw', 'get', 'absent'), '(nil)\n');
    assert.equal(await cli(port, 'del', 'tool-key', 'absent'), '1\n');
    assert.match(await cli(port, 'nosuchcommand'), /^ERR unknown command 'nosuchcommand'/);
    assert.match(await cli(port, 'set', 'k', 'v', 'ex', '5'), /^ERR expiry is not supported by Everwrite/);
    assert.equal(await cli(port, '-3', '--no-raw', 'get', 'absent'), '(nil)\n');
    assert.match(await cli(port, '-3', 'ew.getall', 'absent'), /^context\s+fake\./);
    assert.match(await cli(port, 'info', 'server'), /redis_version:7\.0\.0/);
  });
});

testNeeding(
  redisBenchmarkMissing,
  'redis-benchmark: SET, GET and PING, plain and pipelined, without warnings',
  bounded,
  async () => {
    await withResp(async ({ port, fake }) => {
      for (const pipeline of ['1', '16']) {
        const { stdout, stderr } = await run(
          'redis-benchmark',
          [
            '-h',
            '127.0.0.1',
            '-p',
            String(port),
            '-t',
            'set,get,ping',
            '-n',
            '2000',
            '-c',
            '8',
            '-r',
            '500',
            '-d',
            '100',
            '-P',
            pipeline,
            '--csv',
          ],
          { timeout: 45_000 },
        );
        const output = `${stdout}${stderr}`;
        assert.doesNotMatch(output, /WARNING|ERR|error/i, output);
        for (const name of ['SET', 'GET', 'PING_INLINE', 'PING_MBULK'])
          assert.match(stdout, new RegExp(`^"${name}","[0-9.]+"`, 'm'), `${name} in ${stdout}`);
      }
      assert.ok(fake.calls.filter((call) => call.operation === 'put').length >= 4000);
    });
  },
);

async function withIoredis(
  port: number,
  protocol: 2 | 3,
  body: (client: Redis) => Promise<void>,
  password?: string,
): Promise<void> {
  const client = new Redis({
    host: '127.0.0.1',
    port,
    protocol,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectionName: 'ioredis-test',
    ...(password === undefined ? {} : { password }),
  });
  try {
    await client.connect();
    await body(client);
  } finally {
    client.disconnect();
  }
}

for (const protocol of [2, 3] as const) {
  test(
    `ioredis (RESP${protocol}): handshake, strings, multi-key commands, pipelines, EW commands`,
    bounded,
    async () => {
      await withResp(async ({ port }) => {
        await withIoredis(port, protocol, async (client) => {
          assert.equal(await client.ping(), 'PONG');
          assert.equal(await client.set('user:1', 'ada'), 'OK');
          assert.equal(await client.get('user:1'), 'ada');
          assert.equal(await client.get('user:none'), null);
          assert.deepEqual(await client.getBuffer('user:1'), Buffer.from('ada'));
          assert.equal(await client.mset({ a: '1', b: '2' }), 'OK');
          assert.deepEqual(await client.mget('a', 'b', 'c'), ['1', '2', null]);
          assert.equal(await client.exists('a', 'b', 'c'), 2);
          assert.equal(await client.del('a', 'c'), 1);
          assert.equal(await client.set('user:1', 'grace', 'NX'), null);
          assert.equal(await client.client('GETNAME'), 'ioredis-test');
          const results = await client.pipeline().set('p', '1').get('p').set('p', '2').get('p').exec();
          assert.deepEqual(
            results?.map(([error, value]) => [error, value]),
            [
              [null, 'OK'],
              [null, '1'],
              [null, 'OK'],
              [null, '2'],
            ],
          );
          await assert.rejects(client.set('k', 'v', 'EX', 5), /expiry is not supported by Everwrite/);
          await assert.rejects(client.call('NOSUCH'), /unknown command/);
          await client.call('EW.PUT', 'doc', '', 'left');
          await client.call('EW.PUT', 'doc', '', 'right');
          const all = (await client.call('EW.GETALL', 'doc')) as unknown[];
          assert.equal(all.length, protocol === 3 ? 4 : 2);
          const siblings = protocol === 3 ? all[3] : all[1];
          assert.deepEqual(siblings, ['left', 'right']);
          assert.match(await client.info('keyspace'), /everwrite_bucket:redis/);
        });
      });
    },
  );
}

test(
  'ioredis with a password, when the node has none configured, still connects (as with Redis)',
  bounded,
  async () => {
    await withResp(async ({ port }) => {
      for (const protocol of [2, 3] as const) {
        await withIoredis(port, protocol, async (client) => assert.equal(await client.ping(), 'PONG'), 'unused-secret');
      }
    });
  },
);
