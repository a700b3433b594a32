// Why: the TreeExchange state machine, step by step: its states name what it waits for, it keeps its
// requests within their bounds, it ignores duplicate and foreign answers, it fails cleanly on a refusal
// or a malformed answer, and - the point of Merkle anti-entropy - the hashes it receives grow with the
// number of differences, not with the number of keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MerkleTree, type LeafEntry } from '../../../../src/core/anti-entropy/merkle-tree.ts';
import { diff } from '../../../../src/core/anti-entropy/diff.ts';
import { TreeExchange } from '../../../../src/core/anti-entropy/exchange.ts';
import { answerTreeExchangeRequest } from '../../../../src/core/anti-entropy/responder.ts';
import type { TreeHashesRequest } from '../../../../src/core/anti-entropy/messages.ts';
import { asPartitionIndex } from '../../../../src/core/base/ids.ts';
import { Prng } from '../../../../src/core/base/prng.ts';
import { bytesOf, hexList, runExchange, sha256 } from './helpers.ts';

const options = { digest: sha256, fanOut: 4, depth: 2 };
const partition = asPartitionIndex(3);
const entriesOf = (keys: readonly string[], hash = '1'): LeafEntry[] =>
  keys.map((key) => ({ key: bytesOf(key), recordHash: bytesOf(hash) }));

test('equal trees: one root hash crosses and the exchange finishes with nothing', () => {
  const entries = entriesOf(['a', 'b', 'c']);
  const { exchange } = runExchange(MerkleTree.build(entries, options), MerkleTree.build(entries, options));
  assert.equal(exchange.state, 'finished');
  assert.deepEqual(exchange.result, { differingLeaves: [], differingKeys: [] });
  assert.equal(exchange.statistics().hashesReceived, 1);
  assert.equal(exchange.statistics().requestsSent, 1);
});

test('states follow what the exchange waits for, level by level, then leaf entries', () => {
  const local = MerkleTree.build(entriesOf(['a', 'b']), options);
  const remote = MerkleTree.build(entriesOf(['a', 'b', 'c']), options);
  const exchange = new TreeExchange(local, { exchangeId: 1, partition });
  assert.equal(exchange.state, 'not-started');
  let requests = exchange.start();
  const seen: string[] = [];
  while (requests.length > 0) {
    seen.push(exchange.level === undefined ? exchange.state : `${exchange.state}@${exchange.level}`);
    requests = requests.flatMap((request) => exchange.receive(answerTreeExchangeRequest(remote, request)));
  }
  assert.deepEqual(seen, [
    'awaiting-node-hashes@0',
    'awaiting-node-hashes@1',
    'awaiting-node-hashes@2',
    'awaiting-leaf-entries',
  ]);
  assert.equal(exchange.state, 'finished');
  assert.deepEqual(exchange.result?.differingLeaves, [local.leafIndexOf(bytesOf('c'))]);
  assert.deepEqual(hexList(exchange.result?.differingKeys ?? []), hexList([bytesOf('c')]));
});

test('requests respect nodesPerRequestMax, leavesPerRequestMax and requestsInFlightMax', () => {
  const keys = Array.from({ length: 200 }, (_, index) => `key-${index}`);
  const local = MerkleTree.build(entriesOf(keys, 'old'), options);
  const remote = MerkleTree.build(entriesOf(keys, 'new'), options);
  const exchange = new TreeExchange(local, {
    exchangeId: 1,
    partition,
    nodesPerRequestMax: 3,
    leavesPerRequestMax: 2,
    requestsInFlightMax: 2,
  });
  let requests = exchange.start();
  while (requests.length > 0) {
    assert.ok(exchange.pendingRequests().length <= 2);
    for (const request of requests) {
      const size = request.kind === 'tree-hashes-request' ? request.indices.length : request.leafIndices.length;
      assert.ok(size <= (request.kind === 'tree-hashes-request' ? 3 : 2), `${request.kind} of ${size}`);
    }
    const [first, ...rest] = requests;
    requests = [...rest, ...exchange.receive(answerTreeExchangeRequest(remote, first!))];
  }
  assert.equal(exchange.state, 'finished');
  assert.deepEqual(hexList(exchange.result?.differingKeys ?? []), hexList(diff(local, remote)));
  assert.equal(exchange.result?.differingKeys.length, 200);
});

test('a duplicate, a foreign or a late answer is ignored and counted', () => {
  const local = MerkleTree.build(entriesOf(['a']), options);
  const remote = MerkleTree.build(entriesOf(['b']), options);
  const exchange = new TreeExchange(local, { exchangeId: 1, partition });
  const [rootRequest] = exchange.start();
  const rootAnswer = answerTreeExchangeRequest(remote, rootRequest!);
  const next = exchange.receive(rootAnswer);
  assert.equal(exchange.level, 1);
  assert.deepEqual(exchange.receive(rootAnswer), []);
  assert.deepEqual(exchange.receive({ ...rootAnswer, exchangeId: 2 }), []);
  assert.deepEqual(exchange.receive({ ...rootAnswer, partition: asPartitionIndex(4) }), []);
  assert.equal(exchange.statistics().responsesIgnored, 3);
  assert.equal(exchange.level, 1);
  assert.deepEqual(exchange.pendingRequests(), next);
});

test('a refusal fails the exchange: shape mismatch, request too large', () => {
  const local = MerkleTree.build(entriesOf(['a']), options);
  const otherShape = MerkleTree.build(entriesOf(['a']), { ...options, fanOut: 8 });
  const mismatched = runExchange(local, otherShape).exchange;
  assert.equal(mismatched.state, 'failed');
  assert.deepEqual(mismatched.failure, { reason: 'refused-by-peer', refusal: 'shape-mismatch' });
  const remote = MerkleTree.build(entriesOf(['b']), options);
  const tooLarge = runExchange(local, remote, { nodesPerRequestMax: 4 }, undefined, {
    nodesPerRequestMax: 2,
    leavesPerRequestMax: 2,
  }).exchange;
  assert.deepEqual(tooLarge.failure, { reason: 'refused-by-peer', refusal: 'request-too-large' });
  assert.deepEqual(tooLarge.pendingRequests(), []);
});

test('a malformed answer fails the exchange and later answers are ignored', () => {
  const local = MerkleTree.build(entriesOf(['a']), options);
  const exchange = new TreeExchange(local, { exchangeId: 1, partition });
  const [rootRequest] = exchange.start();
  const address = { exchangeId: 1, partition, requestId: rootRequest!.requestId };
  exchange.receive({ kind: 'tree-hashes-response', ...address, hashes: [] });
  assert.equal(exchange.state, 'failed');
  assert.equal(exchange.failure?.reason, 'malformed-response');
  exchange.receive({ kind: 'tree-hashes-response', ...address, hashes: [new Uint8Array(32)] });
  assert.equal(exchange.state, 'failed');
  assert.equal(exchange.statistics().responsesIgnored, 1);
});

test('the responder refuses out-of-range levels and indices and empty requests', () => {
  const tree = new MerkleTree(options);
  const base: TreeHashesRequest = {
    kind: 'tree-hashes-request',
    exchangeId: 1,
    partition,
    requestId: 1,
    shape: tree.shape,
    level: 1,
    indices: [0],
  };
  const reason = (request: Parameters<typeof answerTreeExchangeRequest>[1]) => {
    const answer = answerTreeExchangeRequest(tree, request);
    return answer.kind === 'tree-exchange-refused' ? answer.reason : 'answered';
  };
  assert.equal(reason(base), 'answered');
  assert.equal(reason({ ...base, level: 3 }), 'malformed-request');
  assert.equal(reason({ ...base, indices: [4] }), 'malformed-request');
  assert.equal(reason({ ...base, indices: [] }), 'malformed-request');
  assert.equal(reason({ ...base, indices: [-1] }), 'malformed-request');
  assert.equal(
    reason({
      kind: 'tree-leaf-entries-request',
      exchangeId: 1,
      partition,
      requestId: 2,
      shape: tree.shape,
      leafIndices: [16],
    }),
    'malformed-request',
  );
});

test('a TreeExchange refuses invalid options with a RangeError naming the field, and a second start as a bug', () => {
  const tree = new MerkleTree(options);
  assert.throws(() => new TreeExchange(tree, { exchangeId: -1, partition }), /exchangeId/);
  assert.throws(
    () => new TreeExchange(tree, { exchangeId: 1, partition, nodesPerRequestMax: 0 }),
    /nodesPerRequestMax/,
  );
  assert.throws(
    () => new TreeExchange(tree, { exchangeId: 1, partition, leavesPerRequestMax: 1.5 }),
    /leavesPerRequestMax/,
  );
  assert.throws(
    () => new TreeExchange(tree, { exchangeId: 1, partition, requestsInFlightMax: 0 }),
    /requestsInFlightMax/,
  );
  const unstarted = new TreeExchange(tree, { exchangeId: 1, partition });
  assert.deepEqual(
    unstarted.receive({
      kind: 'tree-exchange-refused',
      exchangeId: 1,
      partition,
      requestId: 1,
      reason: 'shape-mismatch',
    }),
    [],
  );
  assert.equal(unstarted.state, 'not-started');
  unstarted.start();
  assert.throws(() => unstarted.start(), /started twice/);
});

test('hashes exchanged grow as O(d log C): C = 10000 keys, d = 1..10 differences, far below C', (context) => {
  const keysCount = 10_000;
  const shape = { fanOut: 16, depth: 3 };
  const treeOptions = { digest: sha256, ...shape };
  const entries = Array.from({ length: keysCount }, (_, index) => ({
    key: bytesOf(`user:${index}`),
    recordHash: sha256(bytesOf(`record ${index} v1`)),
  }));
  const local = MerkleTree.build(entries, treeOptions);
  const prng = new Prng(20070101);
  const leafSizeMax = Math.max(...Array.from({ length: local.leafCount }, (_, leaf) => local.keysInLeaf(leaf).length));
  const measured: number[] = [];
  for (let differences = 1; differences <= 10; differences++) {
    const remote = MerkleTree.build(entries, treeOptions);
    const changed = new Set<number>();
    while (changed.size < differences) changed.add(prng.nextInt(keysCount));
    for (const index of changed) remote.set(bytesOf(`user:${index}`), sha256(bytesOf(`record ${index} v2`)));
    const { exchange } = runExchange(local, remote);
    assert.equal(exchange.state, 'finished');
    assert.deepEqual(hexList(exchange.result?.differingKeys ?? []), hexList(diff(local, remote)));
    assert.equal(exchange.result?.differingKeys.length, differences);
    const hashes = exchange.statistics().hashesReceived;
    measured.push(hashes);
    // Root, then at most fanOut children per differing node on each of depth levels, then the leaves' entries.
    const bound = 1 + differences * shape.fanOut * shape.depth + differences * leafSizeMax;
    assert.ok(hashes <= bound, `d=${differences}: ${hashes} hashes above the bound ${bound}`);
    assert.ok(hashes * 20 < keysCount, `d=${differences}: ${hashes} hashes is not far below C=${keysCount}`);
  }
  context.diagnostic(`hashes received for d=1..10 among C=${keysCount}: ${measured.join(', ')}`);
  assert.ok(measured[9]! > measured[0]!, 'more differences cost more hashes');
});
