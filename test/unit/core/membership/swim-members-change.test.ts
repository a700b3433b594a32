// Why: a member that leaves or is removed (decision 0017) disappears from SWIM's member list while
// a probe of it may be in flight; its indirect round must not look the member up any more (the
// simulator found a node core throwing there).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asNodeId } from '../../../../src/core/base/ids.ts';
import { SwimNet } from '../../../support/swim-net.ts';

test('a member removed while probed is probed no more, and the prober keeps running', () => {
  const net = new SwimNet(3);
  net.dead.add(asNodeId('n3'));
  const swim = net.node('n1');
  // Tick until n1 has a probe of n3 in flight (n3 is dead, so the probe waits for its timeout).
  for (
    let step = 0;
    step < 100 && !net.sent.some((sent) => sent.from === 'n1' && sent.to === 'n3' && sent.message.kind === 'ping');
    step++
  )
    net.run(50);
  assert.ok(swim.probesInFlight > 0, 'a probe of n3 is in flight');
  swim.setMembers([asNodeId('n1'), asNodeId('n2')]);
  assert.equal(swim.probesInFlight, 0, 'the removed member is no longer probed');
  assert.doesNotThrow(() => net.run(5_000));
  assert.equal(swim.liveness(asNodeId('n3')), undefined);
  assert.equal(swim.liveness(asNodeId('n2'))?.state, 'up');
});
