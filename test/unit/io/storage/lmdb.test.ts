// Why: lmdb-js maps its data file again each time the map doubles and keeps the old mappings, so a
// node's RSS counted a large store about twice (docs/BENCHMARKS.md, "A node holding 1M keys").
// LmdbEngine reserves the map once (`mapSizeBytes`, default 256 GiB of address space): the file is
// mapped once however far it grows, lmdb still grows a map that fills (a store past the reserve, or
// a reserve set small), and a map size too small to be meant is refused by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LmdbEngine } from '../../../../src/io/storage/index.ts';
import { withTemporaryDirectory } from '../../../support/storage-engines.ts';

/** Mappings of `file` in this process (/proc/self/maps). */
function mappingsOf(file: string): number {
  return readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((line) => line.endsWith(file)).length;
}

/** Writes 20 MiB (20,000 values of 1 KiB) in batches of 1,000, then reads the last value back. */
async function fill(engine: LmdbEngine): Promise<Uint8Array | undefined> {
  const value = new Uint8Array(1024).fill(7);
  for (let start = 0; start < 20_000; start += 1000) {
    const operations = Array.from({ length: 1000 }, (_, index) => ({
      type: 'put' as const,
      key: new TextEncoder().encode(`key-${start + index}`),
      value,
    }));
    await engine.batch(1, operations, { durable: false });
  }
  return engine.get(1, new TextEncoder().encode('key-19999'));
}

test('lmdb maps its data file once while the store grows to 20 MiB', async (t) => {
  if (process.platform !== 'linux') return t.skip('reads /proc/self/maps (Linux only)');
  await withTemporaryDirectory('lmdb-map', async (directory) => {
    const engine = new LmdbEngine({ directory });
    await engine.open();
    try {
      assert.equal((await fill(engine))?.length, 1024);
      assert.equal(mappingsOf(join(directory, 'data.mdb')), 1);
    } finally {
      await engine.close();
    }
  });
});

test('a map reserved too small still grows as the store does', async () => {
  await withTemporaryDirectory('lmdb-small-map', async (directory) => {
    const engine = new LmdbEngine({ directory, mapSizeBytes: 1024 * 1024 });
    await engine.open();
    try {
      assert.equal((await fill(engine))?.length, 1024);
    } finally {
      await engine.close();
    }
  });
});

test('LmdbEngine refuses a map size below 1 MiB or not an integer, naming the option', () => {
  for (const mapSizeBytes of [0, 4096, 1024 * 1024 + 0.5, Number.NaN])
    assert.throws(() => new LmdbEngine({ directory: '/tmp/everwrite-unused', mapSizeBytes }), /mapSizeBytes/);
});
