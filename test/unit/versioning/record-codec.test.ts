// Why: stored records are hashed for Merkle leaves and shipped between replicas, so their layout
// must be canonical and damage must surface as EVERWRITE_BAD_RECORD; these cases pin both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EverwriteError } from '../../../src/core/base/errors.ts';
import { decodeRecord, emptyRecord, encodeRecord, recordsEqual, update, type VersionedRecord } from '../../../src/core/versioning/index.ts';
import { text, tombstone } from './support.ts';

function rejects(bytes: number[] | Uint8Array, pattern: RegExp): void {
  assert.throws(
    () => decodeRecord(Uint8Array.from(bytes)),
    (error: unknown) => error instanceof EverwriteError && error.code === 'EVERWRITE_BAD_RECORD' && pattern.test(error.message),
  );
}

const ascii = (value: string): number[] => [...new TextEncoder().encode(value)];

test('a record with siblings and a tombstone round-trips', () => {
  let record: VersionedRecord = update(emptyRecord, new Map(), 'b.1', text('héllo', 1_700_000_000_000));
  record = update(record, new Map(), 'a.2', tombstone(1_700_000_000_001));
  record = update(record, new Map([['z.9', 40]]), 'a.2', { value: Uint8Array.from([0, 255]), contentType: 'application/octet-stream', lastModifiedMs: 3, deleted: false });
  const decoded = decodeRecord(encodeRecord(record));
  assert.ok(recordsEqual(decoded, record));
  assert.deepEqual(decoded, record);
  assert.deepEqual(decodeRecord(encodeRecord(emptyRecord)), emptyRecord);
});

test('the layout is the documented one', () => {
  const record = update(emptyRecord, new Map(), 'a.1', text('hi', 300));
  assert.deepEqual([...encodeRecord(record)], [1, 1, 3, ...ascii('a.1'), 1, 1, 0, 1, 0, 0xac, 0x02, 10, ...ascii('text/plain'), 2, ...ascii('hi')]);
});

test('equal records encode to equal bytes whatever the order they were built in', () => {
  const one = { context: new Map([['a.1', 1], ['b.1', 2]]), siblings: [{ dot: { actor: 'b.1', counter: 2 }, stored: text('x') }, { dot: { actor: 'a.1', counter: 1 }, stored: text('y') }] };
  const two = { context: new Map([['b.1', 2], ['a.1', 1]]), siblings: [...one.siblings].reverse() };
  assert.deepEqual(encodeRecord(one), encodeRecord(two));
});

test('decoded values are copies, not views of the input buffer', () => {
  const bytes = encodeRecord(update(emptyRecord, new Map(), 'a.1', text('abc')));
  const decoded = decodeRecord(bytes);
  bytes.fill(0);
  assert.equal(new TextDecoder().decode(decoded.siblings[0]?.stored.value), 'abc');
  assert.notEqual(decoded.siblings[0]?.stored.value.buffer, bytes.buffer);
});

test('decoding rejects damaged layouts with EVERWRITE_BAD_RECORD', () => {
  const good = [...encodeRecord(update(emptyRecord, new Map(), 'a.1', text('hi', 300)))];
  rejects([], /truncated/);
  rejects([2, 0, 0], /version/);
  rejects(good.slice(0, -1), /truncated/);
  rejects([...good, 0], /trailing/);
  rejects([1, 2, 1, 98, 1, 1, 97, 1, 0], /out of order/);
  rejects([1, 2, 1, 97, 1, 1, 97, 1, 0], /out of order/);
  rejects([1, 1, 1, 97, 1, 1, 1, 1, 0, 0, 0, 0], /out of range/);
  rejects([1, 1, 1, 97, 1, 1, 0, 2, 0, 0, 0, 0], /not covered/);
  rejects([1, 1, 1, 97, 1, 1, 0, 1, 4, 0, 0, 0], /flags/);
  rejects([1, 1, 1, 97, 1, 1, 0, 1, 1, 0, 0, 1, 7], /tombstone/);
  rejects([1, 1, 1, 97, 2, 2, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0], /out of order/);
  rejects([1, 1, 1, 97, 1, 0x7f], /count exceeds/);
});

test('names that start with a byte order mark keep it through a round trip', () => {
  const record = update(emptyRecord, new Map(), '\uFEFFn1.1', { ...text('x'), contentType: '\uFEFF\uFEFFtext/é' });
  assert.deepEqual(decodeRecord(encodeRecord(record)), record);
});
