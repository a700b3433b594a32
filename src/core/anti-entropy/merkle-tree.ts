// Why: anti-entropy (Dynamo section 4.7) compares two replicas of a partition without shipping the
// data. Each replica keeps a Merkle tree over its keys; replicas compare hashes from the root down and
// descend only where they differ, so the traffic grows with the number of differences, not with the
// size of the partition. The tree is maintained incrementally (a write touches one root-to-leaf
// path) and is pure: the digest is injected, so the same code runs in the simulator and in production.
//
// Shape: level 0 is the root, level `depth` holds the fanOut^depth leaves; node i of level L has the
// children i*fanOut .. i*fanOut+fanOut-1 on level L+1. A key's leaf is chosen by the digest of the key
// (its first 32 bits scaled to the leaf count), so keys spread evenly whatever their byte patterns.
//
// Laziness: set/delete only mark the key's leaf dirty; the dirty leaves and their ancestors are
// re-hashed on the next read of a hash (rootHash, nodeHash, nodeHashes). A burst of writes therefore
// pays for each touched path once, and a write that no exchange ever looks at costs no digest of the
// tree at all. The price is that the first read after writes does that deferred work.
//
// Layout: every replica updates its trees on every write it stores, and a node holds a tree per
// partition over every key it stores, so a write must be cheap and a key must be small. Keys live in
// a KeyArena (key-arena.ts): a Map from the key as a latin1 string to a slot of flat typed arrays
// (leaf, record hash, the leaf's chain of keys); updating a key already held finds it without
// digesting the key and overwrites its record hash in place, allocating nothing that outlives the
// call. The node hashes of all levels sit in one byte array, level after level. The LeafEntry values
// the API hands out are made on the rare reads that need them. The hashes are those of the byte
// layout encodeLeaf and encodeInterior define, so the layout is invisible to a peer.
import { assert } from '../base/assert.ts';
import type { DigestFunction } from '../base/hash.ts';
import { latin1Bytes, latin1Text } from '../base/latin1.ts';
import { KeyArena } from './key-arena.ts';

/** The fan-out and depth of a tree. Two trees can be compared only when their shapes are equal. */
export interface TreeShape {
  readonly fanOut: number;
  readonly depth: number;
}

export interface MerkleTreeOptions {
  /**
   * Digest for leaf placement and node hashes; MD5 in production (decision 0016). Every
   * replica of a partition must use the same digest, or every exchange reports every key.
   */
  readonly digest: DigestFunction;
  /**
   * Children per interior node, 2..256; default 16. Wider means fewer levels (fewer round trips of
   * an exchange) but more hashes sent per differing node.
   */
  readonly fanOut?: number;
  /**
   * Levels below the root, 1..16; default 3, so 16^3 = 4096 leaves. Choose it so that a leaf holds
   * a handful of keys: a differing leaf ships all its (key, record hash) pairs.
   */
  readonly depth?: number;
}

export const merkleTreeDefaults = Object.freeze({ fanOut: 16, depth: 3 });

/** Bounds on the shape, so a misconfigured tree cannot allocate without limit. */
export const merkleTreeLimits = Object.freeze({
  fanOutMin: 2,
  fanOutMax: 256,
  depthMin: 1,
  depthMax: 16,
  /** fanOut^depth may not exceed this: every leaf costs a slot even while empty. */
  leavesCountMax: 1 << 20,
});

/** One key of the partition and the hash of its stored record. */
export interface LeafEntry {
  readonly key: Uint8Array;
  readonly recordHash: Uint8Array;
}

/** Validates the user part of the options once; throws RangeError naming the field and its range. */
export function validateTreeShape(options: { readonly fanOut?: number; readonly depth?: number }): TreeShape {
  const fanOut = options.fanOut ?? merkleTreeDefaults.fanOut;
  const depth = options.depth ?? merkleTreeDefaults.depth;
  const limits = merkleTreeLimits;
  if (!Number.isInteger(fanOut) || fanOut < limits.fanOutMin || fanOut > limits.fanOutMax) {
    throw new RangeError(
      `MerkleTree fanOut must be an integer in ${limits.fanOutMin}..${limits.fanOutMax} (children per node), got ${fanOut}`,
    );
  }
  if (!Number.isInteger(depth) || depth < limits.depthMin || depth > limits.depthMax) {
    throw new RangeError(
      `MerkleTree depth must be an integer in ${limits.depthMin}..${limits.depthMax} (levels below the root), got ${depth}`,
    );
  }
  if (fanOut ** depth > limits.leavesCountMax) {
    throw new RangeError(
      `MerkleTree fanOut^depth must be at most ${limits.leavesCountMax} leaves, got ${fanOut}^${depth} = ${fanOut ** depth}`,
    );
  }
  return Object.freeze({ fanOut, depth });
}

export function sameShape(a: TreeShape, b: TreeShape): boolean {
  return a.fanOut === b.fanOut && a.depth === b.depth;
}

/** Node-kind tags hashed in front of a node's content, so a leaf can never be read as an interior node. */
const leafTag = 0;
const interiorTag = 1;

export class MerkleTree {
  readonly shape: TreeShape;
  readonly leafCount: number;
  private readonly digest: DigestFunction;
  /** Bytes of one node hash: the digest's length, the same for every node. */
  private readonly hashLength: number;
  /** levelStarts[level]: the position (in nodes) of the level's first node in nodeHashBytes. */
  private readonly levelStarts: number[];
  /** Every node's hash, level 0 (the root) first, each level's nodes in index order. */
  private readonly nodeHashBytes: Uint8Array;
  /** An interior node's encoding (tag, then its children's hashes), reused for every interior digest. */
  private readonly interiorInput: Uint8Array;
  /** Where the digest may write a node hash before it is copied into nodeHashBytes. */
  private readonly digestOut: Uint8Array;
  private readonly keys: KeyArena;
  private readonly dirtyLeaves = new Set<number>();

  constructor(options: MerkleTreeOptions) {
    this.shape = validateTreeShape(options);
    this.digest = options.digest;
    const { fanOut, depth } = this.shape;
    this.leafCount = fanOut ** depth;
    this.levelStarts = [0];
    for (let level = 1; level <= depth; level++)
      this.levelStarts.push((this.levelStarts[level - 1] as number) + fanOut ** (level - 1));
    // encodeLeaf of no entries is its tag alone.
    const emptyLeafHash = this.digest(Uint8Array.of(leafTag)).slice();
    this.hashLength = emptyLeafHash.length;
    this.nodeHashBytes = new Uint8Array(((this.levelStarts[depth] as number) + this.leafCount) * this.hashLength);
    this.interiorInput = new Uint8Array(1 + fanOut * this.hashLength);
    this.interiorInput[0] = interiorTag;
    this.digestOut = new Uint8Array(this.hashLength);
    this.keys = new KeyArena(this.leafCount, this.hashLength);
    this.fillEmptyLevels(emptyLeafHash);
  }

  /** A tree over `entries`, hashed once bottom-up. A later entry for the same key replaces an earlier one. */
  static build(entries: Iterable<LeafEntry>, options: MerkleTreeOptions): MerkleTree {
    const tree = new MerkleTree(options);
    for (const entry of entries) tree.set(entry.key, entry.recordHash);
    tree.refresh();
    return tree;
  }

  /** Number of keys in the tree. */
  get size(): number {
    return this.keys.size;
  }

  /** The leaf that holds `key`: the first 32 bits of digest(key), scaled to the leaf count. */
  leafIndexOf(key: Uint8Array): number {
    const keyDigest = this.digest(key);
    assert(keyDigest.length >= 4, 'MerkleTree digest must return at least 4 bytes');
    const prefix =
      (((keyDigest[0] as number) << 24) |
        ((keyDigest[1] as number) << 16) |
        ((keyDigest[2] as number) << 8) |
        (keyDigest[3] as number)) >>>
      0;
    // prefix * leafCount < 2^32 * 2^20, exact in a double.
    return Math.floor((prefix * this.leafCount) / 4294967296);
  }

  /** A copy of the record hash stored for `key`, or undefined. */
  get(key: Uint8Array): Uint8Array | undefined {
    const slot = this.keys.slotOf(latin1Text(key));
    return slot === undefined ? undefined : this.keys.recordHashView(slot).slice();
  }

  /** Records that `key` now holds a record with `recordHash`. Both are copied. */
  set(key: Uint8Array, recordHash: Uint8Array): void {
    const keyText = latin1Text(key);
    const slot = this.keys.slotOf(keyText);
    if (slot !== undefined) {
      if (this.keys.holdsHash(slot, recordHash)) return;
      this.keys.writeHash(slot, recordHash);
      this.dirtyLeaves.add(this.keys.leafOf(slot));
      return;
    }
    const leafIndex = this.leafIndexOf(key);
    this.keys.insert(keyText, leafIndex, recordHash);
    this.dirtyLeaves.add(leafIndex);
  }

  /** Removes `key`; returns whether it was present. */
  delete(key: Uint8Array): boolean {
    const leafIndex = this.keys.remove(latin1Text(key));
    if (leafIndex === undefined) return false;
    this.dirtyLeaves.add(leafIndex);
    return true;
  }

  /** The root hash (a copy). */
  rootHash(): Uint8Array {
    return this.nodeHash(0, 0).slice();
  }

  /** Copies of the hashes of nodes `indices` of `level`, in the order asked: what an exchange sends. */
  nodeHashes(level: number, indices: readonly number[]): Uint8Array[] {
    return indices.map((index) => this.nodeHash(level, index).slice());
  }

  /**
   * The hash of one node without a copy, for comparisons in place: a view into the tree's hashes,
   * which the next write's re-hash may overwrite. Compare it at once; do not keep or mutate it.
   */
  nodeHash(level: number, index: number): Uint8Array {
    assert(
      Number.isInteger(level) && level >= 0 && level <= this.shape.depth,
      `tree level ${level} out of 0..${this.shape.depth}`,
    );
    const levelSize = this.shape.fanOut ** level;
    assert(
      Number.isInteger(index) && index >= 0 && index < levelSize,
      `node index ${index} out of 0..${levelSize - 1} on level ${level}`,
    );
    this.refresh();
    const start = ((this.levelStarts[level] as number) + index) * this.hashLength;
    return this.nodeHashBytes.subarray(start, start + this.hashLength);
  }

  /** The entries of one leaf, sorted by key (new frozen entries holding copies). */
  keysInLeaf(leafIndex: number): LeafEntry[] {
    assert(
      Number.isInteger(leafIndex) && leafIndex >= 0 && leafIndex < this.leafCount,
      `leaf index ${leafIndex} out of 0..${this.leafCount - 1}`,
    );
    return this.keys.sortedSlotsOfLeaf(leafIndex).map((slot) => this.entryOf(slot));
  }

  /** Every entry, leaf by leaf (so in leaf order, not key order). */
  *entries(): IterableIterator<LeafEntry> {
    for (let leafIndex = 0; leafIndex < this.leafCount; leafIndex++)
      if (!this.keys.isLeafEmpty(leafIndex))
        for (const slot of this.keys.sortedSlotsOfLeaf(leafIndex)) yield this.entryOf(slot);
  }

  private entryOf(slot: number): LeafEntry {
    return Object.freeze({
      key: latin1Bytes(this.keys.keyOf(slot)),
      recordHash: this.keys.recordHashView(slot).slice(),
    });
  }

  /** Re-hashes the dirty leaves, then each level's dirty parents up to the root. */
  private refresh(): void {
    if (this.dirtyLeaves.size === 0) return;
    const { fanOut, depth } = this.shape;
    for (const leafIndex of this.dirtyLeaves)
      this.storeNodeHash(depth, leafIndex, encodeLeaf(this.keys, this.keys.sortedSlotsOfLeaf(leafIndex)));
    let dirty: Iterable<number> = this.dirtyLeaves;
    for (let level = depth - 1; level >= 0; level--) {
      const parents = new Set<number>();
      for (const child of dirty) parents.add(Math.floor(child / fanOut));
      for (const parent of parents) this.storeNodeHash(level, parent, this.encodeInterior(level, parent));
      dirty = parents;
    }
    this.dirtyLeaves.clear();
  }

  /** Tag, then the children's hashes in order (all of one digest's length, so no prefixes needed). */
  private encodeInterior(level: number, index: number): Uint8Array {
    const fanOut = this.shape.fanOut;
    const firstChild = ((this.levelStarts[level + 1] as number) + index * fanOut) * this.hashLength;
    this.interiorInput.set(this.nodeHashBytes.subarray(firstChild, firstChild + fanOut * this.hashLength), 1);
    return this.interiorInput;
  }

  private storeNodeHash(level: number, index: number, encoded: Uint8Array): void {
    const hash = this.digest(encoded, this.digestOut);
    assert(hash.length === this.hashLength, 'MerkleTree digest must return hashes of one length');
    this.nodeHashBytes.set(hash, ((this.levelStarts[level] as number) + index) * this.hashLength);
  }

  /** Every level filled with the hash of an empty subtree of that height (one digest per level). */
  private fillEmptyLevels(emptyLeafHash: Uint8Array): void {
    const { fanOut, depth } = this.shape;
    let emptyHash = emptyLeafHash;
    for (let level = depth; level >= 0; level--) {
      const levelStart = this.levelStarts[level] as number;
      for (let index = 0; index < fanOut ** level; index++)
        this.nodeHashBytes.set(emptyHash, (levelStart + index) * this.hashLength);
      if (level > 0) emptyHash = this.digest(this.encodeInterior(level - 1, 0)).slice();
    }
  }
}

/** Tag, then per entry (sorted by key): u32 key length, key, u32 hash length, hash. Length prefixes keep it unambiguous. */
function encodeLeaf(keys: KeyArena, sortedSlots: readonly number[]): Uint8Array {
  let length = 1;
  for (const slot of sortedSlots) length += 8 + keys.keyOf(slot).length + keys.recordHashView(slot).length;
  const bytes = new Uint8Array(length);
  bytes[0] = leafTag;
  let offset = 1;
  for (const slot of sortedSlots) {
    const keyText = keys.keyOf(slot);
    writeLength(bytes, offset, keyText.length);
    offset += 4;
    for (let index = 0; index < keyText.length; index++) bytes[offset + index] = keyText.charCodeAt(index);
    offset += keyText.length;
    offset = writeLengthPrefixed(bytes, offset, keys.recordHashView(slot));
  }
  return bytes;
}

function writeLength(target: Uint8Array, offset: number, length: number): void {
  target[offset] = length >>> 24;
  target[offset + 1] = (length >>> 16) & 0xff;
  target[offset + 2] = (length >>> 8) & 0xff;
  target[offset + 3] = length & 0xff;
}

function writeLengthPrefixed(target: Uint8Array, offset: number, content: Uint8Array): number {
  const length = content.length;
  writeLength(target, offset, length);
  target.set(content, offset + 4);
  return offset + 4 + length;
}
