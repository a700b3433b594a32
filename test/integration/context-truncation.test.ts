// Why: decision 0041 hands clients a context cut down to a bound (the key's live siblings' writers
// first) while records keep every writer epoch. Against three real processes with
// `clientContextEntriesMax` 1, so that any key written by more than two epochs is cut: a key written
// through every node and again after a `kill -9` (a new epoch, decision 0008) is handed contexts
// naming fewer actors than wrote it, and read-modify-writes with those cut contexts, each through
// another node than the read, replace what was read without leaving siblings or losing a write.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterFixture, type Reply } from '../support/cluster-fixture.ts';
import { contextSealBytes, decodeContext } from '../../src/core/versioning/index.ts';

let fixture: ClusterFixture;
const bucket = 'cut';

before(async () => {
  fixture = await ClusterFixture.start({ name: 'context-truncation', settings: { clientContextEntriesMax: 1 } });
});

after(async () => {
  await fixture?.stop();
});

/** The actors a handed-out context names: the token is the documented layout with the seal's tag after it. */
function actorsOf(context: string | undefined): string[] {
  assert.ok(context !== undefined, 'a context was handed out');
  return [...decodeContext(context.slice(0, context.length - contextSealBytes)).keys()];
}

async function writeThrough(index: number, key: string, value: string, context?: string): Promise<Reply> {
  const reply = await fixture.put(index, bucket, key, value, context === undefined ? {} : { context });
  assert.equal(reply.status, 204, `PUT through n${index}: ${reply.status} ${reply.text}`);
  return reply;
}

/** Every actor any handed-out context named. */
const named = new Set<string>();

/** A read through `index` with every replica answering: one value, `expected`. */
async function assertOneValue(index: number, key: string, expected: string): Promise<Reply> {
  const read = await fixture.get(index, bucket, key, { r: 3 });
  assert.equal(read.status, 200, `read through n${index}: ${read.status} ${read.text}`);
  assert.equal(read.text, expected);
  for (const actor of actorsOf(read.context)) named.add(actor);
  return read;
}

test('a key written by four epochs is handed cut contexts, and read-modify-writes with them through other nodes replace what was read', async () => {
  const key = 'four-epochs';
  // Each node coordinates a write (all three are primaries with N=3), then node 1 restarts after kill -9.
  await writeThrough(1, key, 'v0');
  let read = await assertOneValue(2, key, 'v0');
  await writeThrough(2, key, 'v1', read.context);
  read = await assertOneValue(3, key, 'v1');
  await writeThrough(3, key, 'v2', read.context);
  await fixture.kill(1);
  await fixture.restart(1);
  read = await assertOneValue(1, key, 'v2');
  await writeThrough(1, key, 'v3', read.context);
  for (let round = 0; round < 9; round++) {
    const reader = (round % 3) + 1;
    read = await assertOneValue(reader, key, round === 0 ? 'v3' : `r${round - 1}`);
    // The value's writer and the reading node: at most two, whatever the key's history holds.
    const actors = actorsOf(read.context);
    assert.ok(actors.length <= 2, `round ${round}: the context names ${actors.length} actors: ${actors.join(', ')}`);
    await writeThrough((reader % 3) + 1, key, `r${round}`, read.context);
  }
  await assertOneValue(3, key, 'r8');
  // Four epochs wrote the key (n1 twice), more than any one handed context named.
  assert.ok(named.size >= 4, `actors the handed contexts named: ${[...named].join(', ')}`);
  fixture.assertNoCrashes();
});
