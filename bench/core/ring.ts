// Why: the ring sits on every request's path (hash the key, find its preference list) and a claim runs
// on every membership change, so their costs must be known on this machine: preference-list lookups
// with and without a liveness check (the target is >= 1M/s), the pure-TS MD5 key hash against
// node:crypto's, and a strategy-3 claim for 16 nodes. Shape: Q = 256, S = 8, N = 3 unless stated.
import { hash } from 'node:crypto';
import { measure, type BenchResult } from '../harness.ts';
import { md5 } from '../../src/core/base/md5.ts';
import { asNodeId, type NodeId } from '../../src/core/base/ids.ts';
import { claimPartitions, createRing, keyHash, preferenceList, type RingMember } from '../../src/core/ring/index.ts';

const keysCount = 4096;

function members(count: number): RingMember[] {
  return Array.from({ length: count }, (_, index) => ({ id: asNodeId(`n${index + 1}`) }));
}

/** Precomputed key hashes, so the lookup benches time the lookup alone. */
const hashes = Array.from({ length: keysCount }, (_, index) => md5(new TextEncoder().encode(`bucket/user:${index}`)));
/** ~20-byte keys: "users" + "/" + "user:00000000123456" is 25 bytes of UTF-8 in all. */
const keys = Array.from({ length: keysCount }, (_, index) => `user:${String(index).padStart(14, '0')}`);

/** node:crypto's one-shot MD5 (measured at 3.3M/s, docs/ARCHITECTURE.md section 3), returning a Buffer. */
function nodeCryptoMd5(input: Uint8Array): Uint8Array {
  return hash('md5', input, 'buffer');
}

/** One op = preferenceList() for one precomputed key hash, every node alive (no isAlive). */
function lookupAllAlive(): BenchResult {
  const ring = createRing({ partitionCount: 256, members: members(8) });
  return measure('preferenceList Q=256 S=8 N=3 (no isAlive)', (iteration) =>
    preferenceList(ring, hashes[iteration % keysCount]!, { n: 3 }),
  );
}

/** One op = preferenceList() with an isAlive that says every node is alive (the coordinator's usual case). */
function lookupAliveCheck(): BenchResult {
  const ring = createRing({ partitionCount: 256, members: members(8) });
  const options = { n: 3, isAlive: (node: NodeId) => node.length > 0 };
  return measure('preferenceList Q=256 S=8 N=3 (isAlive, all alive)', (iteration) =>
    preferenceList(ring, hashes[iteration % keysCount]!, options),
  );
}

/** One op = preferenceList() with an isAlive that reports one node of the eight dead (fallbacks in play). */
function lookupOneDead(): BenchResult {
  const ring = createRing({ partitionCount: 256, members: members(8) });
  const dead = asNodeId('n3');
  const options = { n: 3, isAlive: (node: NodeId) => node !== dead };
  return measure('preferenceList Q=256 S=8 N=3 (isAlive, 1 of 8 dead)', (iteration) =>
    preferenceList(ring, hashes[iteration % keysCount]!, options),
  );
}

/** One op = keyHash() with the pure MD5, then preferenceList() with isAlive: a request's whole placement cost. */
function hashThenLookup(): BenchResult {
  const ring = createRing({ partitionCount: 256, members: members(8) });
  const options = { n: 3, isAlive: (node: NodeId) => node.length > 0 };
  return measure('keyHash (pure md5) + preferenceList (isAlive)', (iteration) =>
    preferenceList(ring, keyHash(md5, 'users', keys[iteration % keysCount]!), options),
  );
}

/** One op = keyHash() of bucket "users" and a 19-character key with the pure-TS MD5 (UTF-8 encode included). */
function keyHashPure(): BenchResult {
  return measure('keyHash md5 pure-TS (25-byte input)', (iteration) =>
    keyHash(md5, 'users', keys[iteration % keysCount]!),
  );
}

/** The same with node:crypto's MD5, for comparison (what the runtime could inject instead). */
function keyHashNodeCrypto(): BenchResult {
  return measure('keyHash md5 node:crypto (25-byte input)', (iteration) =>
    keyHash(nodeCryptoMd5, 'users', keys[iteration % keysCount]!),
  );
}

/** One op = createRing() for Q=256, S=16 from scratch (what every node computes at cluster start). */
function createSixteen(): BenchResult {
  const sixteen = members(16);
  return measure('createRing Q=256 S=16', () => createRing({ partitionCount: 256, members: sixteen }), 1000, 1);
}

/** One op = claimPartitions() for a 16th node joining a 15-node Q=256 ring. */
function joinSixteenth(): BenchResult {
  const sixteen = members(16);
  const ring = createRing({ partitionCount: 256, members: sixteen.slice(0, 15) });
  return measure('claimPartitions Q=256 join 15->16', () => claimPartitions(ring, sixteen), 1000, 1);
}

/** One op = claimPartitions() for one node leaving a 16-node Q=256 ring. */
function leaveSixteenth(): BenchResult {
  const sixteen = members(16);
  const ring = createRing({ partitionCount: 256, members: sixteen });
  return measure('claimPartitions Q=256 leave 16->15', () => claimPartitions(ring, sixteen.slice(1)), 1000, 1);
}

export function run(): BenchResult[] {
  return [
    lookupAllAlive(),
    lookupAliveCheck(),
    lookupOneDead(),
    keyHashPure(),
    keyHashNodeCrypto(),
    hashThenLookup(),
    createSixteen(),
    joinSixteenth(),
    leaveSixteenth(),
  ];
}
