// Why: RecentForwards is what makes a duplicated forward frame run once; its memory must also stay
// bounded in time and count, since any authenticated peer can send forwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asNodeId } from '../../../../src/core/base/ids.ts';
import { RecentForwards } from '../../../../src/core/node/recent-forwards.ts';

const n2 = asNodeId('n2');
const n3 = asNodeId('n3');

test('a (sender, id) is taken once within the memory; the same id from another sender is another request', () => {
  const recent = new RecentForwards(1000, 10);
  assert.equal(recent.firstArrival(n2, 1, 0), true);
  assert.equal(recent.firstArrival(n2, 1, 999), false);
  assert.equal(recent.firstArrival(n3, 1, 999), true);
});

test('the memory forgets after its window and never holds more than its cap', () => {
  const recent = new RecentForwards(1000, 10);
  recent.firstArrival(n2, 1, 0);
  assert.equal(recent.firstArrival(n2, 1, 1000), true, 'remembered for the window only');
  for (let id = 100; id < 200; id++) recent.firstArrival(n2, id, 1500);
  assert.equal(recent.size, 10, 'a flood of forwards keeps the cap');
  assert.equal(recent.firstArrival(n2, 199, 1500), false, 'the newest are the ones kept');
});
