// Why: clock comparison is checked against the dumbest possible model, a plain map compare over
// the union of nodes (docs/ARCHITECTURE.md habit 7), and merge must be a join (commutative, associative,
// idempotent, an upper bound of both sides).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { propertyOptions } from '../../../support/property.ts';
import {
  clockFromEntries,
  compareClocks,
  counterOf,
  mergeClocks,
  truncateClock,
  type ClockOrder,
  type VectorClock,
} from '../../../../src/core/versioning/vector-clock.ts';

const nodes = ['n0', 'n1', 'n2', 'n3', 'n4', 'n5'];

const clock: fc.Arbitrary<VectorClock> = fc
  .array(fc.tuple(fc.constantFrom(...nodes), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 100 })), {
    maxLength: 6,
  })
  .map((entries) =>
    clockFromEntries(entries.map(([node, counter, timestampMs]) => ({ node, counter: counter, timestampMs }))),
  );

function naiveCompare(a: VectorClock, b: VectorClock): ClockOrder {
  let aBigger = false;
  let bBigger = false;
  for (const node of nodes) {
    const left = counterOf(a, node);
    const right = counterOf(b, node);
    if (left > right) aBigger = true;
    if (right > left) bBigger = true;
  }
  if (aBigger && bBigger) return 'concurrent';
  return aBigger ? 'after' : bBigger ? 'before' : 'equal';
}

test('compareClocks agrees with a naive map compare', () => {
  fc.assert(
    fc.property(clock, clock, (a, b) => {
      assert.equal(compareClocks(a, b), naiveCompare(a, b));
    }),
    propertyOptions(),
  );
});

test('mergeClocks is commutative, associative, idempotent and an upper bound of both', () => {
  fc.assert(
    fc.property(clock, clock, clock, (a, b, c) => {
      assert.deepEqual(mergeClocks(a, b), mergeClocks(b, a));
      assert.deepEqual(mergeClocks(mergeClocks(a, b), c), mergeClocks(a, mergeClocks(b, c)));
      assert.deepEqual(mergeClocks(a, a), a);
      assert.ok(['after', 'equal'].includes(compareClocks(mergeClocks(a, b), a)));
      assert.ok(['after', 'equal'].includes(compareClocks(mergeClocks(a, b), b)));
    }),
    propertyOptions(),
  );
});

test('truncateClock keeps the newest entries, in node order', () => {
  fc.assert(
    fc.property(clock, fc.integer({ min: 1, max: 6 }), (a, entriesMax) => {
      const truncated = truncateClock(a, entriesMax);
      assert.equal(truncated.length, Math.min(a.length, entriesMax));
      const dropped = a.filter((entry) => !truncated.includes(entry));
      for (const gone of dropped) for (const kept of truncated) assert.ok(gone.timestampMs <= kept.timestampMs);
      assert.deepEqual(
        truncated,
        [...truncated].sort((x, y) => (x.node < y.node ? -1 : 1)),
      );
    }),
    propertyOptions(),
  );
});
