// Why: SCAN, KEYS, DBSIZE and TYPE over key listing (decision 0030) must behave as Redis clients
// expect (a cursor that ends at 0 having returned every key, MATCH/COUNT/TYPE, glob patterns), must
// refuse every bad input with an error rather than a wrong answer (bad cursors, COUNT, patterns),
// and must not pass off a partial listing as the whole.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileGlob } from '../../../../../src/api/resp/glob.ts';
import { keyspaceLimits } from '../../../../../src/api/resp/commands/keyspace.ts';
import {
  RespErrorValue,
  RespSimpleValue,
  type RespTestClient,
  type RespValue,
} from '../../../../support/resp-client.ts';
import { withResp, type RespHarness } from '../harness.ts';

const bounded = { timeout: 60_000 };

function errorText(value: RespValue): string {
  assert.ok(value instanceof RespErrorValue, `expected an error, got ${JSON.stringify(value)}`);
  return value.message;
}

async function setKeys(client: RespTestClient, keys: readonly string[]): Promise<void> {
  for (const key of keys) assert.deepEqual(await client.call('SET', key, 'v'), new RespSimpleValue('OK'));
}

async function scanAll(client: RespTestClient, ...options: string[]): Promise<{ keys: string[]; calls: number }> {
  const keys: string[] = [];
  let cursor = '0';
  let calls = 0;
  do {
    const [next, page] = (await client.call('SCAN', cursor, ...options)) as [string, string[]];
    keys.push(...page);
    cursor = next;
    calls += 1;
  } while (cursor !== '0' && calls < 1000);
  return { keys, calls };
}

async function withClient(body: (client: RespTestClient, harness: RespHarness) => Promise<void>): Promise<void> {
  await withResp(async (harness) => body(await harness.client(), harness));
}

test('SCAN iterates every live key once and ends at cursor 0; MATCH, COUNT and TYPE filter as in Redis', bounded, () =>
  withClient(async (client) => {
    const keys = Array.from({ length: 35 }, (_, index) => `user:${index}`);
    await setKeys(client, [...keys, 'order:1', 'gone']);
    await client.call('DEL', 'gone');
    const all = await scanAll(client, 'COUNT', '10');
    assert.deepEqual(all.keys.sort(), [...keys, 'order:1'].sort());
    assert.equal(all.calls, 4);
    assert.deepEqual(
      (await scanAll(client, 'MATCH', 'user:1*')).keys.sort(),
      keys.filter((key) => key.startsWith('user:1')).sort(),
    );
    assert.deepEqual((await scanAll(client, 'TYPE', 'string', 'COUNT', '100')).keys.length, 36);
    assert.deepEqual((await scanAll(client, 'TYPE', 'hash')).keys, []);
    // A COUNT far past any page is a hint, capped, as Redis treats it.
    assert.equal((await scanAll(client, 'COUNT', '1000000000000000000')).calls, 1);
  }),
);

test('SCAN refuses bad cursors, COUNT values, options and patterns with errors', bounded, () =>
  withClient(async (client) => {
    await setKeys(client, ['a', 'b', 'c']);
    const cases: Array<[string[], RegExp]> = [
      [['SCAN', 'abc'], /^ERR invalid cursor/],
      [['SCAN', '-1'], /^ERR invalid cursor/],
      [['SCAN', '99999'], /^ERR invalid cursor/],
      [['SCAN', '1'.repeat(30)], /^ERR invalid cursor/],
      [['SCAN', '0', 'COUNT', '0'], /^ERR syntax error$/],
      [['SCAN', '0', 'COUNT', '-5'], /^ERR syntax error$/],
      [['SCAN', '0', 'COUNT', 'ten'], /^ERR value is not an integer or out of range$/],
      [['SCAN', '0', 'COUNT', '99999999999999999999999'], /^ERR value is not an integer or out of range$/],
      [['SCAN', '0', 'COUNT'], /^ERR syntax error$/],
      [['SCAN', '0', 'LIMIT', '5'], /^ERR syntax error$/],
      [['SCAN', '0', 'MATCH', '[abc'], /^ERR EVERWRITE_BAD_REQUEST: invalid pattern/],
      [['SCAN', '0', 'MATCH', 'x'.repeat(5000)], /^ERR EVERWRITE_BAD_REQUEST: invalid pattern/],
      [['KEYS', 'a[b'], /^ERR EVERWRITE_BAD_REQUEST: invalid pattern/],
      [['SCAN'], /^ERR wrong number of arguments/],
      [['KEYS'], /^ERR wrong number of arguments/],
      [['DBSIZE', 'x'], /^ERR wrong number of arguments/],
      [['TYPE'], /^ERR wrong number of arguments/],
      [['TYPE', ''], /^ERR EVERWRITE_BAD_REQUEST/],
    ];
    for (const [command, expected] of cases)
      assert.match(errorText(await client.call(...command)), expected, command.join(' ').slice(0, 60));
  }),
);

test('SCAN cursors are remembered up to their bound; the oldest is then refused, not misread', bounded, () =>
  withClient(async (client) => {
    await setKeys(client, ['a', 'b']);
    const [first] = (await client.call('SCAN', '0', 'COUNT', '1')) as [string];
    assert.notEqual(first, '0');
    assert.deepEqual(((await client.call('SCAN', first, 'COUNT', '1')) as [string, string[]])[1], ['b']);
    for (let index = 0; index < keyspaceLimits.cursorsMax; index++) await client.call('SCAN', '0', 'COUNT', '1');
    assert.match(errorText(await client.call('SCAN', first, 'COUNT', '1')), /^ERR invalid cursor/);
  }),
);

test('KEYS matches glob patterns, DBSIZE counts live keys, TYPE answers string or none', bounded, () =>
  withClient(async (client) => {
    await setKeys(client, ['hello', 'hallo', 'hxllo', 'hllo', 'heeeello', 'h*llo', 'other', 'gone']);
    await client.call('DEL', 'gone');
    const sorted = async (pattern: string): Promise<string[]> =>
      ((await client.call('KEYS', pattern)) as string[]).sort();
    assert.deepEqual(await sorted('h?llo'), ['h*llo', 'hallo', 'hello', 'hxllo']);
    assert.deepEqual(await sorted('h*llo'), ['h*llo', 'hallo', 'heeeello', 'hello', 'hllo', 'hxllo']);
    assert.deepEqual(await sorted('h[ae]llo'), ['hallo', 'hello']);
    assert.deepEqual(await sorted('h[^e]llo'), ['h*llo', 'hallo', 'hxllo']);
    assert.deepEqual(await sorted('h[a-b]llo'), ['hallo']);
    assert.deepEqual(await sorted('h\\*llo'), ['h*llo']);
    assert.deepEqual(await sorted('*'), ['h*llo', 'hallo', 'heeeello', 'hello', 'hllo', 'hxllo', 'other']);
    assert.equal(await client.call('DBSIZE'), 7);
    assert.deepEqual(await client.call('TYPE', 'hello'), new RespSimpleValue('string'));
    assert.deepEqual(await client.call('TYPE', 'gone'), new RespSimpleValue('none'));
    assert.deepEqual(await client.call('TYPE', 'never'), new RespSimpleValue('none'));
  }),
);

test(
  'a listing missing partitions is TRYAGAIN EVERWRITE_PARTIAL_LISTING for KEYS, DBSIZE and SCAN, never a shorter answer',
  bounded,
  () =>
    withClient(async (client, harness) => {
      await setKeys(client, ['a', 'b']);
      harness.fake.listingMissingPartitions = [7];
      for (const command of [['KEYS', '*'], ['DBSIZE'], ['SCAN', '0']])
        assert.match(
          errorText(await client.call(...command)),
          /^TRYAGAIN EVERWRITE_PARTIAL_LISTING: /,
          command.join(' '),
        );
    }),
);

test('glob matching takes time linear in key times pattern, not exponential', () => {
  const matcher = compileGlob(Buffer.from(`${'a*'.repeat(30)}b`));
  const key = Buffer.from('a'.repeat(1024));
  const startedMs = performance.now();
  assert.equal(matcher.matches(key), false);
  assert.ok(performance.now() - startedMs < 500, 'a pathological pattern took too long');
  assert.equal(compileGlob(Buffer.from('*')).matches(Buffer.from('')), true);
  assert.equal(compileGlob(Buffer.from('a?')).matches(Buffer.from('a')), false);
  assert.equal(compileGlob(Buffer.from('[z-a]')).matches(Buffer.from('m')), true);
});
