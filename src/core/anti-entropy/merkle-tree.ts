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
// Layout: every replica updates its trees on every write it stores, so a write must be cheap. Keys are
// held as latin1 strings in one Map per tree (to one byte array: their leaf, then their record hash)
// and in a sorted string array per leaf; updating a key already held finds it without digesting the key and overwrites its
// record hash in place, allocating nothing that outlives the call. The LeafEntry values the API hands
// out are made on the rare reads that need them. The hashes are those of the byte layout encodeLeaf
// defines, so the layout is invisible to a peer.
import { assert } from '../base/assert.ts';
import type { DigestFunction } from '../base/hash.ts';
import { latin1Text } from '../base/latin1.ts';

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

/**
 * One key's slot: a single byte array, the key's leaf index (u32, big-endian) then its record hash,
 * so a held key costs one small array and no object besides. Internal and mutable: an update of an
 * existing key overwrites the hash in place (same length) instead of allocating a new entry, and the
 * public LeafEntry values are made from it only on the rare reads that need them.
 */
type KeySlot = Uint8Array;
const slotHashOffset = 4;

export class MerkleTree {
  readonly shape: TreeShape;
  readonly leafCount: number;
  private readonly digest: DigestFunction;
  /** hashes[level][index]; an entry is replaced, never mutated, so empty subtrees share one array. */
  private readonly hashes: Uint8Array[][];
  /**
   * Every key, as a latin1 string (one character per byte), to its slot. A write of a key already
   * held finds its leaf here without digesting the key, which is most writes of a live store.
   */
  private readonly slots = new Map<string, KeySlot>();
  /**
   * Each leaf's keys (latin1) sorted by byte order, which is the strings' code-unit order since every
   * code unit is below 256; undefined while the leaf is empty. Changed only by inserts and deletes.
   */
  private readonly leaves: Array<string[] | undefined>;
  private readonly dirtyLeaves = new Set<number>();

  constructor(options: MerkleTreeOptions) {
    this.shape = validateTreeShape(options);
    this.digest = options.digest;
    this.leafCount = this.shape.fanOut ** this.shape.depth;
    this.leaves = new Array<string[] | undefined>(this.leafCount).fill(undefined);
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
    return this.slots.size;
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
    const slot = this.slots.get(latin1Of(key));
    return slot === undefined ? undefined : slot.slice(slotHashOffset);
  }

  /** Records that `key` now holds a record with `recordHash`. Both are copied. */
  set(key: Uint8Array, recordHash: Uint8Array): void {
    const keyText = latin1Of(key);
    const slot = this.slots.get(keyText);
    if (slot !== undefined) {
      if (slotHoldsHash(slot, recordHash)) return;
      if (slot.length === slotHashOffset + recordHash.length) slot.set(recordHash, slotHashOffset);
      else this.slots.set(keyText, newSlot(leafOfSlot(slot), recordHash));
      this.dirtyLeaves.add(leafOfSlot(slot));
      return;
    }
    const leafIndex = this.leafIndexOf(key);
    let leaf = this.leaves[leafIndex];
    if (leaf === undefined) {
      leaf = [];
      this.leaves[leafIndex] = leaf;
    }
    leaf.splice(searchLeaf(leaf, keyText).index, 0, keyText);
    this.slots.set(keyText, newSlot(leafIndex, recordHash));
    this.dirtyLeaves.add(leafIndex);
  }

  /** Removes `key`; returns whether it was present. */
  delete(key: Uint8Array): boolean {
    const keyText = latin1Of(key);
    const slot = this.slots.get(keyText);
    if (slot === undefined) return false;
    const leafIndex = leafOfSlot(slot);
    const leaf = this.leaves[leafIndex] as string[];
    leaf.splice(searchLeaf(leaf, keyText).index, 1);
    if (leaf.length === 0) this.leaves[leafIndex] = undefined;
    this.slots.delete(keyText);
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
    assert(
      Number.isInteger(level) && level >= 0 && level <= this.shape.depth,
      `tree level ${level} out of 0..${this.shape.depth}`,
    );
    const row = this.hashes[level] as Uint8Array[];
    assert(
      Number.isInteger(index) && index >= 0 && index < row.length,
      `node index ${index} out of 0..${row.length - 1} on level ${level}`,
    );
    this.refresh();
    return row[index] as Uint8Array;
  }

  /** The entries of one leaf, sorted by key (new frozen entries holding copies). */
  keysInLeaf(leafIndex: number): LeafEntry[] {
    assert(
      Number.isInteger(leafIndex) && leafIndex >= 0 && leafIndex < this.leafCount,
      `leaf index ${leafIndex} out of 0..${this.leafCount - 1}`,
    );
    return (this.leaves[leafIndex] ?? []).map((keyText) => this.entryOf(keyText));
  }

  /** Every entry, leaf by leaf (so in leaf order, not key order). */
  *entries(): IterableIterator<LeafEntry> {
    for (const leaf of this.leaves) if (leaf !== undefined) for (const keyText of leaf) yield this.entryOf(keyText);
  }

  private entryOf(keyText: string): LeafEntry {
    const slot = this.slots.get(keyText) as KeySlot;
    return Object.freeze({ key: bytesOfLatin1(keyText), recordHash: slot.slice(slotHashOffset) });
  }

  /** Re-hashes the dirty leaves, then each level's dirty parents up to the root. */
  private refresh(): void {
    if (this.dirtyLeaves.size === 0) return;
    const { fanOut, depth } = this.shape;
    const leafRow = this.hashes[depth] as Uint8Array[];
    for (const leafIndex of this.dirtyLeaves)
      leafRow[leafIndex] = this.digest(encodeLeaf(this.leaves[leafIndex] ?? [], this.slots));
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
    let emptyHash = this.digest(encodeLeaf([], this.slots));
    for (let level = depth; level >= 0; level--) {
      const row = new Array<Uint8Array>(fanOut ** level).fill(emptyHash);
      levels[level] = row;
      if (level > 0) emptyHash = this.digest(encodeInterior(row, 0, fanOut));
    }
    return levels;
  }
}

function newSlot(leafIndex: number, recordHash: Uint8Array): KeySlot {
  const slot = new Uint8Array(slotHashOffset + recordHash.length);
  slot[0] = leafIndex >>> 24;
  slot[1] = (leafIndex >>> 16) & 0xff;
  slot[2] = (leafIndex >>> 8) & 0xff;
  slot[3] = leafIndex & 0xff;
  slot.set(recordHash, slotHashOffset);
  return slot;
}

function leafOfSlot(slot: KeySlot): number {
  return (
    (((slot[0] as number) << 24) | ((slot[1] as number) << 16) | ((slot[2] as number) << 8) | (slot[3] as number)) >>> 0
  );
}

function slotHoldsHash(slot: KeySlot, recordHash: Uint8Array): boolean {
  if (slot.length !== slotHashOffset + recordHash.length) return false;
  for (let index = 0; index < recordHash.length; index++)
    if (slot[slotHashOffset + index] !== recordHash[index]) return false;
  return true;
}

/** One character per byte: a Map key that compares, hashes and sorts like the bytes (one flat string, base/latin1.ts). */
function latin1Of(bytes: Uint8Array): string {
  return latin1Text(bytes);
}

function bytesOfLatin1(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let index = 0; index < text.length; index++) bytes[index] = text.charCodeAt(index);
  return bytes;
}

/** Binary search of a leaf's sorted keys: the key's position, or where it would be inserted. */
function searchLeaf(leaf: readonly string[], keyText: string): { found: boolean; index: number } {
  let low = 0;
  let high = leaf.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const other = leaf[middle] as string;
    if (other === keyText) return { found: true, index: middle };
    if (other < keyText) low = middle + 1;
    else high = middle;
  }
  return { found: false, index: low };
}

/** Tag, then per entry: u32 key length, key, u32 hash length, hash. Length prefixes keep it unambiguous. */
function encodeLeaf(keyTexts: readonly string[], slots: ReadonlyMap<string, KeySlot>): Uint8Array {
  let length = 1;
  for (const keyText of keyTexts)
    length += 8 + keyText.length + (slots.get(keyText) as KeySlot).length - slotHashOffset;
  const bytes = new Uint8Array(length);
  bytes[0] = leafTag;
  let offset = 1;
  for (const keyText of keyTexts) {
    writeLength(bytes, offset, keyText.length);
    offset += 4;
    for (let index = 0; index < keyText.length; index++) bytes[offset + index] = keyText.charCodeAt(index);
    offset += keyText.length;
    offset = writeLengthPrefixed(bytes, offset, (slots.get(keyText) as KeySlot).subarray(slotHashOffset));
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
