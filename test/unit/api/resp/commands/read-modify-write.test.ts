// Why: SETNX, GETSET, INCR, INCRBY, DECR and DECRBY (decision 0028) against the fake service over a
// real socket: each reads, then writes with the read's context (so siblings the read saw are
// superseded), answers Redis's own replies and error texts, and refuses bad input before writing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseInt64 } from '../../../../../src/api/resp/commands/read-modify-write.ts';
import { encodeReply } from '../../../../../src/api/resp/reply.ts';
import { RespErrorValue, RespSimpleValue } from '../../../../support/resp-client.ts';
import type { RespValue } from '../../../../support/resp-client.ts';
import { withResp } from '../harness.ts';

const bounded = { timeout: 20_000 };

function errorText(value: RespValue | undefined): string {
  assert.ok(value instanceof RespErrorValue, `expected an error reply, got ${JSON.stringify(value)}`);
  return value.message;
}

test(
  'INCR, INCRBY, DECR and DECRBY count from 0 on an absent key and write the decimal text back',
  bounded,
  async () => {
    await withResp(async ({ client: connect }) => {
      const client = await connect();
      assert.equal(await client.call('INCR', 'n'), 1);
      assert.equal(await client.call('INCRBY', 'n', '41'), 42);
      assert.equal(await client.call('DECR', 'n'), 41);
      assert.equal(await client.call('DECRBY', 'n', '50'), -9);
      assert.equal(await client.call('INCRBY', 'n', '-1'), -10);
      assert.equal(await client.call('GET', 'n'), '-10');
      assert.equal(await client.call('DECRBY', 'fresh', '3'), -3);
    });
  },
);

test(
  "a counter reads at quorum and writes with the read's context, superseding the siblings it saw",
  bounded,
  async () => {
    await withResp(async ({ client: connect, fake }) => {
      const client = await connect();
      await client.call('EW.PUT', 'c', '', '5');
      await client.call('EW.PUT', 'c', '', '7');
      assert.deepEqual(await client.call('EW.GETALL', 'c'), ['fake.1.2', ['5', '7']]);
      // GET answers the sibling written last (7): INCR adds to that one.
      assert.equal(await client.call('INCR', 'c'), 8);
      const write = fake.calls.at(-1);
      assert.equal(write?.operation, 'put');
      assert.equal(write?.context, 'fake.1.2', "the write carried the read's context");
      assert.deepEqual(await client.call('EW.GETALL', 'c'), ['fake.3', ['8']], 'both siblings superseded');
    });
  },
);

test(
  "a value that is not a 64-bit integer, and a result past the range, answer Redis's error texts and write nothing",
  bounded,
  async () => {
    await withResp(async ({ client: connect, fake }) => {
      const client = await connect();
      const puts = (): number => fake.calls.filter((call) => call.operation === 'put').length;
      for (const value of [
        'abc',
        '',
        ' 1',
        '1 ',
        '+1',
        '01',
        '-0',
        '1.5',
        '9223372036854775808',
        '-9223372036854775809',
        '1'.repeat(100_000),
      ]) {
        await client.call('SET', 'v', value);
        const before = puts();
        assert.equal(
          errorText(await client.call('INCR', 'v')),
          'ERR value is not an integer or out of range',
          JSON.stringify(value.slice(0, 30)),
        );
        assert.equal(puts(), before);
      }
      await client.call('SET', 'max', '9223372036854775806');
      // The test client decodes integers as numbers; the exact digits are checked by GET and by the encoder below.
      assert.equal(await client.call('INCR', 'max'), Number('9223372036854775807'));
      assert.equal(await client.call('GET', 'max'), '9223372036854775807', 'exactly, as text');
      assert.equal(errorText(await client.call('INCR', 'max')), 'ERR increment or decrement would overflow');
      await client.call('SET', 'min', '-9223372036854775808');
      assert.equal(errorText(await client.call('DECR', 'min')), 'ERR increment or decrement would overflow');
      assert.equal(errorText(await client.call('DECRBY', 'x', '-9223372036854775808')), 'ERR decrement would overflow');
      assert.equal(await client.call('GET', 'min'), '-9223372036854775808');
    });
  },
);

test(
  'INCRBY and DECRBY refuse a non-integer or out-of-range argument, and every command its wrong arity, before any read',
  bounded,
  async () => {
    await withResp(async ({ client: connect, fake }) => {
      const client = await connect();
      const before = fake.calls.length;
      for (const argument of ['x', '1.0', '', '9223372036854775808', '1e3', '0x10', '-']) {
        assert.equal(
          errorText(await client.call('INCRBY', 'k', argument)),
          'ERR value is not an integer or out of range',
          argument,
        );
        assert.equal(
          errorText(await client.call('DECRBY', 'k', argument)),
          'ERR value is not an integer or out of range',
          argument,
        );
      }
      const arities: Array<[string, string[]]> = [
        ['INCR', []],
        ['INCR', ['a', 'b']],
        ['DECR', []],
        ['INCRBY', ['a']],
        ['INCRBY', ['a', '1', '2']],
        ['DECRBY', ['a']],
        ['SETNX', ['a']],
        ['SETNX', ['a', 'b', 'c']],
        ['GETSET', ['a']],
        ['GETSET', ['a', 'b', 'c']],
      ];
      for (const [name, args] of arities) {
        assert.equal(
          errorText(await client.call(name, ...args)),
          `ERR wrong number of arguments for '${name.toLowerCase()}' command`,
        );
      }
      assert.equal(fake.calls.length, before, 'nothing reached the service');
      assert.deepEqual(await client.call('PING'), new RespSimpleValue('PONG'));
    });
  },
);

test(
  "SETNX sets only an absent or deleted key (1, else 0); GETSET answers the previous value and writes with its read's context",
  bounded,
  async () => {
    await withResp(async ({ client: connect, fake }) => {
      const client = await connect();
      assert.equal(await client.call('SETNX', 'k', 'first'), 1);
      assert.equal(await client.call('SETNX', 'k', 'second'), 0);
      assert.equal(await client.call('GET', 'k'), 'first');
      assert.equal(await client.call('GETSET', 'k', 'third'), 'first');
      assert.equal(fake.calls.at(-1)?.context, 'fake.1');
      assert.equal(await client.call('GET', 'k'), 'third');
      assert.equal(await client.call('GETSET', 'absent', 'v'), null);
      assert.equal(await client.call('DEL', 'k'), 1);
      assert.equal(await client.call('SETNX', 'k', 'again'), 1);
      assert.equal(await client.call('GET', 'k'), 'again');
    });
  },
);

test('a counter past the safe range of a number is encoded as its exact 64-bit integer', () => {
  assert.equal(encodeReply(2n ** 63n - 1n, 2).toString('latin1'), ':9223372036854775807\r\n');
  assert.equal(encodeReply(-(2n ** 63n), 3).toString('latin1'), ':-9223372036854775808\r\n');
});

test('parseInt64 reads exactly what Redis reads as a 64-bit integer', () => {
  const cases: Array<[string, bigint | undefined]> = [
    ['0', 0n],
    ['-1', -1n],
    ['9223372036854775807', 2n ** 63n - 1n],
    ['-9223372036854775808', -(2n ** 63n)],
    ['00', undefined],
    ['-0', undefined],
    ['+5', undefined],
    ['', undefined],
    ['12345678901234567890123', undefined],
  ];
  for (const [text, expected] of cases) assert.equal(parseInt64(Buffer.from(text)), expected, text);
});
