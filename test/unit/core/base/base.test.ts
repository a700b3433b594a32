// Why: the base primitives everything else leans on: the seeded PRNG must replay exactly, and
// coded errors must carry their HTTP status from the one error table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Prng } from '../../../../src/core/base/prng.ts';
import { EverwriteError } from '../../../../src/core/base/errors.ts';

test('Prng replays the same sequence from the same seed and differs across seeds', () => {
  const first = new Prng(42);
  const second = new Prng(42);
  const other = new Prng(43);
  const a = Array.from({ length: 100 }, () => first.nextUint32());
  const b = Array.from({ length: 100 }, () => second.nextUint32());
  const c = Array.from({ length: 100 }, () => other.nextUint32());
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.ok(a.every((value) => Number.isInteger(value) && value >= 0 && value < 2 ** 32));
});

test('Prng.nextInt stays in range and covers it', () => {
  const prng = new Prng(7);
  const seen = new Set<number>();
  for (let i = 0; i < 1000; i++) {
    const value = prng.nextInt(10);
    assert.ok(value >= 0 && value < 10);
    seen.add(value);
  }
  assert.equal(seen.size, 10);
});

test('EverwriteError maps its code to the documented HTTP status', () => {
  assert.equal(new EverwriteError('EVERWRITE_QUORUM_NOT_MET', 'x').httpStatus, 503);
  assert.equal(new EverwriteError('EVERWRITE_VALUE_TOO_LARGE', 'x').httpStatus, 413);
  assert.equal(new EverwriteError('EVERWRITE_BAD_CONTEXT', 'x').httpStatus, 400);
  assert.deepEqual(new EverwriteError('EVERWRITE_QUORUM_NOT_MET', 'm', { replied: 1 }).toJSON(), {
    code: 'EVERWRITE_QUORUM_NOT_MET',
    message: 'm',
    replied: 1,
  });
});
