// Why: the end of a write decided as a value (src/core/quorum/write-finish.ts): which primaries get
// a hint, and when a tombstone every primary acknowledged may be reaped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asNodeId, type NodeId } from '../../../../src/core/base/ids.ts';
import { planWriteFinish } from '../../../../src/core/quorum/write-finish.ts';
import { emptyRecord, update, type VersionedRecord } from '../../../../src/core/versioning/index.ts';

const [n1, n2, n3] = ['n1', 'n2', 'n3'].map(asNodeId) as [NodeId, NodeId, NodeId];
const primaries = [n1, n2, n3];
const write = (record: VersionedRecord, deleted: boolean): VersionedRecord =>
  update(record, record.context, 'n1.1', {
    value: new Uint8Array(0),
    contentType: 'text/plain',
    lastModifiedMs: 1,
    deleted,
    timestamp: 1,
  });
const live = write(emptyRecord, false);
const tombstone = write(live, true);

function answers(
  acknowledged: readonly NodeId[],
  covered: readonly NodeId[] = acknowledged,
): { hasAcknowledged(node: NodeId): boolean; isCovered(node: NodeId): boolean } {
  return { hasAcknowledged: (node) => acknowledged.includes(node), isCovered: (node) => covered.includes(node) };
}

test('a primary neither acknowledged nor covered by a fallback gets a hint; the coordinator itself never does', () => {
  assert.deepEqual(planWriteFinish(primaries, n1, answers([n2]), live), { hintFor: [n3], reap: false });
  assert.deepEqual(
    planWriteFinish(primaries, n1, answers([n2], [n2, n3]), live).hintFor,
    [],
    'a fallback acknowledged for n3: it holds the hint',
  );
});

test('a tombstone is reaped only when every primary acknowledged it itself', () => {
  assert.equal(planWriteFinish(primaries, n1, answers(primaries), tombstone).reap, true);
  assert.equal(
    planWriteFinish(primaries, n1, answers([n1, n2], primaries), tombstone).reap,
    false,
    'n3 only through a fallback',
  );
  assert.equal(planWriteFinish(primaries, n1, answers(primaries), live).reap, false, 'a live value is never reaped');
});
