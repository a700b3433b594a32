// Why: in durable mode an acknowledged write is a promise that survives a crash of every node at
// once (docs/ARCHITECTURE.md section 3: a durable ack means "in the fsynced log"). Only real processes killed
// with SIGKILL can show it: no shutdown hook runs, nothing is flushed on the way out. Each engine
// (lmdb, the default, and LevelDB) gets writes and overwrites acknowledged with W=2, then a stream
// of writes during which all three nodes get `kill -9` (so some acks race the kill), a restart, and a
// read of every key whose write was acknowledged.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterFixture, type EngineName } from '../support/cluster-fixture.ts';

const bucket = 'durable';
const keyCount = 60;
const concurrency = 6;
const fixtures: ClusterFixture[] = [];

after(
  async () => {
    await Promise.all(fixtures.map((fixture) => fixture.stop()));
  },
  { timeout: 30_000 },
);

/** Runs `work` over `items` with at most `limit` in flight. */
async function inParallel<T>(
  items: readonly T[],
  limit: number,
  work: (item: T, position: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const position = next++;
      await work(items[position] as T, position);
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

/** Writes every key once, then overwrites every third one with the context its write returned. */
async function writeAcknowledged(fixture: ClusterFixture, tag: string): Promise<Map<string, string>> {
  const acknowledged = new Map<string, string>();
  const keys = Array.from({ length: keyCount }, (_, index) => `${tag}-${String(index).padStart(3, '0')}`);
  const contexts = new Map<string, string>();
  await inParallel(keys, concurrency, async (key, position) => {
    const value = `${key}=first`;
    const reply = await fixture.put(1 + (position % 3), bucket, key, value);
    assert.equal(reply.status, 204, `write ${key}: ${reply.text}`);
    assert.ok(reply.context);
    acknowledged.set(key, value);
    contexts.set(key, reply.context);
  });
  const overwritten = keys.filter((_, index) => index % 3 === 0);
  await inParallel(overwritten, concurrency, async (key, position) => {
    const value = `${key}=second`;
    const reply = await fixture.put(1 + ((position + 1) % 3), bucket, key, value, { context: contexts.get(key) ?? '' });
    assert.equal(reply.status, 204, `overwrite ${key}: ${reply.text}`);
    acknowledged.set(key, value);
  });
  return acknowledged;
}

/**
 * Keeps `concurrency` writers going and, once `acknowledgedBeforeKill` writes were acknowledged,
 * kills every node while the others are in flight. Returns the writes answered 204 (before or while
 * the kill happened); the rest failed and promised nothing.
 */
async function writeUntilKilled(
  fixture: ClusterFixture,
  tag: string,
  acknowledgedBeforeKill: number,
): Promise<Map<string, string>> {
  const acknowledged = new Map<string, string>();
  let killing: Promise<void> | undefined;
  let counter = 0;
  const killAnywayAtMs = performance.now() + 30_000;
  const writer = async (writerIndex: number): Promise<void> => {
    while (killing === undefined) {
      const key = `${tag}-racing-${String(counter++).padStart(4, '0')}`;
      const value = `${key}=${writerIndex}`;
      try {
        const reply = await fixture.put(1 + (writerIndex % 3), bucket, key, value, { fetchTimeoutMs: 10_000 });
        if (reply.status === 204) acknowledged.set(key, value);
      } catch {
        // the node died under this request: it was never acknowledged
      }
      if (acknowledged.size >= acknowledgedBeforeKill || performance.now() > killAnywayAtMs)
        killing ??= fixture.killAll();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, writerIndex) => writer(writerIndex)));
  await killing;
  return acknowledged;
}

async function survivesKillNine(engine: EngineName, report: (message: string) => void): Promise<void> {
  const fixture = await ClusterFixture.start({ name: `durability-${engine}`, engine });
  fixtures.push(fixture);
  const acknowledged = await writeAcknowledged(fixture, engine);
  for (const [key, value] of await writeUntilKilled(fixture, engine, 40)) acknowledged.set(key, value);
  assert.deepEqual(
    [1, 2, 3].map((index) => fixture.pid(index)),
    [undefined, undefined, undefined],
    'every node is gone',
  );
  await fixture.restartAll();
  const lost: string[] = [];
  let position = 0;
  for (const [key, value] of acknowledged) {
    const read = await fixture.get(1 + (position++ % 3), bucket, key);
    if (read.status !== 200 || read.text !== value)
      lost.push(`${key}: expected ${value}, got ${read.status} ${read.text}`);
  }
  report(`${engine}: ${acknowledged.size} acknowledged writes read back after kill -9 of every node`);
  assert.deepEqual(
    lost,
    [],
    `acknowledged writes lost after kill -9 of every node (${engine}, ${acknowledged.size} acknowledged)`,
  );
  fixture.assertNoCrashes();
  await fixture.stop();
}

test(
  'durable mode on lmdb: every acknowledged write survives kill -9 of every node',
  { timeout: 120_000 },
  async (context) => {
    await survivesKillNine('lmdb', (message) => context.diagnostic(message));
  },
);

test(
  'durable mode on LevelDB (--engine level): every acknowledged write survives kill -9 of every node',
  { timeout: 120_000 },
  async (context) => {
    await survivesKillNine('level', (message) => context.diagnostic(message));
  },
);
