// Why: a Redis SET writes through NodeRuntime.putInto, which answers a write sink instead of a
// promise (no promise, closure or result object per write). It must answer exactly once, written
// after the quorum write as put() resolves, and failed with the coded error put() rejects with.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EverwriteError } from '../../../src/core/base/errors.ts';
import { MemoryNetwork } from '../../../src/io/transport/memory.ts';
import type { NodeRuntime } from '../../../src/runtime/node-runtime.ts';
import type { PutRequest, WriteSink } from '../../../src/runtime/service.ts';
import { startMemoryRuntimes } from '../../support/memory-runtimes.ts';

const valueBytesMax = 1024;

/** Two in-memory nodes, N=2 W=2, so a write needs the peer's acknowledgement. */
async function startPair(): Promise<NodeRuntime[]> {
  const { runtimes } = await startMemoryRuntimes({
    ids: ['n1', 'n2'],
    partitionCount: 16,
    network: new MemoryNetwork({}),
    settings: { defaultProps: { n: 2, r: 2, w: 2, resolver: 'siblings', durability: 'buffered' } },
    runtime: { valueBytesMax },
    secret: 'put-into test secret',
  });
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
