// Why: the quorum arithmetic (src/core/quorum/tally.ts) on its own: answers count once per node,
// the decision follows W (or R) and the targets left, and the invariant that a tally never holds more
// answers than it has targets fails loudly instead of growing an array past its size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asNodeId } from '../../../../src/core/base/ids.ts';
import { GetTally, PutTally } from '../../../../src/core/quorum/tally.ts';

const [n1, n2, n3, n4] = ['n1', 'n2', 'n3', 'n4'].map(asNodeId) as [
  ReturnType<typeof asNodeId>,
  ReturnType<typeof asNodeId>,
  ReturnType<typeof asNodeId>,
  ReturnType<typeof asNodeId>,
];

test('a write tally counts each node once, and a refusal cannot undo an acknowledgement', () => {
  const tally = new PutTally(2, 3);
  tally.acknowledge(n1);
  tally.acknowledge(n1);
  tally.refuse(n1);
  assert.equal(tally.acknowledgedCount, 1);
  assert.equal(tally.decision(), 'pending');
  tally.acknowledge(n2);
  assert.equal(tally.decision(), 'succeeded');
  assert.equal(tally.complete, false);
  tally.refuse(n3);
  assert.equal(tally.complete, true);
});

test('a write tally fails as soon as too few targets are left to reach W', () => {
  const tally = new PutTally(3, 3);
  tally.acknowledge(n1);
  assert.equal(tally.decision(), 'pending');
  tally.refuse(n2);
  assert.equal(tally.decision(), 'failed');
});

test('a read tally keeps one reply per node (a later one replaces it) and moves its revision', () => {
  const tally = new GetTally<string>(2, 3);
  tally.reply(n1, 'a');
  tally.reply(n1, 'b');
  assert.equal(tally.replyCount, 1);
  assert.equal(tally.replyOf(n1), 'b');
  assert.equal(tally.revision, 2);
  tally.fail(n1);
  assert.equal(tally.replyCount, 1, 'a failure after a reply is ignored');
  tally.fail(n2);
  tally.reply(n2, 'c');
  assert.equal(tally.hasReplied(n2), false, 'a reply after a failure is ignored');
});

test('more distinct answers than targets is an invariant failure, not a silently longer array', () => {
  const write = new PutTally(2, 3);
  for (const node of [n1, n2, n3]) write.acknowledge(node);
  assert.throws(() => write.acknowledge(n4), /at most one answer per target/);
  assert.throws(() => write.refuse(n4), /at most one answer per target/);
  const read = new GetTally<number>(2, 3);
  read.reply(n1, 1);
  read.fail(n2);
  read.reply(n3, 3);
  assert.throws(() => read.reply(n4, 4), /at most one answer per target/);
  assert.throws(() => read.fail(n4), /at most one answer per target/);
});
