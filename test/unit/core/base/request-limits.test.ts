// Why: what one client request may carry is one object (decision 0035): resolved once with its
// ceilings, then checked by the coordinating core from the same object the front ends get. These
// tests show the resolution's refusals and that the core refuses by the limits it was given, not by
// the defaults.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { asNodeId } from '../../../../src/core/base/ids.ts';
import { defaultLimits, resolveRequestLimits, valueBytesCeiling } from '../../../../src/core/base/limits.ts';
import { NodeCore } from '../../../../src/core/node/node-core.ts';
import { createRing } from '../../../../src/core/ring/index.ts';
import { actorOf } from '../../../../src/core/versioning/index.ts';

test('request limits default to the contract, take overrides within their ceilings, and refuse anything else by name', () => {
  assert.deepEqual(resolveRequestLimits(), {
    keyBytesMax: defaultLimits.keyBytesMax,
    bucketBytesMax: defaultLimits.bucketBytesMax,
    valueBytesMax: defaultLimits.valueBytesMax,
  });
  assert.equal(resolveRequestLimits({ valueBytesMax: 4_000_000 }).valueBytesMax, 4_000_000);
  assert.equal(resolveRequestLimits({ keyBytesMax: 16 }).keyBytesMax, 16);
  assert.throws(
    () => resolveRequestLimits({ keyBytesMax: defaultLimits.keyBytesMax + 1 }),
    /keyBytesMax must be an integer from 1 to 1024/,
  );
  assert.throws(() => resolveRequestLimits({ bucketBytesMax: 256 }), /bucketBytesMax must be an integer from 1 to 255/);
  assert.throws(
    () => resolveRequestLimits({ valueBytesMax: valueBytesCeiling + 1 }),
    /valueBytesMax must be an integer from 1 to 8388608/,
  );
  assert.throws(() => resolveRequestLimits({ valueBytesMax: 0 }), /valueBytesMax/);
  assert.throws(() => resolveRequestLimits({ valueBytesMax: 1.5 }), /valueBytesMax/);
  assert.throws(() => resolveRequestLimits({ frameBytesMax: 1 } as never), /unknown request limit frameBytesMax/);
  assert.throws(() => resolveRequestLimits(JSON.parse('{"__proto__": 1}')), /unknown request limit __proto__/);
});

test('the coordinating core refuses a key or bucket over the limits it was given, not over the defaults', () => {
  const self = asNodeId('n1');
  const core = new NodeCore({
    self,
    actor: actorOf(self, 1),
    ring: createRing({ partitionCount: 8, members: [{ id: self }] }),
    md5: (bytes) => createHash('md5').update(bytes).digest(),
    requestLimits: resolveRequestLimits({ keyBytesMax: 16, bucketBytesMax: 8 }),
  });
  const write = { value: new TextEncoder().encode('v'), contentType: 'text/plain', deleted: false };
  const answer = (requestId: number, bucket: string, key: string): string => {
    core.step({
      type: 'clientPut',
      nowMs: 0,
      requestId,
      bucket,
      key,
      context: undefined,
      write,
      realtimeMs: 1_700_000_000_000,
      options: {},
    });
    const reply = core.takeEffects().find((effect) => effect.type === 'reply' && effect.requestId === requestId);
    return reply?.type === 'reply' && !reply.outcome.ok ? reply.outcome.error.code : 'accepted';
  };
  assert.equal(answer(1, 'b', 'k'.repeat(16)), 'accepted');
  assert.equal(answer(2, 'b', 'k'.repeat(17)), 'EVERWRITE_KEY_TOO_LARGE');
  assert.equal(answer(3, 'b'.repeat(9), 'k'), 'EVERWRITE_BAD_REQUEST');
});
