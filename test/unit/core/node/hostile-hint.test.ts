// Why: the hint store is keyed by the node a hint is for, and that name arrives from a peer
// (replicaPut's hintFor). A name that is no member would hold hint space that no delivery ever
// frees, so a replica refuses it (a negative ack and a warning) before anything is stored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asNodeId } from '../../../../src/core/base/ids.ts';
import { NodeCore } from '../../../../src/core/node/node-core.ts';
import { encodeStorageKey } from '../../../../src/core/protocol/storage-key.ts';
import { createRing, keyHash, partitionOf } from '../../../../src/core/ring/index.ts';
import { actorOf, emptyRecord, encodeRecord, update } from '../../../../src/core/versioning/index.ts';
import { md5 } from '../../../support/core-cluster.ts';

test('a replicaPut whose hintFor is not a member is refused without touching the hint store; a member is hinted', () => {
  const ids = ['n1', 'n2', 'n3'].map(asNodeId);
  const ring = createRing({ partitionCount: 16, members: ids.map((id) => ({ id })) });
  const core = new NodeCore({ self: ids[0]!, actor: actorOf(ids[0]!, 1), ring, md5 });
  const record = encodeRecord(
    update(emptyRecord, new Map(), actorOf(ids[1]!, 1), {
      value: new TextEncoder().encode('v'),
      contentType: 'text/plain',
      lastModifiedMs: 1,
      deleted: false,
      timestamp: 1024,
    }),
  );
  const partition = partitionOf(ring, keyHash(md5, 'b', 'k'));
  const storageKey = encodeStorageKey('b', 'k');
  for (const [hintFor, hinted] of [
    ['not-a-member', false],
    ['n3', true],
  ] as const) {
    core.step({
      type: 'message',
      nowMs: 0,
      from: ids[1]!,
      message: { type: 'replicaPut', id: 7, partition, storageKey, record, durable: false, hintFor },
    });
    const effects = core.takeEffects();
    assert.equal(
      effects.some((effect) => effect.type === 'hintAdd'),
      hinted,
      hintFor,
    );
    if (!hinted) {
      assert.deepEqual(
        effects.filter((effect) => effect.type === 'send').map((effect) => effect.type === 'send' && effect.message),
        [{ type: 'replicaPutAck', id: 7, ok: false }],
      );
      assert.ok(
        effects.some(
          (effect) => effect.type === 'log' && effect.message === 'refused a hint for a node that is not a member',
        ),
      );
    }
  }
});
