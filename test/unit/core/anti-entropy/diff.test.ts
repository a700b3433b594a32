// Why: diff is the in-process reference for "which keys differ"; these examples pin its contract:
// changed, missing-on-either-side, sorted output, nothing for equal trees, and a bug for unequal shapes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MerkleTree } from '../../../../src/core/anti-entropy/merkle-tree.ts';
import { diff, differingKeysOfEntries, differingLeaves } from '../../../../src/core/anti-entropy/diff.ts';
import { bytesOf, sha256 } from './helpers.ts';

const options = { digest: sha256, fanOut: 4, depth: 2 };
const text = (keys: readonly Uint8Array[]): string[] => keys.map((key) => new TextDecoder().decode(key));

test('diff of equal trees is empty and visits no leaf', () => {
  const entries = ['a', 'b', 'c'].map((key) => ({ key: bytesOf(key), recordHash: bytesOf('1') }));
  const a = MerkleTree.build(entries, options);
  const b = MerkleTree.build([...entries].reverse(), options);
  assert.deepEqual(diff(a, b), []);
  assert.deepEqual(differingLeaves(a, b), []);
});

test('diff reports changed keys and keys on one side only, sorted', () => {
  const a = new MerkleTree(options);
  const b = new MerkleTree(options);
  for (const key of ['same', 'changed', 'only-a']) a.set(bytesOf(key), bytesOf('1'));
  for (const key of ['same', 'changed', 'only-b']) b.set(bytesOf(key), bytesOf(key === 'changed' ? '2' : '1'));
  assert.deepEqual(text(diff(a, b)), ['changed', 'only-a', 'only-b']);
  assert.deepEqual(text(diff(b, a)), ['changed', 'only-a', 'only-b']);
});

test('diff of an empty tree against a full one lists every key', () => {
  const keys = Array.from({ length: 40 }, (_, index) => `key-${String(index).padStart(2, '0')}`);
  const full = MerkleTree.build(
    keys.map((key) => ({ key: bytesOf(key), recordHash: bytesOf('1') })),
    options,
  );
  assert.deepEqual(text(diff(full, new MerkleTree(options))), keys);
});

test('differingKeysOfEntries merges two key-sorted leaves', () => {
  const entry = (key: string, hash: string) => ({ key: bytesOf(key), recordHash: bytesOf(hash) });
  const left = [entry('a', '1'), entry('b', '1'), entry('d', '1')];
  const right = [entry('b', '2'), entry('c', '1'), entry('d', '1'), entry('e', '1')];
  assert.deepEqual(text(differingKeysOfEntries(left, right)), ['a', 'b', 'c', 'e']);
  assert.deepEqual(text(differingKeysOfEntries([], right)), ['b', 'c', 'd', 'e']);
});

test('diff of trees of different shapes is a bug', () => {
  assert.throws(() => diff(new MerkleTree(options), new MerkleTree({ ...options, depth: 3 })), /shapes/);
});
