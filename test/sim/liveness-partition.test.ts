// Why: a partition of the failure detector's messages alone is the fault where liveness and data
// disagree: SWIM suspects and routes around peers whose data still flows (decision 0014). The
// simulated network must drop exactly those messages, and whole simulated clusters under such
// partitions must lose no acknowledged write and, once healed, agree everywhere that every member
// is up at the incarnation the member itself holds (the liveness phase's check).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Prng } from '../../src/core/base/prng.ts';
import { asNodeId } from '../../src/core/base/ids.ts';
import type { Message } from '../../src/core/protocol/messages.ts';
import { decodeMessages, encodeMessages } from '../../src/core/protocol/codec/message-codec.ts';
import { runSimulation, SimNetwork, SimScheduler } from '../../src/sim/index.ts';

const ping: Message = { type: 'liveness', kind: 'ping', id: 1, incarnation: 0, updates: [] };
const ack: Message = { type: 'replicaPutAck', id: 2, ok: true };

test('a liveness partition drops liveness messages on the cut links and carries everything else', async () => {
  const scheduler = new SimScheduler();
  const network = new SimNetwork(scheduler, new Prng(5));
  const received: Message[][] = [];
  const a = network.transport(asNodeId('a'));
  const b = network.transport(asNodeId('b'));
  b.receive((_from, frame) => received.push(decodeMessages(frame)));
  a.receive(() => undefined);
  await a.start();
  await b.start();
  network.partitionLiveness(['a', 'b'], (from, to) => !(from === 'a' && to === 'b'));
  a.send(asNodeId('b'), encodeMessages([ping, ack]));
  a.send(asNodeId('b'), encodeMessages([ping]));
  b.send(asNodeId('a'), encodeMessages([ping]));
  while (scheduler.runNext(1000));
  assert.deepEqual(received, [[ack]]);
  assert.equal(network.metrics.framesUnreachable, 1, 'the frame of liveness messages alone is dropped');
  assert.equal(network.cutLinkCount, 1);
  network.healPartition();
  a.send(asNodeId('b'), encodeMessages([ping]));
  while (scheduler.runNext(2000));
  assert.deepEqual(received.at(-1), [ping]);
});

test(
  'clusters under partitions of liveness traffic lose nothing and agree on every member after the heal',
  { timeout: 300_000 },
  async (t) => {
    let livenessPartitions = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const report = await runSimulation({ seed, ops: 150, faults: ['partition', 'crash'] });
      livenessPartitions += report.nemesis.livenessPartitions;
      t.diagnostic(
        `seed ${seed}: ${report.nemesis.livenessPartitions} liveness partitions, ${report.nemesis.partitions} full ones, lost ${report.lost}, ok ${report.ok}`,
      );
      assert.ok(report.ok, `${report.command}: ${report.failures.join('; ')}`);
      assert.equal(report.lost, 0);
    }
    assert.ok(livenessPartitions > 0, 'some seeds partitioned the liveness traffic');
  },
);
