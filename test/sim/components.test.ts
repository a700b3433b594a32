// Why: the simulator is only as good as its parts. The scheduler must order, hold and drop tasks
// as a real machine would; the storage a simulated node gets (the real write-ahead log over a SimDisk,
// whose crashes test/sim/storage.test.ts checks) must keep the engine contract; partitions must have the shapes they claim; and the checker must count lost, unexpected
// and stale from a history, treating unacknowledged writes as 'may'.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Prng } from '../../src/core/base/prng.ts';
import { asNodeId } from '../../src/core/base/ids.ts';
import {
  checkHistory,
  History,
  partitionRule,
  SimDisk,
  SimNetwork,
  SimScheduler,
  worldOwner,
} from '../../src/sim/index.ts';
import { drainMicrotasks } from '../../src/sim/guard.ts';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (value: Uint8Array | undefined): string | undefined =>
  value === undefined ? undefined : new TextDecoder().decode(value);

async function runAll(scheduler: SimScheduler, untilMs = Infinity): Promise<void> {
  while (scheduler.runNext(untilMs)) await drainMicrotasks();
}

test("the scheduler runs tasks in time order, holds a paused owner's tasks and drops a killed owner's", () => {
  const scheduler = new SimScheduler();
  const ran: string[] = [];
  scheduler.schedule(5, 'a', 'late', () => ran.push(`late@${scheduler.nowMs}`));
  scheduler.schedule(1, 'a', 'early', () => ran.push(`early@${scheduler.nowMs}`));
  scheduler.schedule(1, worldOwner, 'same time, later sequence', () => ran.push(`world@${scheduler.nowMs}`));
  scheduler.schedule(2, 'b', 'killed', () => ran.push('killed'));
  scheduler.schedule(3, 'c', 'held', () => ran.push(`held@${scheduler.nowMs}`));
  scheduler.schedule(4, 'a', 'cancelled', () => ran.push('cancelled')).cancel();
  scheduler.pause('c');
  scheduler.kill('b');
  scheduler.schedule(2, 'b', 'after the crash', () => ran.push(`reborn@${scheduler.nowMs}`));
  scheduler.schedule(6, worldOwner, 'resume', () => scheduler.resume('c'));
  while (scheduler.runNext(Infinity));
  assert.deepEqual(ran, ['early@1', 'world@1', 'reborn@2', 'late@5', 'held@6']);
  assert.equal(scheduler.eventsRun, 6);
  const again = new SimScheduler();
  again.schedule(1, 'x', 'one', () => undefined);
  again.runNext(Infinity);
  assert.notEqual(again.traceHash(), new SimScheduler().traceHash(), 'the trace hash covers the tasks that ran');
});

test('a SimDisk under the real write-ahead log makes a write visible on its acknowledgement, not before', async () => {
  const scheduler = new SimScheduler();
  const disk = new SimDisk('n1', scheduler, new Prng(1));
  const engine = disk.open();
  await pumped(scheduler, engine.open());
  const durable = engine.batch(1, [{ type: 'put', key: bytes('a'), value: bytes('1') }], { durable: true });
  assert.equal(await engine.get(1, bytes('a')), undefined, 'not visible before its fsync');
  assert.equal(disk.read(1, bytes('a')), undefined, 'nor to the checker');
  await pumped(scheduler, durable);
  assert.equal(text(await engine.get(1, bytes('a'))), '1');
  assert.equal(text(disk.read(1, bytes('a'))), '1', 'the checker sees what the node acknowledged');
});

test('partition shapes: isolate, halves, bridge and a ring of overlapping majorities', () => {
  const order = ['n1', 'n2', 'n3', 'n4', 'n5'];
  const reach = (rule: (from: string, to: string) => boolean, node: string): string[] =>
    order.filter((other) => other !== node && rule(node, other));
  const isolate = partitionRule('isolate', order);
  assert.deepEqual(reach(isolate, 'n1'), []);
  assert.deepEqual(reach(isolate, 'n2'), ['n3', 'n4', 'n5']);
  const halves = partitionRule('halves', order);
  assert.deepEqual(reach(halves, 'n1'), ['n2']);
  assert.deepEqual(reach(halves, 'n3'), ['n4', 'n5']);
  const bridge = partitionRule('bridge', order);
  assert.deepEqual(reach(bridge, 'n1'), ['n2', 'n3', 'n4', 'n5']);
  assert.deepEqual(reach(bridge, 'n2'), ['n1', 'n3']);
  assert.deepEqual(reach(bridge, 'n4'), ['n1', 'n5']);
  const ring = partitionRule('majoritiesRing', order);
  for (const node of order) assert.equal(reach(ring, node).length + 1, 3, `${node} sees a majority`);
  assert.deepEqual(reach(ring, 'n1'), ['n2', 'n5']);
  assert.deepEqual(reach(ring, 'n3'), ['n2', 'n4']);
});

test('the network drops frames across a cut, holds them on a clogged link and delivers them in order when it clears', async () => {
  const scheduler = new SimScheduler();
  const network = new SimNetwork(scheduler, new Prng(3));
  const received: string[] = [];
  const a = network.transport(asNodeId('a'));
  const b = network.transport(asNodeId('b'));
  b.receive((from, frame) => received.push(`${from}:${text(frame)}`));
  await a.start();
  await b.start();
  network.partition(['a', 'b'], (from, to) => !(from === 'a' && to === 'b'));
  a.send(asNodeId('b'), bytes('cut'));
  network.healPartition();
  network.clog('a', 'b');
  a.send(asNodeId('b'), bytes('one'));
  a.send(asNodeId('b'), bytes('two'));
  await runAll(scheduler, 1000);
  assert.deepEqual(received, []);
  network.unclog('a', 'b');
  await runAll(scheduler);
  assert.deepEqual(received, ['a:one', 'a:two']);
  assert.equal(network.metrics.framesUnreachable, 1);
  network.detachNode('b');
  a.send(asNodeId('b'), bytes('to a crashed node'));
  await runAll(scheduler);
  assert.equal(received.length, 2);
});

test('the checker: acknowledged and missing is lost; removable by a delete is not; unacknowledged is may; a read of the never-written is unexpected', () => {
  const history = new History();
  const write = (
    element: number,
    key: string,
    invokedMs: number,
    completedMs: number,
    status: 'ok' | 'failed' | 'indeterminate',
  ): void => {
    const record = history.invokeWrite(element, key, invokedMs);
    record.completedMs = completedMs;
    record.status = status;
  };
  write(1, 'k', 0, 1, 'ok');
  write(2, 'k', 2, 3, 'ok');
  write(3, 'k', 4, 5, 'indeterminate');
  write(4, 'k', 6, 7, 'ok');
  write(5, 'k', 8, 9, 'failed');
  history.invokeDelete('k', new Set([2]), 10).status = 'indeterminate';
  const read = (elements: number[], invokedMs: number, completedMs: number, final = false): void => {
    history.reads.push({
      key: 'k',
      invokedMs,
      completedMs,
      elements: new Set(elements),
      siblings: elements.length === 0 ? 0 : 1,
      garbage: 0,
      final,
    });
  };
  read([1], 8, 8.5);
  read([1, 99], 11, 12);
  read([1, 5], 11, 12);
  read([1, 3], 20, 21, true);
  const verdict = checkHistory(history);
  assert.equal(verdict.attempted, 5);
  assert.equal(verdict.acknowledged, 3);
  assert.equal(verdict.indeterminate, 1);
  assert.equal(verdict.failed, 1);
  assert.deepEqual(
    verdict.lostSample,
    [4],
    'element 4 was acknowledged and is missing; 2 may have been deleted; 3 was never acknowledged',
  );
  assert.equal(verdict.lost, 1);
  assert.deepEqual(
    verdict.unexpectedSample.sort(),
    ['k:5', 'k:99'],
    'a refused write and a never-written element are unexpected',
  );
  assert.equal(verdict.staleReads, 3, 'reads that began after 2 and 4 were acknowledged and miss them');
  assert.equal(verdict.unreadKeys, 0);
});

/** Awaits `promise` while running the scheduler (a SimStorage completes writes as scheduler tasks). */
async function pumped<T>(scheduler: SimScheduler, promise: Promise<T>): Promise<T> {
  let done = false;
  const settled = promise.finally(() => {
    done = true;
  });
  await drainMicrotasks();
  while (!done && scheduler.runNext(Infinity)) await drainMicrotasks();
  return settled;
}

test('SimStorage keeps the engine contract: byte-ordered scans with bounds and limit, atomic batches, isolated namespaces, drop', async () => {
  const scheduler = new SimScheduler();
  const engine = new SimDisk('n1', scheduler, new Prng(4)).open();
  await pumped(scheduler, engine.open());
  const latin1 = (value: string): Uint8Array => Buffer.from(value, 'latin1');
  const keys = ['', '\u0000', 'a', 'a\u0000', 'aa', 'ab', 'b', '\u007f', '\u0080', '\u00ff', '\u00ff\u00ff'];
  await pumped(
    scheduler,
    engine.batch(
      5,
      keys.map((key) => ({ type: 'put' as const, key: latin1(key), value: latin1(`v${key}`) })),
      { durable: true },
    ),
  );
  await pumped(
    scheduler,
    engine.batch(6, [{ type: 'put', key: latin1('a'), value: latin1('other namespace') }], { durable: false }),
  );
  const scan = async (options: { start?: Uint8Array; end?: Uint8Array; limit?: number } = {}): Promise<string[]> => {
    const seen: string[] = [];
    for await (const [key] of engine.scan(5, options)) seen.push(Buffer.from(key).toString('latin1'));
    return seen;
  };
  const byBytes = [...keys].sort((x, y) => Buffer.compare(latin1(x), latin1(y)));
  assert.deepEqual(await scan(), byBytes);
  assert.deepEqual(await scan({ start: latin1('a'), end: latin1('b') }), ['a', 'a\u0000', 'aa', 'ab']);
  assert.deepEqual(await scan({ start: latin1('a'), limit: 2 }), ['a', 'a\u0000']);
  const replace = engine.batch(
    5,
    [
      { type: 'put', key: latin1('new'), value: latin1('n') },
      ...keys.map((key) => ({ type: 'delete' as const, key: latin1(key) })),
    ],
    { durable: true },
  );
  assert.equal((await scan()).length, keys.length, 'nothing of a batch shows before it is acknowledged');
  await pumped(scheduler, replace);
  assert.deepEqual(await scan(), ['new'], 'all of it shows after');
  assert.equal(text(await engine.get(6, latin1('a'))), 'other namespace');
  await pumped(scheduler, engine.drop(6));
  assert.equal(await engine.get(6, latin1('a')), undefined);
  assert.deepEqual(engine.capabilities, { atomicBatch: true, durableWrites: true, orderedScan: true });
});
