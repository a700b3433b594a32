// Why: the core's effects, the runtime's events and each peer's outgoing messages live in a
// ReusableList that is emptied and refilled several times per request. It must hand back exactly
// what was pushed since the last clear, in order, and let go of what it held when cleared.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReusableList } from '../../../../src/core/base/reusable-list.ts';

test('holds what was pushed since the last clear, in order, and refills after a clear', () => {
  const list = new ReusableList<string>();
  for (const item of ['a', 'b', 'c']) list.push(item);
  assert.equal(list.count, 3);
  assert.deepEqual([list.at(0), list.at(1), list.at(2)], ['a', 'b', 'c']);
  list.clear();
  assert.equal(list.count, 0);
  assert.deepEqual(list.toArray(), []);
  list.push('d');
  assert.equal(list.count, 1);
  assert.deepEqual(list.toArray(), ['d']);
  assert.equal(list.backing[0], 'd');
});

test('clear lets go of every item it held, and toArray is a copy', () => {
  const list = new ReusableList<object>();
  for (let index = 0; index < 20; index++) list.push({ index });
  const copy = list.toArray();
  list.clear();
  assert.equal(copy.length, 20);
  for (let index = 0; index < 20; index++) assert.equal(list.backing[index], undefined);
});
