// Why: the RESP front end is part of the external contract (docs/ARCHITECTURE.md sections 1 and 4).
// These tests pin each command's answers and its mapping onto the KvService (what a SET's context
// supersedes, what GET picks among siblings, how service errors read), over real loopback sockets
// against the fake service, and check that no bad input, oversized frame or service failure stops
// the node from serving, while every per-connection bound holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { throughout } from '../../../support/polling.ts';
import { pino } from 'pino';
import { startRespServer } from '../../../../src/api/resp/index.ts';
import { EverwriteError } from '../../../../src/core/base/errors.ts';
import type { GetResult, RequestOptions } from '../../../../src/runtime/service.ts';
import { FakeKvService } from '../../../support/fake-kv-service.ts';
import { RespErrorValue, RespSimpleValue, RespTestClient, encodeCommand } from '../../../support/resp-client.ts';
import type { RespValue } from '../../../support/resp-client.ts';
import { withResp } from './harness.ts';

const bounded = { timeout: 20_000 };
const ok = new RespSimpleValue('OK');

function errorText(value: RespValue | undefined): string {
  assert.ok(value instanceof RespErrorValue, `expected an error reply, got ${JSON.stringify(value)}`);
  return value.message;
}

/** Polls `predicate` until it holds; fails after `deadlineMs` (the machine may be loaded: no fixed sleeps for progress). */
async function waitUntil(predicate: () => boolean, what: string, deadlineMs = 5000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!predicate()) {
    if (Date.now() > deadline) assert.fail(`${what} did not happen within ${deadlineMs} ms`);
    await sleep(5);
  }
}

async function assertServing(client: RespTestClient): Promise<void> {
  assert.deepEqual(await client.call('PING'), new RespSimpleValue('PONG'));
}

test('PING, ECHO, SET and GET round-trip; an absent key is nil', bounded, async () => {
  await withResp(async ({ client: connect, fake }) => {
    const client = await connect();
    assert.deepEqual(await client.call('PING'), new RespSimpleValue('PONG'));
    assert.equal(await client.call('ping', 'hi'), 'hi');
    assert.equal(await client.call('ECHO', 'a\r\nb'), 'a\r\nb');
    assert.deepEqual(await client.call('SET', 'greeting', 'hello'), ok);
    assert.equal(await client.call('GET', 'greeting'), 'hello');
    assert.equal(await client.call('GET', 'missing'), null);
    const put = fake.calls.find((call) => call.operation === 'put');
    assert.equal(put?.bucket, 'redis');
    assert.equal(put?.key, 'greeting');
    assert.equal(put?.contentType, 'application/octet-stream');
  });
});

test('values are binary-safe both ways', bounded, async () => {
  await withResp(async ({ client: connect }) => {
    const client = await connect();
    const value = Buffer.from([0, 255, 13, 10, 36]);
    assert.deepEqual(await client.call('SET', 'bin', value), ok);
    client.write(encodeCommand(['GET', 'bin']));
    await client.read(1);
    assert.ok(client.received.includes(Buffer.concat([Buffer.from('$5\r\n'), value, Buffer.from('\r\n')])));
  });
});

test(
  "a plain SET is one write with the coordinating replica's context, so it supersedes every sibling that replica holds",
  bounded,
  async () => {
    await withResp(async ({ client: connect, fake }) => {
      const client = await connect();
      // Two blind writes make two concurrent siblings.
      await client.call('EW.PUT', 'cart', '', 'apples');
      await client.call('EW.PUT', 'cart', '', 'pears');
      const before = (await client.call('EW.GETALL', 'cart')) as RespValue[];
      assert.deepEqual(before[1], ['apples', 'pears']);
      const callsBefore = fake.calls.length;
      assert.deepEqual(await client.call('SET', 'cart', 'plums'), ok);
      const setCalls = fake.calls.slice(callsBefore);
      assert.deepEqual(
        setCalls.map((call) => call.operation),
        ['put'],
        'no read before a plain SET',
      );
      assert.equal(setCalls[0]?.supersedeLocal, true);
      assert.equal(setCalls[0]?.context, undefined);
      assert.deepEqual(await client.call('EW.GETALL', 'cart'), ['fake.3', ['plums']]);
      assert.deepEqual(await client.call('MSET', 'cart', 'figs'), ok);
      assert.equal(fake.calls.at(-1)?.supersedeLocal, true, 'MSET writes each key as SET does');
    });
  },
);

test('SET GET reads first and writes with the context of its read', bounded, async () => {
  await withResp(async ({ client: connect, fake }) => {
    const client = await connect();
    await client.call('EW.PUT', 'cart', '', 'apples');
    await client.call('EW.PUT', 'cart', '', 'pears');
    assert.equal(await client.call('SET', 'cart', 'plums', 'GET'), 'pears');
    const setPut = fake.calls.filter((call) => call.operation === 'put').at(-1);
    assert.equal(setPut?.context, 'fake.1.2');
    assert.equal(setPut?.supersedeLocal, undefined);
    assert.deepEqual(await client.call('EW.GETALL', 'cart'), ['fake.3', ['plums']]);
  });
});

test('GET answers the sibling written last; a concurrent delete does not hide a live value', bounded, async () => {
  await withResp(async ({ client: connect }) => {
    const client = await connect();
    await client.call('EW.PUT', 'k', '', 'first');
    await client.call('EW.PUT', 'k', '', 'second');
    assert.equal(await client.call('GET', 'k'), 'second');
    await client.call('EW.DEL', 'k', '');
    assert.deepEqual(((await client.call('EW.GETALL', 'k')) as RespValue[])[1], ['first', 'second', null]);
    assert.equal(await client.call('GET', 'k'), 'second');
    assert.equal(await client.call('EXISTS', 'k'), 1);
  });
});

test('pipelined commands on one key run in order: a connection reads its own writes', bounded, async () => {
  await withResp(async ({ client: connect }) => {
    const client = await connect();
    const replies = await client.pipeline([
      ['SET', 'k', 'v1'],
      ['SET', 'k', 'v2'],
      ['GET', 'k'],
      ['DEL', 'k'],
      ['GET', 'k'],
      ['SET', 'k', 'v3'],
      ['EW.GETALL', 'k'],
    ]);
    assert.deepEqual(replies.slice(0, 6), [ok, ok, 'v2', 1, null, ok]);
    // Each write saw the one before: no sibling was ever made.
    assert.deepEqual((replies[6] as RespValue[])[1], ['v3']);
  });
});

test('a later command on a busy key waits, while other keys go ahead', bounded, async () => {
  await withResp(async ({ client: connect, fake }) => {
    const client = await connect();
    const release = fake.holdNext('put');
    client.write(
      Buffer.concat([
        encodeCommand(['SET', 'slow', '1']),
        encodeCommand(['GET', 'slow']),
        encodeCommand(['GET', 'other']),
      ]),
    );
    await waitUntil(() => fake.calls.some((call) => call.operation === 'put'), 'the held SET');
    // The GET of the held SET's key does not go out, nor anything behind it: looked at for 100 ms.
    await throughout(
      'nothing behind the held SET goes out',
      async () => {
        const gets = fake.calls.filter((call) => call.operation === 'get').map((call) => call.key);
        if (gets.length > 0) return `GET ${gets.join(', ')} went out`;
        return client.unreadBytes === 0 ? undefined : `${client.unreadBytes} reply bytes arrived`;
      },
      { windowMs: 100, intervalMs: 5 },
    );
    release();
    assert.deepEqual(await client.read(3), [ok, '1', null]);
  });
});

test('DEL deletes what its read saw and counts keys that had a live value', bounded, async () => {
  await withResp(async ({ client: connect, fake }) => {
    const client = await connect();
    await client.call('MSET', 'a', '1', 'b', '2');
    assert.equal(await client.call('DEL', 'a', 'b', 'missing', 'a'), 2);
    assert.deepEqual(await client.call('MGET', 'a', 'b'), [null, null]);
    const deletesBefore = fake.calls.filter((call) => call.operation === 'delete').length;
    // A key holding only a tombstone is not deleted again.
    assert.equal(await client.call('DEL', 'a'), 0);
    assert.equal(fake.calls.filter((call) => call.operation === 'delete').length, deletesBefore);
    const deleted = fake.calls.find((call) => call.operation === 'delete' && call.key === 'a');
    assert.match(deleted?.context ?? '', /^fake\.\d+$/);
  });
});

test("EXISTS counts repeats; MGET answers per key; MSET takes a repeated key's last value", bounded, async () => {
  await withResp(async ({ client: connect, fake }) => {
    const client = await connect();
    assert.deepEqual(await client.call('MSET', 'x', '1', 'y', '2', 'x', '3'), ok);
    assert.equal(fake.calls.filter((call) => call.operation === 'put' && call.key === 'x').length, 1);
    assert.deepEqual(await client.call('MGET', 'x', 'nope', 'y', 'x'), ['3', null, '2', '3']);
    assert.equal(await client.call('EXISTS', 'x', 'x', 'nope', 'y'), 3);
    assert.equal(
      errorText(await client.call('MSET', 'x', '1', 'y')),
      "ERR wrong number of arguments for 'mset' command",
    );
  });
});

test('SET NX, XX and GET are checks on the read; expiries are refused clearly', bounded, async () => {
  await withResp(async ({ client: connect, fake }) => {
    const client = await connect();
    assert.equal(await client.call('SET', 'k', 'v', 'XX'), null);
    assert.deepEqual(await client.call('SET', 'k', 'v', 'nx'), ok);
    assert.equal(await client.call('SET', 'k', 'w', 'NX'), null);
    assert.equal(await client.call('SET', 'k', 'w', 'XX', 'GET'), 'v');
    assert.equal(await client.call('SET', 'k', 'z', 'NX', 'GET'), 'w');
    assert.equal(await client.call('GET', 'k'), 'w');
    assert.deepEqual(await client.call('SET', 'k', 'kept', 'KEEPTTL'), ok);
    const putsBefore = fake.calls.filter((call) => call.operation === 'put').length;
    assert.match(
      errorText(await client.call('SET', 'k', 'v', 'EX', '10')),
      /^ERR expiry is not supported by Everwrite/,
    );
    assert.match(
      errorText(await client.call('SET', 'k', 'v', 'PX', '10')),
      /^ERR expiry is not supported by Everwrite/,
    );
    assert.equal(errorText(await client.call('SET', 'k', 'v', 'EX')), 'ERR syntax error');
    assert.equal(errorText(await client.call('SET', 'k', 'v', 'NX', 'XX')), 'ERR syntax error');
    assert.equal(errorText(await client.call('SET', 'k', 'v', 'BOGUS')), 'ERR syntax error');
    assert.equal(fake.calls.filter((call) => call.operation === 'put').length, putsBefore);
  });
});

test('EW.GETALL, EW.PUT and EW.DEL expose contexts and siblings, in RESP2 and RESP3 shapes', bounded, async () => {
  await withResp(async ({ client: connect }) => {
    const client = await connect();
    assert.deepEqual(await client.call('EW.GETALL', 'doc'), ['fake.', []]);
    const first = await client.call('EW.PUT', 'doc', '', 'one');
    assert.equal(first, 'fake.1');
    await client.call('EW.PUT', 'doc', '', 'two');
    assert.deepEqual(await client.call('EW.GETALL', 'doc'), ['fake.1.2', ['one', 'two']]);
    assert.equal(await client.call('EW.PUT', 'doc', 'fake.1.2', 'merged'), 'fake.1.2.3');
    assert.deepEqual(await client.call('EW.GETALL', 'doc'), ['fake.3', ['merged']]);
    assert.equal(await client.call('EW.DEL', 'doc', 'fake.3'), 'fake.3.4');
    assert.equal(await client.call('GET', 'doc'), null);
    await client.call('HELLO', '3');
    assert.deepEqual(
      await client.call('EW.GETALL', 'doc'),
      new Map<RespValue, RespValue>([
        ['context', 'fake.4'],
        ['siblings', [null]],
      ]),
    );
    assert.match(errorText(await client.call('EW.PUT', 'doc', 'garbage', 'v')), /^ERR EVERWRITE_BAD_CONTEXT: /);
  });
});

test("service errors become coded RESP errors with the table's prefix; the connection survives", bounded, async () => {
  await withResp(async ({ client: connect, fake, logs }) => {
    const client = await connect();
    fake.failNext('get', new EverwriteError('EVERWRITE_QUORUM_NOT_MET', 'only 1 of 2 replicas answered'));
    assert.equal(
      errorText(await client.call('GET', 'k')),
      'TRYAGAIN EVERWRITE_QUORUM_NOT_MET: only 1 of 2 replicas answered',
    );
    fake.failNext('put', new EverwriteError('EVERWRITE_OVERLOADED', 'too many coordinations'));
    assert.equal(errorText(await client.call('SET', 'k', 'v')), 'BUSY EVERWRITE_OVERLOADED: too many coordinations');
    fake.failNext('get', new EverwriteError('EVERWRITE_TIMEOUT', 'timed out\r\nafter 1000 ms'));
    assert.equal(errorText(await client.call('MGET', 'a', 'b')), 'TRYAGAIN EVERWRITE_TIMEOUT: timed out after 1000 ms');
    fake.failNext('get', new Error('secret internals'));
    assert.equal(
      errorText(await client.call('GET', 'k')),
      'ERR EVERWRITE_INTERNAL: internal error; the node logged the details',
    );
    assert.ok(logs.some((record) => record.msg === 'resp command failed unexpectedly'));
    await assertServing(client);
  });
});

test('unknown commands and wrong arity are error replies; nothing is closed', bounded, async () => {
  await withResp(async ({ client: connect }) => {
    const client = await connect();
    assert.equal(
      errorText(await client.call('FOO', 'bar', 'baz')),
      "ERR unknown command 'FOO', with args beginning with: 'bar' 'baz' ",
    );
    assert.equal(
      errorText(await client.call('FLUSHALL')),
      "ERR unknown command 'FLUSHALL', with args beginning with: ",
    );
    assert.equal(errorText(await client.call('GET')), "ERR wrong number of arguments for 'get' command");
    assert.equal(errorText(await client.call('GET', 'a', 'b')), "ERR wrong number of arguments for 'get' command");
    assert.equal(errorText(await client.call('CLIENT', 'KILL')), "ERR unknown subcommand 'KILL'. Try CLIENT HELP.");
    await assertServing(client);
  });
});

test('keys and values over the limits are refused with coded errors; the connection stays', bounded, async () => {
  await withResp(
    async ({ client: connect, fake }) => {
      const client = await connect();
      assert.match(
        errorText(await client.call('GET', 'k'.repeat(17))),
        /^ERR EVERWRITE_KEY_TOO_LARGE: key is 17 bytes; at most 16 allowed/,
      );
      assert.match(
        errorText(await client.call('SET', 'k', 'v'.repeat(65))),
        /^ERR EVERWRITE_VALUE_TOO_LARGE: value is 65 bytes; at most 64 allowed/,
      );
      assert.match(
        errorText(await client.call('MSET', 'a', '1', 'b', 'v'.repeat(65))),
        /^ERR EVERWRITE_VALUE_TOO_LARGE/,
      );
      assert.match(errorText(await client.call('GET', '')), /^ERR EVERWRITE_BAD_REQUEST: key must not be empty/);
      assert.match(
        errorText(await client.call('GET', Buffer.from([0xff, 0xfe]))),
        /^ERR EVERWRITE_BAD_REQUEST: key is not valid UTF-8/,
      );
      // Nothing of the refused MSET was written.
      assert.equal(fake.calls.filter((call) => call.operation === 'put').length, 0);
      await assertServing(client);
    },
    { limits: { keyBytesMax: 16, valueBytesMax: 64 }, argumentBytesMax: 128 },
  );
});

test(
  'a bulk string over argumentBytesMax is a protocol error: answered, then closed; the node serves on',
  bounded,
  async () => {
    await withResp(
      async ({ client: connect }) => {
        const client = await connect();
        client.write(
          Buffer.concat([encodeCommand(['SET', 'a', '1']), Buffer.from('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$129\r\n')]),
        );
        const replies = await client.read(2);
        assert.deepEqual(replies[0], ok);
        assert.equal(errorText(replies[1]), 'ERR Protocol error: invalid bulk length');
        await client.waitClosedByServer();
        await assertServing(await connect());
      },
      { argumentBytesMax: 128 },
    );
  },
);

test('garbage framing: earlier pipelined answers arrive first, then the error, then the close', bounded, async () => {
  await withResp(async ({ client: connect, fake }) => {
    const client = await connect();
    const release = fake.holdNext('get');
    client.write(
      Buffer.concat([
        encodeCommand(['GET', 'a']),
        encodeCommand(['PING']),
        Buffer.from('*2\r\n+bad\r\n'),
        encodeCommand(['SET', 'never', 'x']),
      ]),
    );
    await waitUntil(() => fake.calls.some((call) => call.operation === 'get'), 'the held GET');
    release();
    const replies = await client.read(3);
    assert.deepEqual(replies.slice(0, 2), [null, new RespSimpleValue('PONG')]);
    assert.equal(errorText(replies[2]), "ERR Protocol error: expected '$', got '+'");
    await client.waitClosedByServer();
    assert.ok(!fake.calls.some((call) => call.key === 'never'));
    await assertServing(await connect());
  });
});

test('inline commands, as typed into telnet or sent by PING_INLINE, work with quotes', bounded, async () => {
  await withResp(async ({ client: connect }) => {
    const client = await connect();
    client.write('PING\r\nSET "my key" \'a value\'\r\nGET "my key"\nbogus\r\n');
    const replies = await client.read(4);
    assert.deepEqual(replies.slice(0, 3), [new RespSimpleValue('PONG'), ok, 'a value']);
    assert.match(errorText(replies[3]), /^ERR unknown command 'bogus'/);
    client.write('ECHO "unbalanced\r\n');
    assert.equal(errorText((await client.read(1))[0]), 'ERR Protocol error: unbalanced quotes in request');
    await client.waitClosedByServer();
  });
});

test('a pipeline sent one byte at a time is answered in full and in order', bounded, async () => {
  await withResp(async ({ client: connect }) => {
    const client = await connect();
    const bytes = Buffer.concat([
      encodeCommand(['SET', 'k', 'v'.repeat(300)]),
      encodeCommand(['GET', 'k']),
      Buffer.from('PING\r\n'),
    ]);
    for (const byte of bytes) {
      client.write(Buffer.from([byte]));
      if (byte === 10) await sleep(1);
    }
    assert.deepEqual(await client.read(3), [ok, 'v'.repeat(300), new RespSimpleValue('PONG')]);
  });
});

test(
  'a large pipeline is answered in order within pipelineCommandsMax parsed-but-unanswered commands',
  bounded,
  async () => {
    await withResp(
      async ({ client: connect, fake }) => {
        const client = await connect();
        const release = fake.holdNext('get');
        const commands = Array.from({ length: 40 }, (_, index) => ['GET', `key${index}`]);
        client.write(Buffer.concat(commands.map(encodeCommand)));
        const gets = (): number => fake.calls.filter((call) => call.operation === 'get').length;
        await waitUntil(() => gets() >= 4, 'four GETs');
        // The first GET is held; three more were answered but wait behind it; nothing else is read.
        await throughout('no fifth GET is read', async () => (gets() === 4 ? undefined : `${gets()} GETs`), {
          windowMs: 100,
          intervalMs: 5,
        });
        release();
        const replies = await client.read(40);
        assert.deepEqual(
          replies,
          commands.map(() => null),
        );
        assert.deepEqual(
          fake.calls.filter((call) => call.operation === 'get').map((call) => call.key),
          commands.map((command) => command[1]),
        );
      },
      { pipelineCommandsMax: 4 },
    );
  },
);

test(
  'a client that does not read its replies stops being read: the node buffers a bounded amount',
  bounded,
  async () => {
    await withResp(
      async ({ client: connect, fake }) => {
        const writer = await connect();
        const big = 'b'.repeat(64 * 1024);
        await writer.call('SET', 'big', big);
        const reader = await connect();
        reader.pauseReading();
        const count = 400;
        reader.write(Buffer.concat(Array.from({ length: count }, () => encodeCommand(['GET', 'big']))));
        const bigGets = (): number =>
          fake.calls.filter((call) => call.operation === 'get' && call.key === 'big').length;
        // Wait until the server has stopped asking for a while.
        let seen = -1;
        while (seen !== bigGets()) {
          seen = bigGets();
          await sleep(200);
        }
        // 400 x 64 KiB is far more than the kernel's socket buffers: the server stopped asking.
        const served = bigGets() - 1;
        assert.ok(served < count, `the server read all ${served} commands of a client that reads nothing`);
        await assertServing(writer);
        reader.resumeReading();
        const replies = await reader.read(count, 15_000);
        assert.ok(replies.every((reply) => reply === big));
      },
      { outputBytesMax: 256 * 1024 },
    );
  },
);

test(
  'a multi-key command keeps at most fanOutMax service calls in flight; MGET bounds the bytes it gathers',
  bounded,
  async () => {
    let inFlight = 0;
    let inFlightMax = 0;
    class SlowFake extends FakeKvService {
      override async get(bucket: string, key: string, options?: RequestOptions): Promise<GetResult> {
        inFlight += 1;
        inFlightMax = Math.max(inFlightMax, inFlight);
        await sleep(2);
        inFlight -= 1;
        return super.get(bucket, key, options);
      }
    }
    const server = await startRespServer({
      service: new SlowFake(),
      host: '127.0.0.1',
      port: 0,
      fanOutMax: 3,
      replyBytesMax: 1000,
      logger: pino({ level: 'silent' }),
    });
    const client = await RespTestClient.connect(server.address.port);
    try {
      const keys = Array.from({ length: 30 }, (_, index) => `k${index}`);
      assert.deepEqual(
        await client.call('MGET', ...keys),
        keys.map(() => null),
      );
      assert.equal(inFlightMax, 3);
      await client.call('MSET', 'a', 'x'.repeat(600), 'b', 'y'.repeat(600));
      assert.equal(await client.call('GET', 'a'), 'x'.repeat(600));
      assert.match(
        errorText(await client.call('MGET', 'a', 'b')),
        /^ERR EVERWRITE_FRAME_TOO_LARGE: MGET values pass 1000 bytes/,
      );
    } finally {
      client.close();
      await server.close();
    }
  },
);

test('HELLO switches to RESP3 (maps, _ nulls); bad versions are NOPROTO', bounded, async () => {
  await withResp(async ({ client: connect }) => {
    const client = await connect();
    const hello2 = (await client.call('HELLO')) as RespValue[];
    assert.deepEqual(hello2.slice(0, 6), ['server', 'everwrite', 'version', '7.0.0', 'proto', 2]);
    assert.equal(errorText(await client.call('HELLO', '4')), 'NOPROTO unsupported protocol version');
    assert.equal(errorText(await client.call('HELLO', 'x')), 'ERR Protocol version is not an integer or out of range');
    const hello3 = await client.call('HELLO', '3', 'AUTH', 'default', 'anything', 'SETNAME', 'app1');
    assert.ok(hello3 instanceof Map);
    assert.equal(hello3.get('proto'), 3);
    assert.equal(hello3.get('mode'), 'standalone');
    assert.equal(await client.call('CLIENT', 'GETNAME'), 'app1');
    client.write(encodeCommand(['GET', 'missing']));
    await client.read(1);
    assert.ok(client.received.subarray(-3).equals(Buffer.from('_\r\n')));
    const config = await client.call('CONFIG', 'GET', 'save');
    assert.deepEqual(config, new Map([['save', '']]));
    assert.equal(
      errorText(await client.call('HELLO', '3', 'AUTH', 'someone', 'pw')),
      'WRONGPASS invalid username-password pair or user is disabled.',
    );
    assert.equal(errorText(await client.call('HELLO', '3', 'BOGUS')), "ERR Syntax error in HELLO option 'BOGUS'");
    assert.ok((await client.call('HELLO', '2')) instanceof Array);
  });
});

test('AUTH answers as Redis does with no password configured', bounded, async () => {
  await withResp(async ({ client: connect }) => {
    const client = await connect();
    assert.equal(
      errorText(await client.call('AUTH', 'secret')),
      'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?',
    );
    assert.deepEqual(await client.call('AUTH', 'default', 'anything'), ok);
    assert.equal(
      errorText(await client.call('AUTH', 'alice', 'pw')),
      'WRONGPASS invalid username-password pair or user is disabled.',
    );
    await assertServing(client);
  });
});

test('CLIENT and SELECT: ids, names, library info; only database 0 exists', bounded, async () => {
  await withResp(async ({ client: connect }) => {
    const first = await connect();
    const second = await connect();
    const firstId = (await first.call('CLIENT', 'ID')) as number;
    const secondId = (await second.call('CLIENT', 'ID')) as number;
    assert.ok(Number.isInteger(firstId) && secondId > firstId);
    assert.equal(await first.call('CLIENT', 'GETNAME'), null);
    assert.deepEqual(await first.call('client', 'setname', 'worker-1'), ok);
    assert.equal(
      errorText(await first.call('CLIENT', 'SETNAME', 'has space')),
      'ERR Client names cannot contain spaces, newlines or special characters.',
    );
    assert.deepEqual(await first.call('CLIENT', 'SETINFO', 'LIB-NAME', 'mylib'), ok);
    assert.deepEqual(await first.call('CLIENT', 'SETINFO', 'lib-ver', '1.2.3'), ok);
    assert.match(errorText(await first.call('CLIENT', 'SETINFO', 'color', 'red')), /^ERR Unrecognized option 'color'/);
    assert.match(
      (await first.call('CLIENT', 'INFO')) as string,
      new RegExp(
        `^id=${firstId} addr=127\\.0\\.0\\.1:\\d+ .*name=worker-1 .*lib-name=mylib lib-ver=1\\.2\\.3 resp=2\\n$`,
      ),
    );
    const list = (await second.call('CLIENT', 'LIST')) as string;
    assert.equal(list.trim().split('\n').length, 2);
    assert.deepEqual(await first.call('SELECT', '0'), ok);
    assert.equal(errorText(await first.call('SELECT', '1')), 'ERR DB index is out of range');
    assert.equal(errorText(await first.call('SELECT', 'x')), 'ERR value is not an integer or out of range');
  });
});

test('QUIT answers OK and closes; commands pipelined after it are not run', bounded, async () => {
  await withResp(async ({ client: connect, fake }) => {
    const client = await connect();
    client.write(
      Buffer.concat([encodeCommand(['SET', 'a', '1']), encodeCommand(['QUIT']), encodeCommand(['SET', 'b', '2'])]),
    );
    assert.deepEqual(await client.read(2), [ok, ok]);
    await client.waitClosedByServer();
    assert.ok(!fake.calls.some((call) => call.key === 'b'));
  });
});

test('a client that sends its commands and then FIN still gets every answer', bounded, async () => {
  await withResp(async ({ client: connect, fake }) => {
    const client = await connect();
    const release = fake.holdNext('get');
    client.write(Buffer.concat([encodeCommand(['GET', 'x']), encodeCommand(['SET', 'y', '1'])]));
    client.endInput();
    await waitUntil(() => fake.calls.some((call) => call.operation === 'get'), 'the held GET');
    release();
    assert.deepEqual(await client.read(2), [null, ok]);
    await client.waitClosedByServer();
  });
});

test('COMMAND, COMMAND COUNT/INFO/DOCS/LIST describe the command table', bounded, async () => {
  await withResp(async ({ client: connect }) => {
    const client = await connect();
    const count = (await client.call('COMMAND', 'COUNT')) as number;
    const all = (await client.call('COMMAND')) as RespValue[][];
    assert.equal(all.length, count);
    const list = (await client.call('COMMAND', 'LIST')) as string[];
    for (const name of [
      'get',
      'set',
      'del',
      'exists',
      'mget',
      'mset',
      'ping',
      'echo',
      'info',
      'command',
      'client',
      'select',
      'hello',
      'auth',
      'quit',
      'config',
      'ew.getall',
      'ew.put',
      'ew.del',
    ]) {
      assert.ok(list.includes(name), name);
    }
    const [get, missing] = (await client.call('COMMAND', 'INFO', 'GET', 'nosuch')) as RespValue[][];
    assert.deepEqual(get?.slice(0, 6), [
      'get',
      2,
      [new RespSimpleValue('readonly'), new RespSimpleValue('fast')],
      1,
      1,
      1,
    ]);
    assert.equal(missing, null);
    const mset = ((await client.call('COMMAND', 'INFO', 'mset')) as RespValue[][])[0];
    assert.deepEqual(mset?.slice(3, 6), [1, -1, 2]);
    const docs = (await client.call('COMMAND', 'DOCS', 'set', 'nosuch')) as RespValue[];
    assert.equal(docs.length, 2);
    assert.equal(docs[0], 'set');
    const setDocs = docs[1] as RespValue[];
    assert.deepEqual(setDocs.slice(0, 6), ['summary', setDocs[1], 'since', '1.0.0', 'group', 'string']);
    assert.equal(errorText(await client.call('COMMAND', 'BOGUS')), "ERR unknown subcommand 'BOGUS'. Try COMMAND HELP.");
  });
});

test('CONFIG GET answers the harmless parameters tools ask for; CONFIG SET is refused', bounded, async () => {
  await withResp(async ({ client: connect }) => {
    const client = await connect();
    assert.deepEqual(await client.call('CONFIG', 'GET', 'save'), ['save', '']);
    assert.deepEqual(await client.call('CONFIG', 'GET', 'appendonly'), ['appendonly', 'no']);
    assert.deepEqual(await client.call('CONFIG', 'GET', 'save', 'appendonly'), ['save', '', 'appendonly', 'no']);
    assert.deepEqual(await client.call('CONFIG', 'GET', 'nothing-like-this'), []);
    const everything = (await client.call('CONFIG', 'GET', '*')) as string[];
    assert.ok(everything.length >= 20);
    assert.match(
      errorText(await client.call('CONFIG', 'SET', 'save', '')),
      /^ERR CONFIG SET is not supported by Everwrite/,
    );
  });
});

test(
  'INFO reports server, clients, stats, cluster and keyspace sections; a section can be asked alone',
  bounded,
  async () => {
    await withResp(async ({ client: connect }) => {
      const client = await connect();
      await client.call('SET', 'k', 'v');
      const info = (await client.call('INFO')) as string;
      for (const heading of [
        '# Server',
        '# Clients',
        '# Persistence',
        '# Stats',
        '# Replication',
        '# Cluster',
        '# Keyspace',
      ])
        assert.ok(info.includes(heading), heading);
      assert.match(info, /redis_version:7\.0\.0\r\n/);
      assert.match(info, /connected_clients:1\r\n/);
      assert.match(info, /loading:0\r\n/);
      assert.match(info, /total_commands_processed:2\r\n/);
      assert.match(info, /everwrite_node_id:n1\r\n/);
      assert.match(info, /everwrite_bucket:redis\r\n/);
      assert.match(info, /everwrite_bucket_props:n=3,r=2,w=2,resolver=siblings,durability=durable\r\n/);
      const clients = (await client.call('INFO', 'clients')) as string;
      assert.ok(clients.startsWith('# Clients\r\n') && !clients.includes('# Server'));
    });
  },
);

test(
  'prefixed key mapping: "bucket:key" names a bucket; a key without a prefix uses the configured bucket',
  bounded,
  async () => {
    await withResp(
      async ({ client: connect, fake }) => {
        const client = await connect();
        await client.call('SET', 'users:alice', '1');
        await client.call('SET', 'plain', '2');
        await client.call('SET', ':odd', '3');
        const puts = fake.calls.filter((call) => call.operation === 'put').map((call) => `${call.bucket}/${call.key}`);
        assert.deepEqual(puts, ['users/alice', 'cache/plain', 'cache/:odd']);
        assert.equal(await client.call('GET', 'cache:plain'), '2');
      },
      { keyMapping: 'prefixed', bucket: 'cache' },
    );
  },
);

test("connections past connectionsMax are refused with Redis's message when none is idle", bounded, async () => {
  const closeLater: RespTestClient[] = [];
  await withResp(
    async ({ client: connect, fake, port }) => {
      const first = await connect();
      await assertServing(first);
      // A command in flight keeps the first connection from being closed to make room (decision 0013).
      const release = fake.holdNext('get');
      first.write(encodeCommand(['GET', 'held']));
      await waitUntil(() => fake.calls.some((call) => call.operation === 'get'), 'the held GET');
      const second = await RespTestClient.connect(port, '127.0.0.2');
      closeLater.push(second);
      assert.equal(errorText((await second.read(1))[0]), 'ERR max number of clients reached');
      await second.waitClosedByServer();
      release();
      assert.deepEqual(await first.read(1), [null]);
      await assertServing(first);
    },
    { connectionsMax: 1 },
  );
  for (const client of closeLater) client.close();
});

test('close() lets a command in flight answer, then closes the connection', bounded, async () => {
  await withResp(async ({ client: connect, fake, server }) => {
    const client = await connect();
    const release = fake.holdNext('get');
    client.write(encodeCommand(['GET', 'k']));
    await waitUntil(() => fake.calls.some((call) => call.operation === 'get'), 'the held GET');
    const closing = server.close();
    release();
    assert.deepEqual(await client.read(1), [null]);
    await client.waitClosedByServer();
    await closing;
  });
});

test('options are validated at start-up', bounded, async () => {
  const service = new FakeKvService();
  await assert.rejects(startRespServer({ service, host: '127.0.0.1', port: 70_000 }), RangeError);
  await assert.rejects(startRespServer({ service, host: '', port: 0 }), RangeError);
  await assert.rejects(startRespServer({ service, host: '127.0.0.1', port: 0, bucket: '' }), RangeError);
  await assert.rejects(startRespServer({ service, host: '127.0.0.1', port: 0, pipelineCommandsMax: 0 }), RangeError);
  await assert.rejects(
    startRespServer({ service, host: '127.0.0.1', port: 0, argumentBytesMax: 100, commandBytesMax: 10 }),
    RangeError,
  );
  await assert.rejects(
    startRespServer({ service, host: '127.0.0.1', port: 0, keyMapping: 'other' as 'bucket' }),
    RangeError,
  );
});
