// Why: DESIGN.md section 3 chose a write-ahead log with group commit on a measured reason; this
// bench keeps measuring it. Single-operation batches of 1 KiB values from 50 concurrent writers, durable
// and buffered, against each engine raw and behind the log, printed as ops/s and written as JSON to
// bench/results/storage.json. logged(memory) is not durable: it isolates the log's own cost.
//   npx tsx bench/storage.bench.ts [measureMs=3000] [only-engine-name]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { LevelEngine, LmdbEngine, LoggedEngine, MemoryEngine } from '../src/io/storage/index.ts';
import type { StorageEngine } from '../src/runtime/ports.ts';
import { printResults, type BenchResult } from './harness.ts';

const writers = 50;
const valueBytes = 1024;
const namespaces = 8;
const warmUpMs = 500;
const measureMs = Number(process.argv[2] ?? 3000);
const only = process.argv[3];

const engines: Array<{ name: string; create: (directory: string) => StorageEngine }> = [
  { name: 'memory', create: () => new MemoryEngine() },
  { name: 'lmdb', create: (directory) => new LmdbEngine({ directory: join(directory, 'lmdb') }) },
  { name: 'level', create: (directory) => new LevelEngine({ directory: join(directory, 'level') }) },
  { name: 'logged(memory)', create: (directory) => new LoggedEngine(new MemoryEngine(), { directory: join(directory, 'wal') }) },
  { name: 'logged(lmdb)', create: (directory) => new LoggedEngine(new LmdbEngine({ directory: join(directory, 'lmdb') }), { directory: join(directory, 'wal') }) },
  { name: 'logged(level)', create: (directory) => new LoggedEngine(new LevelEngine({ directory: join(directory, 'level') }), { directory: join(directory, 'wal') }) },
];

interface StorageBenchResult extends BenchResult {
  /** For logged engines: acknowledged batches per fdatasync, the group-commit factor. */
  batchesPerSync?: number;
}

/** 50 writers each loop on one single-put batch at a time until `stopAt`; counts batches completed after `countFrom`, and all. */
async function drive(engine: StorageEngine, durable: boolean, countFrom: number, stopAt: number): Promise<{ counted: number; total: number }> {
  const value = new Uint8Array(valueBytes).fill(120);
  let counted = 0;
  let total = 0;
  const writer = async (writerIndex: number): Promise<void> => {
    for (let sequence = 0; ; sequence++) {
      const now = performance.now();
      if (now >= stopAt) return;
      const key = Buffer.from(`writer${writerIndex}-key${sequence}`);
      await engine.batch(writerIndex % namespaces, [{ type: 'put', key, value }], { durable });
      total++;
      if (now >= countFrom) counted++;
    }
  };
  await Promise.all(Array.from({ length: writers }, (_, index) => writer(index)));
  return { counted, total };
}

async function measureEngine(name: string, create: (directory: string) => StorageEngine, durable: boolean): Promise<StorageBenchResult> {
  const directory = mkdtempSync(join(tmpdir(), 'everwrite-bench-'));
  try {
    const engine = create(directory);
    await engine.open();
    const start = performance.now();
    const before = engine instanceof LoggedEngine ? engine.statistics : undefined;
    const { counted: operations, total } = await drive(engine, durable, start + warmUpMs, start + warmUpMs + measureMs);
    const after = engine instanceof LoggedEngine ? engine.statistics : undefined;
    await engine.close();
    const result: StorageBenchResult = { name: `${name} ${durable ? 'durable' : 'buffered'} 1x1KiB put, ${writers} writers`, opsPerSecond: Math.round((operations / measureMs) * 1000), operations, elapsedMs: measureMs };
    if (before !== undefined && after !== undefined && after.syncs > before.syncs) result.batchesPerSync = Math.round((total / (after.syncs - before.syncs)) * 10) / 10;
    return result;
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

const results: StorageBenchResult[] = [];
for (const { name, create } of engines) {
  if (only !== undefined && name !== only) continue;
  for (const durable of [true, false]) {
    const result = await measureEngine(name, create, durable);
    printResults([result]);
    if (result.batchesPerSync !== undefined) console.log(`${''.padEnd(52)} ${String(result.batchesPerSync).padStart(14)} batches per fdatasync`);
    results.push(result);
  }
}
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/storage.json', JSON.stringify({ node: process.version, date: new Date().toISOString(), writers, valueBytes, measureMs, results }, null, 2));
