// Why: the seam between the pure NodeCore and the world (docs/ARCHITECTURE.md section 2). It turns client calls
// and port callbacks into events, steps the core, and executes the effects it returns against the
// ports. The same runtime runs in production (TCP, disk, system clock) and in the simulator.
import { EverwriteError, type ErrorCode } from '../core/base/errors.ts';
import { defaultLimits } from '../core/base/limits.ts';
import { IdTable } from '../core/base/id-table.ts';
import { ReusableList } from '../core/base/reusable-list.ts';
import type { NodeId } from '../core/base/ids.ts';
import type { Effect, Outcome } from '../core/node/effects.ts';
import type { ClientWrite, Event, LoadedHint, ScannedRecord, StoreResult } from '../core/node/events.ts';
import type { NodeCore } from '../core/node/node-core.ts';
import type { HandoffRecord, Message, PropsEntry, UserEntry } from '../core/protocol/messages.ts';
import type { NewUser } from '../core/node/users.ts';
import { keyHash, partitionOf, placementOf, ringToJSON } from '../core/ring/index.ts';
import { encodeStorageKey } from '../core/protocol/storage-key.ts';
import type { DigestFunction } from '../core/base/hash.ts';
import {
  contextForClient,
  contextTooLarge,
  decodeRecord,
  defaultClientContextBound,
  encodeContext,
  type ClientContextBound,
  type Sibling,
  type VersionedRecord,
  type VersionVector,
} from '../core/versioning/index.ts';
import type { ContextSeal } from './context-seal.ts';
import { decodeMessages, encodeMessages } from '../core/protocol/codec/message-codec.ts';
import { nodeWireBytes } from './wire-bytes.ts';
import type { ClusterView, ViewGossip } from '../core/cluster-view/index.ts';
import { propsStorageKey, userStorageKey } from './stores/node-metadata.ts';
import { clearHandoffProgress, saveHandoffProgress } from './stores/handoff-progress-store.ts';
import { assertNever } from '../core/base/assert.ts';
import type { LocalStore, StoreAnswer, StoredVersion } from './stores/local-store.ts';
import { targetOfHintId, type HintStore } from './stores/hint-store.ts';
import type { CoordinatedOperation, RuntimeObserver } from './observer.ts';
import type { Clock, StorageEngine, TimerHandle, Timers, Transport } from './ports.ts';
import { reservedNamespaces } from './ports.ts';
import { KeyLister } from './key-listing.ts';
import type { KeyListReplicaContext } from './key-list-replica.ts';
import type {
  AntiEntropyReport,
  BucketProps,
  KeyListing,
  KeyListOptions,
  DeleteRequest,
  GetResult,
  KeyPlacementReport,
  KvService,
  MemberState,
  NodeStatus,
  PutRequest,
  RequestOptions,
  SiblingView,
  UserDirectory,
  WriteSink,
} from './service.ts';

export interface RuntimeLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface NodeRuntimeOptions {
  readonly core: NodeCore;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly transport: Transport;
  readonly store: LocalStore;
  readonly hints: HintStore;
  /** Peer addresses, for status only. */
  readonly addresses: ReadonlyMap<NodeId, string>;
  readonly logger?: RuntimeLogger;
  /** How often the core gets a `tick` event, in ms. Default 100. */
  readonly tickIntervalMs?: number;
  /** Largest value a client may write, in bytes. */
  readonly valueBytesMax: number;
  /** MD5, the same key hash the core places keys with. */
  readonly md5: DigestFunction;
  /** Seals every context handed to a client and opens every one a client sends (decision 0011). */
  readonly contextSeal: ContextSeal;
  /**
   * Largest frame the transport takes, in bytes. Default defaultLimits.frameBytesMax. A dispatch's
   * messages to one peer that encode larger are split into several frames; one message larger
   * than this alone is refused (logged), never thrown into the timer or callback that flushed it.
   */
  readonly frameBytesMax?: number;
  /** Called when the core adopts a newer cluster view: persist it, update the transport's peers (decision 0015). */
  readonly onViewAdopted?: (view: ClusterView) => void;
  /**
   * Called once when this node left the cluster (decision 0017: it was leaving, its transfers are
   * done and the completed view excludes it). The process may stop and exit 0.
   */
  readonly onLeftCluster?: (viewVersion: number) => void;
  /** Told of operations, forwards, sloppy writes, read repairs and hints (metrics); none when absent. */
  readonly observer?: RuntimeObserver;
  /** How long a replica may take to answer one page of a key listing (decision 0030). Default 5000. */
  readonly keyListPageTimeoutMs?: number;
}

type Success = Extract<Outcome, { ok: true }>;

/**
 * A client call waiting for its reply effect: a promise's (`shape` turns the outcome into the call's
 * answer) or a write sink's (putInto). Every waiter has every field, so settling sees one shape.
 */
interface Waiter {
  readonly resolve: ((answer: never) => void) | undefined;
  readonly reject: ((error: EverwriteError) => void) | undefined;
  readonly shape: ((outcome: Success) => unknown) | undefined;
  readonly sink: WriteSink | undefined;
  readonly operation: CoordinatedOperation;
  /** Monotonic ms the request was stepped at, for its latency. */
  readonly startedMs: number;
}

/** A hint handoff to one target in progress: since when, and how many hints it acknowledged so far. */
interface Handoff {
  readonly startedMs: number;
  delivered: number;
}

/** Keys read per slice while a partition is dropped. */
const dropSliceKeys = 256;

/** The smallest key a partition scan starts from: every storage key is at least two bytes, the counter floor one. */
const firstStorageKey = new Uint8Array([0, 0]);

const silentLogger: RuntimeLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/**
 * How long a node that left waits for its hints to be handed out, in ms: less than the 30 s the
 * members keep a departed node as a transport peer (start-node.ts), so they still take them.
 */
const leaveHintsWaitMsMax = 20_000;
const leaveHintsPollMs = 250;

export class NodeRuntime implements KvService, UserDirectory {
  private readonly waiters = new IdTable<Waiter>();
  /** Events waiting to be stepped; see dispatch(). */
  private readonly events = new ReusableList<Event>();
  private draining = false;
  /** Messages the events of one dispatch produced, by peer: one frame per peer. */
  private readonly outbox = new Map<NodeId, ReusableList<Message>>();
  private outboxMessages = 0;
  private readonly deadlines: DeadlineQueues;
  private nextRequestId = 1;
  private running = false;
  private tickHandle: { cancel(): void } | undefined;
  private readonly logger: RuntimeLogger;
  private readonly engine: StorageEngine;
  /** The reply shapes, bound once to this node's seal. */
  private readonly shapeGetResult: (outcome: Success) => GetResult;
  private readonly shapeWriteResult: (outcome: Success) => { readonly context: string };
  private readonly observer: RuntimeObserver | undefined;
  /** The type of the event being stepped: tells a read repair's push from anti-entropy's (both replicaPut id 0). */
  private steppingType: Event['type'] | undefined;
  private readonly handoffs = new Map<string, Handoff>();
  private readonly keyLister: KeyLister;

  constructor(private readonly options: NodeRuntimeOptions) {
    this.logger = options.logger ?? silentLogger;
    const seal = options.contextSeal;
    const bound = options.core.clientContextBound;
    this.shapeGetResult = (outcome) => toGetResult(outcome.record, seal, bound);
    this.shapeWriteResult = (outcome) =>
      new WrittenContext(outcome.context ?? outcome.record.context, outcome.record.siblings, seal, bound);
    this.deadlines = new DeadlineQueues(options.clock, options.timers, (timerId, nowMs) => {
      if (options.core.isTimerPending(timerId)) this.dispatch({ type: 'timerFired', nowMs, timerId });
    });
    this.engine = options.store.engine;
    this.observer = options.observer;
    this.keyLister = new KeyLister(
      {
        replicaContext: (bucket) => this.keyListReplicaContext(bucket),
        isAlive: (node) => options.core.isAlive(node, options.clock.monotonicMs()),
        send: (to, message) => this.sendNow(to, message),
        timers: options.timers,
      },
      options.core.self,
      options.keyListPageTimeoutMs,
    );
  }

  private keyListReplicaContext(bucket: string): KeyListReplicaContext {
    const core = this.options.core;
    return {
      engine: this.engine,
      md5: this.options.md5,
      ring: core.ring,
      self: core.self,
      n: core.bucketProps(bucket).n,
    };
  }

  /** A message outside the core's dispatch (key listing's pages): one frame of its own, errors logged as flushOutbox does. */
  private sendNow(to: NodeId, message: Message): void {
    if (!this.running) return;
    try {
      this.sendFrames(to, [message]);
    } catch (error) {
      this.logger.error(
        { to, type: message.type, error: String(error) },
        'sending to a peer failed; the message is dropped',
      );
    }
  }

  get core(): NodeCore {
    return this.options.core;
  }

  async start(): Promise<void> {
    this.options.transport.receive((from, frame) => this.onFrame(from, frame));
    await this.options.transport.start();
    this.running = true;
    this.scheduleTick();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.tickHandle?.cancel();
    await this.options.transport.stop();
    this.deadlines.clear();
    this.keyLister.stop();
    for (const [, waiter] of this.waiters.entries()) {
      const error = new EverwriteError('EVERWRITE_UNAVAILABLE', 'node is shutting down');
      if (waiter.sink !== undefined) waiter.sink.failed(error);
      else waiter.reject?.(error);
    }
    this.waiters.clear();
  }

  // ---- KvService -------------------------------------------------------------------------------

  get(bucket: string, key: string, options: RequestOptions = {}): Promise<GetResult> {
    return this.ask(
      {
        type: 'clientGet',
        nowMs: this.options.clock.monotonicMs(),
        requestId: this.nextRequestId++,
        bucket,
        key,
        options: requestOptions(options),
      },
      this.shapeGetResult,
    );
  }

  /** Not async: its answer is the write's own promise, not a second one resolved with it (two more microtask turns per write). */
  put(request: PutRequest): Promise<{ readonly context: string }> {
    const tooLarge = this.valueTooLarge(request);
    if (tooLarge !== undefined) return Promise.reject(tooLarge);
    return this.write(request.bucket, request.key, request.context, putWrite(request), request.options);
  }

  putInto(request: PutRequest, sink: WriteSink): void {
    const tooLarge = this.valueTooLarge(request);
    if (tooLarge !== undefined) {
      sink.failed(tooLarge);
      return;
    }
    if (!this.running) {
      sink.failed(notRunningError());
      return;
    }
    let event: ClientPutEvent;
    try {
      event = this.putEvent(request.bucket, request.key, request.context, putWrite(request), request.options);
    } catch (error) {
      sink.failed(error as EverwriteError);
      return;
    }
    this.waiters.add(event.requestId, {
      resolve: undefined,
      reject: undefined,
      shape: undefined,
      sink,
      operation: 'put',
      startedMs: event.nowMs,
    });
    this.dispatch(event);
  }

  /** EVERWRITE_VALUE_TOO_LARGE for a put whose value is over the node's limit; undefined when it fits. */
  private valueTooLarge(request: PutRequest): EverwriteError | undefined {
    if (request.value.length <= this.options.valueBytesMax) return undefined;
    return new EverwriteError(
      'EVERWRITE_VALUE_TOO_LARGE',
      `value is ${request.value.length} bytes; the limit is ${this.options.valueBytesMax}`,
    );
  }

  delete(request: DeleteRequest): Promise<{ readonly context: string }> {
    return this.write(
      request.bucket,
      request.key,
      request.context,
      { value: new Uint8Array(0), contentType: 'application/octet-stream', deleted: true },
      request.options,
    );
  }

  async getBucketProps(bucket: string): Promise<BucketProps> {
    if (bucket.length === 0) throw new EverwriteError('EVERWRITE_BAD_REQUEST', 'bucket must not be empty');
    return this.options.core.bucketProps(bucket);
  }

  async setBucketProps(bucket: string, patch: Readonly<Record<string, unknown>>): Promise<BucketProps> {
    const clock = this.options.clock;
    await this.ask(
      {
        type: 'clientSetProps',
        nowMs: clock.monotonicMs(),
        requestId: this.nextRequestId++,
        bucket,
        patch,
        realtimeMs: Math.floor(clock.realtimeMs()),
      },
      ignoreOutcome,
    );
    return this.options.core.bucketProps(bucket);
  }

  async deleteBucketProps(bucket: string): Promise<BucketProps> {
    const clock = this.options.clock;
    await this.ask(
      {
        type: 'clientDeleteProps',
        nowMs: clock.monotonicMs(),
        requestId: this.nextRequestId++,
        bucket,
        realtimeMs: Math.floor(clock.realtimeMs()),
      },
      ignoreOutcome,
    );
    return this.options.core.bucketProps(bucket);
  }

  // ---- UserDirectory (decision 0025) ----------------------------------------------------------

  hasUsers(): boolean {
    return this.options.core.hasUsers;
  }

  user(name: string): UserEntry | undefined {
    return this.options.core.user(name);
  }

  userByTokenHash(tokenHash: string): UserEntry | undefined {
    if (tokenHash === '') return undefined;
    return this.options.core.users().find((user) => user.tokenHash === tokenHash);
  }

  users(): UserEntry[] {
    return this.options.core.users();
  }

  async setUser(user: NewUser): Promise<void> {
    const clock = this.options.clock;
    await this.ask(
      {
        type: 'clientSetUser',
        nowMs: clock.monotonicMs(),
        requestId: this.nextRequestId++,
        user,
        realtimeMs: Math.floor(clock.realtimeMs()),
      },
      ignoreOutcome,
    );
  }

  async deleteUser(name: string): Promise<void> {
    const clock = this.options.clock;
    await this.ask(
      {
        type: 'clientDeleteUser',
        nowMs: clock.monotonicMs(),
        requestId: this.nextRequestId++,
        name,
        realtimeMs: Math.floor(clock.realtimeMs()),
      },
      ignoreOutcome,
    );
  }

  status(): NodeStatus {
    const core = this.options.core;
    const nowMs = this.options.clock.monotonicMs();
    const owned = new Map<NodeId, number>();
    for (const owner of core.ring.owners) owned.set(owner, (owned.get(owner) ?? 0) + 1);
    const livenessOf = (member: NodeId): MemberLivenessFields => {
      // The SWIM state, not isAlive: a request back-off is a routing hint, not a belief about the member.
      const liveness = core.liveness(member);
      const heard =
        liveness?.lastHeardMs === undefined
          ? {}
          : { lastHeardAgoMs: Math.max(0, Math.round(nowMs - liveness.lastHeardMs)) };
      return {
        state: liveness?.state ?? (core.isAlive(member, nowMs) ? 'up' : 'down'),
        ...(liveness === undefined ? {} : { incarnation: liveness.incarnation }),
        ...heard,
      };
    };
    const gossip = core.viewGossip;
    if (gossip !== undefined)
      return {
        ...viewStatus(core.self, gossip, owned, livenessOf),
        handoff: core.handoffStatus(),
        background: core.backgroundStatus(),
      };
    return {
      id: core.self,
      members: core.ring.members.map((member) => {
        const { state, ...rest } = livenessOf(member.id);
        return {
          id: member.id,
          address: this.options.addresses.get(member.id) ?? '',
          state,
          partitions: owned.get(member.id) ?? 0,
          ...rest,
        };
      }),
      background: core.backgroundStatus(),
    };
  }

  /** The live ring; with a cluster view, also its digest and each member's addresses and standing. */
  ring(): unknown {
    const core = this.options.core;
    const view = core.viewGossip?.view;
    if (view === undefined) return ringToJSON(core.ring);
    return { ...ringToJSON(view.ring), digest: view.digest, members: view.members.map((member) => ({ ...member })) };
  }

  /** Where a key lives now: its partition, N primaries and the nodes a request would use (fallbacks for dead primaries). */
  placement(bucket: string, key: string): KeyPlacementReport {
    const core = this.options.core;
    const nowMs = this.options.clock.monotonicMs();
    const partition = partitionOf(core.ring, keyHash(this.options.md5, bucket, key));
    const { primaries, targets } = placementOf(core.ring, partition, core.bucketProps(bucket).n, (node) =>
      core.isAlive(node, nowMs),
    );
    return {
      bucket,
      key,
      partition,
      primaries: [...primaries],
      targets: targets.map((entry) => ({
        node: entry.node,
        role: entry.role,
        ...(entry.role === 'fallback' ? { standsInFor: entry.standsInFor } : {}),
      })),
    };
  }

  listKeys(bucket: string, options: KeyListOptions = {}): KeyListing {
    if (!this.running) throw new EverwriteError('EVERWRITE_UNAVAILABLE', 'node is not running');
    if (bucket.length === 0) throw new EverwriteError('EVERWRITE_BAD_REQUEST', 'bucket must not be empty');
    return this.keyLister.list(bucket, this.options.core.ring.partitionCount, options);
  }

  async localGet(bucket: string, key: string): Promise<GetResult | undefined> {
    const partition = partitionOf(this.options.core.ring, keyHash(this.options.md5, bucket, key));
    const record = await this.options.store.read(partition, encodeStorageKey(bucket, key));
    // A tombstone, or a reaped key's context alone, is answered with a 404 that carries the context.
    return record.siblings.length === 0 && record.context.size === 0
      ? undefined
      : toGetResult(record, this.options.contextSeal, this.options.core.clientContextBound);
  }

  // ---- event loop ------------------------------------------------------------------------------

  /** `context` is the client's sealed token: opened here, so the core (and any peer it forwards to) sees only plain tokens this cluster made. */
  private write(
    bucket: string,
    key: string,
    context: string | undefined,
    write: ClientWrite,
    options: RequestOptions = {},
  ): Promise<{ readonly context: string }> {
    let event: ClientPutEvent;
    try {
      event = this.putEvent(bucket, key, context, write, options);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.ask(event, this.shapeWriteResult);
  }

  /** The clientPut event of a write; throws EVERWRITE_BAD_CONTEXT for a context this cluster did not seal. */
  private putEvent(
    bucket: string,
    key: string,
    context: string | undefined,
    write: ClientWrite,
    options: RequestOptions = {},
  ): ClientPutEvent {
    const plain = context === undefined ? undefined : this.options.contextSeal.open(context);
    const clock = this.options.clock;
    return {
      type: 'clientPut',
      nowMs: clock.monotonicMs(),
      requestId: this.nextRequestId++,
      bucket,
      key,
      context: plain,
      write,
      realtimeMs: clock.realtimeMs(),
      options: requestOptions(options),
    };
  }

  /** Steps the core with `event` (a client request) and settles with `shape(outcome)` when the core replies to it. */
  private ask<T>(event: Extract<Event, { requestId: number }>, shape: (outcome: Success) => T): Promise<T> {
    if (!this.running) return notRunning();
    return new Promise<T>((resolve, reject) => {
      this.waiters.add(event.requestId, {
        resolve: resolve as (answer: never) => void,
        reject,
        shape,
        sink: undefined,
        operation: operationOf(event),
        startedMs: event.nowMs,
      });
      this.dispatch(event);
    });
  }

  private scheduleTick(): void {
    if (!this.running) return;
    this.tickHandle = this.options.timers.after(this.options.tickIntervalMs ?? 100, () => {
      // A tick that throws is reported (the process guard logs it) but never stops the ticks:
      // without them no hint is delivered and no props digest is sent again.
      try {
        this.dispatch({ type: 'tick', nowMs: this.options.clock.monotonicMs() });
      } finally {
        this.scheduleTick();
      }
    });
  }

  private onFrame(from: NodeId, frame: Uint8Array): void {
    let messages: Message[];
    try {
      messages = decodeMessages(frame, nodeWireBytes);
    } catch (error) {
      this.logger.warn({ from, error: String(error) }, 'dropped a malformed frame');
      return;
    }
    const nowMs = this.options.clock.monotonicMs();
    for (const message of messages) {
      if (message.type === 'handoffBatch')
        this.observer?.handoffBatch('incoming', message.records.length, handoffRecordBytes(message.records));
      // Key listing's pages read storage page by page; the runtime serves them (decision 0030).
      if (message.type === 'keyListRequest') this.keyLister.onRequest(from, message);
      else if (message.type === 'keyListReply') this.keyLister.onReply(from, message);
      else this.events.push({ type: 'message', nowMs, from, message });
    }
    this.drain();
  }

  /** Tells the observer what a message this node sends means to an operator. */
  private observeSend(message: Message): void {
    const observer = this.observer as RuntimeObserver;
    if (message.type === 'forward') observer.forwardSent();
    else if (message.type === 'handoffBatch')
      observer.handoffBatch('outgoing', message.records.length, handoffRecordBytes(message.records));
    else if (message.type !== 'replicaPut') return;
    else if (message.hintFor !== undefined) observer.sloppyReplicaSent();
    // Anti-entropy pushes its id-0 replicaPut after a store answer; a read repair's follows replies or a deadline.
    else if (message.id === 0 && this.steppingType !== 'storeDone') observer.readRepairSent();
  }

  /**
   * Steps the core with `event` and executes every effect it produced. An event that an effect
   * produces at once (a synchronous store answer) is queued and stepped in the same call rather
   * than recursively, and the messages of all of them leave as one frame per peer at the end.
   */
  dispatch(event: Event): void {
    this.events.push(event);
    this.drain();
  }

  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    const events = this.events;
    try {
      for (let index = 0; index < events.count; index++) this.step(events.at(index));
    } finally {
      events.clear();
      this.draining = false;
      this.flushOutbox();
    }
  }

  private step(event: Event): void {
    const core = this.options.core;
    this.steppingType = event.type;
    core.step(event);
    const effects = core.pendingEffects();
    try {
      for (let index = 0; index < effects.count; index++) {
        const effect = effects.at(index);
        if (effect.type !== 'send') {
          this.execute(effect);
          continue;
        }
        if (this.observer !== undefined) this.observeSend(effect.message);
        let queue = this.outbox.get(effect.to);
        if (queue === undefined) this.outbox.set(effect.to, (queue = new ReusableList<Message>()));
        queue.push(effect.message);
        this.outboxMessages += 1;
      }
    } finally {
      core.clearEffects();
    }
  }

  /**
   * One frame per peer; each peer's message list is kept and reused (peers are few and long-lived).
   * It runs at the end of every dispatch, often inside a timer or an I/O callback, so nothing it
   * meets (a frame too large, a transport error) is thrown: it is logged, and the messages concerned
   * are lost as a dropped frame would be (every request has a deadline).
   */
  private flushOutbox(): void {
    if (this.outboxMessages === 0) return;
    this.outboxMessages = 0;
    // forEach with a callback made once: a for-of over the map allocates an entry pair per peer until optimised.
    this.outbox.forEach(this.flushPeer);
  }

  private readonly flushPeer = (messages: ReusableList<Message>, to: NodeId): void => {
    if (messages.count === 0) return;
    try {
      this.sendFrames(to, messages.backing, messages.count);
    } catch (error) {
      this.logger.error(
        { to, messages: messages.count, error: String(error) },
        'sending to a peer failed; the messages are dropped',
      );
    } finally {
      messages.clear();
    }
  };

  /**
   * Sends the first `count` of `messages` as one frame, or halves them until each frame fits; a
   * lone oversized message is refused.
   */
  private sendFrames(to: NodeId, messages: readonly Message[], count = messages.length): void {
    const frame = encodeMessages(messages, nodeWireBytes, count);
    const frameBytesMax = this.options.frameBytesMax ?? defaultLimits.frameBytesMax;
    if (frame.length <= frameBytesMax) {
      this.options.transport.send(to, frame);
      return;
    }
    if (count === 1) {
      this.logger.error(
        { to, type: (messages[0] as Message).type, frameBytes: frame.length, frameBytesMax },
        'refused to send a message larger than the frame limit',
      );
      return;
    }
    const half = count >> 1;
    this.sendFrames(to, messages.slice(0, half));
    this.sendFrames(to, messages.slice(half, count));
  }

  private execute(effect: Exclude<Effect, { type: 'send' }>): void {
    switch (effect.type) {
      case 'reply':
        return this.settle(effect.requestId, effect.outcome);
      case 'setTimer':
        this.deadlines.add(effect.delayMs, effect.timerId);
        return;
      case 'storeRead':
      case 'storeUpdate':
      case 'storeMerge':
      case 'storeReap':
        return this.runStore(effect);
      case 'hintAdd':
        this.addHint(effect);
        return;
      case 'hintLoad':
        this.loadHints(effect.limit);
        return;
      case 'hintRemove':
        this.removeHints(effect.ids);
        return;
      case 'propsSave':
        this.saveProps(effect.entries);
        return;
      case 'propsForget':
        this.forgetProps(effect.buckets);
        return;
      case 'usersSave':
        this.saveMetadata(
          effect.entries.map((entry) => ({
            type: 'put' as const,
            key: userStorageKey(entry.name),
            value: new TextEncoder().encode(JSON.stringify(entry)),
          })),
          'saving users failed',
        );
        return;
      case 'usersForget':
        this.saveMetadata(
          effect.names.map((name) => ({ type: 'delete' as const, key: userStorageKey(name) })),
          'forgetting users failed',
        );
        return;
      case 'viewAdopted':
        this.options.onViewAdopted?.(effect.view);
        return;
      case 'storeScan':
        // On a later turn, so a rebuild of many slices leaves the event loop to requests between them.
        this.options.timers.after(0, () => void this.scanSlice(effect));
        return;
      case 'handoffProgressSave':
        saveHandoffProgress(this.engine, effect.progress).catch((error: unknown) =>
          this.logger.error(
            { error: String(error) },
            'saving handoff progress failed; the transfer resumes from an earlier key after a restart',
          ),
        );
        return;
      case 'handoffProgressClear':
        clearHandoffProgress(this.engine, effect.viewVersionMax).catch((error: unknown) =>
          this.logger.error({ error: String(error) }, 'clearing handoff progress failed'),
        );
        return;
      case 'storeDropPartition':
        this.dropPartition(effect.partition).catch((error: unknown) =>
          this.logger.error(
            { partition: effect.partition, error: String(error) },
            'dropping a partition failed; its records stay on disk',
          ),
        );
        return;
      case 'leftCluster':
        this.leaveOnceHintsAreOut(effect.viewVersion, this.options.clock.monotonicMs() + leaveHintsWaitMsMax);
        return;
      case 'log':
        this.logger[effect.level](effect.fields ?? {}, effect.message);
        return;
      default:
        assertNever(effect);
    }
  }

  private settle(requestId: number, outcome: Outcome): void {
    const waiter = this.waiters.take(requestId);
    if (waiter === undefined) return;
    if (this.observer !== undefined) this.observeOutcome(waiter, outcome);
    const sink = waiter.sink;
    if (outcome.ok) {
      if (sink !== undefined) sink.written();
      else
        (waiter.resolve as (answer: never) => void)((waiter.shape as (outcome: Success) => unknown)(outcome) as never);
      return;
    }
    const error = new EverwriteError(
      outcome.error.code as ErrorCode,
      outcome.error.message,
      outcome.error.details ?? {},
    );
    if (sink !== undefined) sink.failed(error);
    else (waiter.reject as (error: EverwriteError) => void)(error);
  }

  private observeOutcome(waiter: Waiter, outcome: Outcome): void {
    const observer = this.observer as RuntimeObserver;
    const seconds = (this.options.clock.monotonicMs() - waiter.startedMs) / 1000;
    observer.operationFinished(waiter.operation, outcome.ok ? 'ok' : outcome.error.code, seconds);
    if (outcome.ok && waiter.operation === 'get')
      observer.readAnswered(outcome.record.siblings.length, outcome.record.context.size);
  }

  /** Runs a store effect; a synchronous answer is stepped in this dispatch, a promised one later. */
  private runStore(effect: Extract<Effect, { type: 'storeRead' | 'storeUpdate' | 'storeMerge' | 'storeReap' }>): void {
    const store = this.options.store;
    let answer: StoreAnswer<StoredVersion>;
    try {
      if (effect.type === 'storeRead') answer = store.readVersion(effect.partition, effect.storageKey);
      else if (effect.type === 'storeUpdate')
        answer = store.mint(
          effect.partition,
          effect.storageKey,
          effect,
          effect.durable ? this.mintedReporter(effect.token) : undefined,
        );
      else if (effect.type === 'storeReap') answer = store.reap(effect.partition, effect.storageKey, effect.record);
      else answer = store.merge(effect.partition, effect.storageKey, effect.record, effect.durable, effect.encoded);
    } catch (error) {
      this.storeFailed(effect.token, error);
      return;
    }
    if (!(answer instanceof Promise)) {
      this.storeDone(effect.token, answer);
      return;
    }
    const token = effect.token;
    const startedMs =
      this.observer === undefined || effect.type === 'storeRead' ? undefined : this.options.clock.monotonicMs();
    answer.then(
      (version) => {
        if (startedMs !== undefined)
          this.observer?.storeWriteFinished((this.options.clock.monotonicMs() - startedMs) / 1000);
        this.storeDone(token, version);
      },
      (error: unknown) => this.storeFailed(token, error),
    );
  }

  /** Tells the core a durable mint's version before its fsync, so it can go to the replicas now. */
  private mintedReporter(token: number): (record: VersionedRecord, encoded: Uint8Array) => void {
    return (record, encoded) => {
      if (this.running)
        this.dispatch({ type: 'storeMinted', nowMs: this.options.clock.monotonicMs(), token, record, encoded });
    };
  }

  /**
   * Drops every key of a partition this node no longer replicates, a slice at a time; a key this
   * node's own actor versioned keeps its causal context (LocalStore.dropKey).
   */
  private async dropPartition(partition: number): Promise<void> {
    const actor = this.options.core.actor;
    let start: Uint8Array | undefined;
    for (;;) {
      const keys: Uint8Array[] = [];
      for await (const [key] of this.engine.scan(
        partition,
        start === undefined ? { limit: dropSliceKeys } : { start, limit: dropSliceKeys },
      ))
        keys.push(new Uint8Array(key));
      for (const key of keys) await this.options.store.dropKey(partition, key, actor);
      const last = keys[keys.length - 1];
      if (last === undefined || keys.length < dropSliceKeys || !this.running) return;
      start = new Uint8Array(last.length + 1);
      start.set(last);
    }
  }

  /** One slice of a partition scan (anti-entropy's tree rebuild), copied out of the engine, stepped as `storeScanned`. */
  private async scanSlice(effect: Extract<Effect, { type: 'storeScan' }>): Promise<void> {
    const entries: ScannedRecord[] = [];
    let ok = true;
    try {
      // From the smallest storage key on, past the partition's counter floor (counter-floors.ts).
      const options = { start: effect.start ?? firstStorageKey, limit: effect.limit };
      for await (const [storageKey, encoded] of this.engine.scan(effect.partition, options)) {
        entries.push({ storageKey: new Uint8Array(storageKey), encoded: new Uint8Array(encoded) });
        if (entries.length >= effect.limit) break;
      }
    } catch (error) {
      this.logger.error({ partition: effect.partition, error: String(error) }, 'partition scan failed');
      ok = false;
    }
    if (this.running)
      this.dispatch({
        type: 'storeScanned',
        nowMs: this.options.clock.monotonicMs(),
        scanId: effect.scanId,
        ok,
        entries,
      });
  }

  /**
   * Adopts a view made on this node rather than pulled (ViewGossip.adoptLocal, decision 0017: a
   * committed plan at the claimant, or a joining node's first cluster view) and carries out what
   * that produced (persisting it, announcing it) at once. False when the view does not qualify.
   */
  adoptView(view: ClusterView, kind: 'commit' | 'joining'): boolean {
    const adopted = this.options.core.viewGossip?.adoptLocal(view, kind) ?? false;
    // A tick steps nothing a tick would not, and carries out the effects the adoption left in the core.
    if (adopted) this.dispatch({ type: 'tick', nowMs: this.options.clock.monotonicMs() });
    return adopted;
  }

  /** Asks the node to exchange `partition` (every partition it holds when undefined) with its other replicas now. */
  requestAntiEntropy(partition: number | undefined): AntiEntropyReport {
    const partitionCount = this.options.core.ring.partitionCount;
    if (partition !== undefined && (!Number.isSafeInteger(partition) || partition < 0 || partition >= partitionCount)) {
      throw new EverwriteError('EVERWRITE_BAD_REQUEST', `partition must be an integer from 0 to ${partitionCount - 1}`);
    }
    if (this.running)
      this.dispatch({ type: 'antiEntropyRequested', nowMs: this.options.clock.monotonicMs(), partition });
    return this.antiEntropy();
  }

  antiEntropy(): AntiEntropyReport {
    const status = this.options.core.antiEntropyStatus();
    const nowMs = this.options.clock.monotonicMs();
    return {
      ...status,
      partitions: status.partitions.map((entry) => ({
        partition: entry.partition,
        lastExchangeAgoMs: entry.lastExchangeMs === undefined ? null : Math.round(nowMs - entry.lastExchangeMs),
        lastPeer: entry.lastPeer ?? null,
        exchanges: entry.exchanges,
        exchangesFailed: entry.exchangesFailed,
        keysRepaired: entry.keysRepaired,
        bytesExchanged: entry.bytesExchanged,
      })),
      catchUp: this.options.core.catchUpStatus(),
    };
  }

  private storeFailed(token: number, error: unknown): void {
    const everwrite =
      error instanceof EverwriteError
        ? error
        : new EverwriteError('EVERWRITE_STORAGE_FAILED', `storage failed: ${String(error)}`);
    if (!(error instanceof EverwriteError)) this.logger.error({ error: String(error) }, 'storage operation failed');
    this.storeDone(token, {
      ok: false,
      error: { code: everwrite.code, message: everwrite.message, details: everwrite.details },
    });
  }

  private storeDone(token: number, result: StoreResult): void {
    if (this.running) this.dispatch({ type: 'storeDone', nowMs: this.options.clock.monotonicMs(), token, result });
  }

  private addHint(effect: Extract<Effect, { type: 'hintAdd' }>): void {
    // A copy: the bytes may be a view of a network frame, and the engine may hold them a while.
    const hint = {
      target: effect.target,
      namespace: effect.partition,
      key: effect.storageKey,
      record: effect.encoded.slice(),
    };
    this.options.hints
      .add(hint, { durable: effect.durable })
      .then(
        (ok) => ok,
        (error: unknown) => {
          this.logger.error({ error: String(error) }, 'hint store failed');
          return false;
        },
      )
      .then((ok) => {
        this.observer?.hintStored(effect.target, ok);
        if (!ok)
          this.logger.warn({ event: 'hint_refused', target: effect.target }, 'hint not stored (store full or failing)');
        if (this.running)
          this.dispatch({ type: 'hintAdded', nowMs: this.options.clock.monotonicMs(), token: effect.token, ok });
      });
  }

  private loadHints(limit: number): void {
    for (const target of this.options.hints.targets()) {
      this.options.hints.forTarget(target, limit).then(
        (hints) => {
          const loaded: LoadedHint[] = [];
          for (const hint of hints) {
            try {
              decodeRecord(hint.record); // a damaged hint is dropped here, not sent to a primary that would refuse it every round
              loaded.push({ id: hint.id, partition: hint.namespace, storageKey: hint.key, encoded: hint.record });
            } catch {
              this.observer?.hintDropped('undecodable');
              this.logger.error({ event: 'hint_dropped', id: hint.id }, 'dropping an undecodable hint');
              this.options.hints
                .remove([hint.id])
                .catch((error: unknown) => this.logger.error({ error: String(error) }, 'hint removal failed'));
            }
          }
          const nowMs = this.options.clock.monotonicMs();
          if (loaded.length > 0 && !this.handoffs.has(target))
            this.handoffs.set(target, { startedMs: nowMs, delivered: 0 });
          if (this.running) this.dispatch({ type: 'hintsLoaded', nowMs, target: target as NodeId, hints: loaded });
        },
        (error: unknown) => this.logger.error({ error: String(error) }, 'hint load failed'),
      );
    }
  }

  /** Removes acknowledged hints; once a target has none left, logs the handoff (count, duration). */
  private removeHints(ids: readonly string[]): void {
    const hints = this.options.hints;
    hints.remove(ids).then(
      () => {
        for (const [target, count] of countByTarget(ids)) this.handoffProgressed(target, count);
      },
      (error: unknown) => this.logger.error({ error: String(error) }, 'hint removal failed'),
    );
  }

  private handoffProgressed(target: string, count: number): void {
    this.observer?.hintsDelivered(target, count);
    const handoff = this.handoffs.get(target);
    if (handoff === undefined) return;
    handoff.delivered += count;
    if (this.options.hints.pendingByTarget().some((entry) => entry.target === target)) return;
    this.handoffs.delete(target);
    const durationMs = Math.round(this.options.clock.monotonicMs() - handoff.startedMs);
    this.logger.info(
      { event: 'hints_handed_off', target, count: handoff.delivered, durationMs },
      `handed off ${handoff.delivered} hints to ${target}`,
    );
  }

  /** Hints held per target: what /admin/hints and the metrics show. */
  /**
   * A node that left hands its hints out before it goes: delivered to their targets, or for a target
   * down, relayed as hints to a staying member (the core's hint relay, decision 0017). It waits at
   * most until `deadlineMs` and logs what it could not hand out.
   */
  private leaveOnceHintsAreOut(viewVersion: number, deadlineMs: number): void {
    const held = this.hintsPending().reduce((sum, entry) => sum + entry.count, 0);
    if (held > 0 && this.running && this.options.clock.monotonicMs() < deadlineMs) {
      this.options.timers.after(leaveHintsPollMs, () => this.leaveOnceHintsAreOut(viewVersion, deadlineMs));
      return;
    }
    if (held > 0)
      this.logger.warn(
        { event: 'left_with_hints', hints: held },
        'leaving with hints no member took: their writes keep the copies they were acknowledged with',
      );
    this.options.onLeftCluster?.(viewVersion);
  }

  hintsPending(): Array<{ readonly target: string; readonly count: number; readonly bytes: number }> {
    return this.options.hints.pendingByTarget();
  }

  private saveProps(entries: readonly PropsEntry[]): void {
    const operations = entries.map((entry) => ({
      type: 'put' as const,
      key: propsStorageKey(entry.bucket),
      value: new TextEncoder().encode(JSON.stringify(entry)),
    }));
    this.saveMetadata(operations, 'saving bucket properties failed');
  }

  private forgetProps(buckets: readonly string[]): void {
    this.saveMetadata(
      buckets.map((bucket) => ({ type: 'delete' as const, key: propsStorageKey(bucket) })),
      'forgetting bucket properties failed',
    );
  }

  /** A background write: its failure is logged (the gossip repairs the table from peers after a restart). */
  private saveMetadata(operations: Parameters<StorageEngine['batch']>[1], failure: string): void {
    try {
      this.engine
        .batch(reservedNamespaces.metadata, operations, { durable: true })
        .catch((error: unknown) => this.logger.error({ error: String(error) }, failure));
    } catch (error) {
      this.logger.error({ error: String(error) }, failure);
    }
  }
}

/** /admin/status from the cluster view: every member's addresses, placement and liveness, and the view's agreement with the peers. */
/** What liveness says of a member in /admin/status (decision 0014). */
type MemberLivenessFields = {
  readonly state: MemberState;
  readonly incarnation?: number;
  readonly lastHeardAgoMs?: number;
};

function viewStatus(
  self: NodeId,
  gossip: ViewGossip,
  owned: ReadonlyMap<NodeId, number>,
  liveness: (member: NodeId) => MemberLivenessFields,
): NodeStatus {
  const view = gossip.view;
  const refusal = gossip.refusal;
  return {
    id: self,
    members: view.members.map((member) => ({
      id: member.id,
      address: member.peer,
      ...liveness(member.id),
      partitions: owned.get(member.id) ?? 0,
      peer: member.peer,
      http: member.http ?? null,
      resp: member.resp ?? null,
      zone: member.zone ?? null,
      weight: member.weight,
      membership: member.state,
      share: (owned.get(member.id) ?? 0) / view.partitionCount,
    })),
    view: {
      version: view.version,
      partitionCount: view.partitionCount,
      digest: view.digest,
      conflict:
        refusal === undefined
          ? null
          : {
              reason: refusal.reason,
              conflictingPeers: refusal.conflictingPeers,
              agreeingPeers: refusal.agreeingPeers,
            },
      peers: [...gossip.peerSummaries()].map(([id, summary]) => ({ id, ...summary })),
    },
  };
}

/** The metrics label of a request; changes to the replicated admin tables (bucket props, users) count as 'props'. */
function operationOf(event: Extract<Event, { requestId: number }>): CoordinatedOperation {
  if (event.type === 'clientGet') return 'get';
  if (event.type === 'clientPut') return event.write.deleted ? 'delete' : 'put';
  return 'props';
}

/** A handoff batch's bytes as the core's handoff progress counts them: storage keys plus records. */
function handoffRecordBytes(records: readonly HandoffRecord[]): number {
  let bytes = 0;
  for (const record of records) bytes += record.storageKey.length + record.record.length;
  return bytes;
}

function countByTarget(ids: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const id of ids) {
    const target = targetOfHintId(id);
    if (target !== undefined) counts.set(target, (counts.get(target) ?? 0) + 1);
  }
  return counts;
}

function notRunningError(): EverwriteError {
  return new EverwriteError('EVERWRITE_UNAVAILABLE', 'node is not running');
}

function notRunning(): Promise<never> {
  return Promise.reject(notRunningError());
}

type ClientPutEvent = Extract<Event, { type: 'clientPut' }>;

/** The ClientWrite of a put request. */
function putWrite(request: PutRequest): ClientWrite {
  return {
    value: request.value,
    contentType: request.contentType,
    deleted: false,
    supersedeLocal: request.supersedeLocal === true,
  };
}

function ignoreOutcome(): undefined {
  return undefined;
}

/**
 * A write's answer. The token is encoded and sealed only if someone reads it (a RESP SET never
 * does); a context too large to hand out is then a coded error to that reader. Private fields
 * (#), so the answer's only properties are the ones its interface names.
 */
class WrittenContext {
  #encoded: string | undefined;
  readonly #vector: VersionVector;
  readonly #siblings: readonly Sibling[];
  readonly #seal: ContextSeal;
  readonly #bound: ClientContextBound;

  constructor(vector: VersionVector, siblings: readonly Sibling[], seal: ContextSeal, bound: ClientContextBound) {
    this.#vector = vector;
    this.#siblings = siblings;
    this.#seal = seal;
    this.#bound = bound;
  }

  get context(): string {
    return (this.#encoded ??= sealContext(this.#vector, this.#siblings, this.#seal, this.#bound));
  }
}

/** A read's answer; its context too is sealed only if someone reads it (a RESP GET never does). */
class ReadResult extends WrittenContext implements GetResult {
  constructor(
    readonly siblings: readonly SiblingView[],
    record: VersionedRecord,
    seal: ContextSeal,
    bound: ClientContextBound,
  ) {
    super(record.context, record.siblings, seal, bound);
  }
}

/**
 * The sealed token of `vector`, cut down to what a client is handed (decision 0041);
 * EVERWRITE_CONTEXT_TOO_LARGE when even the siblings' writers would not fit in a header.
 */
function sealContext(
  vector: VersionVector,
  siblings: readonly Sibling[],
  seal: ContextSeal,
  bound: ClientContextBound,
): string {
  const handed = contextForClient(vector, siblings, bound);
  if (handed === undefined) throw contextTooLarge(vector, 'be handed to a client within a header');
  return seal.seal(encodeContext(handed));
}

/**
 * Deadlines, one FIFO per delay. Every coordination arms one and most end before it is due, so
 * a real timer each (allocated, linked, fired for nothing) is replaced by a queue entry; each
 * queue keeps one real timer, for its head. Entries of one delay are due in the order added,
 * because the monotonic clock never goes back.
 */
class DeadlineQueues {
  private readonly queues = new Map<
    number,
    { dueMs: number[]; timerIds: number[]; head: number; armed: TimerHandle | undefined }
  >();

  constructor(
    private readonly clock: Clock,
    private readonly timers: Timers,
    private readonly fire: (timerId: number, nowMs: number) => void,
  ) {}

  add(delayMs: number, timerId: number): void {
    const nowMs = this.clock.monotonicMs();
    let queue = this.queues.get(delayMs);
    if (queue === undefined) this.queues.set(delayMs, (queue = { dueMs: [], timerIds: [], head: 0, armed: undefined }));
    queue.dueMs.push(nowMs + delayMs);
    queue.timerIds.push(timerId);
    if (queue.armed === undefined) this.arm(delayMs, nowMs);
  }

  clear(): void {
    for (const queue of this.queues.values()) queue.armed?.cancel();
    this.queues.clear();
  }

  private arm(delayMs: number, nowMs: number): void {
    const queue = this.queues.get(delayMs);
    if (queue === undefined || queue.head >= queue.dueMs.length) return;
    const waitMs = Math.max(0, (queue.dueMs[queue.head] as number) - nowMs);
    queue.armed = this.timers.after(waitMs, () => {
      queue.armed = undefined;
      this.expire(delayMs);
    });
  }

  private expire(delayMs: number): void {
    const queue = this.queues.get(delayMs);
    if (queue === undefined) return;
    const nowMs = this.clock.monotonicMs();
    while (queue.head < queue.dueMs.length && (queue.dueMs[queue.head] as number) <= nowMs) {
      const timerId = queue.timerIds[queue.head] as number;
      queue.head += 1;
      // One deadline that throws must not strand the rest of the queue (their requests would
      // never end): the error is rethrown on its own turn, where the process guard logs it.
      try {
        this.fire(timerId, nowMs);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
    if (queue.head > 1024 && queue.head * 2 > queue.dueMs.length) {
      queue.dueMs.splice(0, queue.head);
      queue.timerIds.splice(0, queue.head);
      queue.head = 0;
    }
    if (this.queues.get(delayMs) === queue) this.arm(delayMs, nowMs);
  }
}

const noRequestOptions: RequestOptions = Object.freeze({});

function requestOptions(options: RequestOptions): RequestOptions {
  if (options.r === undefined && options.w === undefined && options.timeoutMs === undefined) return noRequestOptions;
  return {
    ...(options.r === undefined ? {} : { r: options.r }),
    ...(options.w === undefined ? {} : { w: options.w }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  };
}

export function toGetResult(
  record: VersionedRecord,
  seal: ContextSeal,
  bound: ClientContextBound = defaultClientContextBound,
): GetResult {
  const siblings = record.siblings.map((sibling) => ({
    value: sibling.stored.value,
    contentType: sibling.stored.contentType,
    lastModifiedMs: sibling.stored.lastModifiedMs,
    deleted: sibling.stored.deleted,
    timestamp: sibling.stored.timestamp,
  }));
  return new ReadResult(siblings, record, seal, bound);
}
