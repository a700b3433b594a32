// Why: anti-entropy runs beside foreground traffic, so its costs must be known: what a write costs the
// partition's Merkle tree, what reading the root after a write costs, and how fast two large trees
// with a few differences are compared. SHA-256 from node:crypto is injected, as in production.
// Shape: the default fan-out 16, depth 3 (4096 leaves); trees of 10000 keys (about 2.4 per leaf).
import { hash } from 'node:crypto';
import { measure, type BenchResult } from '../harness.ts';
import { MerkleTree, type LeafEntry } from '../../src/core/anti-entropy/merkle-tree.ts';
import { diff } from '../../src/core/anti-entropy/diff.ts';

const keysCount = 10_000;
const differencesCount = 10;

function sha256(input: Uint8Array): Uint8Array {
  return hash('sha256', input, 'buffer');
}

const encoder = new TextEncoder();
const keys = Array.from({ length: keysCount }, (_, index) => encoder.encode(`bucket/user:${index}`));
/** Two record hashes per key, so every write in a loop really changes the record. */
const recordHashes = [0, 1].map((version) => keys.map((key) => sha256(Uint8Array.from([...key, version]))));

function entries(version: number): LeafEntry[] {
  return keys.map((key, index) => ({ key, recordHash: recordHashes[version]![index]! }));
}

function recordHashFor(iteration: number): Uint8Array {
  // Alternates the version each pass over the keys, so no write is a no-op.
  const version = Math.floor(iteration / keysCount) % 2 === 0 ? 1 : 0;
  return recordHashes[version]![iteration % keysCount]!;
}

/**
 * One op = set() of one key of a 10000-key tree to a new record hash (leaf placement digest, sorted
 * insert into the leaf, mark dirty), plus on every 100th op a rootHash() that re-hashes the <= 100
 * dirty leaves and their ancestors. So it is the amortised cost of a write under a root read per 100 writes.
 */
function setThenRootEvery100(): BenchResult {
  const tree = MerkleTree.build(entries(0), { digest: sha256 });
  return measure('merkle set, rootHash every 100 (10k keys)', (iteration) => {
    tree.set(keys[iteration % keysCount]!, recordHashFor(iteration));
    return iteration % 100 === 99 ? tree.rootHash() : undefined;
  });
}

/** One op = set() of one key, then rootHash(): one leaf and its 3 ancestors re-hashed, plus the key's placement digest. */
function rootAfterOneUpdate(): BenchResult {
  const tree = MerkleTree.build(entries(0), { digest: sha256 });
  return measure('merkle set + rootHash (one path, 10k keys)', (iteration) => {
    tree.set(keys[iteration % keysCount]!, recordHashFor(iteration));
    return tree.rootHash();
  });
}

/** One op = diff() of two already-hashed 10000-key trees that differ in 10 keys' record hashes. */
function diffTenDifferences(): BenchResult {
  const left = MerkleTree.build(entries(0), { digest: sha256 });
  const right = MerkleTree.build(entries(0), { digest: sha256 });
  for (let index = 0; index < differencesCount; index++) {
    const changed = index * 997;
    right.set(keys[changed]!, recordHashes[1]![changed]!);
  }
  right.rootHash();
  return measure('merkle diff 10k vs 10k keys, 10 differences', () => diff(left, right), 1000, 100);
}

/** One op = MerkleTree.build() of 10000 entries from scratch (what a node does after a restart or handoff). */
function buildFromScratch(): BenchResult {
  const all = entries(0);
  return measure('merkle build 10k keys from scratch', () => MerkleTree.build(all, { digest: sha256 }), 1000, 1);
}

export function run(): BenchResult[] {
  return [setThenRootEvery100(), rootAfterOneUpdate(), diffTenDifferences(), buildFromScratch()];
}
