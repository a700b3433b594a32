// Why: anti-entropy keeps one Merkle tree per held partition current on every write (decision 0016),
// and that per-write maintenance once cost a third of SET throughput (docs/BENCHMARKS.md, 2026-12-07).
// This bench isolates it: 256 partition trees of the production shape, 100k keys of redis-benchmark's
// form (key:000000012345) spread over them, MD5 record hashes precomputed (the replica computes one
// per write whatever the tree does), then timed rounds of inserts and of updates of existing keys,
// printed as µs per write, with the memory the trees hold after a forced GC (run with --expose-gc for
// that figure): V8 heap plus array buffers, since a large typed array's bytes live outside the heap.
// Last, what an exchange's read of one leaf (keysInLeaf) costs in a single tree of 4k and of 400k keys.
//   node --expose-gc --import tsx bench/merkle-tree.bench.ts [keys=100000] [rounds=5]
import { performance } from 'node:perf_hooks';
import { md5 } from '../src/core/base/md5.ts';
import { MerkleTree } from '../src/core/anti-entropy/index.ts';

const keysCount = Number(process.argv[2] ?? 100_000);
const rounds = Number(process.argv[3] ?? 5);
const partitions = 256;
const collect = (globalThis as { gc?: () => void }).gc;

function heapMiB(): number {
  collect?.();
  const usage = process.memoryUsage();
  return (usage.heapUsed + usage.arrayBuffers) / 1048576;
}

const keys = Array.from({ length: keysCount }, (_, index) =>
  new TextEncoder().encode(`key:${String(index).padStart(12, '0')}`),
);
const hashesA = keys.map((key) => md5(new Uint8Array([...key, 1])));
const hashesB = keys.map((key) => md5(new Uint8Array([...key, 2])));
const heapBefore = heapMiB();
const trees = Array.from({ length: partitions }, () => new MerkleTree({ digest: md5, fanOut: 16, depth: 3 }));
const heapOfEmptyTrees = heapMiB();

function writeAll(hashes: Uint8Array[]): number {
  const start = performance.now();
  for (let index = 0; index < keysCount; index++)
    (trees[index % partitions] as MerkleTree).set(keys[index] as Uint8Array, hashes[index] as Uint8Array);
  return ((performance.now() - start) * 1000) / keysCount;
}

const insertMicros = writeAll(hashesA);
const heapAfterInsert = heapMiB();
const updateMicros: number[] = [];
for (let round = 0; round < rounds; round++) updateMicros.push(writeAll(round % 2 === 0 ? hashesB : hashesA));
const refreshStart = performance.now();
for (const tree of trees) tree.rootHash();
const refreshMs = performance.now() - refreshStart;
const heapAfter = heapMiB();
// The same contents must give the same roots whatever the tree's inner layout: compare this line across versions.
const rootsFingerprint = Buffer.from(md5(Buffer.concat(trees.map((tree) => tree.rootHash())))).toString('hex');
const best = Math.min(...updateMicros);
// What the keys add to the empty trees (their node hashes and leaf heads are a fixed cost per tree).
const heldPerKey = ((heapAfter - heapOfEmptyTrees) * 1048576) / keysCount;

/** Microseconds per keysInLeaf over every leaf of one tree holding `count` keys. */
function leafReadMicros(count: number): number {
  const tree = new MerkleTree({ digest: md5, fanOut: 16, depth: 3 });
  for (let index = 0; index < count; index++)
    tree.set(
      new TextEncoder().encode(`key:${String(index).padStart(12, '0')}`),
      hashesA[index % keysCount] as Uint8Array,
    );
  const start = performance.now();
  for (let leafIndex = 0; leafIndex < tree.leafCount; leafIndex++) tree.keysInLeaf(leafIndex);
  return ((performance.now() - start) * 1000) / tree.leafCount;
}
const leafReads = [4096, 409_600].map((count) => `${leafReadMicros(count).toFixed(1)} µs at ${count} keys`);
console.log(
  `merkle trees: ${partitions} partitions, ${keysCount} keys${collect === undefined ? ' (no --expose-gc: heap figures include garbage)' : ''}`,
);
console.log(`  insert  ${insertMicros.toFixed(2)} µs/write`);
console.log(`  update  ${updateMicros.map((value) => value.toFixed(2)).join(' ')} µs/write (best ${best.toFixed(2)})`);
console.log(`  first root hash of every tree after the writes: ${refreshMs.toFixed(0)} ms`);
console.log(`  fingerprint of the 256 roots: ${rootsFingerprint}`);
console.log(
  `  heap and array buffers held by the trees: ${(heapAfterInsert - heapBefore).toFixed(1)} MiB after inserts, ${(heapAfter - heapBefore).toFixed(1)} MiB after updates`,
);
console.log(
  `  of which the 256 empty trees ${(heapOfEmptyTrees - heapBefore).toFixed(1)} MiB; the keys ${heldPerKey.toFixed(0)} bytes per key after updates`,
);
console.log(`  keysInLeaf of one tree (16^3 leaves), per leaf: ${leafReads.join(', ')}`);
