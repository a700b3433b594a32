// Why: stored records are hashed for Merkle leaves and shipped between replicas, so their layout
// must be canonical and damage must surface as EVERWRITE_BAD_RECORD; these cases pin both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EverwriteError } from '../../../../src/core/base/errors.ts';
import {
  decodeOwnedRecord,
  decodeRecord,
  dotCounterMax,
  emptyRecord,
  encodeRecord,
  recordsEqual,
  update,
  type VersionedRecord,
} from '../../../../src/core/versioning/index.ts';
import { writeVarint } from '../../../../src/core/versioning/wire.ts';
import { text, tombstone } from './support.ts';

function rejects(bytes: number[] | Uint8Array, pattern: RegExp): void {
  assert.throws(
    () => decodeRecord(Uint8Array.from(bytes)),
    (error: unknown) =>
      error instanceof EverwriteError && error.code === 'EVERWRITE_BAD_RECORD' && pattern.test(error.message),
  );
}

const ascii = (value: string): number[] => [...new TextEncoder().encode(value)];

test('a record with siblings and a tombstone round-trips', () => {
  let record: VersionedRecord = update(emptyRecord, new Map(), 'b.1', text('héllo', 1_700_000_000_000));
  record = update(record, new Map(), 'a.2', tombstone(1_700_000_000_001));
  record = update(record, new Map([['z.9', 40]]), 'a.2', {
    value: Uint8Array.from([0, 255]),
    contentType: 'application/octet-stream',
    lastModifiedMs: 3,
    deleted: false,
    timestamp: 3 * 1024,
  });
  record = update(
    record,
    new Map(),
    'c.1',
    text('ran ahead of its wall clock', 1_700_000_000_000, 1_700_000_010_000 * 1024 + 5),
  );
  record = update(
    record,
    new Map(),
    'd.1',
    text('stamped behind its wall clock', 1_700_000_000_000, 1_700_000_000_000 * 1024 - 3),
  );
  assert.equal(record.siblings.length, 5);
  const decoded = decodeRecord(encodeRecord(record));
  assert.ok(recordsEqual(decoded, record));
  assert.deepEqual(decoded, record);
  assert.deepEqual(decodeRecord(encodeRecord(emptyRecord)), emptyRecord);
});

test('the layout is the documented one', () => {
  const record = update(emptyRecord, new Map(), 'a.1', text('hi', 300));
  assert.deepEqual(
    [...encodeRecord(record)],
    [2, 1, 3, ...ascii('a.1'), 1, 1, 0, 1, 0, 0xac, 0x02, 0, 10, ...ascii('text/plain'), 2, ...ascii('hi')],
  );
  const ahead = update(emptyRecord, new Map(), 'a.1', text('hi', 300, 300 * 1024 + 130));
  assert.deepEqual(
    [...encodeRecord(ahead)].slice(11, 14),
    [0xac, 0x02, 0x82],
    'the timestamp is its distance from lastModifiedMs * 1024',
  );
  assert.equal(encodeRecord(ahead)[14], 0x01);
  const behind = update(emptyRecord, new Map(), 'a.1', text('hi', 300, 300 * 1024 - 2));
  assert.deepEqual(
    [...encodeRecord(behind)].slice(10, 14),
    [2, 0xac, 0x02, 2],
    'flag bit 1: the timestamp is below it',
  );
});

test('the timestamp costs one byte while no clock ran ahead, and four for a 10 s lead', () => {
  const wallMs = 1_700_000_000_000;
  const size = (timestamp: number): number =>
    encodeRecord(update(emptyRecord, new Map(), 'n1.1', text('v', wallMs, timestamp))).length;
  const legacySize = size(wallMs * 1024) - 1;
  assert.equal(size(wallMs * 1024 + 3) - legacySize, 1);
  assert.equal(size((wallMs + 10_000) * 1024) - legacySize, 4);
});

test('a record of layout version 1 (before timestamps) decodes with timestamp = lastModifiedMs * 1024, and re-encodes as version 2', () => {
  const legacy = Uint8Array.from([
    1,
    1,
    3,
    ...ascii('a.1'),
    1,
    1,
    0,
    1,
    0,
    0xac,
    0x02,
    10,
    ...ascii('text/plain'),
    2,
    ...ascii('hi'),
  ]);
  const decoded = decodeRecord(legacy);
  assert.deepEqual(decoded, update(emptyRecord, new Map(), 'a.1', text('hi', 300, 300 * 1024)));
  const upgraded = encodeRecord(decoded);
  assert.equal(upgraded[0], 2);
  assert.deepEqual(decodeRecord(upgraded), decoded);
});

test('equal records encode to equal bytes whatever the order they were built in', () => {
  const one = {
    context: new Map([
      ['a.1', 1],
      ['b.1', 2],
    ]),
    siblings: [
      { dot: { actor: 'b.1', counter: 2 }, stored: text('x') },
      { dot: { actor: 'a.1', counter: 1 }, stored: text('y') },
    ],
  };
  const two = {
    context: new Map([
      ['b.1', 2],
      ['a.1', 1],
    ]),
    siblings: [...one.siblings].reverse(),
  };
  assert.deepEqual(encodeRecord(one), encodeRecord(two));
});

test('decoded values are copies, not views of the input buffer', () => {
  const bytes = encodeRecord(update(emptyRecord, new Map(), 'a.1', text('abc')));
  const decoded = decodeRecord(bytes);
  bytes.fill(0);
  assert.equal(new TextDecoder().decode(decoded.siblings[0]?.stored.value), 'abc');
  assert.notEqual(decoded.siblings[0]?.stored.value.buffer, bytes.buffer);
});

test('decodeOwnedRecord decodes the same record, its values views of the input (for a read-modify-write that owns its bytes)', () => {
  let record = update(emptyRecord, new Map(), 'a.1', text('first'));
  record = update(record, new Map(), 'b.1', text('second'));
  const bytes = encodeRecord(record);
  const owned = decodeOwnedRecord(bytes);
  assert.deepEqual(owned, decodeRecord(bytes));
  for (const sibling of owned.siblings) assert.equal(sibling.stored.value.buffer, bytes.buffer, 'a view, not a copy');
  assert.deepEqual(decodeRecord(encodeRecord(owned)), record, 'a record holding views encodes like any other');
  assert.throws(
    () => decodeOwnedRecord(bytes.subarray(0, bytes.length - 1)),
    (error: unknown) => error instanceof EverwriteError && error.code === 'EVERWRITE_BAD_RECORD',
  );
});

test('decoding rejects damaged layouts with EVERWRITE_BAD_RECORD', () => {
  const good = [...encodeRecord(update(emptyRecord, new Map(), 'a.1', text('hi', 300)))];
  rejects([], /truncated/);
  rejects([3, 0, 0], /version/);
  rejects([0, 0, 0], /version/);
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

test('decoding rejects damaged timestamps with EVERWRITE_BAD_RECORD', () => {
  // version 2, context {a: 1}, one sibling at a:1, then flags, lastModifiedMs, offset, '' type, no value.
  const sibling = (...tail: number[]): number[] => [2, 1, 1, 97, 1, 1, 0, 1, ...tail];
  assert.equal(decodeRecord(Uint8Array.from(sibling(0, 1, 5, 0, 0))).siblings[0]?.stored.timestamp, 1024 + 5);
  assert.equal(decodeRecord(Uint8Array.from(sibling(2, 1, 5, 0, 0))).siblings[0]?.stored.timestamp, 1024 - 5);
  rejects(sibling(2, 1, 0, 0, 0), /negative zero/);
  rejects(sibling(2, 1, 0x81, 0x08, 0, 0), /below zero/);
  rejects(sibling(4, 1, 0, 0, 0), /flags/);
  rejects([1, 1, 1, 97, 1, 1, 0, 1, 2, 0, 0, 0], /flags/);
  // lastModifiedMs = 2^49 is past the clock range (2^53 / 1024 ms).
  rejects(sibling(0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0, 0, 0), /clock range/);
  // lastModifiedMs = physicalMsMax (0x7ff_ffff_ffff) and an offset past 2^53.
  rejects(sibling(0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x80, 0x08, 0, 0), /beyond 2\^53/);
  rejects(sibling(0, 1, 0, 0), /count exceeds/); // a sibling takes at least 7 bytes now
});

test('names that start with a byte order mark keep it through a round trip', () => {
  const record = update(emptyRecord, new Map(), '\uFEFFn1.1', { ...text('x'), contentType: '\uFEFF\uFEFFtext/é' });
  assert.deepEqual(decodeRecord(encodeRecord(record)), record);
});

test('decoding refuses a context counter past dotCounterMax (damaged storage, or a peer record nobody could mint)', () => {
  const recordWithCounter = (counter: number): Uint8Array => {
    const bytes = new Uint8Array(32);
    bytes.set([2, 1, 3, ...ascii('a.1')]);
    const end = writeVarint(bytes, 6, counter);
    bytes[end] = 0;
    return bytes.subarray(0, end + 1);
  };
  assert.equal(decodeRecord(recordWithCounter(dotCounterMax)).context.get('a.1'), dotCounterMax);
  for (const counter of [dotCounterMax + 1, 2 ** 53 - 2, 2 ** 53 - 1])
    rejects(recordWithCounter(counter), /counter beyond/);
});
