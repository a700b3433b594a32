// Why: the change log is the time-ordered summary the fast catch-up lists a returning peer's missed
// keys from (decision 0020). It must list exactly the distinct keys stored since a time, stay within
// its entry and byte bounds, and say it no longer covers a time once entries from it were evicted, or
// when that time is before the log began (a restart): a wrong "covers" would skip keys silently.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChangeLog } from '../../../../src/core/anti-entropy/index.ts';

const everyPartition = (): boolean => true;

test('lists the distinct keys stored since a time, by partition', () => {
  const log = new ChangeLog({ entriesMax: 100, keyBytesMax: 10_000 }, 1000);
  log.note(1000, 1, 'a');
  log.note(1005, 2, 'b');
  log.note(1010, 1, 'c');
  log.note(1010, 1, 'a');
  assert.deepEqual([...log.changesSince(1005, everyPartition)!].sort(), [
    [1, ['c', 'a']],
    [2, ['b']],
  ]);
  assert.deepEqual([...log.changesSince(1006, everyPartition)!], [[1, ['c', 'a']]]);
  assert.deepEqual([...log.changesSince(1000, (partition) => partition === 2)!], [[2, ['b']]]);
  assert.deepEqual([...log.changesSince(2000, everyPartition)!], []);
});

test('does not cover a time before it began: a restarted node falls back', () => {
  const log = new ChangeLog({ entriesMax: 100, keyBytesMax: 10_000 }, 5000);
  assert.equal(log.covers(4999), false);
  assert.equal(log.changesSince(4999, everyPartition), undefined);
  assert.equal(log.covers(5000), true);
});

test('evicts the oldest past its entry bound and stops covering their time', () => {
  const log = new ChangeLog({ entriesMax: 3, keyBytesMax: 10_000 }, 0);
  for (let index = 0; index < 5; index++) log.note(index * 10, 0, `k${index}`);
  assert.equal(log.size, 3);
  assert.equal(log.covers(10), false, 'k1 at 10 was evicted');
  assert.equal(log.covers(11), true);
  assert.deepEqual(log.changesSince(11, everyPartition)?.get(0), ['k2', 'k3', 'k4']);
});

test('evicts past its key byte bound; a key larger than the bound ends coverage of everything before it', () => {
  const log = new ChangeLog({ entriesMax: 100, keyBytesMax: 10 }, 0);
  log.note(1, 0, 'aaaa');
  log.note(2, 0, 'bbbb');
  log.note(3, 0, 'cccc');
  assert.equal(log.bytes, 8);
  assert.equal(log.covers(1), false, 'aaaa at 1 was evicted');
  assert.equal(log.covers(2), true);
  log.note(4, 0, 'x'.repeat(11));
  assert.equal(log.covers(4), false, 'the oversized key at 4 is not in the log');
  assert.equal(log.covers(5), true);
});

test('a clock going back is held at its last reading, so the log stays in time order', () => {
  const log = new ChangeLog({ entriesMax: 10, keyBytesMax: 100 }, 0);
  log.note(100, 0, 'late');
  log.note(50, 0, 'earlier-clock');
  assert.deepEqual(log.changesSince(100, everyPartition)?.get(0), ['late', 'earlier-clock']);
});
