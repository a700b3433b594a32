// Why: anti-entropy in running node cores (decision 0016): replicas that missed writes converge with
// no client reads at all, deletes reach the replica that missed them and stay deleted, concurrent
// versions become siblings, trees rebuilt from storage equal the ones kept by writes, the repair
// budget holds, and hostile tree-exchange messages are refused with a log line and change nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreCluster } from '../../../support/core-cluster.ts';
import type { Effect } from '../../../../src/core/node/effects.ts';
import type { Message } from '../../../../src/core/protocol/messages.ts';
import { asPartitionIndex } from '../../../../src/core/base/ids.ts';
import { encodeContext as encodeContextToken, isLive, recordsEqual } from '../../../../src/core/versioning/index.ts';

const bucket = 'carts';
const intervalMs = 2000;
/** Hints never delivered: only anti-entropy can repair. */
const settings = { antiEntropyIntervalMs: intervalMs, hintDeliveryIntervalMs: 1_000_000_000 };

function liveValues(cluster: CoreCluster, id: string): Map<string, string[]> {
  const values = new Map<string, string[]>();
  for (const [key, record] of cluster.node(id).records) {
    values.set(
      key,
      record.siblings
        .filter((sibling) => !sibling.stored.deleted)
        .map((sibling) => new TextDecoder().decode(sibling.stored.value))
        .sort(),
    );
  }
  return values;
}

/** The first delivery round runs at a node's first tick whatever the interval: the hints themselves go. */
function dropHints(cluster: CoreCluster): void {
  for (const id of cluster.ids) cluster.node(id).hints.clear();
}

function repairedKeys(cluster: CoreCluster, id: string): number {
  return cluster
    .node(id)
    .core.antiEntropyStatus()
    .partitions.reduce((sum, partition) => sum + partition.keysRepaired, 0);
}

test('a wiped replica gets every key back through anti-entropy alone, with no reads', () => {
  const cluster = new CoreCluster(3, settings);
  for (let index = 0; index < 200; index++) cluster.put('n1', bucket, `key-${index}`, `value-${index}`);
  cluster.run();
  cluster.restart('n3', { wipe: true });
  assert.equal(cluster.node('n3').records.size, 0);
  cluster.runFor(2 * intervalMs);
  assert.equal(cluster.node('n3').records.size, 200, 'every key is back on the wiped replica');
  for (const [key, record] of cluster.node('n1').records) {
    assert.ok(recordsEqual(record, cluster.node('n3').records.get(key)!), `replica of ${key} equals n1's`);
  }
  assert.ok(repairedKeys(cluster, 'n1') + repairedKeys(cluster, 'n2') >= 200);
});

test('anti-entropy waits while the byte budget it shares with handoff and hints is spent, and goes on once it refills', () => {
  // 2,000 bytes a second for all background work: one exchange's hashes put the budget in debt.
  const cluster = new CoreCluster(3, { ...settings, backgroundBytesPerSecondMax: 2_000 });
  for (let index = 0; index < 200; index++) cluster.put('n1', bucket, `key-${index}`, `value-${index}`);
  cluster.run();
  cluster.restart('n3', { wipe: true });
  cluster.runFor(2 * intervalMs);
  const early = cluster.node('n3').records.size;
  assert.ok(
    early < 100,
    `within two intervals the shared budget let only part of the repair through (${early} of 200 keys)`,
  );
  cluster.runFor(600_000);
  assert.equal(cluster.node('n3').records.size, 200, 'every key is back once the budget allowed it');
});

test('a delete missed by one replica reaches it through anti-entropy and never comes back', () => {
  const cluster = new CoreCluster(3, settings);
  const put = cluster.put('n1', bucket, 'doomed', 'value');
  cluster.run();
  cluster.down.add(cluster.ids[2]!);
  const deletion = cluster.put('n1', bucket, 'doomed', '', contextToken(cluster, put), {}, true);
  cluster.run();
  assert.equal(cluster.outcome(deletion).ok, true);
  dropHints(cluster);
  cluster.down.clear();
  const [n3Record] = cluster.localRecords('n3');
  assert.equal(isLive(n3Record!), true, 'n3 missed the delete');
  cluster.runFor(2 * intervalMs);
  for (const id of cluster.ids)
    for (const record of cluster.localRecords(id)) assert.equal(isLive(record), false, `the key is deleted on ${id}`);
  cluster.runFor(3 * intervalMs);
  for (const id of cluster.ids)
    for (const record of cluster.localRecords(id))
      assert.equal(isLive(record), false, `the key stays deleted on ${id}`);
});

function contextToken(cluster: CoreCluster, requestId: number): string {
  const outcome = cluster.outcome(requestId);
  assert.ok(outcome.ok && outcome.context !== undefined);
  return encodeContextToken(outcome.context);
}

test('concurrent versions written on either side of a partition become siblings everywhere', () => {
  const cluster = new CoreCluster(3, settings);
  const [n1, n2, n3] = cluster.ids;
  cluster.down.add(n3!);
  cluster.put(n1!, bucket, 'cart', 'apple');
  cluster.run();
  cluster.down.clear();
  cluster.down.add(n1!);
  cluster.down.add(n2!);
  cluster.put(n3!, bucket, 'cart', 'pear', undefined, { w: 1 });
  cluster.run();
  dropHints(cluster);
  cluster.down.clear();
  cluster.runFor(2 * intervalMs);
  for (const id of cluster.ids)
    assert.deepEqual([...liveValues(cluster, id).values()], [['apple', 'pear']], `siblings on ${id}`);
});

test('trees rebuilt from storage in small slices equal the trees kept by writes: a restart repairs nothing', () => {
  const cluster = new CoreCluster(3, { ...settings, antiEntropyScanKeysPerSlice: 2 });
  for (let index = 0; index < 200; index++) cluster.put('n1', bucket, `key-${index}`, `value-${index}`);
  cluster.run();
  cluster.restart('n1', { wipe: false });
  cluster.runFor(2 * intervalMs);
  const status = cluster.node('n1').core.antiEntropyStatus();
  assert.equal(status.treesReady, status.treesHeld);
  assert.ok(status.partitions.reduce((sum, partition) => sum + partition.exchanges, 0) >= 64, 'exchanges ran');
  assert.equal(repairedKeys(cluster, 'n1'), 0, 'no key differed');
});

test('repairs stay within antiEntropyKeysPerSecondMax', () => {
  const cluster = new CoreCluster(3, { ...settings, antiEntropyKeysPerSecondMax: 20 });
  for (let index = 0; index < 200; index++) cluster.put('n1', bucket, `key-${index}`, `value-${index}`);
  cluster.run();
  cluster.restart('n3', { wipe: true });
  cluster.runFor(3000);
  const repaired = repairedKeys(cluster, 'n1') + repairedKeys(cluster, 'n2');
  // Each node's bucket starts full (20) and refills 20/s: at most 2 * (20 + 3 * 20) in 3 s.
  assert.ok(repaired > 0 && repaired <= 160, `repaired ${repaired}`);
  assert.ok(cluster.node('n3').records.size < 200);
});

function refusalOf(effects: readonly Effect[]): string | undefined {
  for (const effect of effects) {
    if (
      effect.type === 'send' &&
      effect.message.type === 'treeExchange' &&
      effect.message.exchange.kind === 'tree-exchange-refused'
    )
      return effect.message.exchange.reason;
  }
  return undefined;
}

function changesNothing(effects: readonly Effect[]): boolean {
  return effects.every((effect) => effect.type === 'send' || effect.type === 'log');
}

test('hostile tree-exchange messages are refused with a log line and change nothing', () => {
  const cluster = new CoreCluster(3, settings);
  cluster.put('n1', bucket, 'k', 'v');
  cluster.runFor(500);
  const address = { exchangeId: 7, partition: asPartitionIndex(0), requestId: 1 };
  const shape = { fanOut: 16, depth: 2 };
  const request = (ringVersion: number, exchange: object): Message =>
    ({ type: 'treeExchange', ringVersion, exchange }) as Message;
  const ringVersion = cluster.node('n2').core.ring.version;
  const cases: Array<{ what: string; message: Message; reason: string }> = [
    {
      what: 'another ring version',
      message: request(ringVersion + 1, { kind: 'tree-hashes-request', ...address, shape, level: 0, indices: [0] }),
      reason: 'ring-mismatch',
    },
    {
      what: 'a partition out of range',
      message: request(ringVersion, {
        kind: 'tree-hashes-request',
        ...address,
        partition: 1_000_000,
        shape,
        level: 0,
        indices: [0],
      }),
      reason: 'unknown-partition',
    },
    {
      what: 'another tree shape',
      message: request(ringVersion, {
        kind: 'tree-hashes-request',
        ...address,
        shape: { fanOut: 4, depth: 2 },
        level: 0,
        indices: [0],
      }),
      reason: 'shape-mismatch',
    },
    {
      what: 'too many nodes',
      message: request(ringVersion, {
        kind: 'tree-hashes-request',
        ...address,
        shape,
        level: 2,
        indices: Array.from({ length: 257 }, (_, index) => index),
      }),
      reason: 'request-too-large',
    },
    {
      what: 'a level below the leaves',
      message: request(ringVersion, { kind: 'tree-hashes-request', ...address, shape, level: 9, indices: [0] }),
      reason: 'malformed-request',
    },
    {
      what: 'a leaf out of range',
      message: request(ringVersion, { kind: 'tree-leaf-entries-request', ...address, shape, leafIndices: [256] }),
      reason: 'malformed-request',
    },
  ];
  for (const { what, message, reason } of cases) {
    const logsBefore = cluster.logs.length;
    const effects = cluster.deliver('n2', 'n1', message);
    assert.equal(refusalOf(effects), reason, what);
    assert.ok(changesNothing(effects), `${what}: no store effect`);
    assert.ok(cluster.logs.length > logsBefore, `${what}: logged`);
  }
  const logsBefore = cluster.logs.length;
  const stray = cluster.deliver(
    'n2',
    'n1',
    request(ringVersion, {
      kind: 'tree-hashes-response',
      exchangeId: 123_456_789,
      partition: 0,
      requestId: 1,
      hashes: [new Uint8Array(16)],
    }),
  );
  assert.equal(
    stray.filter((effect) => effect.type !== 'log').length,
    0,
    'an answer to an unknown exchange does nothing',
  );
  assert.ok(cluster.logs.length > logsBefore, 'and is logged');
});
