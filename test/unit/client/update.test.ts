// Why: update() is the shopping-cart loop: read, merge, write back with the read's context. It must
// retry exactly the failures a fresh round can fix (503 codes, 429, too many siblings), give up on
// the others at once, and lose no element when two updaters race on one key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EverwriteClient, type Sibling } from '../../../src/index.ts';
import { EverwriteError } from '../../../src/core/base/errors.ts';
import { callsOf, startFakeNode, type FakeNode } from './harness.ts';

const bounded = { timeout: 20_000 };

async function withClient(body: (client: EverwriteClient, node: FakeNode) => Promise<void>): Promise<void> {
  const node = await startFakeNode();
  const client = new EverwriteClient({ nodes: [node.url], routing: 'server' });
  try {
    await body(client, node);
  } finally {
    await client.close();
    await node.stop();
  }
}

/** The cart as a JSON array of items; the merge is the union of every sibling's items plus `add`. */
function unionWith(add: readonly string[]): (siblings: readonly Sibling[]) => string {
  return (siblings) => {
    const items = new Set<string>(add);
    for (const sibling of siblings)
      for (const item of JSON.parse(new TextDecoder().decode(sibling.value)) as string[]) items.add(item);
    return JSON.stringify([...items].sort());
  };
}

async function cartOf(client: EverwriteClient, key: string): Promise<string[]> {
  const read = await client.get('carts', key);
  const items = new Set<string>();
  for (const sibling of read.siblings)
    for (const item of JSON.parse(new TextDecoder().decode(sibling.value)) as string[]) items.add(item);
  return [...items].sort();
}

test('update on an absent key merges from no siblings and writes with a blind context', bounded, () =>
  withClient(async (client, node) => {
    const seen: number[] = [];
    const result = await client.update('carts', 'alice', (siblings) => {
      seen.push(siblings.length);
      return '["milk"]';
    });
    assert.deepEqual(seen, [0]);
    assert.equal(result.attempts, 1);
    assert.equal(node.fake.calls.at(-1)?.context, undefined);
    assert.equal(node.fake.calls.at(-1)?.contentType, 'text/plain; charset=utf-8');
    assert.deepEqual(await cartOf(client, 'alice'), ['milk']);
  }),
);

test('update writes back with the context of its read and keeps the content type read', bounded, () =>
  withClient(async (client, node) => {
    await client.put('carts', 'bob', '["eggs"]', { contentType: 'application/json' });
    const read = await client.get('carts', 'bob');
    await client.update('carts', 'bob', unionWith(['ham']), { w: 1 });
    const put = node.fake.calls.at(-1);
    assert.deepEqual([put?.context, put?.contentType, put?.options], [read.context, 'application/json', { w: 1 }]);
    assert.deepEqual(await cartOf(client, 'bob'), ['eggs', 'ham']);
  }),
);

test('a write failing with a retryable code is redone from a fresh read', bounded, () =>
  withClient(async (client, node) => {
    node.fake.failNext(
      'put',
      new EverwriteError('EVERWRITE_QUORUM_NOT_MET', 'write quorum not met: 1 of 2 replicas answered'),
    );
    const result = await client.update('carts', 'carol', unionWith(['tea']));
    assert.equal(result.attempts, 2);
    assert.deepEqual([callsOf(node.fake, 'get'), callsOf(node.fake, 'put')], [2, 2]);
    node.fake.failNext('put', new EverwriteError('EVERWRITE_TOO_MANY_SIBLINGS', 'key has 100 siblings'));
    assert.equal((await client.update('carts', 'carol', unionWith(['jam']))).attempts, 2);
    node.fake.failNext('get', new EverwriteError('EVERWRITE_TIMEOUT', 'read timed out'));
    assert.equal((await client.update('carts', 'carol', unionWith(['bun']))).attempts, 2);
    assert.deepEqual(await cartOf(client, 'carol'), ['bun', 'jam', 'tea']);
  }),
);

test('a non-retryable failure, a failing merge, or running out of retries ends update at once', bounded, () =>
  withClient(async (client, node) => {
    node.fake.failNext('put', new EverwriteError('EVERWRITE_VALUE_TOO_LARGE', 'value too large'));
    await assert.rejects(client.update('carts', 'dave', unionWith(['x'])), {
      code: 'EVERWRITE_VALUE_TOO_LARGE',
      status: 413,
    });
    assert.equal(callsOf(node.fake, 'put'), 1);
    const bug = new Error('merge bug');
    await assert.rejects(
      client.update('carts', 'dave', () => {
        throw bug;
      }),
      (error) => error === bug,
    );
    assert.equal(callsOf(node.fake, 'put'), 1);
    node.fake.failNext('put', new EverwriteError('EVERWRITE_UNAVAILABLE', 'node is shutting down'));
    await assert.rejects(client.update('carts', 'dave', unionWith(['x']), { retries: 0 }), {
      code: 'EVERWRITE_UNAVAILABLE',
      status: 503,
    });
    await assert.rejects(client.update('carts', 'dave', unionWith(['x']), { retries: -1 }), {
      code: 'EVERWRITE_BAD_REQUEST',
    });
  }),
);

test('two concurrent updaters with a union merge lose no item (shopping cart)', bounded, () =>
  withClient(async (client) => {
    const items = (prefix: string) =>
      Array.from({ length: 15 }, (_, index) => `${prefix}${String(index).padStart(2, '0')}`);
    const updater = async (prefix: string) => {
      for (const item of items(prefix)) await client.update('carts', 'shared', unionWith([item]));
    };
    await Promise.all([updater('a'), updater('b')]);
    assert.deepEqual(await cartOf(client, 'shared'), [...items('a'), ...items('b')].sort());
  }),
);
