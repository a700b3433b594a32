// Why: docs/ARCHITECTURE.md section 3 chose a write-ahead log with group commit on a measured reason; this
// bench keeps measuring it. Single-operation batches of 1 KiB values from 50 concurrent writers, durable
// and buffered, against each engine raw and behind the log, printed as ops/s and written as JSON to
// bench/results/storage.json. logged(memory) is not durable: it isolates the log's own cost.
// A second table paces the logged engines the way a replica is paced by the RESP SET benchmark
// (redis-benchmark -d 100 -r 100000): 5,000 durable single-put batches per second of 100-byte values
// over 100k random keys, into a store already holding them. It reports the CPU each write costs the
// process (user + system, lmdb's write thread included, up to the end of close()) and the apply
// runs the log made: at this pace the throughput table cannot show what the inner engine's
// transactions cost, this can. (/proc/self/io's write_bytes was tried as a disk figure and dropped:
// it reported ~15x what the block device wrote, so BENCHMARKS.md measures the device instead.)
//   npx tsx bench/storage.bench.ts [measureMs=3000] [only-engine-name|all] [applyDelayMs]
// applyDelayMs, when given, is passed to every logged engine (default: LoggedEngine's own).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  LevelEngine,
  LmdbEngine,
  LoggedEngine,
  type LoggedEngineOptions,
  MemoryEngine,
} from '../src/io/storage/index.ts';
import type { StorageEngine } from '../src/runtime/ports.ts';
import { printResults, type BenchResult } from './harness.ts';

const writers = 50;
const valueBytes = 1024;
const namespaces = 8;
const warmUpMs = 500;
const measureMs = Number(process.argv[2] ?? 3000);
const only = process.argv[3] === 'all' ? undefined : process.argv[3];
const logOptions: Omit<LoggedEngineOptions, 'directory'> =
  process.argv[4] === undefined ? {} : { applyDelayMs: Number(process.argv[4]) };

const engines: Array<{ name: string; create: (directory: string) => StorageEngine }> = [
  { name: 'memory', create: () => new MemoryEngine() },
  { name: 'lmdb', create: (directory) => new LmdbEngine({ directory: join(directory, 'lmdb') }) },
  { name: 'level', create: (directory) => new LevelEngine({ directory: join(directory, 'level') }) },
  {
    name: 'logged(memory)',
    create: (directory) => new LoggedEngine(new MemoryEngine(), { ...logOptions, directory: join(directory, 'wal') }),
  },
  {
    name: 'logged(lmdb)',
    create: (directory) =>
      new LoggedEngine(new LmdbEngine({ directory: join(directory, 'lmdb') }), {
        ...logOptions,
        directory: join(directory, 'wal'),
      }),
  },
  {
    name: 'logged(level)',
    create: (directory) =>
      new LoggedEngine(new LevelEngine({ directory: join(directory, 'level') }), {
        ...logOptions,
        directory: join(directory, 'wal'),
      }),
  },
];

interface StorageBenchResult extends BenchResult {
  /** For logged engines: acknowledged batches per fdatasync, the group-commit factor. */
  batchesPerSync?: number;
}

/** 50 writers each loop on one single-put batch at a time until `stopAt`; counts batches completed after `countFrom`, and all. */
async function drive(
  engine: StorageEngine,
  durable: boolean,
  countFrom: number,
  stopAt: number,
): Promise<{ counted: number; total: number }> {
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

async function measureEngine(
  name: string,
  create: (directory: string) => StorageEngine,
  durable: boolean,
): Promise<StorageBenchResult> {
  const directory = mkdtempSync(join(tmpdir(), 'everwrite-bench-'));
  try {
    const engine = create(directory);
    await engine.open();
    const start = performance.now();
    const before = engine instanceof LoggedEngine ? engine.statistics : undefined;
    const { counted: operations, total } = await drive(engine, durable, start + warmUpMs, start + warmUpMs + measureMs);
    const after = engine instanceof LoggedEngine ? engine.statistics : undefined;
    await engine.close();
    const result: StorageBenchResult = {
      name: `${name} ${durable ? 'durable' : 'buffered'} 1x1KiB put, ${writers} writers`,
      opsPerSecond: Math.round((operations / measureMs) * 1000),
      operations,
      elapsedMs: measureMs,
    };
    if (before !== undefined && after !== undefined && after.syncs > before.syncs)
      result.batchesPerSync = Math.round((total / (after.syncs - before.syncs)) * 10) / 10;
    return result;
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

const pacedWritesPerSecond = 5000;
const pacedKeySpace = 100_000;
const pacedValueBytes = 100;
const pacedNamespace = 1;

interface PacedResult {
  name: string;
  writes: number;
  cpuMicrosecondsPerWrite: number;
  runsApplied: number;
  writesPerRun: number;
}

/** Puts every key of the key space once and closes: the paced writes then update a full tree, as on a replica. */
async function fill(engine: StorageEngine): Promise<void> {
  await engine.open();
  const value = new Uint8Array(pacedValueBytes).fill(122);
  for (let start = 0; start < pacedKeySpace; start += 10_000) {
    const operations = Array.from({ length: 10_000 }, (_, index) => ({
      type: 'put' as const,
      key: Buffer.from(`key${start + index}`),
      value,
    }));
    await engine.batch(pacedNamespace, operations, { durable: false });
  }
  await engine.close();
}

/** Issues durable single-put batches at `pacedWritesPerSecond` for `durationMs`, a millisecond tick's worth per turn. */
async function drivePaced(engine: StorageEngine, durationMs: number): Promise<number> {
  const value = new Uint8Array(pacedValueBytes).fill(121);
  const acknowledgements: Array<Promise<void>> = [];
  const start = performance.now();
  for (let elapsed = 0; elapsed < durationMs; elapsed = performance.now() - start) {
    const due = Math.floor((elapsed * pacedWritesPerSecond) / 1000);
    while (acknowledgements.length < due) {
      const key = Buffer.from(`key${Math.floor(Math.random() * pacedKeySpace)}`);
      acknowledgements.push(engine.batch(pacedNamespace, [{ type: 'put', key, value }], { durable: true }));
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await Promise.all(acknowledgements);
  return acknowledgements.length;
}

async function measurePaced(name: string, create: (directory: string) => StorageEngine): Promise<PacedResult> {
  const directory = mkdtempSync(join(tmpdir(), 'everwrite-bench-'));
  try {
    await fill(create(directory));
    const engine = create(directory);
    await engine.open();
    const cpuBefore = process.cpuUsage();
    const writes = await drivePaced(engine, measureMs);
    const runsApplied = engine instanceof LoggedEngine ? engine.statistics.runsApplied : 0;
    await engine.close();
    const cpu = process.cpuUsage(cpuBefore);
    const perRun = runsApplied === 0 ? 0 : Math.round((writes / runsApplied) * 10) / 10;
    return {
      name: `${name} paced`,
      writes,
      cpuMicrosecondsPerWrite: Math.round((cpu.user + cpu.system) / writes),
      runsApplied,
      writesPerRun: perRun,
    };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

const results: StorageBenchResult[] = [];
const paced: PacedResult[] = [];
for (const { name, create } of engines) {
  if (only !== undefined && name !== only) continue;
  for (const durable of [true, false]) {
    const result = await measureEngine(name, create, durable);
    printResults([result]);
    if (result.batchesPerSync !== undefined)
      console.log(`${''.padEnd(52)} ${String(result.batchesPerSync).padStart(14)} batches per fdatasync`);
    results.push(result);
  }
}
console.log(
  `paced: ${pacedWritesPerSecond} durable 1x${pacedValueBytes}B puts/s over ${pacedKeySpace} random keys, ${measureMs} ms`,
);
for (const { name, create } of engines) {
  if ((only !== undefined && name !== only) || !name.startsWith('logged')) continue;
  const result = await measurePaced(name, create);
  console.log(
    `${result.name.padEnd(52)} ${String(result.cpuMicrosecondsPerWrite).padStart(8)} µs CPU/write ${String(result.runsApplied).padStart(6)} runs ${String(result.writesPerRun).padStart(7)} writes/run`,
  );
  paced.push(result);
}
mkdirSync('bench/results', { recursive: true });
writeFileSync(
  'bench/results/storage.json',
  JSON.stringify(
    {
      node: process.version,
      date: new Date().toISOString(),
      writers,
      valueBytes,
      measureMs,
      logOptions,
      results,
      paced,
    },
    null,
    2,
  ),
);
