// Why: encoded records and storage keys are views of shared slabs (src/core/base/slab.ts), so the
// allocator must never hand out one byte twice: views that overlapped would let one record's
// bytes change another's on disk or on the wire. These cases pin that, the size threshold, the
// rollover to a fresh slab, and that a fresh view is zero-filled like `new Uint8Array(n)`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { propertyOptions } from '../../../support/property.ts';
import { AssertionFailure } from '../../../../src/core/base/assert.ts';
import { SlabAllocator, allocateBytes, defaultSlabOptions } from '../../../../src/core/base/slab.ts';

function assertDisjoint(views: readonly Uint8Array[]): void {
  const sorted = [...views].filter((view) => view.length > 0).sort((a, b) => a.byteOffset - b.byteOffset);
  for (let i = 1; i < sorted.length; i++) {
    const previous = sorted[i - 1] as Uint8Array;
    const current = sorted[i] as Uint8Array;
    if (previous.buffer === current.buffer)
      assert.ok(previous.byteOffset + previous.length <= current.byteOffset, 'views of one slab never overlap');
  }
}

/** Fills every view with its own byte, then checks each still holds only its own. */
function assertIndependent(views: readonly Uint8Array[]): void {
  views.forEach((view, index) => view.fill((index % 255) + 1));
  views.forEach((view, index) =>
    assert.ok(
      view.every((byte) => byte === (index % 255) + 1),
      `view ${index} kept its bytes`,
    ),
  );
}

test('views of a slab never overlap, and writing one never changes another', () => {
  fc.assert(
    fc.property(fc.array(fc.nat(40), { maxLength: 60 }), (lengths) => {
      const slab = new SlabAllocator({ slabBytes: 128, allocationBytesMax: 32 });
      const views = lengths.map((length) => slab.allocate(length));
      views.forEach((view, index) => assert.equal(view.length, lengths[index]));
      assertDisjoint(views);
      assertIndependent(views);
    }),
    propertyOptions(),
  );
});

test('the shared slab hands out disjoint, independent, zero-filled views', () => {
  const views = Array.from({ length: 2000 }, (_, index) => allocateBytes(1 + ((index * 37) % 300)));
  for (const view of views)
    assert.ok(
      view.every((byte) => byte === 0),
      'a fresh view is zero-filled',
    );
  assert.ok(
    views.some((view) => view.byteOffset !== 0),
    'small requests share slabs',
  );
  assertDisjoint(views);
  assertIndependent(views);
});

test('a request above the threshold gets an array of its own; one at the threshold comes from the slab', () => {
  const slab = new SlabAllocator({ slabBytes: 256, allocationBytesMax: 64 });
  const shared = slab.allocate(8);
  const atThreshold = slab.allocate(64);
  assert.equal(atThreshold.buffer, shared.buffer);
  const large = slab.allocate(65);
  assert.equal(large.length, 65);
  assert.equal(large.byteOffset, 0);
  assert.equal(large.buffer.byteLength, 65);
  assert.notEqual(large.buffer, shared.buffer);
  const afterLarge = slab.allocate(8);
  assert.equal(afterLarge.buffer, shared.buffer, 'a large request does not use up the current slab');
  assert.equal(afterLarge.byteOffset, 72);
  const huge = allocateBytes(defaultSlabOptions.allocationBytesMax + 1);
  assert.equal(huge.byteOffset, 0);
  assert.equal(huge.buffer.byteLength, defaultSlabOptions.allocationBytesMax + 1);
});

test('a full slab rolls over to a fresh one, and the views of the old one keep their bytes', () => {
  const slab = new SlabAllocator({ slabBytes: 64, allocationBytesMax: 64 });
  const first = slab.allocate(40);
  first.fill(7);
  const second = slab.allocate(24);
  assert.equal(second.buffer, first.buffer, 'an exact fit still comes from the current slab');
  assert.equal(second.byteOffset, 40);
  const third = slab.allocate(1);
  assert.notEqual(third.buffer, first.buffer, 'no room left: a fresh slab');
  assert.equal(third.byteOffset, 0);
  assert.equal(third.buffer.byteLength, 64);
  third.fill(9);
  assert.ok(first.every((byte) => byte === 7));
  assert.ok(second.every((byte) => byte === 0));
  const whole = slab.allocate(64);
  assert.notEqual(whole.buffer, third.buffer, 'a request that does not fit the rest starts another slab');
  assert.equal(whole.buffer.byteLength, 64);
});

test('zero-length requests work and take no room', () => {
  const slab = new SlabAllocator({ slabBytes: 16, allocationBytesMax: 16 });
  const empty = slab.allocate(0);
  assert.equal(empty.length, 0);
  const full = slab.allocate(16);
  assert.equal(full.buffer, empty.buffer);
  assert.equal(full.byteOffset, 0);
});

test('options and lengths are validated', () => {
  assert.throws(() => new SlabAllocator({ slabBytes: 16, allocationBytesMax: 17 }), AssertionFailure);
  assert.throws(() => new SlabAllocator({ slabBytes: 0 }), AssertionFailure);
  assert.throws(() => new SlabAllocator({ allocationBytesMax: 1.5 }), AssertionFailure);
  assert.ok(Object.isFrozen(new SlabAllocator().options));
  assert.throws(() => allocateBytes(-1), AssertionFailure);
  assert.throws(() => allocateBytes(2.5), AssertionFailure);
});
