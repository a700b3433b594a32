// Why: a coordinator whose own write waits for the disk sends the minted version to the other
// replicas at once (storeMinted), so its fsync and theirs overlap (decision 0009). Its own
// acknowledgement must still count only when its write is durable (storeDone), and a failed local
// write must count as a refusal, not hang the request or count as an acknowledgement.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asNodeId } from '../../../../src/core/base/ids.ts';
import type { Effect } from '../../../../src/core/node/effects.ts';
import { NodeCore } from '../../../../src/core/node/node-core.ts';
import { createRing } from '../../../../src/core/ring/index.ts';
import { actorOf, emptyRecord, encodeRecord, update } from '../../../../src/core/versioning/index.ts';
import { md5 } from '../../../support/core-cluster.ts';

const ids = ['n1', 'n2', 'n3'].map(asNodeId);

/** n1 coordinating a W=2 put on a 3-node ring; returns the core, its store token and the version it would mint. */
function startPut(): { core: NodeCore; token: number; effects: Effect[] } {
  const core = new NodeCore({
    self: ids[0]!,
    actor: actorOf(ids[0]!, 1),
    ring: createRing({ partitionCount: 16, members: ids.map((id) => ({ id })) }),
    md5,
  });
  core.step({
    type: 'clientPut',
    nowMs: 0,
    requestId: 1,
    bucket: 'b',
    key: 'k',
    context: undefined,
    write: { value: new TextEncoder().encode('v'), contentType: 'text/plain', deleted: false },
    realtimeMs: 1,
    options: { w: 2 },
  });
  const effects = core.takeEffects();
  const store = effects.find((effect) => effect.type === 'storeUpdate');
  assert.ok(store !== undefined && store.type === 'storeUpdate');
  assert.equal(
    effects.filter((effect) => effect.type === 'send').length,
    0,
    'nothing is sent before the version exists',
  );
  return { core, token: store.token, effects };
}

function mint(
  core: NodeCore,
  token: number,
): { sends: Array<{ to: string; id: number }>; record: ReturnType<typeof update> } {
  const record = update(emptyRecord, new Map(), actorOf(ids[0]!, 1), {
    value: new TextEncoder().encode('v'),
    contentType: 'text/plain',
    lastModifiedMs: 1,
    deleted: false,
    timestamp: 1024,
  });
  core.step({ type: 'storeMinted', nowMs: 1, token, record, encoded: encodeRecord(record) });
  const sends: Array<{ to: string; id: number }> = [];
  for (const effect of core.takeEffects()) {
    if (effect.type === 'reply') assert.fail('no answer before any acknowledgement');
    if (effect.type === 'send' && effect.message.type === 'replicaPut')
      sends.push({ to: effect.to, id: effect.message.id });
  }
  return { sends, record };
}

function ack(core: NodeCore, from: string, id: number, ok = true): Effect[] {
  core.step({ type: 'message', nowMs: 2, from: asNodeId(from), message: { type: 'replicaPutAck', id, ok } });
  return core.takeEffects();
}

const replies = (effects: readonly Effect[]) => effects.filter((effect) => effect.type === 'reply');

test('the minted version goes to both other replicas before the local write is durable', () => {
  const { core, token } = startPut();
  const { sends } = mint(core, token);
  assert.deepEqual(sends.map((send) => send.to).sort(), ['n2', 'n3']);
});

test('with W=2, one remote acknowledgement waits for the local write; its durability answers the client', () => {
  const { core, token } = startPut();
  const { sends, record } = mint(core, token);
  assert.deepEqual(
    replies(ack(core, 'n2', sends.find((send) => send.to === 'n2')!.id)),
    [],
    'one acknowledgement of two',
  );
  core.step({ type: 'storeDone', nowMs: 3, token, result: { ok: true, record } });
  const answered = replies(core.takeEffects());
  assert.equal(answered.length, 1);
  assert.equal(answered[0]!.type === 'reply' && answered[0]!.outcome.ok, true);
});

test('two remote acknowledgements answer the client before the local write ends, and its end answers nothing more', () => {
  const { core, token } = startPut();
  const { sends, record } = mint(core, token);
  ack(core, 'n2', sends.find((send) => send.to === 'n2')!.id);
  const answered = replies(ack(core, 'n3', sends.find((send) => send.to === 'n3')!.id));
  assert.equal(answered.length === 1 && answered[0]!.type === 'reply' && answered[0]!.outcome.ok, true);
  core.step({ type: 'storeDone', nowMs: 3, token, result: { ok: true, record } });
  assert.deepEqual(replies(core.takeEffects()), []);
  assert.equal(core.inFlightCoordinations, 0, 'every target answered: the write is finished');
});

test('a local write that fails after the version was sent is a refusal: with one replica refusing too, the quorum is not met', () => {
  const { core, token } = startPut();
  const { sends } = mint(core, token);
  core.step({
    type: 'storeDone',
    nowMs: 3,
    token,
    result: { ok: false, error: { code: 'EVERWRITE_STORAGE_FAILED', message: 'disk' } },
  });
  assert.deepEqual(replies(core.takeEffects()), [], 'not an error yet: the other two can still make W');
  ack(core, 'n2', sends.find((send) => send.to === 'n2')!.id);
  const answered = replies(ack(core, 'n3', sends.find((send) => send.to === 'n3')!.id, false));
  assert.equal(answered.length, 1);
  const outcome = answered[0]!.type === 'reply' ? answered[0]!.outcome : undefined;
  assert.equal(outcome?.ok, false);
  assert.equal(outcome !== undefined && !outcome.ok && outcome.error.code, 'EVERWRITE_QUORUM_NOT_MET');
});

test('a local write that fails after the version was sent does not stop the other two from making W=2', () => {
  const { core, token } = startPut();
  const { sends } = mint(core, token);
  core.step({
    type: 'storeDone',
    nowMs: 3,
    token,
    result: { ok: false, error: { code: 'EVERWRITE_STORAGE_FAILED', message: 'disk' } },
  });
  core.takeEffects();
  ack(core, 'n2', sends.find((send) => send.to === 'n2')!.id);
  const answered = replies(ack(core, 'n3', sends.find((send) => send.to === 'n3')!.id));
  assert.equal(answered.length === 1 && answered[0]!.type === 'reply' && answered[0]!.outcome.ok, true);
});
