// Why: the simulated cluster runs the production code: each node is the real NodeCore driven by the
// real NodeRuntime, with a real LocalStore and HintStore, over simulated ports (SimTransport,
// SimClock, SimTimers) and the production write-ahead log over a simulated disk (SimStorage). The
// runtime's storage calls are promises; they stay deterministic because every promise is settled
// by a scheduler task and the driver lets the microtask queue drain after each task, so the order
// of everything is fixed by the seed. A crash abandons the node's runtime mid-flight (its tasks are
// dropped, its disk loses what was not synced) and a restart builds a fresh NodeCore and runtime
// over the surviving disk; a crash is an unclean stop, so the restarted node mints under a new
// epoch (node-metadata.ts). A node whose log failed (a disk fault) is restarted the same way, its
// process gone but its disk whole.
import { createHash } from 'node:crypto';
import { EverwriteError } from '../core/base/errors.ts';
import { asNodeId, type NodeId } from '../core/base/ids.ts';
import { defaultLimits } from '../core/base/limits.ts';
import type { Prng } from '../core/base/prng.ts';
import { NodeCore } from '../core/node/node-core.ts';
import type { NodeCoreSettings } from '../core/node/options.ts';
import { encodeStorageKey } from '../core/protocol/storage-key.ts';
import { keyHash, partitionOf, primaryNodes, type Ring } from '../core/ring/index.ts';
import { commitPlan, firstView, nextView, type ClusterView, type PlanChange } from '../core/cluster-view/index.ts';
import { actorOf, decodeRecord, emptyRecord, type VersionedRecord } from '../core/versioning/index.ts';
import { HmacContextSeal } from '../io/context-seal.ts';
import { HintStore } from '../runtime/stores/hint-store.ts';
import { LocalStore } from '../runtime/stores/local-store.ts';
import { NodeRuntime, type RuntimeLogger } from '../runtime/node-runtime.ts';
import { bootIdentity } from '../runtime/stores/node-metadata.ts';
import { DotLedger } from './dot-ledger.ts';
import type { GetResult } from '../runtime/service.ts';
import { SimClock, SimTimers, type ClockSkew } from './clock.ts';
import type { SimNetwork } from './network.ts';
import { worldOwner, type SimScheduler } from './scheduler.ts';
import { SimDisk, type DiskTiming } from './storage.ts';

export const md5 = (bytes: Uint8Array): Uint8Array => createHash('md5').update(bytes).digest();

/** One seal for the whole simulated cluster, as its nodes would share a cluster secret. HMAC is deterministic, so runs stay reproducible. */
const simContextSeal = new HmacContextSeal(new TextEncoder().encode('everwrite simulated cluster secret'));

export type NodeState = 'down' | 'starting' | 'up';

export interface SimNode {
  readonly id: NodeId;
  readonly disk: SimDisk;
  state: NodeState;
  incarnation: number;
  runtime: NodeRuntime | undefined;
  hints: HintStore | undefined;
  core: NodeCore | undefined;
  /** The cluster view this node boots with: what it adopted last (its disk would hold it). */
  view: ClusterView;
  /** Why the last start failed, if it did (a disk fault while booting); a retry follows. */
  lastBootError: string | undefined;
}

export interface ClusterOptions {
  readonly nodeCount: number;
  readonly partitionCount: number;
  readonly settings: Partial<NodeCoreSettings>;
  /** The hint store's count bound. */
  readonly hintsCountMax: number;
  readonly diskTiming: DiskTiming;
  /** The largest bucket n: a membership commit's transferN, and the fewest members a plan may leave. */
  readonly replicaCount: number;
}

/** What a simulated client gets back. `unavailable`: refused before it was sent (nothing happened). */
export type ClientReply =
  | { readonly status: 'ok'; readonly get?: GetResult }
  | { readonly status: 'error'; readonly code: string }
  | { readonly status: 'unavailable' };

export type ClientCall = (runtime: NodeRuntime) => Promise<GetResult | { readonly context: string }>;

const bootRetryMs = 250;
/** One-way latency between a client and a node, in ms. */
const clientLatencyMs = 0.3;

export class Cluster {
  /**
   * The members: nodes of the cluster's views, up or down. A node that left or was removed (decision
   * 0017) moves to `departed` and never starts again; a joining node is added when its join is committed.
   */
  readonly nodes: SimNode[];
  readonly departed: SimNode[] = [];
  /** Nodes started as singletons to join, until their join is committed. */
  readonly joining: SimNode[] = [];
  readonly ring: Ring;
  /**
   * The newest cluster view. Node n1 boots with it and every other node with the version before
   * (same members and owners): the view gossip (decision 0015) must carry it to every node through
   * the seed's faults, and the liveness phase checks that it did.
   */
  readonly view: ClusterView;
  readonly addresses: ReadonlyMap<NodeId, string>;
  /** Log lines at warn or error from every runtime (a few are expected under disk faults). */
  readonly logCounts = { warn: 0, error: 0 };
  /** Every version any disk made visible, by key and dot: no dot may name two writes. */
  readonly dotLedger = new DotLedger();

  constructor(
    private readonly scheduler: SimScheduler,
    private readonly network: SimNetwork,
    private readonly skew: ClockSkew,
    private readonly prng: Prng,
    readonly options: ClusterOptions,
  ) {
    const ids = Array.from({ length: options.nodeCount }, (_, index) => asNodeId(`n${index + 1}`));
    const first = firstView(
      options.partitionCount,
      ids.map((id) => ({ id, peer: `${id}.sim:7000`, weight: 1, state: 'valid' as const })),
    );
    this.view = nextView(first, first.members);
    this.ring = this.view.ring;
    this.addresses = new Map(ids.map((id) => [id, `sim://${id}`] as const));
    this.nodes = ids.map((id) => ({
      id,
      disk: new SimDisk(id, scheduler, prng.fork(), options.diskTiming, this.dotLedger),
      state: 'down',
      incarnation: 0,
      runtime: undefined,
      hints: undefined,
      core: undefined,
      view: id === ids[0] ? this.view : first,
      lastBootError: undefined,
    }));
  }

  node(id: string): SimNode {
    const node = this.nodes.find((candidate) => candidate.id === id);
    if (node === undefined) throw new Error(`no simulated node ${id}`);
    return node;
  }

  get upNodes(): SimNode[] {
    return this.nodes.filter((node) => node.state === 'up');
  }

  /** Boots a node that is down (first start or restart); it is `up` once its runtime started. */
  start(node: SimNode): void {
    if (node.state !== 'down') return;
    node.state = 'starting';
    node.incarnation += 1;
    const incarnation = node.incarnation;
    this.scheduler.schedule(0, node.id, 'boot', () => {
      this.boot(node, incarnation).catch((error: unknown) => {
        if (node.incarnation !== incarnation) return;
        // A disk fault while booting: the process exits and its supervisor starts it again.
        node.lastBootError = String(error);
        this.exitAndRestart(node, 'boot retry');
      });
    });
  }

  /** The process exits (no power loss: the OS keeps what it wrote) and its supervisor starts it again. */
  private exitAndRestart(node: SimNode, label: string): void {
    this.stopProcess(node);
    node.disk.kill();
    const incarnation = node.incarnation;
    this.scheduler.schedule(bootRetryMs, worldOwner, `${label} ${node.id}`, () => {
      if (node.incarnation === incarnation && this.nodes.concat(this.joining).includes(node)) this.start(node);
    });
  }

  /**
   * The node's write-ahead log failed (a disk fault): it refuses every write from then on. The node
   * is restarted, as a supervisor would once the process exits; the restart replays the log.
   */
  private logFailed(node: SimNode, incarnation: number): void {
    this.scheduler.schedule(0, worldOwner, `log failed ${node.id}`, () => {
      if (node.incarnation === incarnation && node.state !== 'down')
        this.exitAndRestart(node, 'restart after log failure');
    });
  }

  private async boot(node: SimNode, incarnation: number): Promise<void> {
    const engine = node.disk.open(() => this.logFailed(node, incarnation));
    await engine.open();
    const { epoch, idBase, props, users, handoffProgress } = await bootIdentity(
      engine,
      () => 1 + this.prng.nextInt(2 ** 31 - 1),
    );
    const hints = await HintStore.open(engine, { hintsCountMax: this.options.hintsCountMax });
    if (node.incarnation !== incarnation) return;
    const core = new NodeCore({
      self: node.id,
      actor: actorOf(node.id, epoch),
      ring: node.view.ring,
      view: node.view,
      md5,
      settings: this.options.settings,
      props,
      users,
      idBase,
      handoffProgress,
    });
    const runtime = new NodeRuntime({
      core,
      clock: new SimClock(this.scheduler, this.skew, node.id),
      timers: new SimTimers(this.scheduler, node.id),
      transport: this.network.transport(node.id),
      store: new LocalStore(engine),
      hints,
      addresses: this.addresses,
      md5,
      valueBytesMax: defaultLimits.valueBytesMax,
      contextSeal: simContextSeal,
      onViewAdopted: (view) => {
        node.view = view;
      },
      onLeftCluster: () => this.scheduler.schedule(0, worldOwner, `left ${node.id}`, () => this.depart(node)),
      logger: this.logger(),
    });
    await runtime.start();
    if (node.incarnation !== incarnation) return;
    node.core = core;
    node.runtime = runtime;
    node.hints = hints;
    node.state = 'up';
    node.lastBootError = undefined;
  }

  private logger(): RuntimeLogger {
    const counts = this.logCounts;
    return {
      debug: () => undefined,
      info: () => undefined,
      warn: () => {
        counts.warn += 1;
      },
      error: () => {
        counts.error += 1;
      },
    };
  }

  /** kill -9 plus power loss: the runtime is abandoned, the disk keeps only what was synced (and a random prefix). */
  crash(node: SimNode): void {
    if (node.state === 'down') return;
    this.stopProcess(node);
    node.disk.crash();
  }

  /** The node's process is gone: its runtime abandoned mid-flight, its tasks and connections dropped. */
  private stopProcess(node: SimNode): void {
    node.state = 'down';
    node.incarnation += 1;
    node.runtime = undefined;
    node.core = undefined;
    node.hints = undefined;
    this.network.detachNode(node.id);
    this.scheduler.kill(node.id);
  }

  /** A node that left (its handoff done) or was removed: stopped for good, no longer a member. */
  depart(node: SimNode): void {
    const index = this.nodes.indexOf(node);
    if (index < 0) return;
    this.crash(node);
    this.nodes.splice(index, 1);
    this.departed.push(node);
    this.scheduler.note(`departed ${node.id}`);
  }

  /** Starts a new node as a singleton cluster of its own; `commitChange` with its join makes it a member. */
  startJoiner(): SimNode {
    const id = asNodeId(`n${this.nodes.length + this.departed.length + this.joining.length + 1}`);
    const member = { id, peer: `${id}.sim:7000`, weight: 1, state: 'valid' as const };
    const node: SimNode = {
      id,
      disk: new SimDisk(id, this.scheduler, this.prng.fork(), this.options.diskTiming, this.dotLedger),
      state: 'down',
      incarnation: 0,
      runtime: undefined,
      hints: undefined,
      core: undefined,
      view: firstView(this.options.partitionCount, [member]),
      lastBootError: undefined,
    };
    this.joining.push(node);
    this.start(node);
    return node;
  }

  /**
   * Commits one change as the claimant would (decision 0017): at the lowest-id member that is up,
   * only while every member that is up holds one view with no transition under way and none that
   * is down holds a newer one (so the commit cannot fork the view). A join also hands the transition view to the joining node, which must be
   * up. False, changing nothing, when the moment does not allow it.
   */
  commitChange(change: PlanChange): boolean {
    const up = this.nodes.filter((node) => node.state === 'up' && !this.isPaused(node));
    const views = new Set(up.map((node) => node.core?.viewGossip?.view.digest));
    const claimant = up[0];
    const view = claimant?.core?.viewGossip?.view;
    if (claimant?.runtime === undefined || view === undefined || views.size !== 1 || view.pending !== undefined)
      return false;
    // A member that is down may hold a newer view than those up (n1 boots with one): a commit on
    // an older one would fork the view, which an operator's claimant avoids by holding the newest.
    if (this.nodes.some((node) => node.view.version > view.version)) return false;
    const joiner = change.kind === 'join' ? this.joining.find((node) => node.id === change.member.id) : undefined;
    if (change.kind === 'join' && (joiner?.runtime === undefined || joiner.state !== 'up' || this.isPaused(joiner)))
      return false;
    let transition: ClusterView;
    try {
      transition = commitPlan(view, { baseVersion: view.version, changes: [change] }, this.options.replicaCount);
    } catch {
      return false;
    }
    if (!claimant.runtime.adoptView(transition, 'commit')) return false;
    if (joiner !== undefined) {
      joiner.runtime?.adoptView(transition, 'joining');
      this.joining.splice(this.joining.indexOf(joiner), 1);
      this.nodes.push(joiner);
    }
    this.scheduler.note(
      `committed ${change.kind} ${change.kind === 'join' ? change.member.id : change.id} as view ${transition.version}`,
    );
    return true;
  }

  /** No member is in a transition and no join waits: the membership change (if any) has ended everywhere. */
  transitionsEnded(): boolean {
    return this.joining.length === 0 && this.nodes.every((node) => node.core?.viewGossip?.view.pending === undefined);
  }

  pause(node: SimNode): void {
    this.scheduler.pause(node.id);
  }

  resume(node: SimNode): void {
    this.scheduler.resume(node.id);
  }

  isPaused(node: SimNode): boolean {
    return this.scheduler.isPaused(node.id);
  }

  /**
   * A client request to `nodeId`: it travels to the node (a task the node owns, so a pause holds it
   * and a crash loses it), runs against the node's runtime, and the reply travels back. A client
   * that finds the node down is refused at once (connection refused: nothing was sent).
   */
  call(nodeId: NodeId, label: string, request: ClientCall, done: (reply: ClientReply) => void): void {
    const node = this.node(nodeId);
    if (node.state !== 'up') {
      this.scheduler.schedule(clientLatencyMs, worldOwner, `refused ${label}`, () => done({ status: 'unavailable' }));
      return;
    }
    const incarnation = node.incarnation;
    this.scheduler.schedule(clientLatencyMs, node.id, `request ${label}`, () => {
      const runtime = node.runtime;
      if (node.incarnation !== incarnation || runtime === undefined) return;
      const reply = (result: ClientReply): void => {
        this.scheduler.schedule(clientLatencyMs, worldOwner, `reply ${label}`, () => done(result));
      };
      request(runtime).then(
        (result) => reply('siblings' in result ? { status: 'ok', get: result } : { status: 'ok' }),
        (error: unknown) =>
          reply({ status: 'error', code: error instanceof EverwriteError ? error.code : `THROWN ${String(error)}` }),
      );
    });
  }

  /** Hints held on every node that is up. */
  hintCount(): number {
    let count = 0;
    for (const node of this.nodes) count += node.hints?.count ?? 0;
    return count;
  }

  inFlightCoordinations(): number {
    let count = 0;
    for (const node of this.nodes) count += node.core?.inFlightCoordinations ?? 0;
    return count;
  }

  /**
   * Every node is up and believes every other node is up (no failure detector routes around one),
   * and SWIM agrees everywhere: each member `up` at the incarnation the member itself holds.
   */
  allSeeAllUp(): boolean {
    const nowMs = this.scheduler.nowMs;
    return this.nodes.every(
      (node) =>
        node.state === 'up' &&
        this.nodes.every((other) => node.core?.isAlive(other.id, nowMs) === true && this.agreesOn(node, other)),
    );
  }

  /** True when every node that is up holds the same cluster view and none refuses to serve over it. */
  allHoldOneView(): boolean {
    const digests = new Set(this.nodes.map((node) => node.core?.viewGossip?.view.digest));
    return (
      digests.size === 1 &&
      !digests.has(undefined) &&
      this.nodes.every((node) => node.core?.viewGossip?.refusal === undefined)
    );
  }

  private agreesOn(observer: SimNode, member: SimNode): boolean {
    const seen = observer.core?.liveness(member.id);
    const own = member.core?.liveness(member.id);
    return seen !== undefined && own !== undefined && seen.state === 'up' && seen.incarnation === own.incarnation;
  }

  /** The primaries of a key (the first N distinct nodes of its preference list). */
  primaries(bucket: string, key: string, n: number): { partition: number; nodes: NodeId[] } {
    // The ring the members serve from now: after a membership change, not the first one.
    const ring =
      this.nodes.find((node) => node.core?.viewGossip !== undefined)?.core?.viewGossip?.view.ring ?? this.ring;
    const partition = partitionOf(ring, keyHash(md5, bucket, key));
    return { partition, nodes: primaryNodes(ring, partition, Math.min(n, ring.members.length)) };
  }

  /**
   * What a node's disk holds for a key right now, read outside the node (the checker's view). The
   * node may have departed since the ring the caller holds was made (a leave completing as the
   * heal begins): its disk is still there to read.
   */
  replicaRecord(nodeId: NodeId, bucket: string, key: string, partition: number): VersionedRecord {
    const node =
      this.nodes.find((candidate) => candidate.id === nodeId) ??
      this.departed.find((candidate) => candidate.id === nodeId) ??
      this.node(nodeId);
    const bytes = node.disk.read(partition, encodeStorageKey(bucket, key));
    return bytes === undefined ? emptyRecord : decodeRecord(bytes);
  }
}
