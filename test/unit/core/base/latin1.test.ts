// Why: latin1Text keys the Merkle trees' maps by storage key bytes, so it must give one char per
// byte for every byte value and every length, including the lengths whose code array it reuses,
// the ones past them, and calls of alternating lengths that reuse each other's arrays; latin1Bytes
// turns such a string back into the same bytes (a tree's and a catch-up's keys go back on the wire).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { latin1Bytes, latin1Text } from '../../../../src/core/base/latin1.ts';

function reference(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return text;
}

test('one char per byte, for every byte value and for short, reused and long lengths', () => {
  const every = Uint8Array.from({ length: 256 }, (_, index) => index);
  assert.equal(latin1Text(every), reference(every));
  for (const length of [0, 1, 25, 255, 256, 257, 8192, 20_000]) {
    const bytes = Uint8Array.from({ length }, (_, index) => (index * 131 + length) & 0xff);
    assert.equal(latin1Text(bytes), reference(bytes), `length ${length}`);
    // Again with other bytes of the same length: the reused array holds nothing of the last call.
    const other = bytes.map((byte) => 255 - byte);
    assert.equal(latin1Text(other), reference(other), `length ${length}, second call`);
  }
});

test('latin1Bytes gives back the bytes latin1Text was given', () => {
  const every = Uint8Array.from({ length: 256 }, (_, index) => index);
  assert.deepEqual(latin1Bytes(latin1Text(every)), every);
  assert.deepEqual(latin1Bytes(''), new Uint8Array(0));
});
