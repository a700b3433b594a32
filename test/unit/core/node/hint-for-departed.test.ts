// Why: a hint held for a node that is no longer a member (it left, or an operator removed it:
// decision 0017) would never be delivered nor freed. Delivery sends it to a live primary of its
// partition instead, and frees it once that primary acknowledged it; a hint for a member still
// goes to that member.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asNodeId, asPartitionIndex } from '../../../../src/core/base/ids.ts';
import { NodeCore } from '../../../../src/core/node/node-core.ts';
import { encodeStorageKey } from '../../../../src/core/protocol/storage-key.ts';
import { createRing, keyHash, partitionOf, primaryNodes } from '../../../../src/core/ring/index.ts';
import { actorOf, emptyRecord, encodeRecord, update } from '../../../../src/core/versioning/index.ts';
import { md5 } from '../../../support/core-cluster.ts';

test('a hint for a departed node goes to a live primary of its partition and is freed on its acknowledgement', () => {
  const ids = ['n1', 'n2', 'n3', 'n4'].map(asNodeId);
  const ring = createRing({ partitionCount: 16, members: ids.map((id) => ({ id })) });
  const core = new NodeCore({ self: ids[0]!, actor: actorOf(ids[0]!, 1), ring, md5 });
  const record = update(emptyRecord, new Map(), actorOf(ids[1]!, 1), {
    value: new TextEncoder().encode('v'),
    contentType: 'text/plain',
    lastModifiedMs: 1,
    deleted: false,
    timestamp: 1024,
  });
  const partition = partitionOf(ring, keyHash(md5, 'b', 'k'));
  const hint = { id: 'h1', partition, storageKey: encodeStorageKey('b', 'k'), encoded: encodeRecord(record) };
  const expected = primaryNodes(ring, asPartitionIndex(partition), 3).find((node) => node !== 'n1');

  core.step({ type: 'hintsLoaded', nowMs: 0, target: asNodeId('gone'), hints: [hint] });
  const sends = core
    .takeEffects()
    .flatMap((effect) =>
      effect.type === 'send' && effect.message.type === 'replicaPut' ? [{ to: effect.to, id: effect.message.id }] : [],
    );
  assert.deepEqual(
    sends.map((send) => send.to),
    [expected],
    'sent to the first live primary other than itself',
  );
  core.step({
    type: 'message',
    nowMs: 1,
    from: asNodeId('n9'),
    message: { type: 'replicaPutAck', id: sends[0]!.id, ok: true },
  });
  assert.ok(
    !core.takeEffects().some((effect) => effect.type === 'hintRemove'),
    'an acknowledgement from another node frees nothing',
  );
  core.step({
    type: 'message',
    nowMs: 2,
    from: expected!,
    message: { type: 'replicaPutAck', id: sends[0]!.id, ok: true },
  });
  assert.ok(
    core.takeEffects().some((effect) => effect.type === 'hintRemove' && effect.ids.includes('h1')),
    'freed once the primary has it',
  );

  core.step({ type: 'hintsLoaded', nowMs: 3, target: asNodeId('n4'), hints: [{ ...hint, id: 'h2' }] });
  assert.deepEqual(
    core.takeEffects().flatMap((effect) => (effect.type === 'send' ? [effect.to] : [])),
    ['n4'],
    'a member gets its own hints',
  );
});
