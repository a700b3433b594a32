// Why: ring placement must agree on every node whichever MD5 computes it (the pure one in the core, or
// node:crypto's in a shell), so the pure MD5 is checked against node:crypto on random inputs of every
// length around the block and padding boundaries (55, 56, 63, 64, 119, 120 bytes, ...).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { propertyOptions } from '../../../support/property.ts';
import { md5 } from '../../../../src/core/base/md5.ts';
import { keyHash } from '../../../../src/core/ring/index.ts';

const nodeMd5 = (bytes: Uint8Array): Uint8Array => new Uint8Array(createHash('md5').update(bytes).digest());

test('md5 equals node:crypto md5 on random inputs of 0..300 bytes and a few long ones', () => {
  const input = fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ minLength: 1000, maxLength: 5000 }));
  fc.assert(
    fc.property(input, (bytes) => assert.deepEqual(md5(bytes), nodeMd5(bytes))),
    propertyOptions(),
  );
});

test('keyHash is the md5 of utf8(bucket + "/" + key) for any strings, ASCII or not, short or long', () => {
  const name = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({ minLength: 1500, maxLength: 2100 }),
  );
  fc.assert(
    fc.property(name, name, (bucket, key) => {
      const expected = nodeMd5(new TextEncoder().encode(`${bucket}/${key}`));
      assert.deepEqual(keyHash(md5, bucket, key), expected);
      assert.deepEqual(keyHash(nodeMd5, bucket, key), expected);
    }),
    propertyOptions(),
  );
});
