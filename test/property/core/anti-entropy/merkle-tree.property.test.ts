// Why: the tree is only useful if its hashes depend on the set of (key, record hash) pairs and on
// nothing else: not on the order of writes, not on the history of sets and deletes that led there,
// not on when the lazy re-hash ran. Checked against a tree rebuilt from a plain map.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { propertyOptions } from '../../../support/property.ts';
import { MerkleTree, type MerkleTreeOptions } from '../../../../src/core/anti-entropy/merkle-tree.ts';
import { toHex } from '../../../../src/core/base/bytes.ts';
import { hexToBytes, sha256 } from '../../../unit/core/anti-entropy/helpers.ts';

/** Small shapes and a small key space, so keys collide in leaves and runs stay fast. */
const treeOptions = fc
  .record({ fanOut: fc.integer({ min: 2, max: 4 }), depth: fc.integer({ min: 1, max: 3 }) })
  .map((shape): MerkleTreeOptions => ({ digest: sha256, ...shape }));
const key = fc.uint8Array({ minLength: 0, maxLength: 2, max: 5 });
const recordHash = fc.uint8Array({ minLength: 1, maxLength: 2, max: 2 });

type Operation =
  | { kind: 'set'; key: Uint8Array; recordHash: Uint8Array }
  | { kind: 'delete'; key: Uint8Array }
  | { kind: 'read-root' };
const operation: fc.Arbitrary<Operation> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('set' as const), key, recordHash }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('delete' as const), key }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'read-root' as const }) },
);

function assertSameHashes(actual: MerkleTree, expected: MerkleTree): void {
  assert.equal(actual.size, expected.size);
  assert.deepEqual(actual.rootHash(), expected.rootHash());
  for (let level = 0; level <= expected.shape.depth; level++) {
    const indices = Array.from({ length: expected.shape.fanOut ** level }, (_, index) => index);
    assert.deepEqual(actual.nodeHashes(level, indices), expected.nodeHashes(level, indices), `level ${level}`);
  }
  for (let leaf = 0; leaf < expected.leafCount; leaf++)
    assert.deepEqual(actual.keysInLeaf(leaf), expected.keysInLeaf(leaf));
}

test('property: a tree updated by any set/delete sequence has the root and node hashes of one rebuilt from scratch', () => {
  fc.assert(
    fc.property(treeOptions, fc.array(operation, { maxLength: 40 }), (options, operations) => {
      const tree = new MerkleTree(options);
      const model = new Map<string, Uint8Array>();
      for (const step of operations) {
        if (step.kind === 'set') {
          tree.set(step.key, step.recordHash);
          model.set(toHex(step.key), step.recordHash);
        } else if (step.kind === 'delete') {
          assert.equal(tree.delete(step.key), model.delete(toHex(step.key)));
        } else {
          tree.rootHash();
        }
      }
      const rebuilt = MerkleTree.build(
        [...model].map(([hex, hash]) => ({ key: hexToBytes(hex), recordHash: hash })),
        options,
      );
      assertSameHashes(tree, rebuilt);
      for (const [hex, hash] of model) assert.deepEqual(tree.get(hexToBytes(hex)), hash);
    }),
    propertyOptions(),
  );
});

test('property: the root does not depend on the order in which keys are inserted', () => {
  const entries = fc.uniqueArray(fc.record({ key, recordHash }), {
    maxLength: 25,
    selector: (entry) => toHex(entry.key),
  });
  const entriesAndPermutation = entries.chain((list) =>
    fc.tuple(fc.constant(list), fc.shuffledSubarray(list, { minLength: list.length, maxLength: list.length })),
  );
  fc.assert(
    fc.property(treeOptions, entriesAndPermutation, (options, [inOrder, shuffled]) => {
      const first = MerkleTree.build(inOrder, options);
      const second = new MerkleTree(options);
      for (const entry of shuffled) second.set(entry.key, entry.recordHash);
      assertSameHashes(second, first);
    }),
    propertyOptions(),
  );
});
