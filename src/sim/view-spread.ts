// Why: a new cluster view must reach every node in O(log S) gossip rounds (decision 0015), and
// that is a claim about the protocol at sizes no test machine runs as processes. This runs S
// ViewGossip state machines (the very class the node core uses) over the simulator's network and
// scheduler, each ticking every gossip interval at its own phase, its messages through the real
// peer-frame codec; one node adopts a new view version and the run measures how many rounds pass
// until every node holds it. Shared by test/sim/view-spread.test.ts and bench/view-spread.ts.
import { asNodeId, type NodeId } from '../core/base/ids.ts';
import { Prng } from '../core/base/prng.ts';
import { firstView, nextView, ViewGossip, type ClusterView, type ViewMessage } from '../core/cluster-view/index.ts';
import { decodeMessages, encodeMessages } from '../core/protocol/codec/message-codec.ts';
import { SimNetwork } from './network.ts';
import { SimScheduler, worldOwner } from './scheduler.ts';

export interface ViewSpreadOptions {
  /** S, the number of nodes. */
  readonly nodes: number;
  readonly seed: number;
  /** How many of the nodes are seeds every node also contacts each round (0: a purely random epidemic). */
  readonly seeds: number;
  /** Partitions of the view (a power of two). Default: the smallest power of two >= S, at least 64. */
  readonly partitionCount?: number;
  readonly gossipIntervalMs?: number;
  /** Bound on simulated rounds before the run gives up. Default 200. */
  readonly roundsMax?: number;
}

export interface ViewSpreadResult {
  readonly nodes: number;
  /** Gossip intervals from the new view's adoption at one node until the last node adopted it. */
  readonly rounds: number;
  /** Nodes holding the new view at the end (S when it spread everywhere). */
  readonly reached: number;
  readonly digestsSent: number;
  readonly pullsSent: number;
  readonly fullViewsSent: number;
  /** Wall-clock time of the simulation, ms. */
  readonly elapsedMs: number;
}

function baseView(options: ViewSpreadOptions): ClusterView {
  const partitionCount = options.partitionCount ?? Math.max(64, 2 ** Math.ceil(Math.log2(options.nodes)));
  const members = Array.from({ length: options.nodes }, (_, index) => ({
    id: asNodeId(`n${index + 1}`),
    peer: `10.${index >> 16}.${(index >> 8) & 255}.${index & 255}:7000`,
    weight: 1,
    state: 'valid' as const,
  }));
  return firstView(partitionCount, members);
}

/** Runs one spread; deterministic for a given seed. */
export function simulateViewSpread(options: ViewSpreadOptions): ViewSpreadResult {
  const started = performance.now();
  const interval = options.gossipIntervalMs ?? 1000;
  const prng = new Prng(options.seed);
  const scheduler = new SimScheduler();
  const network = new SimNetwork(scheduler, prng.fork());
  const first = baseView(options);
  const seeds = first.members.slice(0, options.seeds).map((member) => member.id);
  const counts = { digestsSent: 0, pullsSent: 0, fullViewsSent: 0 };
  const gossips = new Map<NodeId, ViewGossip>();
  let newest: ClusterView | undefined;
  let holders = 0;
  let lastAdoptionMs = 0;
  for (const member of first.members) {
    const transport = network.transport(member.id);
    const gossip = new ViewGossip({
      self: member.id,
      view: first,
      seeds,
      gossipIntervalMs: interval,
      prng: prng.fork(),
      ports: {
        send: (to: NodeId, message: ViewMessage) => {
          counts[
            message.type === 'viewDigest' ? 'digestsSent' : message.type === 'viewPull' ? 'pullsSent' : 'fullViewsSent'
          ] += 1;
          transport.send(to, encodeMessages([message]));
        },
        adopted: (view) => {
          if (view.digest !== newest?.digest) return;
          holders += 1;
          lastAdoptionMs = scheduler.nowMs;
        },
        log: () => undefined,
      },
    });
    transport.receive((from, frame) => {
      for (const message of decodeMessages(frame)) gossip.onMessage(from, message as ViewMessage, scheduler.nowMs);
    });
    void transport.start();
    gossips.set(member.id, gossip);
    const tick = (): void => {
      gossip.onTick(scheduler.nowMs);
      scheduler.schedule(interval, member.id, 'view tick', tick);
    };
    scheduler.schedule(prng.nextFloat() * interval, member.id, 'view tick', tick);
  }
  // The change arrives at one node after every node has ticked at least once.
  const changeAtMs = interval * 1.5;
  scheduler.schedule(changeAtMs, worldOwner, 'operator change', () => {
    const origin = gossips.get(first.members[0]!.id)!;
    newest = nextView(
      first,
      first.members.map((member, index) => (index === 0 ? { ...member, weight: 2 } : member)),
    );
    origin.onMessage(first.members[1]!.id, { type: 'viewFull', view: newest.encoded }, scheduler.nowMs);
    lastAdoptionMs = scheduler.nowMs;
  });
  const roundsMax = options.roundsMax ?? 200;
  const deadlineMs = changeAtMs + roundsMax * interval;
  while (scheduler.runNext(deadlineMs)) {
    if (newest !== undefined && holders === options.nodes) break;
  }
  return {
    nodes: options.nodes,
    rounds: Math.ceil((lastAdoptionMs - changeAtMs) / interval),
    reached: holders,
    ...counts,
    elapsedMs: performance.now() - started,
  };
}
