// Why: SWIM is what tells a node that a peer died, and what must not tell it so when the peer was
// only slow. These tests drive the pure detector through virtual time: suspicion then death of a
// dead member, refutation by a paused one, an indirect probe rescuing a member behind a broken
// direct link, the merge order, the bounds on everything a peer can make it hold, and bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { asNodeId } from '../../../../src/core/base/ids.ts';
import { livenessLimits, retransmitCount, supersedes } from '../../../../src/core/membership/index.ts';
import { propertyOptions } from '../../../support/property.ts';
import { SwimNet, swimDefaults } from '../../../support/swim-net.ts';

const n = asNodeId;

test('a dead member is suspected, then declared down by every node after the suspicion timeout, with the evidence logged', () => {
  const net = new SwimNet(5);
  net.run(3000);
  assert.deepEqual([...net.beliefs('n3').values()], ['up', 'up', 'up', 'up']);
  net.dead.add(n('n3'));
  const killedMs = net.nowMs;
  let firstSuspectMs: number | undefined;
  let allDownMs: number | undefined;
  net.run(15_000, () => {
    const states = [...net.beliefs('n3').values()];
    if (firstSuspectMs === undefined && states.includes('suspect')) firstSuspectMs = net.nowMs;
    if (allDownMs === undefined && states.every((state) => state === 'down')) allDownMs = net.nowMs;
    assert.ok(
      firstSuspectMs === undefined ||
        !states.includes('down') ||
        net.nowMs - firstSuspectMs >= swimDefaults.suspicionTimeoutMs,
      'down never before the suspicion timeout',
    );
  });
  assert.ok(firstSuspectMs !== undefined && allDownMs !== undefined, 'suspected and then down everywhere');
  // Each of 4 nodes probes one of 4 others per 1 s period, so someone probes n3 within a few
  // periods, and a failed probe turns into suspicion at the end of its own period.
  assert.ok(
    firstSuspectMs - killedMs <= 4 * swimDefaults.probeIntervalMs,
    `suspected after ${firstSuspectMs - killedMs} ms`,
  );
  assert.ok(
    allDownMs - killedMs <= 4 * swimDefaults.probeIntervalMs + swimDefaults.suspicionTimeoutMs + 2000,
    `down everywhere after ${allDownMs - killedMs} ms`,
  );
  const suspect = net.events('member_suspect').find((line) => line.fields['member'] === 'n3');
  assert.ok(
    suspect !== undefined &&
      typeof suspect.fields['reportedBy'] === 'string' &&
      suspect.fields['incarnation'] === 0 &&
      suspect.fields['previous'] === 'up',
  );
  assert.ok(net.events('member_down').some((line) => line.fields['member'] === 'n3'));
});

test('a member paused for 1 s, or even 2 s, is suspected at most, refutes with a higher incarnation, and is never declared down', () => {
  const net = new SwimNet(4);
  net.run(2000);
  let suspected = false;
  for (let round = 0; round < 6; round++) {
    net.paused.add(n('n2'));
    net.run(round % 2 === 0 ? 1000 : 2000, () => {
      for (const state of net.beliefs('n2').values()) assert.notEqual(state, 'down');
      if ([...net.beliefs('n2').values()].includes('suspect')) suspected = true;
    });
    net.paused.delete(n('n2'));
    net.run(6000, () => {
      for (const state of net.beliefs('n2').values())
        assert.notEqual(state, 'down', `n2 declared down at ${net.nowMs} ms`);
    });
    assert.deepEqual([...net.beliefs('n2').values()], ['up', 'up', 'up']);
  }
  assert.ok(suspected, 'the 2 s pauses were long enough to be suspected');
  assert.ok(net.node('n2').ownIncarnation > 0, 'n2 refuted by raising its incarnation');
  assert.ok(net.events('member_refute').some((line) => line.node === 'n2'));
  for (const id of ['n1', 'n3', 'n4'])
    assert.equal(
      net.node(id).liveness(n('n2'))?.incarnation,
      net.node('n2').ownIncarnation,
      `${id} holds n2's incarnation`,
    );
});

test('a member behind a broken direct link stays up: the indirect probe through others gets its ack', () => {
  const net = new SwimNet(4);
  net.cutBothWays('n1', 'n3');
  net.run(30_000, () => {
    assert.equal(net.node('n1').liveness(n('n3'))?.state, 'up', `n1 suspects n3 at ${net.nowMs} ms`);
    assert.equal(net.node('n3').liveness(n('n1'))?.state, 'up', `n3 suspects n1 at ${net.nowMs} ms`);
  });
  const pingRequests = net.sent.filter(
    (sent) => sent.from === 'n1' && sent.message.kind === 'pingReq' && sent.message.target?.member === 'n3',
  );
  assert.ok(pingRequests.length > 0, 'n1 asked others to probe n3');
  assert.ok(pingRequests.every((sent) => sent.to !== 'n3'));
});

test('with every path to a member broken, the probe fails and the member is suspected', () => {
  const net = new SwimNet(3);
  for (const other of ['n2', 'n3']) net.cutBothWays('n1', other);
  net.run(4000);
  assert.notEqual(net.node('n2').liveness(n('n1'))?.state, 'up');
});

test('a timed-out request is evidence, not proof: it probes at once, and a live member stays up', () => {
  const net = new SwimNet(8);
  net.run(1500);
  const swim = net.node('n1');
  swim.reportUnresponsive(n('n5'), net.nowMs);
  assert.equal(swim.liveness(n('n5'))?.state, 'up');
  net.run(3000);
  assert.equal(swim.liveness(n('n5'))?.state, 'up');
  // A dead member: the reported timeout starts a probe now instead of waiting for its turn (up to 7 periods).
  net.dead.add(n('n6'));
  swim.reportUnresponsive(n('n6'), net.nowMs);
  assert.ok(
    net.sent.some((sent) => sent.from === 'n1' && sent.to === 'n6' && sent.message.kind === 'ping'),
    'probed at once',
  );
  net.run(1100);
  assert.equal(swim.liveness(n('n6'))?.state, 'suspect');
});

test('a restarted member (incarnation 0 again) that others hold down is taken back up once it refutes', () => {
  const net = new SwimNet(3);
  net.run(2000);
  net.dead.add(n('n3'));
  net.run(10_000);
  assert.deepEqual([...net.beliefs('n3').values()], ['down', 'down']);
  net.dead.delete(n('n3'));
  net.run(5000);
  assert.deepEqual([...net.beliefs('n3').values()], ['up', 'up']);
  assert.ok(net.node('n3').ownIncarnation >= 1);
});

test('merge order: higher incarnation wins, at equal incarnation down > suspect > up, whatever the order', () => {
  assert.ok(supersedes({ incarnation: 2, state: 'up' }, { incarnation: 1, state: 'down' }));
  assert.ok(supersedes({ incarnation: 1, state: 'down' }, { incarnation: 1, state: 'suspect' }));
  assert.ok(supersedes({ incarnation: 1, state: 'suspect' }, { incarnation: 1, state: 'up' }));
  assert.ok(!supersedes({ incarnation: 1, state: 'up' }, { incarnation: 1, state: 'suspect' }));
  assert.ok(!supersedes({ incarnation: 1, state: 'up' }, { incarnation: 1, state: 'up' }));
  const update = fc.record({
    member: fc.constantFrom('n2', 'n3'),
    incarnation: fc.nat(4),
    state: fc.constantFrom('up' as const, 'suspect' as const, 'down' as const),
  });
  fc.assert(
    fc.property(fc.array(update, { maxLength: 12 }), fc.integer(), (updates, seed) => {
      const shuffled =
        fc.sample(fc.shuffledSubarray(updates, { minLength: updates.length, maxLength: updates.length }), {
          numRuns: 1,
          seed,
        })[0] ?? [];
      const views = [updates, shuffled].map((order) => {
        const net = new SwimNet(4);
        // n4 tells n1 the updates one message at a time, in this order.
        order.forEach((one, index) =>
          net.inject('n4', 'n1', {
            type: 'liveness',
            kind: 'ack',
            id: 1000 + index,
            incarnation: 0,
            target: { member: 'n4', incarnation: 0, state: 'up' },
            updates: [one],
          }),
        );
        return ['n2', 'n3'].map((member) => net.node('n1').liveness(n(member)));
      });
      assert.deepEqual(
        views[0]?.map((view) => ({ ...view, lastHeardMs: undefined })),
        views[1]?.map((view) => ({ ...view, lastHeardMs: undefined })),
      );
    }),
    propertyOptions(),
  );
});

test('bounds: piggybacked updates per message, probes in flight, indirect probes run for others', () => {
  const net = new SwimNet(40, swimDefaults, 7);
  net.run(2000);
  for (let index = 2; index <= 40; index += 2) net.dead.add(n(`n${index}`));
  net.run(12_000);
  assert.ok(net.sent.every((sent) => sent.message.updates.length <= livenessLimits.piggybackCountMax));
  assert.ok(
    net.sent.some((sent) => sent.message.updates.length === livenessLimits.piggybackCountMax),
    'the bound was reached',
  );
  const swim = net.node('n1');
  for (let index = 3; index <= 39; index += 2) swim.reportUnresponsive(n(`n${index}`), net.nowMs);
  assert.ok(swim.probesInFlight <= livenessLimits.probesInFlightCountMax);
  for (let index = 0; index < 100; index++)
    net.inject('n3', 'n5', {
      type: 'liveness',
      kind: 'pingReq',
      id: index,
      incarnation: 0,
      target: { member: 'n2', incarnation: 0, state: 'down' },
      updates: [],
    });
  assert.equal(net.node('n5').relaysInFlight, livenessLimits.relaysInFlightCountMax);
  assert.ok(net.events('liveness_relay_refused').length > 0);
  const relayer = net.node('n5');
  const injectedMs = net.nowMs;
  for (let afterMs = 100; afterMs <= swimDefaults.probeIntervalMs; afterMs += 100) relayer.onTick(injectedMs + afterMs);
  assert.equal(relayer.relaysInFlight, 0, 'relays expire after a period');
  assert.equal(retransmitCount(40), Math.ceil(3 * Math.log2(41)));
});

test('bad input is dropped with a log line and changes nothing: unknown sender or member, absurd incarnation, oversized list, bad target', () => {
  const net = new SwimNet(3);
  const before = net.node('n1').liveness(n('n2'));
  const ok = { type: 'liveness', kind: 'ping', id: 1, incarnation: 0, updates: [] };
  const bad: Array<[string, unknown]> = [
    ['stranger', ok],
    ['n2', { ...ok, incarnation: 2 ** 40 }],
    ['n2', { ...ok, incarnation: -1 }],
    ['n2', { ...ok, id: 1.5 }],
    [
      'n2',
      {
        ...ok,
        updates: Array.from({ length: livenessLimits.updatesPerMessageCountMax + 1 }, () => ({
          member: 'n3',
          incarnation: 9,
          state: 'down',
        })),
      },
    ],
    ['n2', { ...ok, updates: 'many' }],
    ['n2', { ...ok, kind: 'pingReq' }],
    ['n2', { ...ok, kind: 'ack', target: { member: 'stranger', incarnation: 0, state: 'up' } }],
    ['n2', { ...ok, kind: 'shout', target: { member: 'n3', incarnation: 0, state: 'up' } }],
  ];
  for (const [from, message] of bad) {
    const sentBefore = net.sent.length;
    assert.doesNotThrow(() => net.inject(from, 'n1', message));
    assert.equal(net.sent.length, sentBefore, `nothing answered for ${JSON.stringify(message).slice(0, 60)}`);
  }
  assert.equal(net.events('liveness_message_dropped').length, bad.length);
  assert.deepEqual(net.node('n1').liveness(n('n2')), before);
  assert.equal(net.node('n1').liveness(n('n3'))?.state, 'up');
  // Updates about unknown members, with absurd incarnations or states, are dropped one by one.
  net.inject('n2', 'n1', {
    ...ok,
    updates: [
      { member: 'stranger', incarnation: 1, state: 'down' },
      { member: 'n3', incarnation: 2 ** 40, state: 'down' },
      { member: 'n3', incarnation: 1, state: 'dead' },
      null,
      { member: 'n3', incarnation: 1, state: 'suspect' },
    ],
  });
  assert.equal(net.events('liveness_update_dropped')[0]?.fields['count'], 4);
  assert.deepEqual(net.node('n1').liveness(n('n3')), { state: 'suspect', incarnation: 1, lastHeardMs: undefined });
});
