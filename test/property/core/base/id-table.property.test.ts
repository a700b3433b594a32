// Why: IdTable replaces Maps on every completion path of a node; a lost or misrouted entry would
// drop or misdeliver a store answer, a peer reply or a timer. It is checked against a Map on random
// sequences of fresh increasing ids (small steps, and jumps past 2^32 as a new boot's id base makes),
// long-lived entries among short-lived ones, and enough churn to force rehashes both ways.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { propertyOptions } from '../../../support/property.ts';
import { IdTable } from '../../../../src/core/base/id-table.ts';

const operation = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('add' as const),
      step: fc.oneof(
        { weight: 9, arbitrary: fc.integer({ min: 1, max: 3 }) },
        { weight: 1, arbitrary: fc.integer({ min: 1, max: 2 ** 33 }) },
      ),
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('take' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('probe' as const), pick: fc.nat() }) },
);

test('IdTable answers as a Map would over any sequence of adds (fresh ids), takes and lookups', () => {
  fc.assert(
    fc.property(fc.array(operation, { maxLength: 600 }), fc.constantFrom(1, 2, 4, 64), (operations, capacity) => {
      const table = new IdTable<number>(capacity);
      const model = new Map<number, number>();
      let lastId = 0;
      const ids: number[] = [];
      for (const op of operations) {
        if (op.kind === 'add') {
          lastId += op.step;
          table.add(lastId, lastId * 2);
          model.set(lastId, lastId * 2);
          ids.push(lastId);
        } else if (ids.length > 0) {
          const id = ids[op.pick % ids.length] as number;
          if (op.kind === 'take') {
            assert.equal(table.take(id), model.get(id));
            model.delete(id);
          } else {
            assert.equal(table.get(id), model.get(id));
            assert.equal(table.has(id), model.has(id));
            for (const never of [lastId + 1, 0, -1, 0.5, Number.NaN]) {
              assert.equal(table.get(never), undefined, `id ${never} was never added`);
              assert.equal(table.has(never), false);
              assert.equal(table.take(never), undefined);
            }
          }
        }
        assert.equal(table.size, model.size);
      }
      assert.deepEqual(new Map(table.entries()), model);
    }),
    propertyOptions(),
  );
});

test('IdTable keeps its arrays through steady churn: consecutive ids reuse the slots their predecessors left', () => {
  const table = new IdTable<string>(1024);
  const arrays = (): unknown => (table as unknown as { ids: Float64Array }).ids;
  let settled: unknown;
  for (let id = 1; id <= 100_000; id++) {
    table.add(id, 'value');
    if (id > 20) assert.equal(table.take(id - 20), 'value');
    if (id === 1000) settled = arrays();
  }
  assert.equal(table.size, 20);
  // 20 live entries in a window of 20 ids fit the array: nothing may go to the overflow or rebuild it.
  assert.equal(arrays(), settled, 'no rebuild after the first thousand requests');
  assert.equal((table as unknown as { overflow: Map<number, string> }).overflow.size, 0);
});
