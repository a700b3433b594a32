// Why: anti-entropy is correct only if the keys it finds are exactly the keys that differ. Both the
// in-process diff and the message-driven exchange are checked against the symmetric difference of two
// plain maps, the exchange over a network that reorders, duplicates, loses and replays its messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { propertyOptions } from '../../../support/property.ts';
import { MerkleTree, type MerkleTreeOptions } from '../../../../src/core/anti-entropy/merkle-tree.ts';
import { diff, differingLeaves } from '../../../../src/core/anti-entropy/diff.ts';
import { toHex } from '../../../../src/core/base/bytes.ts';
import { hexList, hexToBytes, naiveDifference, runExchange, sha256 } from '../../../unit/core/anti-entropy/helpers.ts';

const treeOptions = fc
  .record({ fanOut: fc.integer({ min: 2, max: 4 }), depth: fc.integer({ min: 1, max: 3 }) })
  .map((shape): MerkleTreeOptions => ({ digest: sha256, ...shape }));
const key = fc.uint8Array({ minLength: 0, maxLength: 2, max: 5 }).map(toHex);
const recordHash = fc.uint8Array({ minLength: 1, maxLength: 1, max: 2 }).map(toHex);
const replicaMap = fc.array(fc.tuple(key, recordHash), { maxLength: 30 }).map((pairs) => new Map(pairs));

/** Two replicas: either unrelated, or one derived from the other by a few edits (the usual case). */
const replicaPair: fc.Arbitrary<[Map<string, string>, Map<string, string>]> = fc.oneof(
  fc.tuple(replicaMap, replicaMap),
  fc
    .tuple(replicaMap, fc.array(fc.tuple(key, fc.option(recordHash, { nil: undefined })), { maxLength: 4 }))
    .map(([left, edits]): [Map<string, string>, Map<string, string>] => {
      const right = new Map(left);
      for (const [editedKey, hash] of edits) {
        if (hash === undefined) right.delete(editedKey);
        else right.set(editedKey, hash);
      }
      return [left, right];
    }),
);

function treeOf(map: ReadonlyMap<string, string>, options: MerkleTreeOptions): MerkleTree {
  return MerkleTree.build(
    [...map].map(([hex, hash]) => ({ key: hexToBytes(hex), recordHash: hexToBytes(hash) })),
    options,
  );
}

test('property: diff equals the symmetric difference of the two maps, sorted', () => {
  fc.assert(
    fc.property(treeOptions, replicaPair, (options, [left, right]) => {
      const expected = naiveDifference(left, right);
      assert.deepEqual(hexList(diff(treeOf(left, options), treeOf(right, options))), expected);
      assert.deepEqual(hexList(diff(treeOf(right, options), treeOf(left, options))), expected);
    }),
    propertyOptions(),
  );
});

const network = fc.record({
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  duplicateProbability: fc.constantFrom(0, 0.2, 0.5),
  lossProbability: fc.constantFrom(0, 0.1, 0.3),
  staleProbability: fc.constantFrom(0, 0.1, 0.4),
});
const exchangeLimits = fc.record({
  nodesPerRequestMax: fc.integer({ min: 1, max: 5 }),
  leavesPerRequestMax: fc.integer({ min: 1, max: 3 }),
  requestsInFlightMax: fc.integer({ min: 1, max: 4 }),
});

test('property: the exchange FSM over a reordering, duplicating, lossy network finds exactly the keys diff finds', () => {
  fc.assert(
    fc.property(treeOptions, replicaPair, network, exchangeLimits, (options, [left, right], unreliable, limits) => {
      const local = treeOf(left, options);
      const remote = treeOf(right, options);
      const { exchange } = runExchange(local, remote, limits, unreliable);
      assert.equal(exchange.state, 'finished');
      assert.deepEqual(hexList(exchange.result?.differingKeys ?? []), hexList(diff(local, remote)));
      assert.deepEqual(hexList(exchange.result?.differingKeys ?? []), naiveDifference(left, right));
      assert.deepEqual(exchange.result?.differingLeaves, differingLeaves(local, remote));
      assert.deepEqual(exchange.pendingRequests(), []);
    }),
    propertyOptions(),
  );
});
