// Why: the final action of a read (src/core/quorum/read-repair.ts) decided as a value: which
// primaries get the reconciled record, and when a tombstone every primary holds may be reaped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asNodeId, type NodeId } from '../../../../src/core/base/ids.ts';
import { GetTally } from '../../../../src/core/quorum/tally.ts';
import { planReadRepair } from '../../../../src/core/quorum/read-repair.ts';
import { emptyRecord, sync, update, type VersionedRecord } from '../../../../src/core/versioning/index.ts';

const [n1, n2, n3, n4] = ['n1', 'n2', 'n3', 'n4'].map(asNodeId) as [NodeId, NodeId, NodeId, NodeId];
const primaries = [n1, n2, n3];
const write = (record: VersionedRecord, actor: string, deleted = false): VersionedRecord =>
  update(record, record.context, actor, {
    value: new TextEncoder().encode(deleted ? '' : actor),
    contentType: 'text/plain',
    lastModifiedMs: 1,
    deleted,
    timestamp: 1,
  });

function replies(entries: ReadonlyArray<readonly [NodeId, VersionedRecord]>): GetTally<VersionedRecord> {
  const tally = new GetTally<VersionedRecord>(2, entries.length);
  for (const [node, record] of entries) tally.reply(node, record);
  return tally;
}

test('the primaries that answered with less than the reconciled record get it; a fallback and an up-to-date primary do not', () => {
  const old = write(emptyRecord, 'a.1');
  const newer = write(old, 'a.1');
  const reconciled = sync(old, newer);
  const plan = planReadRepair(
    replies([
      [n1, newer],
      [n2, old],
      [n4, emptyRecord],
      [n3, emptyRecord],
    ]),
    primaries,
    reconciled,
  );
  assert.deepEqual(plan.stale, [n2, n3]);
  assert.equal(plan.reap, false);
});

test('a tombstone every primary answered with is reaped; one primary missing or behind holds the reap back', () => {
  const tombstone = write(write(emptyRecord, 'a.1'), 'a.1', true);
  assert.deepEqual(
    planReadRepair(
      replies([
        [n1, tombstone],
        [n2, tombstone],
        [n3, tombstone],
      ]),
      primaries,
      tombstone,
    ),
    { stale: [], reap: true },
  );
  assert.equal(
    planReadRepair(
      replies([
        [n1, tombstone],
        [n2, tombstone],
      ]),
      primaries,
      tombstone,
    ).reap,
    false,
    'n3 did not answer',
  );
  const behind = planReadRepair(
    replies([
      [n1, tombstone],
      [n2, tombstone],
      [n3, write(emptyRecord, 'a.1')],
    ]),
    primaries,
    tombstone,
  );
  assert.equal(behind.reap, false);
  assert.deepEqual(behind.stale, [n3]);
});

test('a live value is never reaped, and an empty read repairs nothing', () => {
  const live = write(emptyRecord, 'a.1');
  assert.equal(
    planReadRepair(
      replies([
        [n1, live],
        [n2, live],
        [n3, live],
      ]),
      primaries,
      live,
    ).reap,
    false,
  );
  assert.deepEqual(
    planReadRepair(
      replies([
        [n1, emptyRecord],
        [n2, emptyRecord],
      ]),
      primaries,
      emptyRecord,
    ),
    { stale: [], reap: false },
  );
});
