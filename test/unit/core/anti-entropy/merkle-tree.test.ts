// Why: the Merkle tree's contract, example by example: options are validated, a write changes the
// root and undoing it restores the root, leaves list their keys sorted, and the hashes handed out
// are copies that a caller cannot use to corrupt the tree; keys deleted and inserted, past the key
// arena's first capacity, leave the hashes a tree built from scratch has.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MerkleTree, validateTreeShape } from '../../../../src/core/anti-entropy/merkle-tree.ts';
import { keyArenaInitialSlots } from '../../../../src/core/anti-entropy/key-arena.ts';
import { bytesOf, sha256 } from './helpers.ts';

const options = { digest: sha256, fanOut: 4, depth: 2 };

test('options: defaults are fan-out 16 and depth 3 (4096 leaves)', () => {
  const tree = new MerkleTree({ digest: sha256 });
  assert.deepEqual(tree.shape, { fanOut: 16, depth: 3 });
  assert.equal(tree.leafCount, 4096);
  assert.ok(Object.isFrozen(tree.shape));
});

test('options: out-of-range fan-out, depth or leaf count are refused with a RangeError naming the field', () => {
  assert.throws(() => validateTreeShape({ fanOut: 1 }), /fanOut/);
  assert.throws(() => validateTreeShape({ fanOut: 257 }), /fanOut/);
  assert.throws(() => validateTreeShape({ fanOut: 2.5 }), /fanOut/);
  assert.throws(() => validateTreeShape({ depth: 0 }), /depth/);
  assert.throws(() => validateTreeShape({ depth: 17 }), /depth/);
  assert.throws(() => validateTreeShape({ fanOut: 256, depth: 3 }), /leaves/);
  assert.doesNotThrow(() => validateTreeShape({ fanOut: 2, depth: 16 }));
});

test('empty trees of one shape share a root; shapes differ in root', () => {
  const a = new MerkleTree(options);
  const b = new MerkleTree(options);
  const c = new MerkleTree({ ...options, fanOut: 8 });
  assert.deepEqual(a.rootHash(), b.rootHash());
  assert.notDeepEqual(a.rootHash(), c.rootHash());
  assert.equal(a.size, 0);
});

test('set changes the root; setting the same hash again is a no-op; delete restores the empty root', () => {
  const tree = new MerkleTree(options);
  const emptyRoot = tree.rootHash();
  tree.set(bytesOf('apple'), bytesOf('h1'));
  const oneKeyRoot = tree.rootHash();
  assert.notDeepEqual(oneKeyRoot, emptyRoot);
  tree.set(bytesOf('apple'), bytesOf('h1'));
  assert.deepEqual(tree.rootHash(), oneKeyRoot);
  assert.equal(tree.size, 1);
  tree.set(bytesOf('apple'), bytesOf('h2'));
  assert.notDeepEqual(tree.rootHash(), oneKeyRoot);
  assert.deepEqual(tree.get(bytesOf('apple')), bytesOf('h2'));
  assert.equal(tree.delete(bytesOf('apple')), true);
  assert.equal(tree.delete(bytesOf('apple')), false);
  assert.deepEqual(tree.rootHash(), emptyRoot);
  assert.equal(tree.size, 0);
  assert.equal(tree.get(bytesOf('apple')), undefined);
});

test('keysInLeaf lists the leaf entries sorted by key; every key sits in the leaf leafIndexOf names', () => {
  const tree = new MerkleTree({ digest: sha256, fanOut: 2, depth: 1 });
  const keys = ['k9', 'k1', 'k5', 'k3', 'k7', 'k2'].map(bytesOf);
  for (const key of keys) tree.set(key, bytesOf('v'));
  const listed = [0, 1].flatMap((leaf) => {
    const entries = tree.keysInLeaf(leaf);
    const sorted = [...entries].sort((a, b) => Buffer.compare(a.key, b.key));
    assert.deepEqual(entries, sorted);
    for (const entry of entries) assert.equal(tree.leafIndexOf(entry.key), leaf);
    return entries.map((entry) => new TextDecoder().decode(entry.key));
  });
  assert.deepEqual(listed.sort(), ['k1', 'k2', 'k3', 'k5', 'k7', 'k9']);
  assert.equal(tree.size, 6);
});

test('the tree copies what it is given and what it hands out', () => {
  const tree = new MerkleTree(options);
  const key = bytesOf('key');
  const recordHash = bytesOf('hash');
  tree.set(key, recordHash);
  const root = tree.rootHash();
  key[0] = 0;
  recordHash[0] = 0;
  tree.rootHash().fill(0);
  for (const hash of tree.nodeHashes(1, [0, 1, 2, 3])) hash.fill(0);
  assert.deepEqual(tree.rootHash(), root);
  assert.deepEqual(tree.get(bytesOf('key')), bytesOf('hash'));
});

test('nodeHashes answers in the order asked and refuses indices out of range as a bug', () => {
  const tree = MerkleTree.build([{ key: bytesOf('a'), recordHash: bytesOf('1') }], options);
  const all = tree.nodeHashes(2, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
  assert.deepEqual(tree.nodeHashes(2, [3, 1]), [all[3], all[1]]);
  assert.throws(() => tree.nodeHashes(2, [16]), /out of/);
  assert.throws(() => tree.nodeHashes(3, [0]), /level/);
  assert.throws(() => tree.keysInLeaf(16), /leaf index/);
});

test('build equals the same writes made one by one, and a later entry for a key wins', () => {
  const entries = ['a', 'b', 'c', 'a'].map((key, index) => ({ key: bytesOf(key), recordHash: bytesOf(`h${index}`) }));
  const built = MerkleTree.build(entries, options);
  const incremental = new MerkleTree(options);
  for (const entry of entries.slice(1)) incremental.set(entry.key, entry.recordHash);
  assert.deepEqual(built.rootHash(), incremental.rootHash());
  assert.equal(built.size, 3);
  assert.deepEqual(built.get(bytesOf('a')), bytesOf('h3'));
  assert.equal([...built.entries()].length, 3);
});

test('only the written path changes: sibling subtrees keep their hashes', () => {
  const tree = MerkleTree.build(
    Array.from({ length: 50 }, (_, index) => ({ key: bytesOf(`key-${index}`), recordHash: bytesOf('v1') })),
    options,
  );
  const before = tree.nodeHashes(
    2,
    Array.from({ length: 16 }, (_, index) => index),
  );
  const key = bytesOf('key-7');
  const leaf = tree.leafIndexOf(key);
  tree.set(key, bytesOf('v2'));
  const after = tree.nodeHashes(
    2,
    Array.from({ length: 16 }, (_, index) => index),
  );
  for (let index = 0; index < 16; index++) {
    if (index === leaf) assert.notDeepEqual(after[index], before[index]);
    else assert.deepEqual(after[index], before[index]);
  }
});

test('the root of a fixed content is the value the tree has always computed, whatever its inner layout', () => {
  // Replicas of different versions compare roots, so a faster per-key layout must not change a hash.
  // The value was computed by the layout that held each key as an entry of byte arrays.
  const tree = new MerkleTree(options);
  for (let index = 0; index < 40; index++) tree.set(bytesOf(`key-${index}`), bytesOf(`h${index}`));
  tree.set(new Uint8Array([0xff, 0x00, 0x80]), new Uint8Array(32).fill(7));
  tree.set(new Uint8Array([]), bytesOf('empty key'));
  tree.set(bytesOf('key-3'), bytesOf('a longer hash than before'));
  tree.set(bytesOf('key-4'), bytesOf('h9'));
  tree.delete(bytesOf('key-5'));
  assert.equal(tree.size, 41);
  assert.equal(
    Buffer.from(tree.rootHash()).toString('hex'),
    'd0ed7cfc4c4de474d1a395bcfc4a220600c5b5491aee981eec24889d452898f2',
  );
});

test('entries and hashes handed out before an update keep their values after it', () => {
  // An update of a held key overwrites its stored hash in place; what callers already hold must not move.
  const tree = new MerkleTree(options);
  const key = bytesOf('key');
  tree.set(key, bytesOf('hash-1'));
  const leafEntries = tree.keysInLeaf(tree.leafIndexOf(key));
  const listed = [...tree.entries()];
  const got = tree.get(key);
  tree.set(key, bytesOf('hash-2'));
  assert.deepEqual(leafEntries[0]?.recordHash, bytesOf('hash-1'));
  assert.deepEqual(listed[0]?.recordHash, bytesOf('hash-1'));
  assert.deepEqual(got, bytesOf('hash-1'));
  assert.deepEqual(tree.get(key), bytesOf('hash-2'));
  assert.ok(Object.isFrozen(leafEntries[0]));
});

type LeafEntryLike = { key: Uint8Array; recordHash: Uint8Array };

/** `count` entries `<prefix>-<i>` whose record hashes have the digest's length, so they live in the key arena. */
function digestLongEntries(prefix: string, count: number): LeafEntryLike[] {
  return Array.from({ length: count }, (_, index) => ({
    key: bytesOf(`${prefix}-${index}`),
    recordHash: new Uint8Array(sha256(bytesOf(`${prefix} hash ${index}`))),
  }));
}

function assertSameAsBuiltFromScratch(tree: MerkleTree, entries: readonly LeafEntryLike[]) {
  const rebuilt = MerkleTree.build([...entries].reverse(), options);
  assert.equal(tree.size, entries.length);
  assert.deepEqual(tree.rootHash(), rebuilt.rootHash());
  for (let leaf = 0; leaf < tree.leafCount; leaf++) assert.deepEqual(tree.keysInLeaf(leaf), rebuilt.keysInLeaf(leaf));
  for (const entry of entries) assert.deepEqual(tree.get(entry.key), entry.recordHash);
}

test('keys deleted then others inserted in their slots leave the survivors and their hashes as they were', () => {
  const tree = new MerkleTree(options);
  const first = digestLongEntries('first', 40);
  for (const entry of first) tree.set(entry.key, entry.recordHash);
  tree.rootHash();
  const deleted = first.filter((_, index) => index % 2 === 0);
  const survivors = first.filter((_, index) => index % 2 === 1);
  for (const entry of deleted) assert.equal(tree.delete(entry.key), true);
  const others = digestLongEntries('other', 30);
  for (const entry of others) tree.set(entry.key, entry.recordHash);
  for (const entry of deleted) assert.equal(tree.get(entry.key), undefined);
  assertSameAsBuiltFromScratch(tree, [...survivors, ...others]);
});

test('a key whose record hash changes length, then is deleted, hands its slot on clean', () => {
  const tree = new MerkleTree(options);
  const [kept, changed, next] = digestLongEntries('key', 3) as [LeafEntryLike, LeafEntryLike, LeafEntryLike];
  tree.set(kept.key, kept.recordHash);
  tree.set(changed.key, changed.recordHash);
  tree.set(changed.key, bytesOf('short'));
  assert.deepEqual(tree.get(changed.key), bytesOf('short'));
  tree.delete(changed.key);
  tree.set(next.key, next.recordHash);
  assertSameAsBuiltFromScratch(tree, [kept, next]);
});

test("a tree grown past the key arena's first capacity keeps every key and its hash", () => {
  const tree = new MerkleTree(options);
  const entries = digestLongEntries('grown', keyArenaInitialSlots * 4 + 1);
  for (const entry of entries) tree.set(entry.key, entry.recordHash);
  assertSameAsBuiltFromScratch(tree, entries);
  const updated = entries.map((entry, index) =>
    index % 5 === 0 ? { ...entry, recordHash: new Uint8Array(sha256(entry.key)) } : entry,
  );
  for (const entry of updated) tree.set(entry.key, entry.recordHash);
  assertSameAsBuiltFromScratch(tree, updated);
});

test('the root after growth, deletes, reuse of slots and hashes of other lengths is the value the tree has always computed', () => {
  // Computed by the layout that held each key in its own byte array and each leaf in a sorted array.
  const tree = new MerkleTree(options);
  for (let index = 0; index < 300; index++) tree.set(bytesOf(`key-${index}`), sha256(bytesOf(`h${index}`)));
  tree.rootHash();
  for (let index = 0; index < 300; index += 3) tree.delete(bytesOf(`key-${index}`));
  for (let index = 0; index < 150; index++) tree.set(bytesOf(`other-${index}`), sha256(bytesOf(`o${index}`)));
  for (let index = 1; index < 300; index += 7) tree.set(bytesOf(`key-${index}`), bytesOf(`short ${index}`));
  for (let index = 1; index < 300; index += 14) tree.set(bytesOf(`key-${index}`), sha256(bytesOf(`back ${index}`)));
  assert.equal(tree.size, 364);
  assert.equal(
    Buffer.from(tree.rootHash()).toString('hex'),
    '983cd31db2d4eb6ed41883354d061c74341d3dfc1e744176f3088c028d86f22a',
  );
});
