// Why: dropping a partition a node no longer replicates (decision 0018) must not make it forget
// the dots it minted there: it may still coordinate a key of it as a fallback, and minting from an
// empty record would reuse a dot (the simulator's dot ledger caught it). Keys it versioned stay
// whole (their context alone would make a later version discard live values); the others go.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryEngine } from '../../../src/io/storage/memory.ts';
import { LocalStore } from '../../../src/runtime/stores/local-store.ts';

const stored = (value: string) => ({
  value: new TextEncoder().encode(value),
  contentType: 'text/plain',
  lastModifiedMs: 1,
  deleted: false,
  timestamp: 1024,
});
const request = {
  durable: true,
  lastWriterWins: false,
  siblingsCountMax: 100,
  useStoredContext: false,
  context: new Map(),
};

test('a dropped key stays whole when this node versioned it, and is gone otherwise', async () => {
  const engine = new MemoryEngine();
  await engine.open();
  const store = new LocalStore(engine);
  const own = new TextEncoder().encode('\u0000\u0001bown');
  const other = new TextEncoder().encode('\u0000\u0001bother');
  await store.mint(3, own, { ...request, actor: 'n1.7', stored: stored('x') });
  await store.mint(3, other, { ...request, actor: 'n2.9', stored: stored('y') });
  await store.dropKey(3, own, 'n1.7');
  await store.dropKey(3, other, 'n1.7');
  const kept = await store.read(3, own);
  assert.deepEqual(
    kept.siblings.map((sibling) => new TextDecoder().decode(sibling.stored.value)),
    ['x'],
    'its own version stays, value and all: a context alone would claim the live value was seen',
  );
  assert.deepEqual([...kept.context], [['n1.7', 1]]);
  assert.equal(await engine.get(3, other), undefined, 'a key only others versioned is deleted');
  const next = (await store.mint(3, own, { ...request, actor: 'n1.7', stored: stored('z') })).record;
  assert.deepEqual(
    next.siblings.map((sibling) => sibling.dot.counter).sort(),
    [1, 2],
    'the next mint takes a fresh dot, beside the version it did not see',
  );
});
