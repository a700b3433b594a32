// Why: errors in a node's background work (timers, I/O callbacks, promises nobody awaits) once took
// every node of a cluster down: a props push grew past the frame limit and its send threw inside a
// timer. These tests hold the two nets: the runtime splits a frame over the limit and refuses (logs)
// a single message over it instead of throwing, and the process guard logs what escapes anyway and
// keeps the node up, stopping it only for a broken invariant.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { AssertionFailure } from '../../../src/core/base/assert.ts';
import { type NodeId } from '../../../src/core/base/ids.ts';
import { MemoryNetwork } from '../../../src/io/transport/memory.ts';
import { startMemoryRuntimes } from '../../support/memory-runtimes.ts';
import type { NodeRuntime } from '../../../src/runtime/node-runtime.ts';
import { type RuntimeLogger } from '../../../src/runtime/node-runtime.ts';
import { installProcessGuard, type GuardedProcess } from '../../../src/server/process-guard.ts';

interface LogLine {
  readonly level: string;
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

function capture(lines: LogLine[]): RuntimeLogger {
  const at = (level: string) => (fields: object, message: string) =>
    void lines.push({ level, fields: fields as Record<string, unknown>, message });
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

async function startPair(
  frameBytesMax: number,
  logs: LogLine[],
): Promise<{ runtimes: NodeRuntime[]; network: MemoryNetwork; ids: NodeId[]; stop(): Promise<void> }> {
  const network = new MemoryNetwork({ frameBytesMax });
  const { runtimes, ids } = await startMemoryRuntimes({
    ids: ['n1', 'n2'],
    partitionCount: 16,
    network,
    settings: {
      defaultProps: { n: 2, r: 1, w: 1, resolver: 'siblings', durability: 'buffered' },
      propsSyncIntervalMs: 50,
    },
    runtime: { valueBytesMax: 1024 * 1024, logger: capture(logs), tickIntervalMs: 10, frameBytesMax },
    secret: 'background-errors test secret',
  });
  return {
    runtimes,
    network,
    ids,
    stop: async () => void (await Promise.all(runtimes.map((runtime) => runtime.stop()))),
  };
}

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

test(
  'a dispatch whose messages to a peer exceed the frame limit goes as several frames; one message over it alone is refused and logged, never thrown',
  { timeout: 30_000 },
  async () => {
    const logs: LogLine[] = [];
    const frameBytesMax = 4096;
    const pair = await startPair(frameBytesMax, logs);
    try {
      const [first, second] = pair.runtimes as [NodeRuntime, NodeRuntime];
      const [id1, id2] = pair.ids as [NodeId, NodeId];
      // n2 misses 300 updates (about 15 KiB of entries); the digest exchange then sends them in one dispatch.
      pair.network.cutLink(id1, id2);
      for (let index = 0; index < 300; index++)
        await first.setBucketProps(`bucket-with-a-longish-name-${index}`, { w: 2 });
      pair.network.restoreLink(id1, id2);
      await until(
        () =>
          second.core.bucketProps('bucket-with-a-longish-name-299').w === 2 &&
          second.core.bucketProps('bucket-with-a-longish-name-0').w === 2,
        'n2 to be repaired',
      );
      for (let index = 0; index < 300; index++)
        assert.equal(second.core.bucketProps(`bucket-with-a-longish-name-${index}`).w, 2, `bucket ${index}`);
      assert.deepEqual(
        logs.filter((line) => line.level === 'error'),
        [],
        'splitting is not an error',
      );

      // A value larger than a frame: its replica message cannot be sent at all.
      const refused = await first
        .put({
          bucket: 'b',
          key: 'huge',
          value: new Uint8Array(2 * frameBytesMax),
          contentType: 'application/octet-stream',
          options: { w: 1 },
        })
        .then(
          () => 'written',
          (error: unknown) => String(error),
        );
      assert.ok(typeof refused === 'string');
      await until(
        () => logs.some((line) => line.message === 'refused to send a message larger than the frame limit'),
        'the refusal to be logged',
      );
      const line = logs.find(
        (entry) => entry.message === 'refused to send a message larger than the frame limit',
      ) as LogLine;
      assert.equal(line.fields.frameBytesMax, frameBytesMax);
      assert.ok((line.fields.frameBytes as number) > frameBytesMax);
      // The node still serves, and still reaches its peer.
      await first.put({
        bucket: 'b',
        key: 'small',
        value: new TextEncoder().encode('ok'),
        contentType: 'text/plain',
        options: { w: 2 },
      });
      const read = await second.get('b', 'small', { r: 2 });
      assert.equal(new TextDecoder().decode(read.siblings[0]?.value), 'ok');
    } finally {
      await pair.stop();
    }
  },
);

test('the process guard logs an uncaught exception or unhandled rejection and keeps the node; a broken invariant calls onFatal once', () => {
  const target = new EventEmitter() as unknown as GuardedProcess & EventEmitter;
  const errors: { fields: Record<string, unknown>; message: string }[] = [];
  const fatal: unknown[] = [];
  let nowMs = 0;
  const guard = installProcessGuard(target, {
    logger: { error: (fields, message) => void errors.push({ fields: fields as Record<string, unknown>, message }) },
    onFatal: (error) => void fatal.push(error),
    logsPerSecondMax: 3,
    nowMs: () => nowMs,
  });
  target.emit('uncaughtException', new Error('a timer failed'), 'uncaughtException');
  target.emit('unhandledRejection', new Error('a promise failed'));
  assert.deepEqual(
    errors.map((entry) => [entry.fields.kind, entry.fields.error, entry.message]),
    [
      ['uncaught exception', 'a timer failed', 'a background task failed; the node keeps serving'],
      ['unhandled rejection', 'a promise failed', 'a background task failed; the node keeps serving'],
    ],
  );
  assert.deepEqual(fatal, []);
  for (let index = 0; index < 10; index++) target.emit('uncaughtException', new Error(`storm ${index}`));
  assert.equal(errors.length, 3, 'at most logsPerSecondMax lines a second');
  nowMs = 1500;
  target.emit('uncaughtException', new Error('after the storm'));
  assert.deepEqual(
    errors.slice(3).map((entry) => entry.fields.suppressed ?? entry.fields.error),
    [9, 'after the storm'],
  );
  const broken = new AssertionFailure('an invariant');
  target.emit('uncaughtException', broken);
  target.emit('uncaughtException', new AssertionFailure('another'));
  assert.deepEqual(fatal, [broken], 'onFatal once');
  assert.match(errors.at(-1)?.message ?? '', /broken invariant/);
  assert.equal(guard.errorsSeen, 15);
  guard.uninstall();
  assert.equal(target.listenerCount('uncaughtException') + target.listenerCount('unhandledRejection'), 0);
});
