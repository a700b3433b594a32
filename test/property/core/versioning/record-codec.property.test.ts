// Why: records live on disk and cross the network, so the codec must round-trip every valid record,
// be canonical (whatever decodes re-encodes to the very same bytes, which Merkle hashing relies on),
// and report any bit flip or truncation as EVERWRITE_BAD_RECORD or as another valid record. A record
// of the legacy layout (version 1, before timestamps) decodes with timestamp = lastModifiedMs * 1024
// and re-encodes, as version 2, to bytes that decode to the same record.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { propertyOptions } from '../../../support/property.ts';
import { EverwriteError } from '../../../../src/core/base/errors.ts';
import {
  covers,
  decodeRecord,
  encodeRecord,
  recordLayoutVersion,
  recordsEqual,
  type VersionedRecord,
} from '../../../../src/core/versioning/index.ts';
import { anyRecord } from './arbitraries.ts';

test('every valid record round-trips through the record codec', () => {
  fc.assert(
    fc.property(anyRecord, (record) => {
      const decoded = decodeRecord(encodeRecord(record));
      assert.deepEqual(decoded, record);
      assert.ok(recordsEqual(decoded, record));
    }),
    propertyOptions(),
  );
});

function decodesCanonicallyOrRejects(bytes: Uint8Array): void {
  let record: VersionedRecord;
  try {
    record = decodeRecord(bytes);
  } catch (error) {
    assert.ok(error instanceof EverwriteError, `threw ${String(error)}`);
    assert.equal(error.code, 'EVERWRITE_BAD_RECORD');
    return;
  }
  for (const sibling of record.siblings) assert.ok(covers(record.context, sibling.dot));
  const encoded = encodeRecord(record);
  if (bytes[0] === recordLayoutVersion) {
    assert.deepEqual(encoded, bytes, 'whatever decodes re-encodes to the same bytes');
    return;
  }
  assert.equal(bytes[0], 1, 'only the legacy layout decodes besides the current one');
  for (const sibling of record.siblings) assert.equal(sibling.stored.timestamp, sibling.stored.lastModifiedMs * 1024);
  assert.equal(encoded[0], recordLayoutVersion);
  assert.deepEqual(
    decodeRecord(encoded),
    record,
    'a legacy record re-encodes to the same record in the current layout',
  );
}

test('fuzz: bit flips, truncations and insertions fail with EVERWRITE_BAD_RECORD or decode canonically', () => {
  const mutation = fc.tuple(fc.nat(), fc.nat(255), fc.constantFrom('flip', 'truncate', 'insert', 'delete'));
  fc.assert(
    fc.property(anyRecord, fc.array(mutation, { minLength: 1, maxLength: 4 }), (record, mutations) => {
      const bytes = [...encodeRecord(record)];
      for (const [position, byte, kind] of mutations) {
        const at = bytes.length === 0 ? 0 : position % bytes.length;
        if (kind === 'flip') bytes[at] = (bytes[at] ?? 0) ^ (1 << (byte % 8));
        else if (kind === 'truncate') bytes.length = at;
        else if (kind === 'insert') bytes.splice(at, 0, byte);
        else bytes.splice(at, 1);
      }
      decodesCanonicallyOrRejects(Uint8Array.from(bytes));
    }),
    propertyOptions(3000),
  );
});

test('fuzz: arbitrary bytes fail with EVERWRITE_BAD_RECORD or decode canonically', () => {
  const prefixed = (version: number) => fc.uint8Array({ maxLength: 60 }).map((tail) => Uint8Array.of(version, ...tail));
  const bytes = fc.oneof(fc.uint8Array({ maxLength: 100 }), prefixed(recordLayoutVersion), prefixed(1));
  fc.assert(fc.property(bytes, decodesCanonicallyOrRejects), propertyOptions(3000));
});
