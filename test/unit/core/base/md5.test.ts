// Why: the pure MD5 must be exactly RFC 1321, or nodes that hash with node:crypto and the core would
// disagree on placement. These are the RFC's own test vectors, plus the padding boundaries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { toHex } from '../../../../src/core/base/bytes.ts';
import { md5 } from '../../../../src/core/base/md5.ts';

const encoder = new TextEncoder();

test('md5 matches the RFC 1321 test suite', () => {
  const vectors: Array<[string, string]> = [
    ['', 'd41d8cd98f00b204e9800998ecf8427e'],
    ['a', '0cc175b9c0f1b6a831c399e269772661'],
    ['abc', '900150983cd24fb0d6963f7d28e17f72'],
    ['message digest', 'f96b697d7cb7938d525a2f31aaf161d0'],
    ['abcdefghijklmnopqrstuvwxyz', 'c3fcd3d76192e4007dfb496cca67e13b'],
    ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 'd174ab98d277d9f5a5611c2c9f419d9f'],
    ['1234567890'.repeat(8), '57edf4a22be3c955ac49da2e2107b67a'],
  ];
  for (const [input, expected] of vectors)
    assert.equal(toHex(md5(encoder.encode(input))), expected, JSON.stringify(input));
});

test('md5 agrees with node:crypto at every length from 0 to 200 bytes (all padding cases)', () => {
  for (let length = 0; length <= 200; length++) {
    const bytes = Uint8Array.from({ length }, (_, index) => (index * 131 + length) & 0xff);
    assert.equal(toHex(md5(bytes)), createHash('md5').update(bytes).digest('hex'), `length ${length}`);
  }
});

test('md5 returns a fresh 16-byte array each call and leaves its input untouched', () => {
  const input = encoder.encode('placement');
  const copy = input.slice();
  const first = md5(input);
  const second = md5(input);
  assert.notEqual(first, second);
  assert.deepEqual(first, second);
  assert.equal(first.length, 16);
  assert.deepEqual(input, copy);
});
