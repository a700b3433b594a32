// Why: the view's gossip is where a newer view is adopted and a conflicting one refused (decision
// 0015). These drive ViewGossip instances by hand, delivering what they send, so each rule is
// seen on its own: the older side pulls, a tie with another digest or another partition count is a
// conflict, a lone misconfigured node refuses while the nodes that agree keep serving, and
// messages from outside the view or malformed views change nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asNodeId, type NodeId } from '../../../../src/core/base/ids.ts';
import { Prng } from '../../../../src/core/base/prng.ts';
import {
  commitPlan,
  completeTransition,
  firstView,
  nextView,
  stageChange,
  ViewGossip,
  type ClusterView,
  type ViewMessage,
} from '../../../../src/core/cluster-view/index.ts';
import { member, members, view } from './support.ts';

interface Node {
  readonly id: NodeId;
  readonly gossip: ViewGossip;
  readonly adopted: ClusterView[];
  readonly logs: string[];
}

function cluster(views: ReadonlyMap<string, ClusterView>): {
  nodes: Map<string, Node>;
  outbox: Array<{ from: NodeId; to: NodeId; message: ViewMessage }>;
} {
  const outbox: Array<{ from: NodeId; to: NodeId; message: ViewMessage }> = [];
  const nodes = new Map<string, Node>();
  let seed = 1;
  for (const [id, held] of views) {
    const adopted: ClusterView[] = [];
    const logs: string[] = [];
    const self = asNodeId(id);
    const gossip = new ViewGossip({
      self,
      view: held,
      seeds: [],
      gossipIntervalMs: 1000,
      prng: new Prng(seed++),
      ports: {
        send: (to, message) => outbox.push({ from: self, to, message }),
        adopted: (next) => adopted.push(next),
        log: (level, message) => logs.push(`${level}: ${message}`),
      },
    });
    nodes.set(id, { id: self, gossip, adopted, logs });
  }
  return { nodes, outbox };
}

/** Delivers everything sent, and what that provokes, until nothing is left (bounded). */
function deliverAll(
  nodes: Map<string, Node>,
  outbox: Array<{ from: NodeId; to: NodeId; message: ViewMessage }>,
  nowMs: number,
): void {
  for (let steps = 0; outbox.length > 0; steps++) {
    assert.ok(steps < 10_000, 'gossip settles');
    const { from, to, message } = outbox.shift()!;
    nodes.get(to)?.gossip.onMessage(from, message, nowMs);
  }
}

function exchange(
  nodes: Map<string, Node>,
  outbox: Array<{ from: NodeId; to: NodeId; message: ViewMessage }>,
  from: string,
  to: string,
  nowMs = 0,
): void {
  const node = nodes.get(from)!;
  const { version, partitionCount, digest } = node.gossip.view;
  outbox.push({
    from: node.id,
    to: asNodeId(to),
    message: { type: 'viewDigest', version, partitionCount, digest, reply: false },
  });
  deliverAll(nodes, outbox, nowMs);
}

test('the older side pulls the newer view, whichever side starts the exchange, and adopts it once', () => {
  const first = view(3);
  const second = nextView(
    first,
    members(3, (index) => ({ weight: index === 1 ? 2 : 1 })),
  );
  for (const starter of ['n1', 'n2']) {
    const { nodes, outbox } = cluster(
      new Map([
        ['n1', second],
        ['n2', first],
        ['n3', first],
      ]),
    );
    exchange(nodes, outbox, starter, starter === 'n1' ? 'n2' : 'n1');
    assert.equal(nodes.get('n2')!.gossip.view.digest, second.digest, `started by ${starter}`);
    assert.deepEqual(
      nodes.get('n2')!.adopted.map((each) => each.version),
      [2],
    );
    assert.equal(nodes.get('n1')!.adopted.length, 0, 'the newer side never steps back');
    assert.equal(nodes.get('n2')!.gossip.refusal, undefined);
  }
});

test('a lone node with another first view (other members or another partition count) refuses; the agreeing nodes keep serving', () => {
  const agreed = view(3, 64);
  for (const [what, odd] of [
    [
      'a hand-edited member list',
      firstView(
        64,
        members(4)
          .slice(0, 3)
          .map((each, index) => (index === 2 ? { ...each, peer: '127.0.0.1:7999' } : each)),
      ),
    ],
    ['another partition count', view(3, 128)],
  ] as const) {
    const { nodes, outbox } = cluster(
      new Map([
        ['n1', agreed],
        ['n2', agreed],
        ['n3', odd],
      ]),
    );
    exchange(nodes, outbox, 'n1', 'n2');
    exchange(nodes, outbox, 'n3', 'n1');
    const refusal = nodes.get('n3')!.gossip.refusal;
    assert.ok(refusal !== undefined, `${what}: n3 refuses`);
    assert.match(
      refusal.reason,
      what === 'another partition count' ? /partition count 128 here, 64 at n1/ : /view version 1 differs/,
    );
    assert.ok(
      nodes.get('n3')!.logs.some((line) => line.startsWith('error: refusing to serve')),
      `${what}: n3 logs why`,
    );
    assert.equal(
      nodes.get('n1')!.gossip.refusal,
      undefined,
      `${what}: n1 agrees with n2, so one conflicting node does not stop it`,
    );
    assert.ok(
      nodes.get('n1')!.logs.some((line) => line.startsWith('warn: cluster view conflict')),
      `${what}: n1 logs the conflict`,
    );
    assert.equal(nodes.get('n3')!.gossip.view.digest, odd.digest, 'a conflicting view is never adopted');
    assert.equal(nodes.get('n1')!.gossip.view.digest, agreed.digest);
    // n3 hears from n2 too: still refusing, still not adopting.
    exchange(nodes, outbox, 'n2', 'n3');
    assert.equal(nodes.get('n3')!.gossip.refusal?.conflictingPeers.length, 2);
  }
});

test('two nodes that disagree, with nobody to side with either, both refuse', () => {
  const { nodes, outbox } = cluster(
    new Map([
      ['n1', view(2, 64)],
      ['n2', view(2, 32)],
    ]),
  );
  exchange(nodes, outbox, 'n1', 'n2');
  assert.ok(nodes.get('n1')!.gossip.refusal !== undefined && nodes.get('n2')!.gossip.refusal !== undefined);
});

test('a newer view that leaves this node out is not adopted, and the node refuses', () => {
  const first = view(3);
  const without = nextView(first, members(2));
  const { nodes } = cluster(
    new Map([
      ['n1', without],
      ['n3', first],
    ]),
  );
  // Holders of the newer view do not talk to n3 any more (it is not their member); how a removed
  // node hears of its removal belongs to the operator's remove. Here the view arrives as is.
  nodes.get('n3')!.gossip.onMessage(asNodeId('n2'), { type: 'viewFull', view: without.encoded }, 0);
  assert.equal(nodes.get('n3')!.gossip.view.version, 1);
  assert.match(nodes.get('n3')!.gossip.refusal?.reason ?? '', /does not include this node/);
});

test('messages from outside the view, malformed views and repeated pulls change nothing and cost little', () => {
  const held = view(3);
  const { nodes, outbox } = cluster(new Map([['n1', held]]));
  const n1 = nodes.get('n1')!;
  const newer = nextView(held, members(4));
  n1.gossip.onMessage(asNodeId('intruder'), { type: 'viewFull', view: newer.encoded }, 0);
  n1.gossip.onMessage(asNodeId('n2'), { type: 'viewFull', view: new TextEncoder().encode('{"format":1}') }, 0);
  const damaged = new Uint8Array(newer.encoded);
  damaged[damaged.length - 2] = 0x20;
  n1.gossip.onMessage(asNodeId('n2'), { type: 'viewFull', view: damaged }, 0);
  assert.equal(n1.gossip.view.version, 1);
  assert.equal(n1.adopted.length, 0);
  assert.ok(n1.logs.filter((line) => line.startsWith('warn: refused a malformed cluster view')).length === 2);
  for (let pull = 0; pull < 50; pull++) n1.gossip.onMessage(asNodeId('n2'), { type: 'viewPull', version: 1 }, 100);
  assert.equal(
    outbox.filter((sent) => sent.message.type === 'viewFull').length,
    1,
    'one whole view per peer per half interval',
  );
});

test('every round sends one digest to a random member and one to a seed, at the configured interval', () => {
  const held = view(5);
  const sent: Array<{ to: NodeId; type: string }> = [];
  const gossip = new ViewGossip({
    self: asNodeId('n1'),
    view: held,
    seeds: [asNodeId('n5')],
    gossipIntervalMs: 1000,
    prng: new Prng(7),
    ports: {
      send: (to, message) => sent.push({ to, type: message.type }),
      adopted: () => undefined,
      log: () => undefined,
    },
  });
  for (let nowMs = 0; nowMs < 10_000; nowMs += 100) gossip.onTick(nowMs);
  assert.equal(gossip.rounds, 10);
  assert.ok(sent.every((each) => each.type === 'viewDigest' && each.to !== 'n1'));
  assert.ok(sent.filter((each) => each.to === 'n5').length >= 10, 'the seed is contacted every round');
  assert.ok(new Set(sent.map((each) => each.to)).size >= 3, 'random members are contacted too');
});

test('with announceOnFirstRound, a booting node tells every member in its first round, then one random member and a seed per round', () => {
  const held = view(5);
  const rounds: NodeId[][] = [];
  const gossip = new ViewGossip({
    self: asNodeId('n1'),
    view: held,
    seeds: [],
    gossipIntervalMs: 1000,
    prng: new Prng(3),
    announceOnFirstRound: true,
    ports: { send: (to) => rounds[rounds.length - 1]!.push(to), adopted: () => undefined, log: () => undefined },
  });
  for (let round = 0; round < 3; round++) {
    rounds.push([]);
    gossip.onTick(round * 1000);
  }
  assert.deepEqual([...rounds[0]!].sort(), ['n2', 'n3', 'n4', 'n5']);
  assert.equal(rounds[1]!.length, 1);
  assert.equal(rounds[2]!.length, 1);
});

test('adoptLocal: a commit or completion must be newer; a joining node takes the cluster view in place of its own singleton view', () => {
  const three = view(3);
  const transition = commitPlan(three, stageChange(three, undefined, { kind: 'join', member: member('n4', 4) }, 3), 3);
  const { nodes } = cluster(new Map([['n1', three]]));
  const n1 = nodes.get('n1')!;
  assert.equal(n1.gossip.adoptLocal(three, 'commit'), false, 'the same view is not newer');
  assert.equal(n1.gossip.adoptLocal(transition, 'commit'), true);
  assert.equal(n1.gossip.view.digest, transition.digest);
  assert.equal(n1.gossip.adoptLocal(transition, 'completion'), false, 'not newer any more');
  assert.equal(n1.gossip.adoptLocal(completeTransition(transition), 'completion'), true);
  assert.equal(n1.adopted.length, 2);
  // n4 starts alone (its own version 1), then takes the cluster's transition view once it includes it.
  const alone = firstView(64, [member('n4', 4)]);
  const joiner = cluster(new Map([['n4', alone]])).nodes.get('n4')!;
  assert.equal(joiner.gossip.adoptLocal(three, 'joining'), false, 'a view without this node is never taken');
  assert.equal(
    joiner.gossip.adoptLocal(firstView(128, [member('n4', 4)]), 'joining'),
    false,
    'another partition count is never taken',
  );
  assert.equal(
    joiner.gossip.adoptLocal(transition, 'joining'),
    true,
    'it includes n4 and has the same partition count',
  );
  assert.equal(joiner.gossip.view.digest, transition.digest);
  assert.equal(joiner.gossip.refusal, undefined);
});

test("a node the view no longer holds hears the members' digest, so it learns the cluster moved past it, and nothing else it says is taken", () => {
  const old = view(3);
  const later = nextView(old, members(2));
  const { nodes, outbox } = cluster(
    new Map([
      ['n1', later],
      ['n3', old],
    ]),
  );
  const n1 = nodes.get('n1')!;
  const n3 = nodes.get('n3')!;
  exchange(nodes, outbox, 'n3', 'n1');
  assert.equal(
    n3.gossip.peerSummaries().get(asNodeId('n1'))?.version,
    later.version,
    'n3 heard that n1 is at the later view',
  );
  assert.equal(n3.gossip.view.version, old.version, 'n1 does not answer its pull: n3 keeps its view');
  assert.equal(n1.gossip.peerSummaries().has(asNodeId('n3')), false, 'n1 keeps no summary of a node outside its view');
  assert.equal(n1.adopted.length + n3.adopted.length, 0);
  // Only a first digest is answered, never a reply, so two nodes cannot ping-pong digests.
  n1.gossip.onMessage(
    asNodeId('n3'),
    { type: 'viewDigest', version: old.version, partitionCount: old.partitionCount, digest: old.digest, reply: true },
    0,
  );
  assert.equal(outbox.length, 0);
});
