// Why: every bug the simulator found stays found. Each fix has a small direct test of the behaviour
// that was wrong, and the seeds that first exposed it are pinned: they run the whole simulation
// and must pass. (A pinned seed replays the same run only as long as the simulator draws the same
// choices; the direct tests do not depend on that.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asNodeId } from '../../src/core/base/ids.ts';
import { NodeCore } from '../../src/core/node/node-core.ts';
import { createRing, keyHash, partitionOf, primaryNodes } from '../../src/core/ring/index.ts';
import { decodeRecord, emptyRecord, encodeRecord, update } from '../../src/core/versioning/index.ts';
import { MemoryEngine } from '../../src/io/storage/memory.ts';
import { HintStore } from '../../src/runtime/stores/hint-store.ts';
import { LocalStore } from '../../src/runtime/stores/local-store.ts';
import type { BatchOperation } from '../../src/runtime/ports.ts';
import { runSimulation, type FaultKind } from '../../src/sim/index.ts';
import { CoreCluster, md5 } from '../support/core-cluster.ts';

const stored = (value: string, deleted = false) => ({
  value: new TextEncoder().encode(value),
  contentType: 'text/plain',
  lastModifiedMs: 1,
  deleted,
  timestamp: 1024,
});
const key = new TextEncoder().encode('k');

test('reaping a tombstone keeps the causal context, so the next write mints a fresh dot', async () => {
  const engine = new MemoryEngine();
  await engine.open();
  const store = new LocalStore(engine);
  const request = {
    actor: 'n1.7',
    durable: true,
    lastWriterWins: false,
    siblingsCountMax: 100,
    useStoredContext: false,
  };
  const written = (await store.mint(1, key, { ...request, context: new Map(), stored: stored('x') })).record;
  const tombstone = (await store.mint(1, key, { ...request, context: written.context, stored: stored('', true) }))
    .record;
  assert.deepEqual((await store.reap(1, key, tombstone)).record.siblings, [], 'the tombstone was reaped');
  const reaped = await store.read(1, key);
  assert.deepEqual(reaped.siblings, []);
  assert.deepEqual([...reaped.context], [['n1.7', 2]], 'the context outlives the tombstone');
  // A client still holding the context from before the delete ({n1.7: 1}) must not cover the new write.
  const rewritten = (await store.mint(1, key, { ...request, context: new Map(), stored: stored('y') })).record;
  assert.deepEqual(
    rewritten.siblings.map((sibling) => sibling.dot),
    [{ actor: 'n1.7', counter: 3 }],
  );
});

test('a hint added for a slot that holds one keeps both versions (merged), even when added concurrently', async () => {
  const engine = new MemoryEngine();
  await engine.open();
  const hints = await HintStore.open(engine);
  const fromA = encodeRecord(update(emptyRecord, new Map(), 'a.1', stored('from a')));
  const fromB = encodeRecord(update(emptyRecord, new Map(), 'b.1', stored('from b')));
  const fromC = encodeRecord(update(emptyRecord, new Map(), 'c.1', stored('from c')));
  assert.equal(await hints.add({ target: 'n2', namespace: 3, key, record: fromA }, { durable: true }), true);
  const both = await Promise.all([
    hints.add({ target: 'n2', namespace: 3, key, record: fromB }, { durable: true }),
    hints.add({ target: 'n2', namespace: 3, key, record: fromC }, { durable: true }),
  ]);
  assert.deepEqual(both, [true, true]);
  const held = await hints.forTarget('n2', 10);
  assert.equal(held.length, 1, 'one hint per slot');
  const values = decodeRecord((held[0] as { record: Uint8Array }).record).siblings.map((sibling) =>
    new TextDecoder().decode(sibling.stored.value),
  );
  assert.deepEqual(values.sort(), ['from a', 'from b', 'from c']);
  assert.equal(hints.count, 1);
});

test('a hint whose removal did not reach the disk does not starve the hints behind it', async () => {
  class FlakyEngine extends MemoryEngine {
    failNext = false;
    override batch(
      namespace: number,
      operations: readonly BatchOperation[],
      options: { readonly durable: boolean },
    ): Promise<void> {
      if (this.failNext) {
        this.failNext = false;
        return Promise.reject(new Error('EIO'));
      }
      return super.batch(namespace, operations, options);
    }
  }
  const engine = new FlakyEngine();
  await engine.open();
  const hints = await HintStore.open(engine);
  const record = encodeRecord(update(emptyRecord, new Map(), 'a.1', stored('v')));
  await hints.add({ target: 'n2', namespace: 1, key: new TextEncoder().encode('first'), record }, { durable: true });
  await hints.add({ target: 'n2', namespace: 1, key: new TextEncoder().encode('second'), record }, { durable: true });
  const [first] = await hints.forTarget('n2', 1);
  engine.failNext = true;
  await assert.rejects(hints.remove([(first as { id: string }).id]));
  const next = await hints.forTarget('n2', 1);
  assert.deepEqual(
    next.map((hint) => new TextDecoder().decode(hint.key)),
    ['second'],
    'the delivered hint is not served again',
  );
  assert.equal(hints.count, 1);
});

test('ids start after idBase, so a restarted node never reuses the request ids of an earlier boot', () => {
  const self = asNodeId('n1');
  const ring = createRing({
    partitionCount: 8,
    members: [{ id: self }, { id: asNodeId('n2') }, { id: asNodeId('n3') }],
  });
  const core = new NodeCore({ self, actor: 'n1.1', ring, md5, idBase: 3 * 2 ** 32 });
  core.step({ type: 'clientGet', nowMs: 0, requestId: 1, bucket: 'b', key: 'k', options: {} });
  const ids = core
    .takeEffects()
    .flatMap((effect) =>
      effect.type === 'setTimer'
        ? [effect.timerId]
        : effect.type === 'send' && 'id' in effect.message
          ? [effect.message.id]
          : effect.type === 'storeRead'
            ? [effect.token]
            : [],
    );
  assert.ok(ids.length > 0);
  for (const id of ids) assert.ok(id > 3 * 2 ** 32, `id ${id} is past the base`);
  assert.throws(() => new NodeCore({ self, actor: 'n1.1', ring, md5, idBase: -1 }), /idBase/);
});

test('a coordinator standing in for a dead primary holds a hint for it before its own version counts towards W', () => {
  const cluster = new CoreCluster(4, { forwardTimeoutMs: 100, requestTimeoutMs: 500 });
  const ring = cluster.node('n1').core.ring;
  const bucket = 'b';
  let chosen: { key: string; primaries: string[]; outsider: string } | undefined;
  for (let index = 0; chosen === undefined; index++) {
    const candidate = `key-${index}`;
    const primaries = primaryNodes(ring, partitionOf(ring, keyHash(md5, bucket, candidate)), 3);
    const outsider = cluster.ids.find((id) => !primaries.includes(id));
    if (outsider !== undefined) chosen = { key: candidate, primaries, outsider };
  }
  for (const primary of chosen.primaries) cluster.down.add(asNodeId(primary));
  // A first read teaches the outsider that the primaries are down (a write whose forward times out
  // is answered with a timeout, never coordinated a second time); the write it then coordinates as
  // the fallback of the first primary, with W=1, so its own version alone answers the client.
  cluster.get(chosen.outsider, bucket, chosen.key, { r: 1 });
  cluster.run(cluster.nowMs + 1_000);
  const write = cluster.put(chosen.outsider, bucket, chosen.key, 'second', undefined, { w: 1 });
  cluster.run(cluster.nowMs + 5_000);
  assert.equal(cluster.outcome(write).ok, true, JSON.stringify(cluster.outcome(write)));
  const hintTargets = new Set([...cluster.node(chosen.outsider).hints.values()].map((hint) => hint.target));
  for (const primary of chosen.primaries)
    assert.ok(hintTargets.has(asNodeId(primary)), `the outsider holds a hint for ${primary}`);
});

/** Seeds that exposed a bug (with the arguments of the run), each of which must now pass. */
const pinned: ReadonlyArray<{
  readonly seed: number;
  readonly ops: number;
  readonly nodes?: number;
  readonly faults?: 'all' | readonly FaultKind[];
  readonly readFree?: boolean;
  readonly bug: string;
}> = [
  {
    seed: 162,
    ops: 200,
    nodes: 4,
    bug: 'a reaped tombstone forgot its context; a new write reused a dot that an old client context covered (LocalStore.reap)',
  },
  { seed: 67, ops: 200, nodes: 4, bug: 'the same dot reuse after a reap, under crashes and pauses (LocalStore.reap)' },
  {
    seed: 34,
    ops: 200,
    nodes: 6,
    bug: 'a hint replaced an older concurrent hint for the same key and dropped its version (HintStore.add)',
  },
  {
    seed: 406,
    ops: 200,
    nodes: 7,
    bug: 'hint replacement and a self-fallback coordinator without a hint, W=1 (HintStore.add, put-coordination)',
  },
  {
    seed: 768,
    ops: 200,
    nodes: 7,
    bug: "a late reply to a request of an earlier boot was taken for a new request with the same id; read repair wrote one key's versions into another (NodeCore idBase)",
  },
  {
    seed: 635,
    ops: 200,
    nodes: 5,
    bug: 'a coordinator standing in for a primary acknowledged from its own store, crashed before its hints: the write never reached a primary (put-coordination)',
  },
  { seed: 1050, ops: 200, nodes: 5, bug: 'the same stranded write, five elements lost with W=1 (put-coordination)' },
  {
    seed: 9,
    ops: 200,
    nodes: 3,
    bug: 'hints whose removal failed on disk were served first every round and starved the rest: hints never drained (HintStore.forTarget)',
  },
  {
    seed: 518,
    ops: 200,
    nodes: 6,
    bug: 'a forward that timed out was coordinated again under a second dot that a later delete did not cover: a deleted element came back (forwarding, decision 0031)',
  },
  {
    seed: 472,
    ops: 200,
    nodes: 6,
    bug: 'a duplicated forward frame, delayed past two deletes, was coordinated again: a deleted element came back (forwarding, decision 0031)',
  },
  {
    seed: 674,
    ops: 200,
    nodes: 5,
    bug: 'a leaving node that restarted after the others completed its transition never learned it: members ignored its digests, and it waited for handoffDone of transfers between others (ViewGossip, Handoff)',
  },
  {
    seed: 180217875,
    ops: 200,
    nodes: 7,
    readFree: true,
    bug: 'a leaving node kept coordinating after its stream began: it stood in for three primaries it held down, acknowledged a W=1 write from its own hint store, and left with the hints (Handoff.handsOff: a node handing off now refuses clients and keeps no new hints)',
  },
  {
    seed: 429,
    ops: 200,
    nodes: 4,
    bug: 'a leaving node left after one broadcast of its last handoffDone, which was lost, and the restarted target had forgotten the transfer: the staying members waited for it forever (Handoff: the leaver now goes once they completed)',
  },
];

for (const run of pinned) {
  test(`pinned seed ${run.seed}: ${run.bug}`, async () => {
    const report = await runSimulation({
      seed: run.seed,
      ops: run.ops,
      ...(run.nodes === undefined ? {} : { nodes: run.nodes }),
      faults: run.faults ?? 'all',
      ...(run.readFree === true ? { readFree: true } : {}),
    });
    assert.equal(report.ok, true, `${report.command}: ${report.failures.join('; ')}`);
  });
}

test('fault-free runs with strict quorums (R + W > N) never read stale', async () => {
  for (let seed = 500; seed < 520; seed++) {
    const report = await runSimulation({ seed, ops: 150, faults: 'none' });
    assert.equal(report.ok, true, `${report.command}: ${report.failures.join('; ')}`);
    if (report.strict) assert.equal(report.staleReads, 0, report.command);
  }
});
