// Why: the per-command fast paths of the RESP front end must answer exactly what the general code
// answers. A command started with nothing else in flight computes its ordering keys only when a
// later command arrives while it still runs, so these tests send that later command in a separate
// write (not in the same chunk) and check it still waits for the same key, including a key spelled
// two ways under the prefixed mapping. GET and SET are looked up from their bytes in any case, and
// the precomputed replies (OK, nil, small integers, bulk bytes) are byte for byte the general
// encoder's. A key is refused as invalid UTF-8 exactly when Node's own check says so, though the
// check now runs only for keys whose decoded text holds U+FFFD.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { buildCommandTable, lookupCommand } from '../../../../src/api/resp/commands/index.ts';
import type { RespServerContext } from '../../../../src/api/resp/context.ts';
import { mapKey } from '../../../../src/api/resp/keys.ts';
import { resolveRespServerOptions } from '../../../../src/api/resp/options.ts';
import { encodeReply, encodedLength, okReply, writeReply } from '../../../../src/api/resp/reply.ts';
import type { ProtocolVersion, Reply } from '../../../../src/api/resp/reply.ts';
import type { FakeKvService } from '../../../support/fake-kv-service.ts';
import { propertyOptions } from '../../../support/property.ts';
import { RespSimpleValue, encodeCommand } from '../../../support/resp-client.ts';
import { withResp } from './harness.ts';

const bounded = { timeout: 20_000 };
const ok = new RespSimpleValue('OK');

async function waitUntil(predicate: () => boolean, what: string, deadlineMs = 5000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!predicate()) {
    if (Date.now() > deadline) assert.fail(`${what} did not happen within ${deadlineMs} ms`);
    await sleep(5);
  }
}

function keysAsked(fake: FakeKvService, operation: 'get' | 'put'): string[] {
  return fake.calls.filter((call) => call.operation === operation).map((call) => `${call.bucket}/${call.key}`);
}

test(
  'a command that started alone still holds its key against a command sent later on the connection',
  bounded,
  async () => {
    await withResp(async ({ client: connect, fake }) => {
      const client = await connect();
      const release = fake.holdNext('put');
      client.write(encodeCommand(['SET', 'slow', '1']));
      await waitUntil(() => keysAsked(fake, 'put').length === 1, 'the held SET');
      // Another key goes ahead of the held SET...
      client.write(encodeCommand(['GET', 'other']));
      await waitUntil(() => keysAsked(fake, 'get').length === 1, 'the GET of another key');
      // ...the same key waits, and so does what is sent behind it.
      client.write(Buffer.concat([encodeCommand(['GET', 'slow']), encodeCommand(['GET', 'third'])]));
      await sleep(50);
      assert.deepEqual(keysAsked(fake, 'get'), ['redis/other']);
      assert.equal(client.unreadBytes, 0);
      release();
      assert.deepEqual(await client.read(4), [ok, null, '1', null]);
      assert.deepEqual(keysAsked(fake, 'get'), ['redis/other', 'redis/slow', 'redis/third']);
    });
  },
);

test(
  'under the prefixed mapping, a key spelled with and without its bucket is one key for ordering',
  bounded,
  async () => {
    await withResp(
      async ({ client: connect, fake }) => {
        const client = await connect();
        const release = fake.holdNext('put');
        client.write(encodeCommand(['SET', 'k', 'v']));
        await waitUntil(() => keysAsked(fake, 'put').length === 1, 'the held SET');
        client.write(encodeCommand(['GET', 'cache:k']));
        await sleep(50);
        assert.deepEqual(keysAsked(fake, 'get'), []);
        release();
        assert.deepEqual(await client.read(2), [ok, 'v']);
      },
      { keyMapping: 'prefixed', bucket: 'cache' },
    );
  },
);

test('GET and SET are found in any letter case; near misses are not', () => {
  const server = { commands: buildCommandTable() } as unknown as RespServerContext;
  const find = (name: string): string | undefined => lookupCommand(server, Buffer.from(name, 'latin1'))?.name;
  for (const name of ['GET', 'get', 'gEt', 'GeT']) assert.equal(find(name), 'get');
  for (const name of ['SET', 'set', 'sEt', 'SeT']) assert.equal(find(name), 'set');
  for (const name of ['GEX', 'SEX', 'GE', 'GETS', 'G\u00c5T', 'g\u0005t', '\u0007et'])
    assert.equal(find(name), undefined, name);
  assert.equal(find('Mget'), 'mget');
  assert.equal(find('DEL'), 'del');
});

/** The general two-pass encoding, which the fast paths must agree with. */
function generalEncoding(reply: Reply, protocol: ProtocolVersion): string {
  const target = Buffer.alloc(encodedLength(reply, protocol));
  writeReply(target, 0, reply, protocol);
  return target.toString('latin1');
}

test("precomputed and direct replies are the general encoder's bytes", () => {
  const values: Reply[] = [okReply, null, 0, 9, 10, 255, 256, 99_999, 100_000, -1];
  for (const length of [0, 1, 9, 10, 99, 100, 9_999, 10_000, 99_999, 100_000, 123_456])
    values.push(new Uint8Array(length).fill(length % 251));
  for (const protocol of [2, 3] as const) {
    for (const value of values)
      assert.equal(encodeReply(value, protocol).toString('latin1'), generalEncoding(value, protocol));
  }
  assert.equal(encodeReply(okReply, 2).toString('latin1'), '+OK\r\n');
  assert.equal(encodeReply(7, 3).toString('latin1'), ':7\r\n');
  assert.equal(encodeReply(Buffer.from('hello'), 2).toString('latin1'), '$5\r\nhello\r\n');
});

test('a key is refused as not UTF-8 exactly when it is not, a valid U+FFFD included', () => {
  const options = resolveRespServerOptions({
    service: {} as never,
    host: '127.0.0.1',
    port: 0,
    keyMapping: 'prefixed',
  });
  const outcome = (raw: Buffer): string => {
    try {
      const address = mapKey(raw, options);
      return `${address.bucket}/${address.key}`;
    } catch (error) {
      return (error as Error).message;
    }
  };
  const replacement = Buffer.from('\ufffd', 'utf8');
  assert.equal(outcome(Buffer.concat([Buffer.from('k'), replacement])), 'redis/k\ufffd');
  assert.equal(outcome(Buffer.from([0x6b, 0xff])), 'key is not valid UTF-8');
  assert.equal(outcome(Buffer.from([0xc3, 0x3a, 0x6b])), 'bucket is not valid UTF-8');
  const bytes = fc.oneof(
    fc.uint8Array({ minLength: 1, maxLength: 12 }).map((array) => Buffer.from(array)),
    fc
      .tuple(fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }), fc.uint8Array({ maxLength: 2 }))
      .map(([text, tail]) => Buffer.concat([Buffer.from(text, 'utf8'), tail])),
  );
  fc.assert(
    fc.property(bytes, (raw) => {
      const text = outcome(raw);
      const [bucketBytes, keyBytes] =
        raw.indexOf(58) > 0 && raw.indexOf(58) < raw.length - 1
          ? [raw.subarray(0, raw.indexOf(58)), raw.subarray(raw.indexOf(58) + 1)]
          : [Buffer.from('redis'), raw];
      if (!isUtf8(bucketBytes)) return text === 'bucket is not valid UTF-8';
      if (!isUtf8(keyBytes)) return text === 'key is not valid UTF-8';
      return text === `${bucketBytes.toString('utf8')}/${keyBytes.toString('utf8')}`;
    }),
    propertyOptions(2000),
  );
});
