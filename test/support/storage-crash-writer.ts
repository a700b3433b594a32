// Why: only a real process killed with SIGKILL shows what an engine's acknowledgement is worth.
// This child writes batches until it is killed and prints a line for each batch only after the
// engine acknowledged it; the parent test kills it, reopens the engine and checks every printed
// batch is there, complete. Usage:
//   node --import tsx test/support/storage-crash-writer.ts <kind> <dir> [durable|buffered]
// Each batch <id> from writer <w> puts crashKeyCount keys `b<id>/<i>` and overwrites `w<w>` with <id>;
// the line printed is `<id> <w>`. Stops by itself after crashWriterLifetimeMs.
import { createTestEngine, isTestEngineKind } from './storage-engines.ts';
import type { BatchOperation } from '../../src/runtime/ports.ts';

export const crashNamespace = 7;
export const crashKeyCount = 4;
export const crashWriterLifetimeMs = 30_000;
const concurrentWriters = 8;

/** The value the writer stores for key `b<id>/<index>`: derivable by the parent, ~300 bytes. */
export function crashValue(id: number, index: number): string {
  return `value-${id}-${index}-`.padEnd(300, String.fromCharCode(97 + ((id + index) % 26)));
}

export function crashBatch(id: number, writer: number): BatchOperation[] {
  const operations: BatchOperation[] = [];
  for (let index = 0; index < crashKeyCount; index++)
    operations.push({ type: 'put', key: Buffer.from(`b${id}/${index}`), value: Buffer.from(crashValue(id, index)) });
  operations.push({ type: 'put', key: Buffer.from(`w${writer}`), value: Buffer.from(String(id)) });
  return operations;
}

async function main(): Promise<void> {
  const [kind, directory, durability = 'durable'] = process.argv.slice(2);
  if (!isTestEngineKind(kind) || directory === undefined || (durability !== 'durable' && durability !== 'buffered')) {
    console.error('usage: storage-crash-writer.ts <kind> <dir> [durable|buffered]');
    process.exit(2);
  }
  // A small checkpoint size makes the log rotate and checkpoint while the writers run.
  const engine = createTestEngine(kind, directory, { checkpointBytes: 128 * 1024 });
  await engine.open();
  const stopAt = performance.now() + crashWriterLifetimeMs;
  let nextId = 0;
  // Writes to a pipe are synchronous on Linux: once write() returns, the parent can read the line.
  process.stdout.write('ready\n');
  const writer = async (writerIndex: number): Promise<void> => {
    while (performance.now() < stopAt) {
      const id = nextId++;
      await engine.batch(crashNamespace, crashBatch(id, writerIndex), { durable: durability === 'durable' });
      process.stdout.write(`${id} ${writerIndex}\n`);
    }
  };
  await Promise.all(Array.from({ length: concurrentWriters }, (_, index) => writer(index)));
  await engine.close();
}

if (process.argv[1]?.endsWith('storage-crash-writer.ts')) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
