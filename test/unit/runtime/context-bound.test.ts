// Why: a key's context must stay within what every client can send back (8 KiB of header text,
// decision 0011). A version whose context would outgrow that is refused with a coded error before
// it is stored, and the key keeps what it held: readable, and writable by the actors it knows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EverwriteError } from '../../../src/core/base/errors.ts';
import { contextHeaderBytesMax, type StoredValue, type VersionVector } from '../../../src/core/versioning/index.ts';
import type { VersionRequest } from '../../../src/core/node/effects.ts';
import { MemoryEngine } from '../../../src/io/storage/memory.ts';
import { LocalStore } from '../../../src/runtime/stores/local-store.ts';
import { toGetResult } from '../../../src/runtime/node-runtime.ts';
import { testContextSeal } from '../../support/context-seal.ts';

const key = new TextEncoder().encode('k');
const write = (value: string): StoredValue => ({
  value: new TextEncoder().encode(value),
  contentType: 'text/plain',
  lastModifiedMs: 1,
  deleted: false,
  timestamp: 1024,
});
const request = (actor: string, context: VersionVector, value: string): VersionRequest => ({
  context,
  useStoredContext: false,
  actor,
  stored: write(value),
  durable: true,
  lastWriterWins: false,
  siblingsCountMax: 100,
});

/** `count` actors with 40-byte names: 42 bytes of token each. */
const actors = (count: number): VersionVector =>
  new Map(
    Array.from({ length: count }, (_, index) => [
      `node-with-a-long-name-${String(index).padStart(7, '0')}.1234567890`,
      1,
    ]),
  );

test('a mint whose context would outgrow the header bound is refused with EVERWRITE_CONTEXT_TOO_LARGE and stores nothing', async () => {
  const engine = new MemoryEngine();
  await engine.open();
  const store = new LocalStore(engine);
  // 144 known actors plus the writer's own: 145 entries, 8,124 characters sealed-less, within the bound.
  const first = await store.mint(1, key, request('node-with-a-long-name-writer1.1234567890', actors(144), 'fits'));
  assert.equal(first.record.context.size, 145);
  const read = toGetResult(first.record, testContextSeal);
  assert.ok(read.context.length <= contextHeaderBytesMax, `sealed context is ${read.context.length} characters`);
  // A new writer would be the 146th entry: refused, coded, and the key still holds the first version.
  assert.throws(
    () => store.mint(1, key, request('node-with-a-long-name-writer2.1234567890', new Map(), 'one epoch too many')),
    (error: unknown) =>
      error instanceof EverwriteError && error.code === 'EVERWRITE_CONTEXT_TOO_LARGE' && error.httpStatus === 409,
  );
  const held = await store.read(1, key);
  assert.equal(held.context.size, 145);
  assert.deepEqual(
    held.siblings.map((sibling) => new TextDecoder().decode(sibling.stored.value)),
    ['fits'],
  );
  // An actor the context already names still writes (its counter grows, the context does not).
  const again = await store.mint(
    1,
    key,
    request('node-with-a-long-name-writer1.1234567890', held.context, 'still writable'),
  );
  assert.deepEqual(
    again.record.siblings.map((sibling) => new TextDecoder().decode(sibling.stored.value)),
    ['still writable'],
  );
});

test('a read whose merged context cannot be handed out answers EVERWRITE_CONTEXT_TOO_LARGE when its context is asked for, and still gives its values', () => {
  const record = { context: actors(200), siblings: [] };
  const read = toGetResult(record, testContextSeal);
  assert.deepEqual(read.siblings, []);
  assert.throws(
    () => read.context,
    (error: unknown) => error instanceof EverwriteError && error.code === 'EVERWRITE_CONTEXT_TOO_LARGE',
  );
});
