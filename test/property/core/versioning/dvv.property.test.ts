// Why: replicas merge records in any order, any number of times; sync must be a join
// (commutative, associative, idempotent) with canonical results, or replicas would never agree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { propertyOptions } from '../../../support/property.ts';
import {
  compareDots,
  compareWriteOrder,
  covers,
  descends,
  emptyRecord,
  lastWriter,
  recordsEqual,
  resolveLastWriterWins,
  sync,
  update,
  type Sibling,
  type VersionedRecord,
} from '../../../../src/core/versioning/index.ts';
import { actorPool, poolRecord } from './arbitraries.ts';

function assertValid(record: VersionedRecord): void {
  for (const sibling of record.siblings)
    assert.ok(covers(record.context, sibling.dot), 'sibling dot covered by the context');
  for (let i = 1; i < record.siblings.length; i++)
    assert.ok(compareDots(record.siblings[i - 1]!.dot, record.siblings[i]!.dot) < 0, 'canonical order');
}

function copy(record: VersionedRecord): VersionedRecord {
  return { context: new Map(record.context), siblings: record.siblings.map((sibling) => ({ ...sibling })) };
}

test('sync is commutative, associative and idempotent, with canonical, deeply equal results', () => {
  fc.assert(
    fc.property(poolRecord, poolRecord, poolRecord, (a, b, c) => {
      const ab = sync(a, b);
      assertValid(ab);
      assert.deepEqual(ab, sync(b, a));
      assert.ok(recordsEqual(ab, sync(b, a)));
      assert.deepEqual(sync(ab, c), sync(a, sync(b, c)));
      assert.deepEqual(sync(a, copy(a)), a);
      assert.deepEqual(sync(ab, b), ab);
      assert.deepEqual(sync(a, emptyRecord), a);
    }),
    propertyOptions(),
  );
});

test('descends(a, b) holds exactly when sync(a, b) equals a', () => {
  fc.assert(
    fc.property(poolRecord, poolRecord, (a, b) => {
      assert.equal(descends(a, b), recordsEqual(sync(a, b), a));
      assert.ok(descends(sync(a, b), a) && descends(sync(a, b), b));
    }),
    propertyOptions(),
  );
});

test('update keeps exactly the siblings the client did not see, plus the new one, and descends the old record', () => {
  fc.assert(
    fc.property(poolRecord, poolRecord, fc.constantFrom(...actorPool), (record, read, actor) => {
      const stored = {
        value: new Uint8Array([1]),
        contentType: 'x',
        lastModifiedMs: 1,
        deleted: false,
        timestamp: 1024,
      };
      const updated = update(record, read.context, actor, stored);
      assertValid(updated);
      const newDot = { actor, counter: updated.context.get(actor)! };
      assert.equal(newDot.counter, Math.max(record.context.get(actor) ?? 0, read.context.get(actor) ?? 0) + 1);
      const expected = record.siblings
        .filter((sibling) => !covers(read.context, sibling.dot))
        .map((sibling) => sibling.dot);
      assert.deepEqual(
        updated.siblings.map((sibling) => sibling.dot),
        [...expected, newDot].sort(compareDots),
      );
      // The coordinator's new record reflects everything the replica held before.
      assert.ok(descends(updated, record));
    }),
    propertyOptions(),
  );
});

test('update stamps the new version after every sibling its replica held, and keeps a timestamp already past them', () => {
  fc.assert(
    fc.property(
      poolRecord,
      poolRecord,
      fc.constantFrom(...actorPool),
      fc.integer({ min: 0, max: 100 * 1024 }),
      (record, read, actor, proposed) => {
        const stored = {
          value: new Uint8Array([1]),
          contentType: 'x',
          lastModifiedMs: 1,
          deleted: false,
          timestamp: proposed,
        };
        const updated = update(record, read.context, actor, stored);
        const minted = updated.siblings.find(
          (sibling) => sibling.dot.actor === actor && sibling.dot.counter === updated.context.get(actor),
        )!;
        const latestHeld = Math.max(-1, ...record.siblings.map((sibling) => sibling.stored.timestamp));
        assert.equal(minted.stored.timestamp, Math.max(proposed, latestHeld + 1));
        for (const sibling of updated.siblings)
          if (sibling !== minted)
            assert.ok(compareWriteOrder(minted, sibling) > 0, 'the new version is the last writer');
      },
    ),
    propertyOptions(),
  );
});

test('last-writer-wins keeps the greatest (timestamp, actor, counter) whatever the sibling order (against a sort)', () => {
  const naiveKey = (sibling: Sibling): [number, string, number] => [
    sibling.stored.timestamp,
    sibling.dot.actor,
    sibling.dot.counter,
  ];
  const naiveLater = (a: Sibling, b: Sibling): boolean => {
    const [x, y] = [naiveKey(a), naiveKey(b)];
    return x[0] !== y[0] ? x[0] > y[0] : x[1] !== y[1] ? x[1] > y[1] : x[2] > y[2];
  };
  fc.assert(
    fc.property(poolRecord, fc.nat(), (record, rotation) => {
      const expected = record.siblings.reduce<Sibling | undefined>(
        (best, sibling) => (best === undefined || naiveLater(sibling, best) ? sibling : best),
        undefined,
      );
      const rotated = record.siblings.map((_, index) => record.siblings[(index + rotation) % record.siblings.length]!);
      assert.equal(lastWriter(rotated), expected);
      assert.equal(lastWriter([...rotated].reverse()), expected);
      const resolved = resolveLastWriterWins(record);
      assert.deepEqual(resolved.siblings, expected === undefined ? [] : [expected]);
      assert.equal(resolved.context, record.context);
      for (const a of record.siblings) {
        for (const b of record.siblings)
          assert.equal(Math.sign(compareWriteOrder(a, b)), a === b ? 0 : naiveLater(a, b) ? 1 : -1);
      }
    }),
    propertyOptions(),
  );
});
