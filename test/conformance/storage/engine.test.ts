// Why: every StorageEngine must behave the same behind the port (docs/ARCHITECTURE.md section 2): the memory
// engine is the model, lmdb and LevelDB the real ones, and the write-ahead log in front of each must
// change nothing a caller can see except speed. Durable engines also face a real SIGKILL.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { StorageEngine } from '../../../src/runtime/ports.ts';
import { reservedNamespaces } from '../../../src/runtime/ports.ts';
import {
  allEngineKinds,
  bytes,
  collect,
  createTestEngine,
  durableEngineKinds,
  put,
  remove,
  text,
  withTemporaryDirectory,
  type TestEngineKind,
} from '../../support/storage-engines.ts';
import { LoggedEngine } from '../../../src/io/storage/logged.ts';
import { crashKeyCount, crashNamespace, crashValue } from '../../support/storage-crash-writer.ts';

/** Opens a fresh engine of `kind` in a temporary directory, runs `work`, closes and cleans up. */
async function withEngine(
  kind: TestEngineKind,
  work: (engine: StorageEngine, directory: string) => Promise<void>,
): Promise<void> {
  await withTemporaryDirectory(`conformance-${kind}`, async (directory) => {
    const engine = createTestEngine(kind, directory);
    await engine.open();
    try {
      await work(engine, directory);
    } finally {
      await engine.close();
    }
  });
}

/** Keys chosen to trip byte-order mistakes: prefixes, 0x00, 0xff, high bytes that UTF-16 would misorder. */
const orderingKeys = [
  '',
  '\u0000',
  '\u0000\u0000',
  'a',
  'a\u0000',
  'aa',
  'ab',
  'b',
  '\u007f',
  '\u0080',
  '\u00ff',
  '\u00ff\u00ff',
  'z\u00ff',
  'm',
];

function sortedByBytes(keys: readonly string[]): string[] {
  return [...keys].sort((a, b) => Buffer.compare(bytes(a), bytes(b)));
}

async function getAfterBatch(engine: StorageEngine): Promise<void> {
  assert.equal(await engine.get(1, bytes('k')), undefined);
  await engine.batch(1, [put('k', 'v1'), put('other', 'o')], { durable: true });
  assert.equal(text(await engine.get(1, bytes('k'))), 'v1');
  await engine.batch(1, [put('k', 'v2')], { durable: false });
  assert.equal(text(await engine.get(1, bytes('k'))), 'v2');
  await engine.batch(1, [remove('k'), remove('never-written')], { durable: true });
  assert.equal(await engine.get(1, bytes('k')), undefined);
  assert.equal(text(await engine.get(1, bytes('other'))), 'o');
}

async function unusualValuesRoundTrip(engine: StorageEngine): Promise<void> {
  const large = new Uint8Array(1024 * 1024).map((_, index) => index % 251);
  const binaryKey = new Uint8Array([0, 255, 0, 1]);
  await engine.batch(2, [put('empty', ''), { type: 'put', key: binaryKey, value: large }], { durable: true });
  assert.deepEqual(new Uint8Array((await engine.get(2, bytes('empty'))) as Uint8Array), new Uint8Array(0));
  assert.deepEqual(new Uint8Array((await engine.get(2, binaryKey)) as Uint8Array), large);
}

async function batchIsAtomic(engine: StorageEngine): Promise<void> {
  const before = Array.from({ length: 100 }, (_, index) => `old${String(index).padStart(3, '0')}`);
  const after = Array.from({ length: 100 }, (_, index) => `new${String(index).padStart(3, '0')}`);
  await engine.batch(
    3,
    before.map((key) => put(key, 'x')),
    { durable: true },
  );
  let settled = false;
  const written = engine
    .batch(3, [...after.map((key) => put(key, 'y')), ...before.map((key) => remove(key))], { durable: true })
    .then(() => {
      settled = true;
    });
  let observations = 0;
  do {
    const keys = (await collect(engine.scan(3))).map(([key]) => key);
    assert.ok(
      keys.join() === before.join() || keys.join() === sortedByBytes(after).join(),
      `scan saw a partial batch: ${keys.length} keys`,
    );
    observations++;
    // Let the engine's own callbacks run: lmdb's scans never leave the microtask queue.
    await new Promise((resolve) => setImmediate(resolve));
  } while (!settled && observations < 10_000);
  await written;
  assert.deepEqual(
    (await collect(engine.scan(3))).map(([key]) => key),
    sortedByBytes(after),
  );
}

async function scanOrderBoundsAndLimit(engine: StorageEngine): Promise<void> {
  // Written in an unsorted order, in two batches, so no engine can pass by remembering insertion order.
  await engine.batch(
    4,
    orderingKeys
      .slice(0, 7)
      .reverse()
      .map((key) => put(key, `v:${key}`)),
    { durable: true },
  );
  await engine.batch(
    4,
    orderingKeys.slice(7).map((key) => put(key, `v:${key}`)),
    { durable: false },
  );
  const expected = sortedByBytes(orderingKeys);
  const all = await collect(engine.scan(4));
  assert.deepEqual(
    all.map(([key]) => key),
    expected,
  );
  assert.deepEqual(
    all.map(([, value]) => value),
    expected.map((key) => `v:${key}`),
  );
  const between = (start: string, end: string): string[] =>
    expected.filter(
      (key) => Buffer.compare(bytes(key), bytes(start)) >= 0 && Buffer.compare(bytes(key), bytes(end)) < 0,
    );
  assert.deepEqual(
    (await collect(engine.scan(4, { start: bytes('a'), end: bytes('b') }))).map(([key]) => key),
    between('a', 'b'),
  );
  assert.deepEqual(
    (await collect(engine.scan(4, { start: bytes('aa') }))).map(([key]) => key),
    expected.filter((key) => Buffer.compare(bytes(key), bytes('aa')) >= 0),
  );
  assert.deepEqual(
    (await collect(engine.scan(4, { end: bytes('a') }))).map(([key]) => key),
    expected.filter((key) => Buffer.compare(bytes(key), bytes('a')) < 0),
  );
  assert.deepEqual((await collect(engine.scan(4, { start: bytes('a'), end: bytes('a') }))).length, 0);
  assert.deepEqual(
    (await collect(engine.scan(4, { start: bytes('b'), end: bytes('a') }))).length,
    0,
    'start after end is empty, not reversed',
  );
  assert.deepEqual(
    (await collect(engine.scan(4, { limit: 3 }))).map(([key]) => key),
    expected.slice(0, 3),
  );
  assert.deepEqual(
    (await collect(engine.scan(4, { start: bytes('a'), limit: 2 }))).map(([key]) => key),
    between('a', '\u00ff\u00ff\u00ff').slice(0, 2),
  );
  assert.deepEqual(await collect(engine.scan(4, { limit: 0 })), []);
  assert.deepEqual(await collect(engine.scan(4, { start: bytes('zzz'), end: bytes('zzzz') })), []);
}

async function namespacesAreIsolated(engine: StorageEngine): Promise<void> {
  for (const namespace of [0, 1, 2, 255, 256, 65279]) {
    await engine.batch(namespace, [put('shared', `in ${namespace}`), put(`only${namespace}`, 'x')], { durable: false });
  }
  assert.equal(text(await engine.get(256, bytes('shared'))), 'in 256');
  assert.equal(await engine.get(255, bytes('only256')), undefined);
  assert.deepEqual(await collect(engine.scan(1)), [
    ['only1', 'x'],
    ['shared', 'in 1'],
  ]);
  assert.deepEqual(await collect(engine.scan(3)), []);
  await engine.drop(1);
  assert.deepEqual(await collect(engine.scan(1)), []);
  assert.equal(await engine.get(1, bytes('shared')), undefined);
  assert.deepEqual(await collect(engine.scan(2)), [
    ['only2', 'x'],
    ['shared', 'in 2'],
  ]);
  assert.deepEqual(await collect(engine.scan(0)), [
    ['only0', 'x'],
    ['shared', 'in 0'],
  ]);
  await engine.batch(1, [put('again', 'y')], { durable: true });
  assert.deepEqual(await collect(engine.scan(1)), [['again', 'y']]);
}

async function dropLargeNamespace(engine: StorageEngine): Promise<void> {
  const keys = Array.from({ length: 2500 }, (_, index) => `key${index}`);
  for (let start = 0; start < keys.length; start += 500)
    await engine.batch(
      9,
      keys.slice(start, start + 500).map((key) => put(key, 'v')),
      { durable: false },
    );
  assert.equal((await collect(engine.scan(9))).length, keys.length);
  await engine.drop(9);
  assert.equal((await collect(engine.scan(9))).length, 0);
  await engine.drop(9);
}

async function reservedNamespacesWork(engine: StorageEngine): Promise<void> {
  const { hints, metadata, firstReserved } = reservedNamespaces;
  await engine.batch(hints, [put('h1', 'hint'), put('\u00ff\u00ff', 'high')], { durable: true });
  await engine.batch(metadata, [put('h1', 'meta')], { durable: true });
  await engine.batch(firstReserved - 1, [put('h1', 'partition')], { durable: true });
  await engine.batch(0, [put('h1', 'zero')], { durable: true });
  assert.equal(text(await engine.get(hints, bytes('h1'))), 'hint');
  assert.equal(text(await engine.get(metadata, bytes('h1'))), 'meta');
  assert.deepEqual(await collect(engine.scan(hints)), [
    ['h1', 'hint'],
    ['\u00ff\u00ff', 'high'],
  ]);
  assert.deepEqual(await collect(engine.scan(metadata)), [['h1', 'meta']]);
  await engine.drop(hints);
  assert.deepEqual(await collect(engine.scan(hints)), []);
  assert.equal(text(await engine.get(metadata, bytes('h1'))), 'meta');
  assert.equal(text(await engine.get(firstReserved - 1, bytes('h1'))), 'partition');
}

async function invalidNamespaceAsserts(engine: StorageEngine): Promise<void> {
  assert.throws(() => engine.get(65536, bytes('k')), { name: 'AssertionFailure' });
  assert.throws(() => engine.batch(-1, [], { durable: false }), { name: 'AssertionFailure' });
}

async function reopenKeepsData(kind: TestEngineKind, directory: string): Promise<void> {
  const first = createTestEngine(kind, directory);
  await first.open();
  await first.batch(5, [put('durable', 'd'), put('gone', 'g')], { durable: true });
  await first.batch(5, [put('buffered', 'b'), remove('gone')], { durable: false });
  await first.batch(6, [put('dropped', 'x')], { durable: true });
  await first.drop(6);
  await first.batch(reservedNamespaces.hints, [put('hint', 'h')], { durable: true });
  await first.close();
  const second = createTestEngine(kind, directory);
  await second.open();
  try {
    assert.deepEqual(await collect(second.scan(5)), [
      ['buffered', 'b'],
      ['durable', 'd'],
    ]);
    assert.deepEqual(await collect(second.scan(6)), []);
    assert.equal(text(await second.get(reservedNamespaces.hints, bytes('hint'))), 'h');
  } finally {
    await second.close();
  }
}

async function closedEngineRefuses(kind: TestEngineKind, directory: string): Promise<void> {
  const engine = createTestEngine(kind, directory);
  await engine.open();
  await engine.close();
  await assert.rejects(engine.batch(1, [put('k', 'v')], { durable: true }), { code: 'EVERWRITE_STORAGE_FAILED' });
  await assert.rejects(engine.get(1, bytes('k')), { code: 'EVERWRITE_STORAGE_FAILED' });
}

/** getNow/batchNow, where an engine offers them, answer as get/batch do, and at once. */
async function synchronousAccessAgrees(engine: StorageEngine): Promise<void> {
  const { getNow, batchNow } = engine;
  assert.equal(getNow === undefined, batchNow === undefined, 'getNow and batchNow come together');
  if (getNow === undefined || batchNow === undefined) return;
  batchNow(3, [put('a', 'one'), put('b', 'two')]);
  assert.equal(text(getNow(3, bytes('a'))), 'one', 'a batchNow is visible to getNow at once');
  assert.equal(text(await engine.get(3, bytes('b'))), 'two');
  await engine.batch(3, [{ type: 'delete', key: bytes('a') }], { durable: true });
  assert.equal(getNow(3, bytes('a')), undefined);
  assert.equal(getNow(4, bytes('a')), undefined, 'namespaces stay apart');
  const kept = bytes('kept');
  batchNow(3, [{ type: 'put', key: bytes('c'), value: kept }]);
  kept.fill(0);
  assert.equal(text(getNow(3, bytes('c'))), 'kept', 'the engine keeps its own copy');
}

/** readNow, where offered, answers exactly what get answers, at once: after puts, buffered ones too, deletes, in other namespaces. */
async function readNowAgreesWithGet(engine: StorageEngine): Promise<void> {
  const readNow = engine.readNow;
  if (readNow === undefined) return;
  const agree = async (namespace: number, key: string): Promise<void> => {
    assert.deepEqual(
      readNow(namespace, bytes(key)),
      await engine.get(namespace, bytes(key)),
      `readNow and get agree on ${namespace}/${key}`,
    );
  };
  await agree(6, 'absent');
  await engine.batch(6, [put('a', 'one'), put('b', 'two')], { durable: true });
  assert.equal(text(readNow(6, bytes('a'))), 'one', 'an acknowledged write is read at once');
  await engine.batch(6, [put('a', 'three'), remove('b')], { durable: false });
  for (const key of ['a', 'b', 'absent']) await agree(6, key);
  await agree(7, 'a');
  assert.equal(text(readNow(6, bytes('a'))), 'three');
  assert.equal(readNow(6, bytes('b')), undefined, 'a delete reads as undefined');
  assert.throws(() => readNow(-1, bytes('a')), 'an invalid namespace is a bug, as for get');
}

/** A caller may reuse one key array for another key; an engine must read the bytes, not remember the array. */
async function reusedKeyArrayAddressesItsNewBytes(engine: StorageEngine): Promise<void> {
  const key = bytes('key-a');
  await engine.batch(5, [{ type: 'put', key, value: bytes('for a') }], { durable: true });
  key.set(bytes('key-b'));
  assert.equal(await engine.get(5, key), undefined, 'key-b was never written');
  await engine.batch(5, [{ type: 'put', key, value: bytes('for b') }], { durable: true });
  assert.equal(text(await engine.get(5, bytes('key-a'))), 'for a');
  assert.equal(text(await engine.get(5, bytes('key-b'))), 'for b');
  if (engine.getNow !== undefined && engine.batchNow !== undefined) {
    key.set(bytes('key-c'));
    assert.equal(engine.getNow(5, key), undefined, 'key-c was never written');
    engine.batchNow(5, [{ type: 'put', key, value: bytes('for c') }]);
    key.set(bytes('key-a'));
    assert.equal(text(engine.getNow(5, key)), 'for a');
  }
}

/** Cases run on an open engine in a fresh directory, for every kind. */
const engineCases: ReadonlyArray<readonly [string, (engine: StorageEngine) => Promise<void>]> = [
  ['get after batch returns what was put; deletes and absent keys read as undefined', getAfterBatch],
  ['empty values, binary keys and 1 MiB values round-trip', unusualValuesRoundTrip],
  ['a batch of many puts and deletes becomes visible all at once, never in part', batchIsAtomic],
  ['scan yields ascending byte order with inclusive start, exclusive end and a limit', scanOrderBoundsAndLimit],
  ['namespaces are isolated for get, scan, and drop', namespacesAreIsolated],
  ['drop removes every key of a large namespace', dropLargeNamespace],
  ['reserved namespaces 65534 and 65535 work and stay apart from partitions', reservedNamespacesWork],
  ['an invalid namespace is a bug: it throws an assertion', invalidNamespaceAsserts],
  ['getNow and batchNow, where offered, agree with get and batch and act at once', synchronousAccessAgrees],
  ['a key array reused for another key addresses the new key', reusedKeyArrayAddressesItsNewBytes],
  ['readNow, where offered, answers what get answers, at once', readNowAgreesWithGet],
];

type DirectoryCase = readonly [string, (kind: TestEngineKind, directory: string) => Promise<void>];
/** Cases that manage the engine's life themselves: for every kind, and for durable kinds only. */
const directoryCases: readonly DirectoryCase[] = [
  ['operations on a closed engine fail with EVERWRITE_STORAGE_FAILED', closedEngineRefuses],
];
const durableDirectoryCases: readonly DirectoryCase[] = [
  ['close then reopen keeps every acknowledged write, delete and drop', reopenKeepsData],
];

for (const kind of allEngineKinds) {
  describe(`StorageEngine conformance: ${kind}`, { timeout: 60_000 }, () => {
    test('capabilities promise atomic batches and ordered scans; durability matches the kind', () => {
      const engine = createTestEngine(kind, '/nonexistent-not-opened');
      assert.equal(
        engine.readNow !== undefined,
        kind !== 'level' && kind !== 'logged-level',
        'every engine but LevelDB (and the log over it) reads synchronously',
      );
      assert.equal(engine.capabilities.atomicBatch, true);
      assert.equal(engine.capabilities.orderedScan, true);
      assert.equal(engine.capabilities.durableWrites, kind !== 'memory');
    });
    for (const [name, run] of engineCases) test(name, () => withEngine(kind, run));
    const cases = kind === 'memory' ? directoryCases : [...directoryCases, ...durableDirectoryCases];
    for (const [name, run] of cases)
      test(name, () => withTemporaryDirectory(`conformance-${kind}`, (directory) => run(kind, directory)));
  });
}

for (const kind of durableEngineKinds) {
  for (const durability of ['durable', 'buffered'] as const) {
    // A buffered acknowledgement promises less than a durable one, but still survives the process dying.
    test(
      `crash: every ${durability}-acknowledged batch survives SIGKILL, whole (${kind})`,
      { timeout: 60_000 },
      (context) =>
        withTemporaryDirectory(`crash-${kind}`, async (directory) => {
          const acknowledged = await runCrashWriter(kind, directory, durability);
          assert.ok(acknowledged.length > 0, 'the writer acknowledged nothing before it was killed');
          const engine = createTestEngine(kind, directory);
          await engine.open();
          const replay = engine instanceof LoggedEngine ? ` replayed ${JSON.stringify(engine.replayReport)}` : '';
          context.diagnostic(`${acknowledged.length} batches acknowledged before SIGKILL${replay}`);
          try {
            await checkCrashImage(engine, acknowledged);
          } finally {
            await engine.close();
          }
        }),
    );
  }
}

/** Spawns the writer, kills it with SIGKILL 400 ms after it is ready, returns the acknowledged [id, writer] lines. */
async function runCrashWriter(
  kind: TestEngineKind,
  directory: string,
  durability: 'durable' | 'buffered',
): Promise<Array<[number, number]>> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/support/storage-crash-writer.ts', kind, directory, durability],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const acknowledged: Array<[number, number]> = [];
  let errors = '';
  child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.once('exit', (_code, signal) => resolve(signal)),
  );
  const safety = setTimeout(() => child.kill('SIGKILL'), 30_000);
  let killTimer: NodeJS.Timeout | undefined;
  for await (const line of createInterface({ input: child.stdout })) {
    if (line === 'ready') {
      killTimer = setTimeout(() => process.kill(child.pid as number, 'SIGKILL'), 400);
      continue;
    }
    const [id, writer] = line.split(' ').map(Number);
    acknowledged.push([id as number, writer as number]);
  }
  const signal = await exited;
  clearTimeout(safety);
  clearTimeout(killTimer);
  assert.equal(signal, 'SIGKILL', `the writer ended without being killed: ${errors}`);
  return acknowledged;
}

/** Every acknowledged batch is whole, no batch is partial, and no writer's last-id key went backwards. */
async function checkCrashImage(engine: StorageEngine, acknowledged: ReadonlyArray<[number, number]>): Promise<void> {
  const lastAcknowledged = new Map<number, number>();
  for (const [id, writer] of acknowledged) {
    for (let index = 0; index < crashKeyCount; index++) {
      assert.equal(
        text(await engine.get(crashNamespace, bytes(`b${id}/${index}`))),
        crashValue(id, index),
        `acknowledged batch ${id} key ${index}`,
      );
    }
    lastAcknowledged.set(writer, Math.max(lastAcknowledged.get(writer) ?? -1, id));
  }
  const keysPerBatch = new Map<string, number>();
  for (const [key, value] of await collect(engine.scan(crashNamespace))) {
    const match = /^b(\d+)\/(\d+)$/.exec(key);
    if (match === null) continue;
    assert.equal(value, crashValue(Number(match[1]), Number(match[2])));
    keysPerBatch.set(match[1] as string, (keysPerBatch.get(match[1] as string) ?? 0) + 1);
  }
  for (const [id, count] of keysPerBatch) assert.equal(count, crashKeyCount, `batch ${id} is partial after the crash`);
  for (const [writer, id] of lastAcknowledged) {
    const stored = Number(text(await engine.get(crashNamespace, bytes(`w${writer}`))));
    assert.ok(stored >= id, `writer ${writer}'s last id went back from ${id} to ${stored}`);
  }
}
