// Why: a storage key is written by one code path for ASCII names and another for the rest, and a
// replica checks placement from the storage key's bytes without decoding it. All three must agree
// with the definitions: length-prefixed UTF-8 names, and placement by utf8(bucket + "/" + key).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { propertyOptions } from '../../../support/property.ts';
import { decodeStorageKey, encodeStorageKey, placementInput } from '../../../../src/core/protocol/storage-key.ts';

const name = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ minLength: 1500, maxLength: 2100 }),
);
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

function referenceStorageKey(bucket: string, key: string): Uint8Array {
  const bucketBytes = utf8(bucket);
  const keyBytes = utf8(key);
  return Uint8Array.from([bucketBytes.length >> 8, bucketBytes.length & 0xff, ...bucketBytes, ...keyBytes]);
}

test('encodeStorageKey is length-prefixed UTF-8 for any names, and decodes back to them', () => {
  fc.assert(
    fc.property(name, name, (bucket, key) => {
      const encoded = encodeStorageKey(bucket, key);
      assert.deepEqual(encoded, referenceStorageKey(bucket, key));
      if (
        utf8(bucket).length <= 0xffff &&
        new TextDecoder().decode(utf8(key)) === key &&
        new TextDecoder().decode(utf8(bucket)) === bucket
      ) {
        assert.deepEqual(decodeStorageKey(encoded), { bucket, key });
      }
    }),
    propertyOptions(),
  );
});

test('placementInput of a storage key is utf8(bucket + "/" + key), the bytes keys are placed by', () => {
  fc.assert(
    fc.property(name, name, (bucket, key) => {
      assert.deepEqual(placementInput(encodeStorageKey(bucket, key)), utf8(`${bucket}/${key}`));
    }),
    propertyOptions(),
  );
});

test('placementInput refuses a truncated storage key', () => {
  assert.equal(placementInput(new Uint8Array([0])), undefined);
  assert.equal(placementInput(new Uint8Array([0, 5, 97])), undefined);
});
