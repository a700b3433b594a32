// Why: the whole protocol logic of one node, sans I/O (docs/ARCHITECTURE.md section 2). `step(event)` takes one
// thing that happened; `takeEffects()` returns what the node wants done. It is synchronous and
// deterministic: the production runtime and the simulator drive the very same object.
import type { RequestLimits } from '../base/limits.ts';
import { assertNever } from '../base/assert.ts';
import type { DigestFunction } from '../base/hash.ts';
import type { NodeId } from '../base/ids.ts';
import { Prng } from '../base/prng.ts';
import type { ReusableList } from '../base/reusable-list.ts';
import { Swim, type MemberLiveness, type SwimCounters } from '../membership/index.ts';
import type { Message, PropsEntry, UserEntry } from '../protocol/messages.ts';
import type { Ring } from '../ring/index.ts';
import type { Actor, ClientContextBound } from '../versioning/index.ts';
import { AntiEntropy, type AntiEntropyStatus } from './anti-entropy.ts';
import { BucketPropsTable } from './bucket-props.ts';
import { CatchUp, type CatchUpStatus } from './catch-up.ts';
import type { Effect } from './effects.ts';
import type { Event } from './events.ts';
import { FailureDetector } from './failure-detector.ts';
import { onForward, routeClientRequest } from './forwarding.ts';
import type { HandoffProgress } from './effects.ts';
import type { BackgroundStatus } from './background-admission.ts';
import { Handoff, type HandoffStatus } from './handoff.ts';
import { HintDelivery } from './hint-delivery.ts';
import { NodeKernel } from './kernel.ts';
import type { BucketProps } from '../protocol/contract.ts';
import { resolveSettings, type NodeCoreSettings } from './options.ts';
import { PropsGossip } from './props-gossip.ts';
import { UsersGossip, UsersTable } from './users.ts';
import { onReap, onReplicaGet, onReplicaPut } from './replica.ts';
import { ViewGossip, type ClusterView } from '../cluster-view/index.ts';

/** The failure detector's counts plus the view gossip's rounds and adopted views, since start. */
export interface GossipCounters extends Readonly<SwimCounters> {
  readonly viewGossipRounds: number;
  readonly viewsAdopted: number;
}

export interface NodeCoreOptions {
  readonly self: NodeId;
  /** This node's versioning actor: its id plus its storage's epoch (new storage or an unclean stop draws one). */
  readonly actor: Actor;
  readonly ring: Ring;
  /** MD5, for ring placement (injected so the core stays pure). */
  readonly md5: DigestFunction;
  readonly settings?: Partial<NodeCoreSettings>;
  /** Bucket properties persisted by an earlier run. */
  readonly props?: readonly PropsEntry[];
  /** Users persisted by an earlier run (decision 0025). */
  readonly users?: readonly UserEntry[];
  /**
   * Ids this node allocates (request ids on the wire, timers, store tokens) start after this value.
   * Give each incarnation of a node its own range (e.g. a boot counter times 2^32): peers match
   * replies by id alone, so a late reply to a request of an earlier incarnation would otherwise be
   * taken for the reply to a new request with the same id (found by the simulator). Default 0.
   */
  readonly idBase?: number;
  /** Seed of the generator that picks whom failure detection probes. Default: derived from `self` and `idBase`. */
  readonly livenessSeed?: number;
  /**
   * The persisted cluster view (decision 0015); `ring` must be its ring. With it, the node gossips
   * its view, adopts newer ones and refuses clients while its view conflicts with its peers'.
   * Without it (simulator, unit tests) the ring is static.
   */
  readonly view?: ClusterView;
  /** Members contacted every view-gossip round besides a random one. */
  readonly seeds?: readonly NodeId[];
  /** Handoff progress saved by an earlier run (`handoffProgressSave` effects): the streams resume after the last acknowledged key. */
  readonly handoffProgress?: readonly HandoffProgress[];
  /** What a client request may carry (resolveRequestLimits, decision 0035). Default defaultRequestLimits. */
  readonly requestLimits?: RequestLimits;
}

/** A stable 32-bit seed from a node id and its id base, so each node (and incarnation) probes in its own order. */
function seedOf(self: string, idBase: number): number {
  let hash = 0x811c9dc5 ^ (idBase % 0x7fffffff);
  for (let index = 0; index < self.length; index++) hash = Math.imul(hash ^ self.charCodeAt(index), 0x01000193);
  return hash >>> 0;
}

/**
 * Whom failure detection watches: with a view, every member but removed ones. A joining member is
 * not on the serving ring yet but receives partitions, gossips and probes (decision 0017); left out,
 * its probes were dropped as from an unknown sender and it came to hold every member down.
 */
function livenessMembers(view: ClusterView | undefined, ring: Ring): NodeId[] {
  if (view === undefined) return ring.members.map((member) => member.id);
  return view.members.filter((member) => member.state !== 'removed').map((member) => member.id);
}

export class NodeCore {
  private readonly kernel: NodeKernel;
  private readonly hints: HintDelivery;
  private readonly propsGossip: PropsGossip;
  private readonly usersGossip: UsersGossip;
  private readonly swim: Swim;
  /** The ring whose members the failure detector watches; another ring object means the members may have changed. */
  private watchedRing: Ring;
  /** The cluster view's gossip, when the node was given a view. */
  readonly viewGossip: ViewGossip | undefined;
  private readonly antiEntropy: AntiEntropy;
  /** Ownership handoff of membership transitions (decision 0017), when the node has a view. */
  private readonly handoff: Handoff | undefined;
  private readonly catchUp: CatchUp;

  constructor(options: NodeCoreOptions) {
    const settings = resolveSettings(options.settings);
    const idBase = options.idBase ?? 0;
    this.swim = this.createSwim(options, settings, idBase);
    this.watchedRing = options.ring;
    const propsLimits = {
      entriesCountMax: settings.bucketPropsCountMax * options.ring.members.length,
      deletedCountMax: settings.bucketPropsCountMax,
      deletedRetentionMs: settings.propsDeletedRetentionMs,
    };
    this.kernel = new NodeKernel(
      options.self,
      options.actor,
      options.ring,
      options.md5,
      settings,
      new BucketPropsTable(settings.defaultProps, propsLimits, options.props),
      new FailureDetector(settings.downBackoffMs, this.swim),
      idBase,
      options.requestLimits,
    );
    this.hints = new HintDelivery(this.kernel);
    this.propsGossip = new PropsGossip(this.kernel);
    const usersLimits = {
      entriesCountMax: settings.usersCountMax * options.ring.members.length,
      deletedCountMax: settings.usersCountMax,
      deletedRetentionMs: settings.propsDeletedRetentionMs,
    };
    this.usersGossip = new UsersGossip(this.kernel, new UsersTable(usersLimits, options.users));
    this.antiEntropy = new AntiEntropy(this.kernel);
    this.catchUp = new CatchUp(this.kernel, this.antiEntropy);
    this.viewGossip =
      options.view === undefined
        ? undefined
        : this.createViewGossip(options.view, options.seeds ?? [], options.idBase ?? 0);
    this.kernel.pending = options.view?.pending;
    this.handoff =
      this.viewGossip === undefined
        ? undefined
        : new Handoff(this.kernel, this.viewGossip, this.kernel.background, options.handoffProgress ?? []);
    if (this.handoff !== undefined) {
      const handoff = this.handoff;
      handoff.onDropped = (partitions) => this.antiEntropy.trees.release(partitions);
      this.kernel.handoffForwardTargets = (partition) => handoff.forwardTargets(partition);
      this.kernel.hintRelay = (target) => handoff.hintRelay(target);
      this.kernel.handsOff = () => handoff.handsOff();
    }
  }

  private createViewGossip(view: ClusterView, seeds: readonly NodeId[], idBase: number): ViewGossip {
    const kernel = this.kernel;
    // Each node and incarnation picks its gossip partners from its own sequence, apart from liveness's.
    const seed = seedOf(`${kernel.self}/view`, idBase);
    return new ViewGossip({
      self: kernel.self,
      view,
      seeds,
      gossipIntervalMs: kernel.settings.viewGossipIntervalMs,
      prng: new Prng(seed),
      announceOnFirstRound: true,
      ports: {
        send: (to, message) => kernel.send(to, message),
        adopted: (next) => {
          kernel.ring = next.ring;
          kernel.pending = next.pending;
          kernel.emit({ type: 'viewAdopted', view: next });
        },
        log: (level, message, fields) => kernel.emit({ type: 'log', level, message, fields }),
      },
    });
  }

  /** Answers a client request with the view conflict, if there is one; true when it did. */
  private refusedByView(requestId: number): boolean {
    const refused = this.viewRefusalError();
    if (refused !== undefined) this.kernel.emit({ type: 'reply', requestId, outcome: { ok: false, error: refused } });
    return refused !== undefined;
  }

  /**
   * The coded error clients get while this node's view conflicts with its peers', or while it is
   * leaving and handing its partitions away (Handoff.handsOff); undefined otherwise.
   */
  private viewRefusalError(): { code: string; message: string } | undefined {
    const refusal = this.viewGossip?.refusal;
    if (refusal !== undefined)
      return {
        code: 'EVERWRITE_VIEW_CONFLICT',
        message: `this node refuses to serve: its cluster view conflicts with its peers' (${refusal.reason})`,
      };
    if (this.handoff?.handsOff() === true)
      return {
        code: 'EVERWRITE_UNAVAILABLE',
        message: 'this node is leaving the cluster and handing its partitions off: send requests to another member',
      };
    return undefined;
  }

  /** Merkle trees held and ready, and per partition the last exchange, keys repaired and bytes exchanged. */
  antiEntropyStatus(): AntiEntropyStatus {
    return this.antiEntropy.status();
  }

  /** The handoff's progress: per transfer this node takes part in, batches, keys and bytes done (decision 0017). */
  handoffStatus(): HandoffStatus {
    return (
      this.handoff?.status() ?? {
        viewVersion: undefined,
        started: false,
        transfersTotal: 0,
        transfersKnownDone: 0,
        transfers: [],
        totals: { batches: 0, keys: 0, bytes: 0 },
        partitionsToDrop: 0,
      }
    );
  }

  /** The background admission controller: foreground p99 against its baseline, the byte budget now, transfer slots (background-admission.ts). */
  backgroundStatus(): BackgroundStatus {
    return this.kernel.background.status();
  }

  /** The change log's size and what catching peers up after outages did (decision 0020). */
  catchUpStatus(): CatchUpStatus {
    return this.catchUp.status();
  }

  private createSwim(options: NodeCoreOptions, settings: NodeCoreSettings, idBase: number): Swim {
    const swimSettings = {
      probeIntervalMs: settings.livenessProbeIntervalMs,
      probeTimeoutMs: settings.livenessProbeTimeoutMs,
      indirectProbeCount: settings.livenessIndirectProbeCount,
      suspicionTimeoutMs: settings.livenessSuspicionTimeoutMs,
    };
    const output = {
      send: (to: NodeId, message: Message) => this.kernel.send(to, message),
      log: (level: 'info' | 'warn', message: string, fields: Readonly<Record<string, unknown>>) =>
        this.kernel.emit({ type: 'log', level, message, fields }),
    };
    const members = livenessMembers(options.view, options.ring);
    return new Swim(
      options.self,
      members,
      swimSettings,
      new Prng(options.livenessSeed ?? seedOf(options.self, idBase)),
      output,
      idBase,
    );
  }

  get self(): NodeId {
    return this.kernel.self;
  }

  /** The versioning actor this incarnation mints dots as. */
  get actor(): Actor {
    return this.kernel.actor;
  }

  /** How the contexts this node hands to clients are cut down (decision 0041). */
  get clientContextBound(): ClientContextBound {
    return this.kernel.clientContextBound;
  }

  get ring(): Ring {
    return this.kernel.ring;
  }

  get hintsDelivered(): number {
    return this.hints.delivered;
  }

  get inFlightCoordinations(): number {
    return this.kernel.inFlightCoordinations;
  }

  bucketProps(bucket: string): BucketProps {
    return this.kernel.props.get(bucket);
  }

  /** The largest n of any bucket (or of the defaults): the replica count a membership plan must keep. */
  largestBucketN(): number {
    return this.kernel.props.largestN();
  }

  /** The live user named `name` (decision 0025). */
  user(name: string): UserEntry | undefined {
    return this.usersGossip.table.user(name);
  }

  /** Every live user. */
  users(): UserEntry[] {
    return this.usersGossip.table.live();
  }

  /** Whether any user exists: from then on every client front end asks for credentials. */
  get hasUsers(): boolean {
    return this.usersGossip.table.liveCount > 0;
  }

  /** Whether requests may go to `node`: SWIM does not hold it down and no request to it timed out just now. */
  isAlive(node: NodeId, nowMs: number): boolean {
    return node === this.kernel.self || this.kernel.failureDetector.isAlive(node, nowMs);
  }

  /** What SWIM failure detection believes of a member (decision 0014); undefined for a non-member. */
  liveness(node: NodeId): MemberLiveness | undefined {
    return this.swim.liveness(node);
  }

  /** What failure detection and the view's gossip did since start: probes, failed probes, gossip rounds, views adopted. */
  gossipCounters(): GossipCounters {
    const gossip = this.viewGossip;
    return { ...this.swim.counters, viewGossipRounds: gossip?.rounds ?? 0, viewsAdopted: gossip?.viewsAdopted ?? 0 };
  }

  /**
   * Whether a timer is still waited for. Most deadlines end cancelled (their request was answered
   * in time), and the runtime skips those rather than step the core with an event that does nothing.
   */
  isTimerPending(timerId: number): boolean {
    return this.kernel.isTimerPending(timerId);
  }

  takeEffects(): Effect[] {
    return this.kernel.takeEffects();
  }

  /**
   * What takeEffects() returns, but the list stays the core's and is emptied by clearEffects():
   * a runtime stepping the core once per event would otherwise allocate a new effect list per event.
   */
  pendingEffects(): ReusableList<Effect> {
    return this.kernel.pendingEffects();
  }

  clearEffects(): void {
    this.kernel.clearEffects();
  }

  step(event: Event): void {
    const kernel = this.kernel;
    kernel.nowMs = event.nowMs;
    switch (event.type) {
      case 'clientGet':
      case 'clientPut':
        this.onClientRequest(event);
        return;
      case 'clientSetProps':
        if (this.refusedByView(event.requestId)) return;
        this.propsGossip.onClientChange(
          event.requestId,
          event.bucket,
          { kind: 'set', patch: event.patch },
          event.realtimeMs ?? 0,
        );
        return;
      case 'clientDeleteProps':
        if (this.refusedByView(event.requestId)) return;
        this.propsGossip.onClientChange(event.requestId, event.bucket, { kind: 'delete' }, event.realtimeMs);
        return;
      case 'clientSetUser':
        if (this.refusedByView(event.requestId)) return;
        this.usersGossip.onClientSet(event.requestId, event.user, event.realtimeMs);
        return;
      case 'clientDeleteUser':
        if (this.refusedByView(event.requestId)) return;
        this.usersGossip.onClientDelete(event.requestId, event.name, event.realtimeMs);
        return;
      case 'message':
        this.onMessage(event.from, event.message);
        return;
      case 'timerFired':
        kernel.fireTimer(event.timerId);
        return;
      case 'storeDone':
        kernel.completeStore(event.token, event.result);
        return;
      case 'storeMinted':
        kernel.completeMinted(event.token, event.record, event.encoded);
        return;
      case 'hintAdded':
        kernel.completeHint(event.token, event.ok);
        return;
      case 'hintsLoaded':
        this.hints.onHintsLoaded(event.target, event.hints);
        return;
      case 'tick':
        this.onTick();
        return;
      case 'antiEntropyRequested':
        this.antiEntropy.requestRepair(event.partition);
        return;
      case 'viewMade':
        this.viewGossip?.adoptLocal(event.view, event.kind);
        return;
      case 'storeScanned':
        if (this.handoff?.onScanned(event.scanId, event.ok, event.entries) === true) return;
        this.antiEntropy.onScanned(event.scanId, event.ok, event.entries);
        return;
      default:
        assertNever(event);
    }
  }

  private onClientRequest(event: Extract<Event, { type: 'clientGet' | 'clientPut' }>): void {
    const kernel = this.kernel;
    const origin = { kind: 'client', requestId: event.requestId } as const;
    const refused = this.viewRefusalError();
    if (refused !== undefined) {
      kernel.answer(origin, { ok: false, error: refused });
      return;
    }
    if (kernel.inFlightCoordinations >= kernel.settings.inFlightCoordinationsMax) {
      kernel.answer(origin, {
        ok: false,
        error: {
          code: 'EVERWRITE_OVERLOADED',
          message: `${kernel.inFlightCoordinations} requests in flight; try again`,
        },
      });
      return;
    }
    if (event.type === 'clientGet') {
      routeClientRequest(kernel, { kind: 'get', origin, bucket: event.bucket, key: event.key, options: event.options });
    } else {
      routeClientRequest(kernel, {
        kind: 'put',
        origin,
        bucket: event.bucket,
        key: event.key,
        context: event.context,
        write: event.write,
        realtimeMs: event.realtimeMs,
        options: event.options,
      });
    }
  }

  private onMessage(from: NodeId, message: Message): void {
    const kernel = this.kernel;
    kernel.failureDetector.markUp(from);
    switch (message.type) {
      case 'replicaPut':
        return onReplicaPut(kernel, from, message);
      case 'replicaGet':
        return onReplicaGet(kernel, from, message);
      case 'reap':
        return onReap(kernel, from, message);
      case 'forward': {
        const refused = this.viewRefusalError();
        if (refused !== undefined) return kernel.send(from, { type: 'forwardReply', id: message.id, error: refused });
        return onForward(kernel, from, message);
      }
      case 'viewDigest':
      case 'viewPull':
      case 'viewFull':
        this.viewGossip?.onMessage(from, message, kernel.nowMs);
        return;
      case 'props':
        return this.propsGossip.onEntries(from, message.entries);
      case 'propsDigest':
        return this.propsGossip.onDigest(from, message.slots, message.reply);
      case 'users':
        return this.usersGossip.onEntries(from, message.entries);
      case 'usersDigest':
        return this.usersGossip.onDigest(from, message.slots, message.reply);
      case 'liveness':
        return this.swim.onMessage(from, message, this.kernel.nowMs);
      case 'treeExchange':
        return this.antiEntropy.onMessage(from, message.ringVersion, message.exchange);
      case 'handoffBatch':
      case 'handoffAck':
      case 'handoffDone':
        return this.handoff?.onMessage(from, message);
      case 'catchUp':
        return this.catchUp.onMessage(from, message.ringVersion, message.catchUp);
      case 'keyListRequest':
      case 'keyListReply':
        // Served by the runtime (it reads storage pages; runtime/key-listing.ts, decision 0030), which never steps them here.
        return;
      case 'replicaPutAck':
      case 'replicaGetReply':
      case 'forwardReply':
        return kernel.deliverReply(from, message);
      default:
        assertNever(message);
    }
  }

  private onTick(): void {
    this.hints.onTick();
    this.propsGossip.onTick();
    this.usersGossip.onTick();
    const kernel = this.kernel;
    this.viewGossip?.onTick(kernel.nowMs);
    if (kernel.ring !== this.watchedRing) {
      this.watchedRing = kernel.ring;
      this.swim.setMembers(livenessMembers(this.viewGossip?.view, kernel.ring));
    }
    this.swim.onTick(kernel.nowMs);
    this.handoff?.onTick();
    this.antiEntropy.onTick();
    this.catchUp.onTick();
  }
}
