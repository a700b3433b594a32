// Why: every read now seals the context it hands out and every write with a context opens one
// (decision 0011). This prints what that costs per request on this machine, next to the plain
// token's own encode and decode, so docs/BENCHMARKS.md can say what the seal adds.
//   npx tsx bench/context-seal.bench.ts
import { measure, printResults, type BenchResult } from './harness.ts';
import { decodeContext, encodeContext, type VersionVector } from '../src/core/versioning/index.ts';
import { HmacContextSeal } from '../src/io/context-seal.ts';

const seal = new HmacContextSeal(new TextEncoder().encode('a cluster secret of 32 bytes....'));

/** A key written through one node, and one written through all three replicas (counters of a busy key). */
const contexts: ReadonlyArray<readonly [string, VersionVector]> = [
  ['1 entry', new Map([['n1.1234567890', 17]])],
  [
    '3 entries',
    new Map([
      ['n1.1234567890', 17],
      ['n2.987654321', 40_000],
      ['n3.55555', 3],
    ]),
  ],
];

const results: BenchResult[] = [];
const nanoseconds = (result: BenchResult): string => (1e9 / result.opsPerSecond).toFixed(0);
for (const [label, vector] of contexts) {
  const plain = encodeContext(vector);
  const sealed = seal.seal(plain);
  const rows = [
    measure(`encode (${label})`, () => encodeContext(vector)),
    measure(`encode + seal (${label}): what a read hands out`, () => seal.seal(encodeContext(vector))),
    measure(`decode (${label})`, () => decodeContext(plain)),
    measure(`open + decode (${label}): what a write takes in`, () => decodeContext(seal.open(sealed))),
    measure(`seal alone (${label})`, () => seal.seal(plain)),
    measure(`open alone (${label})`, () => seal.open(sealed)),
  ];
  results.push(...rows);
  console.log(`# ${label}: plain ${plain.length} characters, sealed ${sealed.length}`);
}
printResults(results);
for (const result of results) console.log(`${result.name.padEnd(52)} ${nanoseconds(result).padStart(8)} ns/op`);
