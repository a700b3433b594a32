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
import { assert } from '../base/assert.ts';
import { bytesEqual, compareBytes } from '../base/bytes.ts';
import type { DigestFunction } from '../base/hash.ts';

/** The fan-out and depth of a tree. Two trees can be compared only when their shapes are equal. */
export interface TreeShape {
  readonly fanOut: number;
  readonly depth: number;
}

export interface MerkleTreeOptions {
  /**
   * Digest for leaf placement and node hashes; SHA-256 in production (docs/ARCHITECTURE.md section 3). Every
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
    throw new RangeError(`MerkleTree fanOut must be an integer in ${limits.fanOutMin}..${limits.fanOutMax} (children per node), got ${fanOut}`);
  }
  if (!Number.isInteger(depth) || depth < limits.depthMin || depth > limits.depthMax) {
    throw new RangeError(`MerkleTree depth must be an integer in ${limits.depthMin}..${limits.depthMax} (levels below the root), got ${depth}`);
  }
  if (fanOut ** depth > limits.leavesCountMax) {
    throw new RangeError(`MerkleTree fanOut^depth must be at most ${limits.leavesCountMax} leaves, got ${fanOut}^${depth} = ${fanOut ** depth}`);
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
  /** hashes[level][index]; an entry is replaced, never mutated, so empty subtrees share one array. */
  private readonly hashes: Uint8Array[][];
  /** Each leaf's entries sorted by key; undefined while the leaf is empty. */
  private readonly leaves: Array<LeafEntry[] | undefined>;
  private readonly dirtyLeaves = new Set<number>();
  private entryCount = 0;

  constructor(options: MerkleTreeOptions) {
    this.shape = validateTreeShape(options);
    this.digest = options.digest;
    this.leafCount = this.shape.fanOut ** this.shape.depth;
    this.leaves = new Array<LeafEntry[] | undefined>(this.leafCount).fill(undefined);
    this.hashes = this.emptyLevels();
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
    return this.entryCount;
  }

  /** The leaf that holds `key`: the first 32 bits of digest(key), scaled to the leaf count. */
  leafIndexOf(key: Uint8Array): number {
    const keyDigest = this.digest(key);
    assert(keyDigest.length >= 4, 'MerkleTree digest must return at least 4 bytes');
    const prefix = (((keyDigest[0] as number) << 24) | ((keyDigest[1] as number) << 16) | ((keyDigest[2] as number) << 8) | (keyDigest[3] as number)) >>> 0;
    // prefix * leafCount < 2^32 * 2^20, exact in a double.
    return Math.floor((prefix * this.leafCount) / 4294967296);
  }

  /** The record hash stored for `key`, or undefined. The bytes are the tree's own: do not mutate them. */
  get(key: Uint8Array): Uint8Array | undefined {
    const leaf = this.leaves[this.leafIndexOf(key)];
    if (leaf === undefined) return undefined;
    const position = searchLeaf(leaf, key);
    return position.found ? leaf[position.index]?.recordHash : undefined;
  }

  /** Records that `key` now holds a record with `recordHash`. Both are copied. */
  set(key: Uint8Array, recordHash: Uint8Array): void {
    const leafIndex = this.leafIndexOf(key);
    let leaf = this.leaves[leafIndex];
    if (leaf === undefined) {
      leaf = [];
      this.leaves[leafIndex] = leaf;
    }
    const position = searchLeaf(leaf, key);
    const existing = position.found ? leaf[position.index] : undefined;
    if (existing !== undefined) {
      if (bytesEqual(existing.recordHash, recordHash)) return;
      leaf[position.index] = Object.freeze({ key: existing.key, recordHash: new Uint8Array(recordHash) });
    } else {
      leaf.splice(position.index, 0, Object.freeze({ key: new Uint8Array(key), recordHash: new Uint8Array(recordHash) }));
      this.entryCount++;
    }
    this.dirtyLeaves.add(leafIndex);
  }

  /** Removes `key`; returns whether it was present. */
  delete(key: Uint8Array): boolean {
    const leafIndex = this.leafIndexOf(key);
    const leaf = this.leaves[leafIndex];
    if (leaf === undefined) return false;
    const position = searchLeaf(leaf, key);
    if (!position.found) return false;
    leaf.splice(position.index, 1);
    if (leaf.length === 0) this.leaves[leafIndex] = undefined;
    this.entryCount--;
    this.dirtyLeaves.add(leafIndex);
    return true;
  }

  /** The root hash (a copy). */
  rootHash(): Uint8Array {
    return new Uint8Array(this.nodeHash(0, 0));
  }

  /** Copies of the hashes of nodes `indices` of `level`, in the order asked: what an exchange sends. */
  nodeHashes(level: number, indices: readonly number[]): Uint8Array[] {
    return indices.map((index) => new Uint8Array(this.nodeHash(level, index)));
  }

  /** The hash of one node without a copy, for comparisons in place. Do not mutate the result. */
  nodeHash(level: number, index: number): Uint8Array {
    assert(Number.isInteger(level) && level >= 0 && level <= this.shape.depth, `tree level ${level} out of 0..${this.shape.depth}`);
    const row = this.hashes[level] as Uint8Array[];
    assert(Number.isInteger(index) && index >= 0 && index < row.length, `node index ${index} out of 0..${row.length - 1} on level ${level}`);
    this.refresh();
    return row[index] as Uint8Array;
  }

  /** The entries of one leaf, sorted by key (a new array; the entries are frozen). */
  keysInLeaf(leafIndex: number): LeafEntry[] {
    assert(Number.isInteger(leafIndex) && leafIndex >= 0 && leafIndex < this.leafCount, `leaf index ${leafIndex} out of 0..${this.leafCount - 1}`);
    return this.leaves[leafIndex]?.slice() ?? [];
  }

  /** Every entry, leaf by leaf (so in leaf order, not key order). */
  *entries(): IterableIterator<LeafEntry> {
    for (const leaf of this.leaves) if (leaf !== undefined) yield* leaf;
  }

  /** Re-hashes the dirty leaves, then each level's dirty parents up to the root. */
  private refresh(): void {
    if (this.dirtyLeaves.size === 0) return;
    const { fanOut, depth } = this.shape;
    const leafRow = this.hashes[depth] as Uint8Array[];
    for (const leafIndex of this.dirtyLeaves) leafRow[leafIndex] = this.digest(encodeLeaf(this.leaves[leafIndex] ?? []));
    let dirty: Iterable<number> = this.dirtyLeaves;
    for (let level = depth - 1; level >= 0; level--) {
      const parents = new Set<number>();
      for (const child of dirty) parents.add(Math.floor(child / fanOut));
      const row = this.hashes[level] as Uint8Array[];
      const childRow = this.hashes[level + 1] as Uint8Array[];
      for (const parent of parents) row[parent] = this.digest(encodeInterior(childRow, parent * fanOut, fanOut));
      dirty = parents;
    }
    this.dirtyLeaves.clear();
  }

  /** Every level filled with the hash of an empty subtree of that height (one digest per level). */
  private emptyLevels(): Uint8Array[][] {
    const { fanOut, depth } = this.shape;
    const levels: Uint8Array[][] = [];
    let emptyHash = this.digest(encodeLeaf([]));
    for (let level = depth; level >= 0; level--) {
      const row = new Array<Uint8Array>(fanOut ** level).fill(emptyHash);
      levels[level] = row;
      if (level > 0) emptyHash = this.digest(encodeInterior(row, 0, fanOut));
    }
    return levels;
  }
}

/** Binary search of a leaf sorted by key: the key's position, or where it would be inserted. */
function searchLeaf(leaf: readonly LeafEntry[], key: Uint8Array): { found: boolean; index: number } {
  let low = 0;
  let high = leaf.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const order = compareBytes((leaf[middle] as LeafEntry).key, key);
    if (order === 0) return { found: true, index: middle };
    if (order < 0) low = middle + 1;
    else high = middle;
  }
  return { found: false, index: low };
}

/** Tag, then per entry: u32 key length, key, u32 hash length, hash. Length prefixes keep it unambiguous. */
function encodeLeaf(entries: readonly LeafEntry[]): Uint8Array {
  let length = 1;
  for (const entry of entries) length += 8 + entry.key.length + entry.recordHash.length;
  const bytes = new Uint8Array(length);
  bytes[0] = leafTag;
  let offset = 1;
  for (const entry of entries) {
    offset = writeLengthPrefixed(bytes, offset, entry.key);
    offset = writeLengthPrefixed(bytes, offset, entry.recordHash);
  }
  return bytes;
}

function writeLengthPrefixed(target: Uint8Array, offset: number, content: Uint8Array): number {
  const length = content.length;
  target[offset] = length >>> 24;
  target[offset + 1] = (length >>> 16) & 0xff;
  target[offset + 2] = (length >>> 8) & 0xff;
  target[offset + 3] = length & 0xff;
  target.set(content, offset + 4);
  return offset + 4 + length;
}

/** Tag, then the children's hashes in order (all of one digest's length, so no prefixes needed). */
function encodeInterior(childRow: readonly Uint8Array[], firstChild: number, fanOut: number): Uint8Array {
  let length = 1;
  for (let i = 0; i < fanOut; i++) length += (childRow[firstChild + i] as Uint8Array).length;
  const bytes = new Uint8Array(length);
  bytes[0] = interiorTag;
  let offset = 1;
  for (let i = 0; i < fanOut; i++) {
    const child = childRow[firstChild + i] as Uint8Array;
    bytes.set(child, offset);
    offset += child.length;
  }
  return bytes;
}
