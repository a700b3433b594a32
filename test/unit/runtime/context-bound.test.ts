// Why: a key's context must stay within what every client can send back (8 KiB of header text,
// decision 0011). The context a node hands out is cut down to that bound (decision 0041) while the
// record keeps every writer epoch, up to recordContextEntriesMax; a version past that is refused
// with a coded error before it is stored, and the key keeps what it held.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EverwriteError } from '../../../src/core/base/errors.ts';
import {
  contextHeaderBytesMax,
  decodeContext,
  recordContextEntriesMax,
  type StoredValue,
  type VersionVector,
} from '../../../src/core/versioning/index.ts';
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

const values = (record: { siblings: readonly { stored: StoredValue }[] }): string[] =>
  record.siblings.map((sibling) => new TextDecoder().decode(sibling.stored.value));

test('a key with more writer epochs than a header holds is handed a context cut to 8 KiB, and a write back with it supersedes what was read', async () => {
  const engine = new MemoryEngine();
  await engine.open();
  const store = new LocalStore(engine);
  const writer = 'node-with-a-long-name-writer1.1234567890';
  // 300 known actors plus the writer's own: 301 entries, about twice what a header holds.
  const first = await store.mint(1, key, request(writer, actors(300), 'first'));
  assert.equal(first.record.context.size, 301);
  const read = toGetResult(first.record, testContextSeal);
  assert.ok(read.context.length <= contextHeaderBytesMax, `sealed context is ${read.context.length} characters`);
  const handed = decodeContext(testContextSeal.open(read.context));
  assert.ok(handed.size < 301 && handed.get(writer) === first.record.context.get(writer), 'the sibling writer is kept');
  // The client writes back with what it was handed: one version, not a sibling of the one it read.
  const second = await store.mint(1, key, request(writer, handed, 'second'));
  assert.deepEqual(values(second.record), ['second']);
  // The record keeps every epoch: a superseded version met later is still recognised.
  assert.equal(second.record.context.size, 301);
});

test('a mint past recordContextEntriesMax writer epochs is refused with EVERWRITE_CONTEXT_TOO_LARGE and stores nothing', async () => {
  const engine = new MemoryEngine();
  await engine.open();
  const store = new LocalStore(engine);
  const writer = 'node-with-a-long-name-writer1.1234567890';
  const first = await store.mint(1, key, request(writer, actors(recordContextEntriesMax - 1), 'fits'));
  assert.equal(first.record.context.size, recordContextEntriesMax);
  // A new writer would be one epoch too many: refused, coded, and the key still holds the first version.
  assert.throws(
    () => store.mint(1, key, request('node-with-a-long-name-writer2.1234567890', new Map(), 'one epoch too many')),
    (error: unknown) =>
      error instanceof EverwriteError && error.code === 'EVERWRITE_CONTEXT_TOO_LARGE' && error.httpStatus === 409,
  );
  const held = await store.read(1, key);
  assert.equal(held.context.size, recordContextEntriesMax);
  assert.deepEqual(values(held), ['fits']);
  // An actor the context already names still writes (its counter grows, the context does not).
  const again = await store.mint(1, key, request(writer, held.context, 'still writable'));
  assert.deepEqual(values(again.record), ['still writable']);
});

test('a read whose siblings writers alone would not fit in a header answers EVERWRITE_CONTEXT_TOO_LARGE when its context is asked for, and still gives its values', () => {
  // 30 siblings written by 30 actors of 250-byte names: more than 8 KiB of header for them alone.
  const context = new Map(
    Array.from({ length: 30 }, (_, index) => [`${'w'.repeat(240)}${String(index).padStart(10, '0')}`, 1]),
  );
  const siblings = [...context.keys()].map((actor) => ({ dot: { actor, counter: 1 }, stored: write(actor.slice(-2)) }));
  const read = toGetResult({ context, siblings }, testContextSeal);
  assert.equal(read.siblings.length, 30);
  assert.throws(
    () => read.context,
    (error: unknown) => error instanceof EverwriteError && error.code === 'EVERWRITE_CONTEXT_TOO_LARGE',
  );
});
