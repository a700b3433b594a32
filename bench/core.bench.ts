// Why: `npm run bench:core` measures the pure core's hot paths on this machine and prints ops/s,
// writing the figures as JSON to bench/results/core.json for docs/BENCHMARKS.md.
//
// The `codec` suite (`npx tsx bench/core.bench.ts codec`) times the record and context codecs on
// the record a replicated SET carries (one or two actors, one sibling, a 100-byte value) and also
// reports what each call allocates, because young-generation GC, not the codec's arithmetic, is
// what the coordinator's profile shows. Bytes per operation are measured by forcing a full GC,
// running a block of calls small enough that no scavenge can start, and reading the growth of the
// JavaScript heap (V8's used heap) and of ArrayBuffer backing stores (malloc'd, outside the heap).
import { mkdirSync, writeFileSync } from 'node:fs';
import { PerformanceObserver, constants as performanceConstants, performance } from 'node:perf_hooks';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { measure, printResults, type BenchResult } from './harness.ts';
import {
  decodeContext,
  decodeRecord,
  encodeContext,
  encodeRecord,
  type StoredValue,
  type VersionedRecord,
} from '../src/core/versioning/index.ts';

interface CodecBenchResult extends BenchResult {
  nanosecondsPerOperation: number;
  heapBytesPerOperation: number;
  arrayBufferBytesPerOperation: number;
}

/** Bytes one block of calls may allocate: well under the young generation's smallest semi-space (1 MiB). */
const blockBytesMax = 256 * 1024;
const blockCount = 40;

function exposedGc(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing !== undefined) return existing;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

function allocatedNow(): { heap: number; arrayBuffers: number } {
  return { heap: getHeapStatistics().used_heap_size, arrayBuffers: process.memoryUsage().arrayBuffers };
}

/** When the allocation blocks ran ([start, end] in performance.now() ms), to find scavenges inside them. */
const blockWindows: Array<readonly [number, number]> = [];

/** Heap and backing-store growth over one block of `count` calls that started right after a full GC. */
function allocatedByBlock(
  gc: () => void,
  operation: (iteration: number) => unknown,
  count: number,
): { heap: number; arrayBuffers: number } {
  gc();
  const before = allocatedNow();
  const start = performance.now();
  let sink: unknown;
  for (let i = 0; i < count; i++) sink = operation(i);
  blockWindows.push([start, performance.now()]);
  const after = allocatedNow();
  if (sink === Symbol.for('never')) console.log('');
  return { heap: after.heap - before.heap, arrayBuffers: after.arrayBuffers - before.arrayBuffers };
}

/** Mean bytes per call over `blockCount` blocks (a mean, so a slab allocated in one block is spread over all). */
function allocationPerOperation(
  gc: () => void,
  operation: (iteration: number) => unknown,
): { heap: number; arrayBuffers: number } {
  const probe = allocatedByBlock(gc, operation, 50);
  const count = Math.max(
    50,
    Math.min(2000, Math.floor(blockBytesMax / Math.max(1, (probe.heap + Math.max(0, probe.arrayBuffers)) / 50))),
  );
  let heap = 0;
  let arrayBuffers = 0;
  for (let block = 0; block < blockCount; block++) {
    const grown = allocatedByBlock(gc, operation, count);
    heap += grown.heap;
    arrayBuffers += grown.arrayBuffers;
  }
  return { heap: heap / (blockCount * count), arrayBuffers: arrayBuffers / (blockCount * count) };
}

function measureCodec(gc: () => void, name: string, operation: (iteration: number) => unknown): CodecBenchResult {
  const timed = measure(name, operation, 500);
  const allocated = allocationPerOperation(gc, operation);
  return {
    ...timed,
    nanosecondsPerOperation: Math.round(1e9 / timed.opsPerSecond),
    heapBytesPerOperation: Math.round(allocated.heap),
    arrayBufferBytesPerOperation: Math.round(allocated.arrayBuffers),
  };
}

/** The record a replicated SET writes: `actorCount` actors in the context, one live sibling. */
function typicalRecord(actorCount: number): VersionedRecord {
  const value = Uint8Array.from({ length: 100 }, (_, i) => (i * 31) & 255);
  const lastModifiedMs = 1_760_000_000_000;
  const stored: StoredValue = {
    value,
    contentType: 'application/octet-stream',
    lastModifiedMs,
    deleted: false,
    timestamp: lastModifiedMs * 1024,
  };
  const entries: Array<[string, number]> = [
    ['n1.1834567123', 41],
    ['n2.972310455', 17],
  ];
  return {
    context: new Map(entries.slice(0, actorCount)),
    siblings: [{ dot: { actor: 'n1.1834567123', counter: 41 }, stored }],
  };
}

function codecBenches(): CodecBenchResult[] {
  const gc = exposedGc();
  const results: CodecBenchResult[] = [];
  for (const actorCount of [1, 2]) {
    const record = typicalRecord(actorCount);
    const bytes = encodeRecord(record);
    const token = encodeContext(record.context);
    const label = `${actorCount} actor${actorCount === 1 ? '' : 's'}`;
    results.push(
      measureCodec(gc, `encodeRecord (${label}, 1 sibling, 100 B)`, () => encodeRecord(record)),
      measureCodec(gc, `decodeRecord (${label}, 1 sibling, 100 B)`, () => decodeRecord(bytes)),
      measureCodec(gc, `encodeContext (${label})`, () => encodeContext(record.context)),
      measureCodec(gc, `decodeContext (${label})`, () => decodeContext(token)),
    );
  }
  return results;
}

/** Scavenges inside an allocation block would make its figures too low; this counts them (expected: 0). */
async function scavengesInBlocks(
  run: () => CodecBenchResult[],
): Promise<{ results: CodecBenchResult[]; scavenges: number }> {
  const scavengeTimes: number[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (
        ((entry as { detail?: unknown }).detail as { kind?: number } | undefined)?.kind ===
        performanceConstants.NODE_PERFORMANCE_GC_MINOR
      )
        scavengeTimes.push(entry.startTime);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const results = run();
  await new Promise((resolve) => setImmediate(resolve));
  observer.disconnect();
  const scavenges = scavengeTimes.filter((time) =>
    blockWindows.some(([start, end]) => time >= start && time <= end),
  ).length;
  return { results, scavenges };
}

async function runCodecSuite(): Promise<BenchResult[]> {
  const { results, scavenges } = await scavengesInBlocks(codecBenches);
  for (const result of results) {
    const figures = `${String(result.nanosecondsPerOperation).padStart(7)} ns/op ${String(result.heapBytesPerOperation).padStart(6)} heap B/op ${String(result.arrayBufferBytesPerOperation).padStart(6)} ArrayBuffer B/op`;
    console.log(`${result.name.padEnd(52)} ${figures}`);
  }
  console.log(`scavenges inside allocation blocks: ${scavenges} (the bytes/op figures assume 0)`);
  return results;
}

const suites: Array<{ name: string; load: () => Promise<{ run: () => BenchResult[] | Promise<BenchResult[]> }> }> = [
  { name: 'ring', load: () => import('./core/ring.ts') },
  { name: 'versioning', load: () => import('./core/versioning.ts') },
  { name: 'anti-entropy', load: () => import('./core/anti-entropy.ts') },
  { name: 'codec', load: () => Promise.resolve({ run: runCodecSuite }) },
];

const only = process.argv[2];
const all: BenchResult[] = [];
for (const suite of suites) {
  if (only && suite.name !== only) continue;
  const results = await (await suite.load()).run();
  if (suite.name !== 'codec') printResults(results);
  all.push(...results);
}
mkdirSync('bench/results', { recursive: true });
writeFileSync(
  'bench/results/core.json',
  JSON.stringify({ node: process.version, date: new Date().toISOString(), results: all }, null, 2),
);
