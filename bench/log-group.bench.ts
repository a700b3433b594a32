// Why: a durable SET costs each node ~30 µs more CPU than a memory SET, and the experiments of
// 2026-12-06 (docs/BENCHMARKS.md) put most of that in the write-ahead log, not in lmdb. This bench shows the
// log's cost per write as a function of how many writes share one group (one writev, one fdatasync,
// one thread-pool round trip): each round hands `groupSize` single-put batches to the log in one
// event-loop turn, as a replica does with the puts of one inbound frame, and waits for all of them.
// Inner engine: memory (the log's own cost) and lmdb (the default engine). Values are 100 bytes over
// 100k keys, as in redis-benchmark -d 100 -r 100000. Prints CPU µs per write (user + system, every
// thread of the process) and writes bench/results/log-group.json.
//   npx tsx bench/log-group.bench.ts [writes=60000] [groupSizes=1,5,10,30]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { LmdbEngine, LoggedEngine, MemoryEngine } from '../src/io/storage/index.ts';
import type { StorageEngine } from '../src/runtime/ports.ts';

interface Row {
  inner: string;
  durable: boolean;
  groupSize: number;
  writes: number;
  writesPerSecond: number;
  cpuMicrosecondsPerWrite: number;
  systemMicrosecondsPerWrite: number;
}

const writes = Number(process.argv[2] ?? 60_000);
const groupSizes = (process.argv[3] ?? '1,5,10,30').split(',').map(Number);
const keySpace = 100_000;
const value = new Uint8Array(100).fill(7);
const encoder = new TextEncoder();

const inners: Array<{ name: string; create: (directory: string) => StorageEngine }> = [
  { name: 'memory', create: () => new MemoryEngine() },
  { name: 'lmdb', create: (directory) => new LmdbEngine({ directory: join(directory, 'lmdb') }) },
];

/** A fixed sequence of keys (a linear congruential generator), so every row writes the same ones. */
function keyAt(index: number): Uint8Array {
  const spread = (index * 2_654_435_761) % keySpace;
  return encoder.encode(`redis\u0000key:${String(spread).padStart(12, '0')}`);
}

async function measure(inner: (typeof inners)[number], durable: boolean, groupSize: number): Promise<Row> {
  const directory = mkdtempSync(join(tmpdir(), 'everwrite-log-group-'));
  const engine = new LoggedEngine(inner.create(directory), { directory: join(directory, 'wal') });
  try {
    await engine.open();
    const rounds = Math.max(1, Math.floor(writes / groupSize));
    const cpuBefore = process.cpuUsage();
    const start = performance.now();
    let written = 0;
    for (let round = 0; round < rounds; round++) {
      const acknowledgements = new Array<Promise<void>>(groupSize);
      for (let index = 0; index < groupSize; index++)
        acknowledgements[index] = engine.batch(7, [{ type: 'put', key: keyAt(written++), value }], { durable });
      await Promise.all(acknowledgements);
    }
    const elapsedMs = performance.now() - start;
    const cpu = process.cpuUsage(cpuBefore);
    return {
      inner: inner.name,
      durable,
      groupSize,
      writes: written,
      writesPerSecond: Math.round((written / elapsedMs) * 1000),
      cpuMicrosecondsPerWrite: (cpu.user + cpu.system) / written,
      systemMicrosecondsPerWrite: cpu.system / written,
    };
  } finally {
    await engine.close();
    rmSync(directory, { recursive: true, force: true });
  }
}

const rows: Row[] = [];
for (const inner of inners) {
  for (const groupSize of groupSizes) {
    const row = await measure(inner, true, groupSize);
    rows.push(row);
    console.log(
      `logged(${row.inner}) durable, ${String(row.groupSize).padStart(3)} writes per group: ${String(row.writesPerSecond).padStart(7)} writes/s, CPU ${row.cpuMicrosecondsPerWrite.toFixed(1).padStart(6)} µs/write (system ${row.systemMicrosecondsPerWrite.toFixed(1)})`,
    );
  }
}
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/log-group.json', JSON.stringify({ date: new Date().toISOString(), rows }, null, 2));
