// Why: a Redis SET writes through NodeRuntime.putInto, which answers a write sink instead of a
// promise (no promise, closure or result object per write). It must answer exactly once, written
// after the quorum write as put() resolves, and failed with the coded error put() rejects with.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EverwriteError } from '../../../src/core/base/errors.ts';
import { asNodeId } from '../../../src/core/base/ids.ts';
import { md5 } from '../../../src/core/base/md5.ts';
import { NodeCore } from '../../../src/core/node/node-core.ts';
import { createRing } from '../../../src/core/ring/index.ts';
import { actorOf } from '../../../src/core/versioning/index.ts';
import { HmacContextSeal } from '../../../src/io/context-seal.ts';
import { MemoryEngine } from '../../../src/io/storage/memory.ts';
import { systemClock, systemTimers } from '../../../src/io/system-clock.ts';
import { MemoryNetwork } from '../../../src/io/transport/memory.ts';
import { HintStore } from '../../../src/runtime/stores/hint-store.ts';
import { LocalStore } from '../../../src/runtime/stores/local-store.ts';
import { NodeRuntime } from '../../../src/runtime/node-runtime.ts';
import type { PutRequest, WriteSink } from '../../../src/runtime/service.ts';

const valueBytesMax = 1024;

/** Two in-memory nodes, N=2 W=2, so a write needs the peer's acknowledgement. */
async function startPair(): Promise<NodeRuntime[]> {
  const ids = [asNodeId('n1'), asNodeId('n2')];
  const ring = createRing({ partitionCount: 16, members: ids.map((id) => ({ id })) });
  const network = new MemoryNetwork({});
  const contextSeal = new HmacContextSeal(new TextEncoder().encode('put-into test secret'));
  const runtimes: NodeRuntime[] = [];
  for (const id of ids) {
    const engine = new MemoryEngine();
    await engine.open();
    const core = new NodeCore({
      self: id,
      actor: actorOf(id, 1),
      ring,
      md5,
      settings: { defaultProps: { n: 2, r: 2, w: 2, resolver: 'siblings', durability: 'buffered' } },
    });
    const runtime = new NodeRuntime({
      core,
      clock: systemClock,
      timers: systemTimers,
      transport: network.transport(id),
      store: new LocalStore(engine),
      hints: await HintStore.open(engine),
      addresses: new Map(),
      md5,
      valueBytesMax,
      contextSeal,
    });
    await runtime.start();
    runtimes.push(runtime);
  }
  return runtimes;
}

/** A sink that records its answers, and resolves once the first comes. */
function recordingSink(): WriteSink & { answers: string[]; answered: Promise<void> } {
  let resolve = (): void => {};
  const answers: string[] = [];
  return {
    answers,
    answered: new Promise<void>((done) => (resolve = done)),
    written() {
      answers.push('written');
      resolve();
    },
    failed(error: EverwriteError) {
      answers.push(`failed ${error.code}`);
      resolve();
    },
  };
}

function setRequest(key: string, value: string): PutRequest {
  return {
    bucket: 'b',
    key,
    value: new TextEncoder().encode(value),
    contentType: 'text/plain',
    supersedeLocal: true,
  };
}

test('putInto answers written once after the quorum write, and the value reads back', { timeout: 10_000 }, async () => {
  const [coordinator, peer] = await startPair();
  try {
    const sink = recordingSink();
    coordinator!.putInto(setRequest('k', 'v1'), sink);
    await sink.answered;
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(sink.answers, ['written']);
    const read = await peer!.get('b', 'k');
    assert.deepEqual(
      read.siblings.map((sibling) => new TextDecoder().decode(sibling.value)),
      ['v1'],
    );
  } finally {
    await coordinator!.stop();
    await peer!.stop();
  }
});

test(
  'putInto fails with the coded error put() rejects with: a value too large, a node not running',
  { timeout: 10_000 },
  async () => {
    const [coordinator, peer] = await startPair();
    const tooLarge = recordingSink();
    coordinator!.putInto(setRequest('k', 'x'.repeat(valueBytesMax + 1)), tooLarge);
    assert.deepEqual(tooLarge.answers, ['failed EVERWRITE_VALUE_TOO_LARGE'], 'answered before putInto returns');
    await assert.rejects(coordinator!.put(setRequest('k', 'x'.repeat(valueBytesMax + 1))), {
      code: 'EVERWRITE_VALUE_TOO_LARGE',
    });
    await coordinator!.stop();
    await peer!.stop();
    const stopped = recordingSink();
    coordinator!.putInto(setRequest('k', 'v'), stopped);
    assert.deepEqual(stopped.answers, ['failed EVERWRITE_UNAVAILABLE']);
  },
);
