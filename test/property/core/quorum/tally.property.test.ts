// Why: the tallies keep their answers in small arrays sized up front instead of Sets and Maps, for
// the request path's allocation budget. This checks them against the obvious Set/Map model on
// random answer sequences (duplicates, a node that acknowledges then refuses). Answers come only
// from the tally's targets, as the coordinations filter them (coordination.ts answeringTarget); one
// more distinct node than targets is an invariant failure (test/unit/core/quorum/tally.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { propertyOptions } from '../../../support/property.ts';
import { GetTally, PutTally, type TallyDecision } from '../../../../src/core/quorum/tally.ts';
import type { NodeId } from '../../../../src/core/base/ids.ts';

const ids = ['n1', 'n2', 'n3', 'n4', 'n5'] as NodeId[];
/** A tally's shape and a sequence of answers from its targets (the first `targetCount` ids). */
const scenario = fc
  .integer({ min: 1, max: 5 })
  .chain((targetCount) =>
    fc.tuple(
      fc.record({ targetCount: fc.constant(targetCount), required: fc.integer({ min: 1, max: targetCount }) }),
      fc.array(
        fc.record({ node: fc.constantFrom(...ids.slice(0, targetCount)), ok: fc.boolean(), value: fc.integer() }),
        { maxLength: 12 },
      ),
    ),
  );

function modelDecision(good: number, bad: number, required: number, targetCount: number): TallyDecision {
  if (good >= required) return 'succeeded';
  if (targetCount - bad < required) return 'failed';
  return 'pending';
}

test('PutTally counts as a pair of Sets would: the first answer of a node stands', () => {
  fc.assert(
    fc.property(scenario, ([{ targetCount, required }, sequence]) => {
      const tally = new PutTally(required, targetCount);
      const acknowledged = new Set<NodeId>();
      const refused = new Set<NodeId>();
      for (const answer of sequence) {
        if (answer.ok) {
          tally.acknowledge(answer.node);
          if (!refused.has(answer.node)) acknowledged.add(answer.node);
        } else {
          tally.refuse(answer.node);
          if (!acknowledged.has(answer.node)) refused.add(answer.node);
        }
        assert.equal(tally.acknowledgedCount, acknowledged.size);
        assert.equal(tally.complete, acknowledged.size + refused.size >= targetCount);
        assert.equal(tally.decision(), modelDecision(acknowledged.size, refused.size, required, targetCount));
        for (const id of ids) assert.equal(tally.hasAcknowledged(id), acknowledged.has(id));
      }
    }),
    propertyOptions(),
  );
});

test('GetTally keeps replies as a Map would (a later reply of a node replaces its value) and ignores replies after a failure', () => {
  fc.assert(
    fc.property(scenario, ([{ targetCount, required }, sequence]) => {
      const tally = new GetTally<number>(required, targetCount);
      const replies = new Map<NodeId, number>();
      const failures = new Set<NodeId>();
      let revision = tally.revision;
      for (const answer of sequence) {
        if (answer.ok) {
          tally.reply(answer.node, answer.value);
          if (!failures.has(answer.node)) replies.set(answer.node, answer.value);
        } else {
          tally.fail(answer.node);
          if (!replies.has(answer.node)) failures.add(answer.node);
        }
        if (answer.ok && !failures.has(answer.node))
          assert.ok(tally.revision > revision, 'an accepted reply moves the revision');
        revision = tally.revision;
        assert.equal(tally.replyCount, replies.size);
        assert.deepEqual(
          Array.from({ length: tally.replyCount }, (_, index) => tally.nodeAt(index)),
          [...replies.keys()],
        );
        assert.deepEqual(
          Array.from({ length: tally.replyCount }, (_, index) => tally.valueAt(index)),
          [...replies.values()],
        );
        assert.equal(tally.complete, replies.size + failures.size >= targetCount);
        assert.equal(tally.decision(), modelDecision(replies.size, failures.size, required, targetCount));
        for (const id of ids) assert.equal(tally.replyOf(id), replies.get(id));
      }
    }),
    propertyOptions(),
  );
});
