// Why: faults come from one place, at random moments drawn from the seed, in the kinds the run's
// configuration enabled: partitions of several shapes (one node isolated, halves, a bridge, a ring
// of overlapping majorities), each either of all traffic or of the failure detector's alone, and their heals, links clogged one by one, crashes and restarts, pauses,
// a stormy network (loss, duplication, latency spikes that reorder), clock skew, failing disks, and
// a wiped disk (a node stopped, its storage erased, restarted empty under the same id).
// `healAll` ends every fault at once for the liveness phase.
import type { Prng } from '../core/base/prng.ts';
import type { ClockSkew } from './clock.ts';
import type { Cluster, SimNode } from './cluster.ts';
import type { SimConfig } from './config.ts';
import { calmWeather, type SimNetwork } from './network.ts';
import { worldOwner, type SimScheduler } from './scheduler.ts';
import { healthyDisk } from './storage.ts';

export type PartitionShape = 'isolate' | 'halves' | 'bridge' | 'majoritiesRing';

export interface NemesisCounters {
  partitions: number;
  /** Partitions of the liveness (SWIM) messages only. */
  livenessPartitions: number;
  heals: number;
  clogs: number;
  crashes: number;
  restarts: number;
  pauses: number;
  storms: number;
  skews: number;
  diskFaults: number;
  /** Disks erased (the node restarted empty under a new epoch). */
  wipes: number;
  /** Membership changes committed (decision 0017): a node joined, left, or was removed while crashed. */
  joins: number;
  leaves: number;
  removes: number;
  /** Crashes (and wipes) of a node while a membership transition was under way: either side of a handoff may be hit. */
  crashesInTransition: number;
}

/**
 * Disks wiped per run at most. One: a write acknowledged by W >= 2 replicas then survives on at
 * least one of them. A second wipe could erase the other copy before anti-entropy or a read
 * copied it anywhere, which is data loss by design, not a bug the checker should report.
 */
export const wipesMax = 1;

/** Membership changes per run at most: each is a whole transition (handoff, completion, drop). */
export const membershipChangesMax = 1;
/** How often a drawn change that could not be committed yet (views differ, the joiner boots) is tried again, in virtual ms. */
const commitRetryMs = 200;

function shuffled<T>(prng: Prng, items: readonly T[]): T[] {
  const copy = [...items];
  for (let index = copy.length - 1; index > 0; index--) {
    const other = prng.nextInt(index + 1);
    [copy[index], copy[other]] = [copy[other] as T, copy[index] as T];
  }
  return copy;
}

/** Who may talk to whom under a partition shape, over a random ordering of the nodes. */
export function partitionRule(shape: PartitionShape, order: readonly string[]): (from: string, to: string) => boolean {
  const size = order.length;
  const position = new Map(order.map((node, index) => [node, index] as const));
  const at = (node: string): number => position.get(node) ?? 0;
  switch (shape) {
    case 'isolate':
      return (from, to) => from !== order[0] && to !== order[0];
    case 'halves': {
      const half = Math.floor(size / 2);
      return (from, to) => at(from) < half === at(to) < half;
    }
    case 'bridge': {
      // order[0] is the bridge; the others split into two sides that each reach only the bridge.
      const half = 1 + Math.floor((size - 1) / 2);
      return (from, to) => at(from) === 0 || at(to) === 0 || at(from) < half === at(to) < half;
    }
    case 'majoritiesRing': {
      // Each node sees its nearest neighbours on a ring: a majority, but a different one for each.
      const majority = Math.floor(size / 2) + 1;
      const reach = Math.ceil((majority - 1) / 2);
      return (from, to) => {
        const distance = Math.abs(at(from) - at(to));
        return Math.min(distance, size - distance) <= reach;
      };
    }
  }
}

export class Nemesis {
  readonly counters: NemesisCounters = {
    partitions: 0,
    livenessPartitions: 0,
    heals: 0,
    clogs: 0,
    crashes: 0,
    restarts: 0,
    pauses: 0,
    storms: 0,
    skews: 0,
    diskFaults: 0,
    wipes: 0,
    joins: 0,
    leaves: 0,
    removes: 0,
    crashesInTransition: 0,
  };
  private membershipDrawn = 0;
  private running = false;
  private readonly paused = new Set<SimNode>();

  constructor(
    private readonly cluster: Cluster,
    private readonly network: SimNetwork,
    private readonly skew: ClockSkew,
    private readonly scheduler: SimScheduler,
    private readonly prng: Prng,
    private readonly config: SimConfig,
  ) {}

  start(): void {
    if (this.config.faults.length === 0) return;
    this.running = true;
    this.scheduleNext();
  }

  stop(): void {
    this.running = false;
  }

  private scheduleNext(): void {
    const { nemesisIntervalMinMs: min, nemesisIntervalMaxMs: max } = this.config;
    this.scheduler.schedule(min + this.prng.nextFloat() * (max - min), worldOwner, 'nemesis', () => {
      if (!this.running) return;
      this.act();
      this.scheduleNext();
    });
  }

  private act(): void {
    const kind = this.prng.pick(this.config.faults);
    this.scheduler.note(`nemesis ${kind}`);
    switch (kind) {
      case 'partition':
        return this.partitionOrClog();
      case 'crash':
        return this.crashOrRestart();
      case 'pause':
        return this.pauseOrResume();
      case 'loss':
        return this.toggleStorm();
      case 'clock':
        return this.skewAClock();
      case 'disk':
        return this.toggleDisk();
      case 'wipe':
        return this.wipeADisk();
      case 'membership':
        return this.changeMembership();
    }
  }

  private ids(): string[] {
    return this.cluster.nodes.map((node) => node.id);
  }

  private partitionOrClog(): void {
    if (this.prng.chance(0.25)) {
      const clogged = this.network.cloggedLinks();
      if (clogged.length > 0 && this.prng.chance(0.5)) {
        const [from, to] = this.prng.pick(clogged);
        this.network.unclog(from, to);
      } else {
        const [from, to] = shuffled(this.prng, this.ids());
        this.network.clog(from as string, to as string);
        this.counters.clogs += 1;
      }
      return;
    }
    if (this.network.cutLinkCount > 0 && this.prng.chance(0.6)) {
      this.network.healPartition();
      this.counters.heals += 1;
      return;
    }
    const shape = this.prng.pick(['isolate', 'halves', 'bridge', 'majoritiesRing'] as const);
    const ids = this.ids();
    // A third of the partitions cut only the failure detector's messages: nodes suspect and route
    // around peers whose data still flows (and may hold the peers' data as hints meanwhile).
    if (this.prng.chance(1 / 3)) {
      this.network.partitionLiveness(ids, partitionRule(shape, shuffled(this.prng, ids)));
      this.scheduler.note(`liveness partition ${shape}`);
      this.counters.livenessPartitions += 1;
      return;
    }
    this.network.partition(ids, partitionRule(shape, shuffled(this.prng, ids)));
    this.scheduler.note(`partition ${shape}`);
    this.counters.partitions += 1;
  }

  /** Nodes crashed, starting or paused: the budget `downMax` bounds them together. */
  private downCount(): number {
    return this.cluster.nodes.filter((node) => node.state !== 'up' || this.paused.has(node)).length;
  }

  private crashOrRestart(): void {
    const down = this.cluster.nodes.filter((node) => node.state === 'down');
    if (down.length > 0 && (this.prng.chance(0.5) || this.downCount() >= this.config.downMax)) {
      this.cluster.start(this.prng.pick(down));
      this.counters.restarts += 1;
      return;
    }
    const candidates = this.cluster.nodes.filter((node) => node.state === 'up' && !this.paused.has(node));
    if (candidates.length === 0 || this.downCount() >= this.config.downMax) return;
    const victim = this.prng.pick(candidates);
    if (!this.cluster.transitionsEnded()) this.counters.crashesInTransition += 1;
    this.cluster.crash(victim);
    this.counters.crashes += 1;
  }

  private pauseOrResume(): void {
    if (this.paused.size > 0 && (this.prng.chance(0.5) || this.downCount() >= this.config.downMax)) {
      const node = this.prng.pick([...this.paused]);
      this.paused.delete(node);
      this.cluster.resume(node);
      return;
    }
    const candidates = this.cluster.nodes.filter((node) => node.state === 'up' && !this.paused.has(node));
    if (candidates.length === 0 || this.downCount() >= this.config.downMax) return;
    const node = this.prng.pick(candidates);
    this.paused.add(node);
    this.cluster.pause(node);
    this.counters.pauses += 1;
  }

  private toggleStorm(): void {
    if (this.network.weather === calmWeather) {
      this.network.weather = this.config.storm;
      this.counters.storms += 1;
    } else {
      this.network.weather = calmWeather;
    }
  }

  private skewAClock(): void {
    const node = this.prng.pick(this.ids());
    const offset = this.prng.chance(0.2) ? 0 : Math.round((this.prng.nextFloat() * 2 - 1) * this.config.skewMaxMs);
    this.skew.set(node, offset);
    this.counters.skews += 1;
  }

  private toggleDisk(): void {
    const node = this.prng.pick(this.cluster.nodes);
    if (node.disk.faults === healthyDisk) {
      node.disk.faults = this.config.diskFaults;
      this.counters.diskFaults += 1;
    } else {
      node.disk.faults = healthyDisk;
    }
  }

  /**
   * Stops a node that is up, erases its disk and starts it again at once: it boots on new storage,
   * so under a new epoch, holding nothing; hints, read repair and anti-entropy must refill it.
   */
  private wipeADisk(): void {
    if (this.counters.wipes + this.counters.removes >= wipesMax || this.downCount() >= this.config.downMax) return;
    const candidates = this.cluster.nodes.filter((node) => node.state === 'up' && !this.paused.has(node));
    if (candidates.length === 0) return;
    const victim = this.prng.pick(candidates);
    this.cluster.crash(victim);
    victim.disk.wipe();
    this.cluster.start(victim);
    this.scheduler.note(`wiped ${victim.id}`);
    this.counters.wipes += 1;
  }

  /**
   * One operator change (decision 0017), drawn among those the cluster allows: a join of a new
   * node; with four members or more, a leave of one that is up, or the remove of one that is
   * crashed (it never comes back; its disk counts as one lost, like a wipe). Crashes, pauses and
   * partitions keep coming meanwhile, so either side of a handoff may fail during it.
   */
  private changeMembership(): void {
    if (this.membershipDrawn >= membershipChangesMax) return;
    const members = this.cluster.nodes;
    const kinds: Array<'join' | 'leave' | 'remove'> = ['join'];
    const crashed = members.filter((node) => node.state === 'down');
    if (members.length > this.config.n) kinds.push('leave');
    if (members.length > this.config.n && crashed.length > 0 && this.counters.wipes + this.counters.removes < wipesMax)
      kinds.push('remove');
    const kind = this.prng.pick(kinds);
    this.membershipDrawn += 1;
    if (kind === 'join') {
      const joiner = this.cluster.startJoiner();
      const member = { id: joiner.id, peer: `${joiner.id}.sim:7000`, weight: 1, state: 'valid' as const };
      return this.commitWhenPossible({ kind: 'join', member }, () => (this.counters.joins += 1));
    }
    if (kind === 'remove') {
      const victim = this.prng.pick(crashed);
      if (this.cluster.commitChange({ kind: 'remove', id: victim.id })) {
        this.counters.removes += 1;
        this.cluster.depart(victim);
      }
      return;
    }
    const leaver = this.prng.pick(members);
    this.commitWhenPossible({ kind: 'leave', id: leaver.id }, () => (this.counters.leaves += 1));
  }

  /** Commits now, or tries again every commitRetryMs (also after the heal) until the cluster allows it. */
  private commitWhenPossible(change: Parameters<Cluster['commitChange']>[0], counted: () => void): void {
    if (change.kind === 'leave' && !this.cluster.nodes.some((node) => node.id === change.id)) return;
    if (this.cluster.commitChange(change)) {
      counted();
      return;
    }
    this.scheduler.schedule(commitRetryMs, worldOwner, `commit ${change.kind}`, () =>
      this.commitWhenPossible(change, counted),
    );
  }

  /** Ends every fault: the liveness phase starts from a healthy cluster. */
  healAll(): void {
    this.stop();
    this.network.healPartition();
    for (const [from, to] of this.network.cloggedLinks()) this.network.unclog(from, to);
    this.network.weather = calmWeather;
    this.skew.clear();
    for (const node of this.paused) this.cluster.resume(node);
    this.paused.clear();
    for (const node of this.cluster.nodes) {
      node.disk.faults = healthyDisk;
      if (node.state === 'down') this.cluster.start(node);
    }
  }
}
