// Why: everwrite_storage_keys and everwrite_storage_bytes (decision 0036) cost one scan of the
// partitions when a node starts, and nothing on a scrape. This measures both on a store of many keys:
// it fills lmdb and LevelDB (behind the write-ahead log, as a node opens them) with `keys` records
// of about 100 bytes over the default 256 partitions, then times what startNode does (open, which
// replays the log, then LocalStore's count) and a /metrics render with the figures in it.
//   npx tsx bench/storage-count.ts [keys=1000000] [lmdb,level]
// Prints one line per engine and writes bench/results/storage-count.json.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createStorageEngine, type EngineKind } from '../src/io/storage/index.ts';
import type { BatchOperation } from '../src/runtime/ports.ts';
import { LocalStore } from '../src/runtime/stores/local-store.ts';
import { NodeMetrics } from '../src/server/node-metrics.ts';

const keys = Number(process.argv[2] ?? 1_000_000);
const kinds = (process.argv[3] ?? 'lmdb,level').split(',') as EngineKind[];
const partitionCount = 256;
const recordBytes = 100;
const batchKeys = 1000;

/** Fills the engine without the log (as the log would have applied it), one partition at a time, `batchKeys` puts per batch. */
async function fill(kind: EngineKind, directory: string): Promise<void> {
  const engine = createStorageEngine(kind, { directory, writeAheadLog: false });
  await engine.open();
  const record = new Uint8Array(recordBytes).fill(7);
  const perPartition = Math.ceil(keys / partitionCount);
  for (let partition = 0; partition < partitionCount; partition++) {
    const last = Math.min(keys, (partition + 1) * perPartition);
    for (let first = partition * perPartition; first < last; first += batchKeys) {
      const operations: BatchOperation[] = [];
      for (let index = first; index < Math.min(last, first + batchKeys); index++)
        operations.push({ type: 'put', key: Buffer.from(`\u0000\u0005bench${index}`, 'latin1'), value: record });
      await engine.batch(partition, operations, { durable: false });
    }
  }
  await engine.close();
}

async function measure(kind: EngineKind): Promise<Record<string, number | string>> {
  const directory = mkdtempSync(join(tmpdir(), `everwrite-storage-count-${kind}-`));
  try {
    const fillStartedMs = performance.now();
    await fill(kind, directory);
    const fillMs = performance.now() - fillStartedMs;
    const engine = createStorageEngine(kind, { directory });
    const openStartedMs = performance.now();
    await engine.open();
    const openMs = performance.now() - openStartedMs;
    const store = new LocalStore(engine);
    const countStartedMs = performance.now();
    await store.usage.countStored(engine, partitionCount);
    const countMs = performance.now() - countStartedMs;
    const metrics = new NodeMetrics();
    metrics.attach({
      status: () => ({ id: 'n1' as never, members: [] }),
      hintsPending: () => [],
      storedUsage: { engine: kind, read: () => store.usage.figures() },
    });
    await metrics.registry.metrics();
    const scrapes = 20;
    const scrapeStartedMs = performance.now();
    for (let index = 0; index < scrapes; index++) await metrics.registry.metrics();
    const scrapeMs = (performance.now() - scrapeStartedMs) / scrapes;
    const figures = store.usage.figures();
    await engine.close();
    return {
      engine: kind,
      keys: figures?.keys ?? -1,
      bytes: figures?.bytes ?? -1,
      fillMs: Math.round(fillMs),
      openMs: Math.round(openMs),
      countMs: Math.round(countMs),
      scrapeMs: Number(scrapeMs.toFixed(2)),
    };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

const results: Array<Record<string, number | string>> = [];
for (const kind of kinds) {
  const result = await measure(kind);
  results.push(result);
  console.log(
    `${String(result.engine).padEnd(6)} ${result.keys} keys ${result.bytes} bytes: open ${result.openMs} ms, start-up count ${result.countMs} ms, /metrics render ${result.scrapeMs} ms (whole registry, process defaults included); fill ${result.fillMs} ms`,
  );
}
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(
  new URL('./results/storage-count.json', import.meta.url),
  `${JSON.stringify({ keys, partitionCount, recordBytes, results }, null, 2)}\n`,
);
