// Why: the paper's vector clocks are the reference the DVV design is measured against; these tests
// pin their semantics (compare, merge, increment) and show the cost of truncation at 10 entries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  clockFromEntries,
  compareClocks,
  counterOf,
  emptyClock,
  incrementClock,
  mergeClocks,
  truncateClock,
  type VectorClock,
} from '../../../../src/core/versioning/vector-clock.ts';

function clock(counters: Record<string, number>, timestampMs = 0): VectorClock {
  return clockFromEntries(Object.entries(counters).map(([node, counter]) => ({ node, counter, timestampMs })));
}

test('compareClocks orders ancestors, descendants, equal and concurrent clocks', () => {
  assert.equal(compareClocks(emptyClock, emptyClock), 'equal');
  assert.equal(compareClocks(clock({ a: 1 }), clock({ a: 2 })), 'before');
  assert.equal(compareClocks(clock({ a: 2 }), clock({ a: 1 })), 'after');
  assert.equal(compareClocks(clock({ a: 1 }), clock({ a: 1, b: 1 })), 'before');
  assert.equal(compareClocks(clock({ a: 2, b: 1 }), clock({ a: 1, b: 2 })), 'concurrent');
  assert.equal(compareClocks(clock({ a: 1 }), clock({ b: 1 })), 'concurrent');
  assert.equal(compareClocks(clock({ a: 1, b: 3 }), clock({ b: 3, a: 1 })), 'equal');
});

test('mergeClocks takes the pointwise maximum and keeps the timestamp of the larger counter', () => {
  const merged = mergeClocks(
    clockFromEntries([{ node: 'a', counter: 2, timestampMs: 20 }]),
    clockFromEntries([
      { node: 'a', counter: 1, timestampMs: 50 },
      { node: 'b', counter: 1, timestampMs: 5 },
    ]),
  );
  assert.deepEqual(merged, [
    { node: 'a', counter: 2, timestampMs: 20 },
    { node: 'b', counter: 1, timestampMs: 5 },
  ]);
});

test('incrementClock advances one node and stamps it with the given time', () => {
  const first = incrementClock(emptyClock, 'a', 100);
  const second = incrementClock(first, 'a', 200);
  assert.equal(counterOf(second, 'a'), 2);
  assert.deepEqual(second, [{ node: 'a', counter: 2, timestampMs: 200 }]);
  assert.equal(compareClocks(first, second), 'before');
});

test('truncation past 10 entries drops the entry with the oldest timestamp', () => {
  let current = emptyClock;
  for (let i = 0; i < 10; i++) current = incrementClock(current, `node-${String(i).padStart(2, '0')}`, 1000 + i);
  assert.equal(current.length, 10);
  // node-00 wrote first (t=1000): it is the one to go when an 11th node writes.
  const truncated = incrementClock(current, 'node-10', 5000);
  assert.equal(truncated.length, 10);
  assert.equal(counterOf(truncated, 'node-00'), 0);
  assert.equal(counterOf(truncated, 'node-10'), 1);
  assert.deepEqual(
    truncateClock(truncated, 3).map((entry) => entry.node),
    ['node-08', 'node-09', 'node-10'],
  );
});

test('truncation never drops the node that is writing, even if its timestamp is the oldest', () => {
  const crowded = clockFromEntries(
    Array.from({ length: 10 }, (_, i) => ({ node: `n${i}`, counter: 1, timestampMs: 100 + i })),
  );
  const next = incrementClock(crowded, 'late', 1);
  assert.equal(counterOf(next, 'late'), 1);
  assert.equal(counterOf(next, 'n0'), 0);
  assert.equal(next.length, 10);
});

test('truncation causes a false conflict: a true descendant compares as concurrent', () => {
  let ancestor = emptyClock;
  for (let i = 0; i < 10; i++) ancestor = incrementClock(ancestor, `n${i}`, i);
  const descendant = incrementClock(ancestor, 'n10', 100);
  assert.equal(compareClocks(ancestor, descendant), 'concurrent');
  assert.equal(compareClocks(ancestor, incrementClock(ancestor, 'n10', 100, 20)), 'before');
});
