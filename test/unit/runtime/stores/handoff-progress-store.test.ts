// Why: a handoff source resumes after the last acknowledged key and never streams a finished
// transfer again across restarts (decision 0017) only if its progress survives in the metadata
// namespace exactly, a damaged entry is skipped rather than misread, and an ended transition's
// progress is forgotten without touching a newer one's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asNodeId } from '../../../../src/core/base/ids.ts';
import type { HandoffProgress } from '../../../../src/core/node/effects.ts';
import { MemoryEngine } from '../../../../src/io/storage/memory.ts';
import {
  clearHandoffProgress,
  decodeHandoffProgress,
  encodeHandoffProgress,
  loadHandoffProgress,
  saveHandoffProgress,
} from '../../../../src/runtime/stores/handoff-progress-store.ts';
import { reservedNamespaces } from '../../../../src/runtime/ports.ts';
import { bootIdentity } from '../../../../src/runtime/stores/node-metadata.ts';

const progress = (viewVersion: number, partition: number, extra: Partial<HandoffProgress> = {}): HandoffProgress => ({
  viewVersion,
  partition,
  target: asNodeId('n4'),
  done: false,
  ...extra,
});

test('saved progress loads back exactly, with boot, and an ended transition is cleared alone', async () => {
  const engine = new MemoryEngine();
  await engine.open();
  await saveHandoffProgress(engine, progress(2, 5, { lastKey: Uint8Array.from([0, 1, 98, 255]) }));
  await saveHandoffProgress(engine, progress(2, 6, { done: true, lastKey: Uint8Array.from([0, 1, 99]) }));
  await saveHandoffProgress(engine, progress(4, 6));
  await saveHandoffProgress(engine, progress(2, 5, { lastKey: Uint8Array.from([0, 1, 100]) }));
  const loaded = await loadHandoffProgress(engine);
  assert.deepEqual(
    loaded
      .map((entry) => ({ ...entry, lastKey: entry.lastKey === undefined ? undefined : [...entry.lastKey] }))
      .sort((a, b) => a.viewVersion - b.viewVersion || a.partition - b.partition),
    [
      { viewVersion: 2, partition: 5, target: 'n4', done: false, lastKey: [0, 1, 100] },
      { viewVersion: 2, partition: 6, target: 'n4', done: true, lastKey: [0, 1, 99] },
      { viewVersion: 4, partition: 6, target: 'n4', done: false, lastKey: undefined },
    ],
  );
  const identity = await bootIdentity(engine, () => 7);
  assert.equal(identity.handoffProgress.length, 3, 'boot hands the progress to the node core');
  assert.equal(identity.props.length, 0, 'progress entries are not taken for bucket props');
  await clearHandoffProgress(engine, 2);
  assert.deepEqual(
    (await loadHandoffProgress(engine)).map((entry) => entry.viewVersion),
    [4],
  );
});

test('a damaged or misfiled progress entry is skipped', async () => {
  const key = new TextEncoder().encode('handoff/2/5/n4');
  const good = encodeHandoffProgress(progress(2, 5, { lastKey: Uint8Array.from([1, 2]) }));
  assert.ok(decodeHandoffProgress(key, good) !== undefined);
  const bad = (text: string): Uint8Array => new TextEncoder().encode(text);
  assert.equal(
    decodeHandoffProgress(key, bad('{"viewVersion":2,"partition":5,"target":"n4","done":"yes"}')),
    undefined,
    'done not a boolean',
  );
  assert.equal(
    decodeHandoffProgress(key, bad('{"viewVersion":2,"partition":5,"target":"n4","done":false,"lastKey":"xyz"}')),
    undefined,
    'lastKey not hex',
  );
  assert.equal(
    decodeHandoffProgress(key, bad('{"viewVersion":-1,"partition":5,"target":"n4","done":false}')),
    undefined,
    'negative version',
  );
  assert.equal(
    decodeHandoffProgress(new TextEncoder().encode('handoff/2/6/n4'), good),
    undefined,
    'filed under another transfer',
  );
  assert.equal(decodeHandoffProgress(key, Uint8Array.from([0xff, 0xfe])), undefined, 'not UTF-8 JSON');
  const engine = new MemoryEngine();
  await engine.open();
  await engine.batch(reservedNamespaces.metadata, [{ type: 'put', key, value: bad('{"torn') }], { durable: true });
  await saveHandoffProgress(engine, progress(2, 7));
  assert.deepEqual(
    (await loadHandoffProgress(engine)).map((entry) => entry.partition),
    [7],
  );
  await clearHandoffProgress(engine, 2);
  assert.equal((await loadHandoffProgress(engine)).length, 0);
  assert.equal(await engine.get(reservedNamespaces.metadata, key), undefined, 'the damaged entry is cleared too');
});
