// Why: the reference comparison of two Merkle trees held in one process (tests, the simulator, a
// node comparing its own replicas). It descends only into subtrees whose hashes differ, and its
// leaf comparison is shared with the message-driven TreeExchange so both agree on what "differs" means.
import { assert } from '../base/assert.ts';
import { bytesEqual, compareBytes } from '../base/bytes.ts';
import { sameShape, type LeafEntry, type MerkleTree } from './merkle-tree.ts';

/** The keys whose record hashes differ between `a` and `b` or that exist on one side only, sorted. */
export function diff(a: MerkleTree, b: MerkleTree): Uint8Array[] {
  const keys: Uint8Array[] = [];
  for (const leafIndex of differingLeaves(a, b)) {
    keys.push(...differingKeysOfEntries(a.keysInLeaf(leafIndex), b.keysInLeaf(leafIndex)));
  }
  return keys.sort(compareBytes);
}

/** The leaves whose hashes differ, ascending, found by descending only through differing nodes. */
export function differingLeaves(a: MerkleTree, b: MerkleTree): number[] {
  assert(sameShape(a.shape, b.shape), 'diff of trees of different shapes');
  const { fanOut, depth } = a.shape;
  let differing = bytesEqual(a.nodeHash(0, 0), b.nodeHash(0, 0)) ? [] : [0];
  for (let level = 1; level <= depth && differing.length > 0; level++) {
    const next: number[] = [];
    for (const parent of differing) {
      for (let child = parent * fanOut; child < (parent + 1) * fanOut; child++) {
        if (!bytesEqual(a.nodeHash(level, child), b.nodeHash(level, child))) next.push(child);
      }
    }
    differing = next;
  }
  return differing;
}

/**
 * Merge of two entry lists sorted by key (one leaf from each side): the keys present on one side
 * only or with unequal record hashes, in key order.
 */
export function differingKeysOfEntries(left: readonly LeafEntry[], right: readonly LeafEntry[]): Uint8Array[] {
  const keys: Uint8Array[] = [];
  let leftPosition = 0;
  let rightPosition = 0;
  while (leftPosition < left.length || rightPosition < right.length) {
    const leftEntry = left[leftPosition];
    const rightEntry = right[rightPosition];
    const order =
      leftEntry === undefined ? 1 : rightEntry === undefined ? -1 : compareBytes(leftEntry.key, rightEntry.key);
    if (order < 0) {
      keys.push((leftEntry as LeafEntry).key);
      leftPosition++;
    } else if (order > 0) {
      keys.push((rightEntry as LeafEntry).key);
      rightPosition++;
    } else {
      if (!bytesEqual((leftEntry as LeafEntry).recordHash, (rightEntry as LeafEntry).recordHash))
        keys.push((leftEntry as LeafEntry).key);
      leftPosition++;
      rightPosition++;
    }
  }
  return keys;
}
