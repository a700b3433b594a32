// Why: the replica's rules for minting and merging (src/core/node/replica-versions.ts) are one
// statement used by the runtime's store and by the test clusters alike. These tests show the rules
// themselves, and that a test cluster now refuses what a real store refuses: the simulated replicas
// used to re-implement minting without the sibling limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeIntoReplica, mintVersion } from '../../../../src/core/node/replica-versions.ts';
import type { VersionRequest } from '../../../../src/core/node/effects.ts';
import { emptyRecord, sync, type StoredValue } from '../../../../src/core/versioning/index.ts';
import { CoreCluster } from '../../../support/core-cluster.ts';

const stored = (text: string, timestamp: number): StoredValue => ({
  value: new TextEncoder().encode(text),
  contentType: 'text/plain',
  lastModifiedMs: timestamp,
  deleted: false,
  timestamp,
});
const request = (
  actor: string,
  text: string,
  timestamp: number,
  overrides: Partial<VersionRequest> = {},
): VersionRequest => ({
  context: new Map(),
  useStoredContext: false,
  actor,
  stored: stored(text, timestamp),
  durable: true,
  lastWriterWins: false,
  siblingsCountMax: 100,
  ...overrides,
});

test('minting keeps concurrent blind writes as siblings, supersedes with the stored context, and keeps one under last-writer-wins', () => {
  const one = mintVersion(emptyRecord, request('a.1', 'x', 1));
  const two = mintVersion(one, request('b.1', 'y', 2));
  assert.equal(two.siblings.length, 2, 'a blind write is concurrent with what it did not see');
  assert.equal(
    mintVersion(two, request('a.1', 'z', 3, { useStoredContext: true })).siblings.length,
    1,
    'the stored context supersedes every stored version',
  );
  assert.equal(mintVersion(one, request('b.1', 'y', 2, { lastWriterWins: true })).siblings.length, 1);
});

test('minting refuses one sibling past the limit and stores nothing', () => {
  const two = mintVersion(mintVersion(emptyRecord, request('a.1', 'x', 1)), request('b.1', 'y', 2));
  assert.throws(
    () => mintVersion(two, request('c.1', 'z', 3, { siblingsCountMax: 2 })),
    (error: Error & { code?: string }) => error.code === 'EVERWRITE_TOO_MANY_SIBLINGS',
  );
});

test('merging says whether the replica already held it, takes the incoming record as it is, or syncs both', () => {
  const one = mintVersion(emptyRecord, request('a.1', 'x', 1));
  const later = mintVersion(one, request('a.1', 'y', 2, { useStoredContext: true }));
  const other = mintVersion(emptyRecord, request('b.1', 'z', 3));
  assert.equal(mergeIntoReplica(later, one).kind, 'unchanged');
  const replaced = mergeIntoReplica(one, later);
  assert.equal(replaced.kind, 'replaced');
  assert.equal(replaced.record, later);
  const merged = mergeIntoReplica(later, other);
  assert.equal(merged.kind, 'merged');
  assert.deepEqual(merged.record, sync(later, other));
});

test('a test cluster refuses the write past the sibling limit, as a real store does', () => {
  const cluster = new CoreCluster(3, { siblingsCountMax: 2, antiEntropyIntervalMs: 1_000_000_000 });
  const first = cluster.put('n1', 'b', 'k', 'x');
  cluster.run();
  const second = cluster.put('n2', 'b', 'k', 'y');
  cluster.run();
  const third = cluster.put('n3', 'b', 'k', 'z');
  cluster.run();
  assert.equal(cluster.outcome(first).ok, true);
  assert.equal(cluster.outcome(second).ok, true);
  const refused = cluster.outcome(third);
  assert.equal(refused.ok, false);
  assert.equal(refused.ok === false && refused.error.code, 'EVERWRITE_TOO_MANY_SIBLINGS');
});
