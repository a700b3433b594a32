// Why: anti-entropy keeps one Merkle tree per held partition current on every write (decision 0016),
// and that per-write maintenance once cost a third of SET throughput (docs/BENCHMARKS.md, 2026-12-07).
// This bench isolates it: 256 partition trees of the production shape, 100k keys of redis-benchmark's
// form (key:000000012345) spread over them, MD5 record hashes precomputed (the replica computes one
// per write whatever the tree does), then timed rounds of inserts and of updates of existing keys,
// printed as µs per write, with the heap after a forced GC (run with --expose-gc for that figure).
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
  return process.memoryUsage().heapUsed / 1048576;
}

const keys = Array.from({ length: keysCount }, (_, index) =>
  new TextEncoder().encode(`key:${String(index).padStart(12, '0')}`),
);
const hashesA = keys.map((key) => md5(new Uint8Array([...key, 1])));
const hashesB = keys.map((key) => md5(new Uint8Array([...key, 2])));
const heapBefore = heapMiB();
const trees = Array.from({ length: partitions }, () => new MerkleTree({ digest: md5, fanOut: 16, depth: 3 }));

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
console.log(
  `merkle trees: ${partitions} partitions, ${keysCount} keys${collect === undefined ? ' (no --expose-gc: heap figures include garbage)' : ''}`,
);
console.log(`  insert  ${insertMicros.toFixed(2)} µs/write`);
console.log(`  update  ${updateMicros.map((value) => value.toFixed(2)).join(' ')} µs/write (best ${best.toFixed(2)})`);
console.log(`  first root hash of every tree after the writes: ${refreshMs.toFixed(0)} ms`);
console.log(`  fingerprint of the 256 roots: ${rootsFingerprint}`);
console.log(
  `  heap held by the trees: ${(heapAfterInsert - heapBefore).toFixed(1)} MiB after inserts, ${(heapAfter - heapBefore).toFixed(1)} MiB after updates`,
);
