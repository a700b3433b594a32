// Why: round robin must spread requests evenly, a failed node must be skipped for a back-off that
// doubles and is capped, and the client must still try somewhere when every node is failing.
// The clock is injected, so these checks are exact and instant.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NodeSet } from '../../../src/client/node-set.ts';
import { ConcurrencyLimiter } from '../../../src/client/limiter.ts';

const urls = ['http://a:1', 'http://b:1', 'http://c:1'];

function setWithClock(): { nodes: NodeSet; clock: { nowMs: number } } {
  const clock = { nowMs: 1000 };
  return { nodes: new NodeSet(urls, 100, 400, () => clock.nowMs), clock };
}

test('next() goes round robin over every node', () => {
  const { nodes } = setWithClock();
  assert.deepEqual(
    Array.from({ length: 7 }, () => nodes.next()),
    [0, 1, 2, 0, 1, 2, 0],
  );
});

test('a failed node is skipped until its back-off ends, which doubles per failure up to the cap', () => {
  const { nodes, clock } = setWithClock();
  nodes.failed(1);
  assert.deepEqual(
    Array.from({ length: 4 }, () => nodes.next()),
    [0, 2, 0, 2],
  );
  clock.nowMs += 100;
  assert.equal(nodes.isHealthy(1), true);
  nodes.failed(1); // second failure: 200 ms
  clock.nowMs += 199;
  assert.equal(nodes.isHealthy(1), false);
  clock.nowMs += 1;
  assert.equal(nodes.isHealthy(1), true);
  nodes.failed(1); // 400
  nodes.failed(1); // 800 capped at 400
  clock.nowMs += 400;
  assert.equal(nodes.isHealthy(1), true);
  nodes.succeeded(1);
  nodes.failed(1); // back to 100 after a success
  clock.nowMs += 100;
  assert.equal(nodes.isHealthy(1), true);
});

test('when every node is backing off, the one recovering first is still chosen; excluded nodes never are', () => {
  const { nodes, clock } = setWithClock();
  nodes.failed(0);
  nodes.failed(0);
  clock.nowMs += 10;
  nodes.failed(1);
  nodes.failed(2);
  nodes.failed(2);
  assert.equal(nodes.next(), 1);
  assert.equal(nodes.next(new Set([1])), 0);
  assert.equal(nodes.next(new Set([0, 1, 2])), undefined);
});

test('preferHealthy keeps the given order among healthy nodes and puts backing-off ones last', () => {
  const { nodes } = setWithClock();
  nodes.failed(2);
  assert.deepEqual(nodes.preferHealthy([2, 0, 1]), [0, 1, 2]);
  assert.deepEqual(nodes.preferHealthy([1, 0]), [1, 0]);
});

test('the limiter runs at most maxConcurrency calls, queues the next ones in order, refuses beyond the queue, and refuses all on close', async () => {
  const limiter = new ConcurrencyLimiter(2, 2);
  await limiter.acquire();
  await limiter.acquire();
  const order: number[] = [];
  const third = limiter.acquire().then(() => order.push(3));
  const fourth = limiter.acquire().then(() => order.push(4));
  await assert.rejects(limiter.acquire(), { code: 'EVERWRITE_OVERLOADED' });
  assert.equal(limiter.queued, 2);
  limiter.release();
  limiter.release();
  await Promise.all([third, fourth]);
  assert.deepEqual(order, [3, 4]);
  assert.equal(limiter.inFlight, 2);
  const fifth = limiter.acquire();
  limiter.close();
  await assert.rejects(fifth, { code: 'EVERWRITE_CLIENT_CLOSED' });
  await assert.rejects(limiter.acquire(), { code: 'EVERWRITE_CLIENT_CLOSED' });
});
