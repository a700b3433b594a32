// Why: each rule of the ownership handoff (decision 0017, src/core/node/handoff.ts) checked on
// NodeCores holding views: a join and a leave hand every key to the new primaries, streaming waits
// for every member to hold the transition view, batches are bounded, a crash of either side resumes
// after the last acknowledged key without sending a finished transfer again, hostile batches change
// nothing, writes during the transition reach the new primaries, and the transition completes,
// drops the old copies and lets a leaving node go.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asNodeId, asPartitionIndex } from '../../../src/core/base/ids.ts';
import { type ClusterView } from '../../../src/core/cluster-view/index.ts';
import { encodeStorageKey } from '../../../src/core/protocol/storage-key.ts';
import { keyHash, partitionOf, primaryNodes } from '../../../src/core/ring/index.ts';
import { md5 } from '../../support/core-cluster.ts';
import { recordKey, ViewCluster } from '../../support/view-cluster.ts';
import { member, view } from '../cluster-view/support.ts';

const settings = { handoffBatchKeysMax: 8, viewGossipIntervalMs: 200, antiEntropyIntervalMs: 10_000_000 };

function writeKeys(cluster: ViewCluster, count: number, prefix = 'k'): string[] {
  const keys = Array.from({ length: count }, (_, index) => `${prefix}${index}`);
  keys.forEach((key, index) => cluster.put(cluster.ids[index % 3]!, 'b', key, `v-${key}`));
  cluster.runFor(2_000);
  return keys;
}

/** Each key's record key and its primaries on the view's serving ring. */
function placement(v: ClusterView, key: string): { readonly id: string; readonly primaries: readonly string[] } {
  const partition = partitionOf(v.ring, keyHash(md5, 'b', key));
  return { id: recordKey(partition, encodeStorageKey('b', key)), primaries: primaryNodes(v.ring, asPartitionIndex(partition), 3) };
}

function versions(cluster: ViewCluster): number[] {
  return cluster.ids.filter((id) => !cluster.crashed.has(id)).map((id) => cluster.node(id).view.version);
}

/** Every key is held, with its value, by each of its primaries on the final view. */
function assertReplicated(cluster: ViewCluster, keys: readonly string[], final: ClusterView): void {
  for (const key of keys) {
    const { id, primaries } = placement(final, key);
    for (const primary of primaries) {
      const record = cluster.node(primary).records.get(id);
      assert.ok(record !== undefined, `${primary} holds ${key} on the final ring`);
      assert.ok(record.siblings.some((sibling) => new TextDecoder().decode(sibling.stored.value) === `v-${key}`), `${primary} holds the value of ${key}`);
    }
  }
}

function joinFourth(cluster: ViewCluster): ClusterView {
  cluster.addSingleton(member('n4', 4), 64);
  return cluster.commit('n1', [{ kind: 'join', member: member('n4', 4) }]);
}

test('a join hands every moved partition to the new node, completes on every node, and drops the old copies', () => {
  const cluster = new ViewCluster(view(3), settings);
  const keys = writeKeys(cluster, 200);
  const transition = joinFourth(cluster);
  assert.ok(cluster.runUntil(() => versions(cluster).every((version) => version === transition.version + 1)), `every node completes the transition: ${versions(cluster)}`);
  const final = cluster.node('n1').view;
  assert.equal(final.pending, undefined);
  assert.ok(final.members.every((m) => m.state === 'valid') && final.members.length === 4);
  for (const id of cluster.ids) assert.equal(cluster.node(id).view.digest, final.digest, `${id} holds the same final view`);
  assertReplicated(cluster, keys, final);
  cluster.runFor(5_000);
  for (const id of ['n1', 'n2', 'n3']) {
    const dropped = cluster.node(id).dropped;
    const expected = [...Array(64).keys()].filter((p) => primaryNodes(transition.ring, asPartitionIndex(p), 3).includes(asNodeId(id)) && !primaryNodes(final.ring, asPartitionIndex(p), 3).includes(asNodeId(id)));
    assert.deepEqual([...dropped].sort((a, b) => a - b), expected, `${id} drops exactly the partitions it no longer replicates`);
    assert.ok(expected.length > 0);
  }
  assertReplicated(cluster, keys, final);
  const status = cluster.node('n4').core.handoffStatus();
  assert.equal(status.viewVersion, undefined, 'no transition after completion');
});
