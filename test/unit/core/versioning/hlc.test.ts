// Why: last-writer-wins is only as good as the clock it orders by. These cases pin the hybrid
// logical clock's promises: monotonic even when the physical clock steps back, the physical part
// tracking the clock, and a node's timestamps passing everything it has observed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { propertyOptions } from '../../../support/property.ts';
import {
  logicalOf,
  nextTimestamp,
  observeTimestamp,
  physicalMsMax,
  physicalMsOf,
  timestampAt,
  timestampMax,
} from '../../../../src/core/versioning/index.ts';

const epochMs = 1_700_000_000_000;

test('a timestamp packs physical ms and a logical counter in one safe integer', () => {
  const timestamp = timestampAt(epochMs) + 7;
  assert.equal(timestamp, epochMs * 1024 + 7);
  assert.ok(Number.isSafeInteger(timestamp));
  assert.equal(physicalMsOf(timestamp), epochMs);
  assert.equal(logicalOf(timestamp), 7);
  assert.equal(physicalMsOf(timestampMax), physicalMsMax);
  assert.equal(logicalOf(timestampMax), 1023);
  assert.throws(() => timestampAt(physicalMsMax + 1));
});

test('the physical part tracks the clock: a new ms starts at logical 0', () => {
  assert.equal(nextTimestamp(0, epochMs), timestampAt(epochMs));
  assert.equal(nextTimestamp(timestampAt(epochMs) + 5, epochMs + 1), timestampAt(epochMs + 1));
  assert.equal(physicalMsOf(nextTimestamp(timestampAt(epochMs), epochMs + 60_000)), epochMs + 60_000);
});

test('within one ms the logical part counts, and its overflow advances the physical part', () => {
  let last = nextTimestamp(0, epochMs);
  for (let i = 1; i < 1024; i++) last = nextTimestamp(last, epochMs);
  assert.equal(physicalMsOf(last), epochMs);
  assert.equal(logicalOf(last), 1023);
  const overflowed = nextTimestamp(last, epochMs);
  assert.equal(physicalMsOf(overflowed), epochMs + 1, 'runs ahead of the clock by one ms');
  assert.equal(logicalOf(overflowed), 0);
  assert.equal(
    nextTimestamp(overflowed, epochMs + 1),
    overflowed + 1,
    'and continues from there when the clock catches up',
  );
});

test('monotonic under a clock that goes backwards, and back on the clock once it passes the last timestamp', () => {
  const first = nextTimestamp(0, epochMs);
  const afterStepBack = nextTimestamp(first, epochMs - 10_000);
  assert.ok(afterStepBack > first);
  assert.equal(physicalMsOf(afterStepBack), epochMs, 'the physical part does not follow the clock backwards');
  assert.equal(nextTimestamp(afterStepBack, epochMs + 1), timestampAt(epochMs + 1));
});

test('strictly increasing for any sequence of clock readings, never before the clock (seeded property)', () => {
  const readings = fc.array(fc.integer({ min: 0, max: 3_000_000_000_000 }), { minLength: 1, maxLength: 50 });
  fc.assert(
    fc.property(readings, (clock) => {
      let last = 0;
      for (const physicalMs of clock) {
        const next = nextTimestamp(last, physicalMs);
        assert.ok(next > last);
        assert.ok(next >= timestampAt(physicalMs));
        assert.ok(
          physicalMsOf(next) <= Math.max(physicalMs, physicalMsOf(last) + 1),
          'ahead of the clock by at most what it had seen, plus one ms',
        );
        last = next;
      }
    }),
    propertyOptions(),
  );
});

test('observing a timestamp makes the next one later, whatever the local clock reads', () => {
  const local = nextTimestamp(0, epochMs);
  const fromFastNode = timestampAt(epochMs + 10_000) + 3;
  const seen = observeTimestamp(local, fromFastNode);
  assert.equal(seen, fromFastNode);
  assert.equal(observeTimestamp(seen, local), fromFastNode, 'observing an older one changes nothing');
  const next = nextTimestamp(seen, epochMs + 1);
  assert.ok(next > fromFastNode);
  assert.equal(physicalMsOf(next), epochMs + 10_000, 'stays close to the fastest clock seen');
  assert.equal(
    nextTimestamp(next, epochMs + 20_000),
    timestampAt(epochMs + 20_000),
    'and returns to its own clock once that is later',
  );
});

test('the end of the range saturates instead of leaving safe integers', () => {
  assert.equal(nextTimestamp(timestampMax, epochMs), timestampMax);
  assert.equal(nextTimestamp(timestampMax - 1, epochMs), timestampMax);
  assert.equal(nextTimestamp(0, physicalMsMax + 5), timestampAt(physicalMsMax));
  assert.throws(() => nextTimestamp(-1, epochMs));
  assert.throws(() => nextTimestamp(0, 1.5));
  assert.throws(() => observeTimestamp(0, Number.MAX_SAFE_INTEGER + 1));
});
