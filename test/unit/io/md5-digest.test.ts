// Why: a running node hashes placements and anti-entropy leaves with nodeMd5 (src/io/md5-digest.ts),
// which switches to node:crypto for long inputs. Nodes, clients and the simulator place keys and
// compare trees with the core's pure MD5, so the two must give the same digest at every length,
// on both sides of the switch, or a running node would disagree with its peers and clients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toHex } from '../../../src/core/base/bytes.ts';
import { md5 } from '../../../src/core/base/md5.ts';
import { nativeMd5FromBytes, nodeMd5 } from '../../../src/io/md5-digest.ts';

function bytesOfLength(length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, index) => (index * 131 + length) & 0xff);
}

test('nodeMd5 gives the pure MD5 digest below, at and above its switch to node:crypto', () => {
  const lengths = [
    0,
    1,
    55,
    56,
    64,
    nativeMd5FromBytes - 1,
    nativeMd5FromBytes,
    nativeMd5FromBytes + 1,
    1150,
    4096,
    65_537,
  ];
  for (const length of lengths) {
    const bytes = bytesOfLength(length);
    assert.equal(toHex(nodeMd5(bytes)), toHex(md5(bytes)), `length ${length}`);
  }
});

test('nodeMd5 reads only the view it is given, not the rest of its buffer', () => {
  const backing = bytesOfLength(2048);
  const view = backing.subarray(100, 100 + 1150);
  assert.equal(toHex(nodeMd5(view)), toHex(md5(view.slice())));
});

test('nodeMd5 returns exactly 16 bytes for a long input', () => {
  const digest = nodeMd5(bytesOfLength(1150));
  assert.equal(digest.byteLength, 16);
  assert.equal(digest.length, 16);
});

test('given a 16-byte out, nodeMd5 and md5 write the digest there and return it, on both sides of the switch', () => {
  for (const length of [22, nativeMd5FromBytes + 1]) {
    const bytes = bytesOfLength(length);
    const out = new Uint8Array(16);
    assert.equal(nodeMd5(bytes, out), out, `length ${length}`);
    assert.equal(toHex(out), toHex(md5(bytes)), `length ${length}`);
    const again = new Uint8Array(16);
    assert.equal(md5(bytes, again), again);
    assert.equal(toHex(again), toHex(md5(bytes)));
  }
  assert.throws(() => md5(bytesOfLength(3), new Uint8Array(32)), RangeError);
});
