// Why: the change log is the time-ordered summary the fast catch-up lists a returning peer's missed
// keys from (decision 0020). It must list exactly the distinct keys stored since a time, stay within
// its entry and byte bounds, and say it no longer covers a time once entries from it were evicted, or
// when that time is before the log began (a restart): a wrong "covers" would skip keys silently.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChangeLog } from '../../../../src/core/anti-entropy/index.ts';

const everyPartition = (): boolean => true;
/** A storage key's bytes from its latin1 text. */
const bytes = (text: string): Uint8Array => Uint8Array.from(text, (char) => char.charCodeAt(0));

test('lists the distinct keys stored since a time, by partition', () => {
  const log = new ChangeLog({ entriesMax: 100, keyBytesMax: 10_000 }, 1000);
  log.note(1000, 1, bytes('a'));
  log.note(1005, 2, bytes('b'));
  log.note(1010, 1, bytes('c'));
  log.note(1010, 1, bytes('a'));
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
  for (let index = 0; index < 5; index++) log.note(index * 10, 0, bytes(`k${index}`));
  assert.equal(log.size, 3);
  assert.equal(log.covers(10), false, 'k1 at 10 was evicted');
  assert.equal(log.covers(11), true);
  assert.deepEqual(log.changesSince(11, everyPartition)?.get(0), ['k2', 'k3', 'k4']);
});

test('evicts past its key byte bound; a key larger than the bound ends coverage of everything before it', () => {
  const log = new ChangeLog({ entriesMax: 100, keyBytesMax: 10 }, 0);
  log.note(1, 0, bytes('aaaa'));
  log.note(2, 0, bytes('bbbb'));
  log.note(3, 0, bytes('cccc'));
  assert.equal(log.bytes, 8);
  assert.equal(log.covers(1), false, 'aaaa at 1 was evicted');
  assert.equal(log.covers(2), true);
  log.note(4, 0, bytes('x'.repeat(11)));
  assert.equal(log.covers(4), false, 'the oversized key at 4 is not in the log');
  assert.equal(log.covers(5), true);
});

test('a clock going back is held at its last reading, so the log stays in time order', () => {
  const log = new ChangeLog({ entriesMax: 10, keyBytesMax: 100 }, 0);
  log.note(100, 0, bytes('late'));
  log.note(50, 0, bytes('earlier-clock'));
  assert.deepEqual(log.changesSince(100, everyPartition)?.get(0), ['late', 'earlier-clock']);
});

test('keys of every length read back whole while the key ring wraps and grows', () => {
  // The ring starts at 4096 bytes. Short keys first (400 entries hold ~2000 bytes) wrap it while
  // the entry bound evicts; longer keys then fill it past 4096, so it grows holding wrapped bytes,
  // and wraps again in its grown length under the byte bound of 5000. Checked every 50 notes.
  const entriesMax = 400;
  const keyBytesMax = 5000;
  const log = new ChangeLog({ entriesMax, keyBytesMax }, 0);
  const model: Array<{ timeMs: number; key: string }> = [];
  for (let index = 0; index < 3000; index++) {
    const first = String.fromCharCode(index % 256);
    const key = index < 1500 ? `${first}${index}` : `${first}key-${index}-${'z'.repeat(index % 37)}`;
    log.note(index, index % 3, bytes(key));
    model.push({ timeMs: index, key });
    if (index % 50 === 49) assertHolds(log, model, entriesMax, keyBytesMax);
  }
});

/** The log holds exactly the newest entries of `model` that fit both bounds, keys intact. */
function assertHolds(
  log: ChangeLog,
  model: ReadonlyArray<{ timeMs: number; key: string }>,
  entriesMax: number,
  keyBytesMax: number,
): void {
  let heldBytes = 0;
  let firstHeld = model.length;
  while (firstHeld > 0 && model.length - firstHeld < entriesMax) {
    const candidate = model[firstHeld - 1]!;
    if (heldBytes + candidate.key.length > keyBytesMax) break;
    heldBytes += candidate.key.length;
    firstHeld--;
  }
  assert.equal(log.size, model.length - firstHeld);
  assert.equal(log.bytes, heldBytes);
  const listed = log.changesSince(model[firstHeld]!.timeMs, everyPartition)!;
  for (let partition = 0; partition < 3; partition++) {
    const keys = model
      .slice(firstHeld)
      .filter((entry) => entry.timeMs % 3 === partition)
      .map((entry) => entry.key);
    assert.deepEqual(listed.get(partition) ?? [], keys);
  }
}
