// Why: behind the write-ahead log, lmdb applies a replica's writes in runs of a few hundred random
// puts (decision 0006), and that apply is most of what the default engine costs a SET beyond the
// memory engine (docs/BENCHMARKS.md). This measures the CPU one put costs lmdb-js in such runs (user
// and system, its write thread included) under the environment options that could lower it, so a
// change of options is decided on a figure: noSync (no flush per commit), useWritemap (writes
// through the memory map), noMemInit, overlappingSync off.
//   npx tsx bench/lmdb-options.bench.ts [runs=40] [putsPerRun=555]
// Each variant fills a fresh store with 100,000 keys of 100 bytes, then applies `runs` runs of
// `putsPerRun` puts to random keys, 100 ms apart (the log's default apply delay).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open, type RootDatabaseOptions } from 'lmdb';

const runs = Number(process.argv[2] ?? 40);
const putsPerRun = Number(process.argv[3] ?? 555);
const keySpace = 100_000;
const applyDelayMs = 100;
const value = new Uint8Array(100).fill(1);

const variants: ReadonlyArray<{ name: string; options: Partial<RootDatabaseOptions> }> = [
  { name: 'default (what LmdbEngine opens)', options: {} },
  { name: 'noSync', options: { noSync: true } },
  { name: 'useWritemap', options: { useWritemap: true } },
  { name: 'noMemInit', options: { noMemInit: true } },
  { name: 'overlappingSync off', options: { overlappingSync: false } },
  { name: 'useWritemap + noSync', options: { useWritemap: true, noSync: true } },
];

/** A key as LmdbEngine lays it out: a namespace prefix, then the key. */
const keyOf = (index: number): Buffer => Buffer.from(`\x00\x03key${index}`);

async function measure(options: Partial<RootDatabaseOptions>): Promise<{ user: number; system: number }> {
  const directory = mkdtempSync(join(tmpdir(), 'everwrite-lmdb-options-'));
  const database = open<Uint8Array, Uint8Array>({
    path: directory,
    keyEncoding: 'binary',
    encoding: 'binary',
    ...options,
  });
  try {
    for (let start = 0; start < keySpace; start += 1000)
      await database.batch(() => {
        for (let index = start; index < start + 1000; index++) void database.put(keyOf(index), value);
      });
    await database.flushed;
    const before = process.cpuUsage();
    for (let run = 0; run < runs; run++) {
      const keys = Array.from({ length: putsPerRun }, () => keyOf(Math.floor(Math.random() * keySpace)));
      await database.batch(() => {
        for (const key of keys) void database.put(key, value);
      });
      await new Promise((resolve) => setTimeout(resolve, applyDelayMs));
    }
    await database.flushed;
    const used = process.cpuUsage(before);
    const puts = runs * putsPerRun;
    return { user: used.user / puts, system: used.system / puts };
  } finally {
    await database.close();
    rmSync(directory, { recursive: true, force: true });
  }
}

console.log(`${runs} runs of ${putsPerRun} random puts (100 B) into ${keySpace} keys, ${applyDelayMs} ms apart`);
for (const variant of variants) {
  const { user, system } = await measure(variant.options);
  console.log(
    `${variant.name.padEnd(34)} ${(user + system).toFixed(1).padStart(6)} µs CPU/put (user ${user.toFixed(1)}, system ${system.toFixed(1)})`,
  );
}
