// Why: the shared machinery every node state machine uses: the outgoing effect list, id allocation,
// and the tables that route completions (storage, hints, timers, peer replies) back to whoever is
// waiting for them. Completions for ids nobody waits for any more are dropped, which is what makes
// late, duplicated and reordered answers harmless.
import { assert } from '../base/assert.ts';
import { IdTable } from '../base/id-table.ts';
import { ReusableList } from '../base/reusable-list.ts';
import type { DigestFunction } from '../base/hash.ts';
import type { NodeId } from '../base/ids.ts';
import type { Message } from '../protocol/messages.ts';
import type { Ring } from '../ring/index.ts';
import type { PendingRing } from '../cluster-view/view.ts';
import type { Actor, ClientContextBound, VersionedRecord } from '../versioning/index.ts';
import { encodeContext, encodeRecord, nextTimestamp, observeTimestamp } from '../versioning/index.ts';
import { BackgroundAdmission } from './background-admission.ts';
import type { BucketPropsTable } from './bucket-props.ts';
import type { Effect, Outcome } from './effects.ts';
import type { StoreResult } from './events.ts';
import type { FailureDetector } from './failure-detector.ts';
import type { NodeCoreSettings } from './options.ts';
import { RecentForwards } from './recent-forwards.ts';
import { defaultRequestLimits, type RequestLimits } from '../base/limits.ts';

/** Where the answer to a coordination goes: a local client, or the peer that forwarded it. */
export type Origin =
  | { readonly kind: 'client'; readonly requestId: number }
  | { readonly kind: 'forward'; readonly from: NodeId; readonly id: number };

export type ReplyHandler = (from: NodeId, message: Message) => void;

/**
 * The object forms of the completion callbacks, for a waiter that lives as an object anyway (a
 * coordination): registering it allocates nothing, where a closure per callback would be made for
 * every request (bench/alloc-per-set.ts).
 */
export interface ReplyListener {
  onReply(from: NodeId, message: Message): void;
}

export interface TimerListener {
  onTimer(): void;
}

export interface StoreListener {
  onStoreResult(result: StoreResult): void;
  /** A storeUpdate's version is minted and not durable yet (storeMinted). */
  onStoreMinted(record: VersionedRecord, encoded: Uint8Array): void;
}

type StoreWaiter = ((result: StoreResult) => void) | StoreListener;
type MintedWaiter = ((record: VersionedRecord, encoded: Uint8Array) => void) | StoreListener;

type DistributiveOmit<T, K extends keyof never> = T extends unknown ? Omit<T, K> : never;
type TokenEffect = Extract<Effect, { token: number }>;
type StoreTarget = { readonly partition: number; readonly storageKey: Uint8Array };

export class NodeKernel {
  nowMs = 0;
  inFlightCoordinations = 0;
  /** Hybrid logical clock: the largest timestamp this node has issued or seen (versioning/hlc.ts). */
  lastTimestamp = 0;
  private readonly effects = new ReusableList<Effect>();
  private lastId = 0;
  private readonly storeWaiters = new IdTable<StoreWaiter>();
  private readonly mintedWaiters = new IdTable<MintedWaiter>();
  private readonly hintWaiters = new IdTable<(ok: boolean) => void>();
  private readonly timerWaiters = new IdTable<(() => void) | TimerListener>();
  private readonly replyWaiters = new IdTable<ReplyHandler | ReplyListener>();
  /** Where each pending write goes, so its answer can be reported to `onStored` (the Merkle trees). */
  private readonly writeTargets = new IdTable<StoreTarget>();
  /**
   * The ring a committed membership change moves to, while its partitions are handed off (decision
   * 0017); undefined outside a transition. Writes also go to its primaries; reads follow `ring`.
   */
  pending: PendingRing | undefined = undefined;
  /** The admission controller every background task asks (background-admission.ts); coordinations report their latency to it. */
  readonly background: BackgroundAdmission;
  /** Forwarded requests already taken, so a duplicated frame is not coordinated twice (recent-forwards.ts). */
  readonly recentForwards = new RecentForwards();
  /** Steps down this replica's store took when asked (reaping.ts): tombstones reaped, context-only records removed. */
  readonly reapCounts = { tombstonesReaped: 0, contextsRemoved: 0 };
  /** Told of every record a write left on this replica (mint, merge, reap: client writes, replication, hints, read repair, anti-entropy, reaping). */
  onStored:
    ((partition: number, storageKey: Uint8Array, result: Extract<StoreResult, { ok: true }>) => void) | undefined;
  /** Whether this node is leaving and streaming its partitions away (handoff.ts handsOff). */
  handsOff: (() => boolean) | undefined;
  /** Where a node that has left sends a hint for a member it holds down (handoff.ts hintRelay). */
  hintRelay: ((target: NodeId) => NodeId | undefined) | undefined;
  /** The nodes a replica write of a partition this node is handing off is forwarded to (handoff.ts forwardTargets). */
  handoffForwardTargets: ((partition: number) => readonly NodeId[]) | undefined;
  /** How the contexts this node hands to clients are cut down (decision 0041). */
  readonly clientContextBound: ClientContextBound;

  constructor(
    readonly self: NodeId,
    readonly actor: Actor,
    public ring: Ring,
    readonly digest: DigestFunction,
    readonly settings: NodeCoreSettings,
    readonly props: BucketPropsTable,
    readonly failureDetector: FailureDetector,
    idBase = 0,
    /** What a client request may carry (core/base/limits.ts, decision 0035): checked where a request is planned. */
    readonly requestLimits: RequestLimits = defaultRequestLimits,
  ) {
    assert(Number.isSafeInteger(idBase) && idBase >= 0, 'idBase is a non-negative safe integer');
    this.lastId = idBase;
    this.clientContextBound = Object.freeze({ entriesMax: settings.clientContextEntriesMax, preferredActor: actor });
    this.background = new BackgroundAdmission({
      bytesPerSecondMax: settings.backgroundBytesPerSecondMax,
      transfersMax: settings.backgroundTransfersMax,
      latencyFactor: settings.backgroundLatencyFactor,
      latencyFloorMs: settings.backgroundLatencyFloorMs,
    });
  }

  nextId(): number {
    this.lastId += 1;
    return this.lastId;
  }

  emit(effect: Effect): void {
    if (
      (effect.type === 'storeUpdate' || effect.type === 'storeMerge' || effect.type === 'storeReap') &&
      this.onStored !== undefined
    )
      this.writeTargets.add(effect.token, effect);
    this.effects.push(effect);
  }

  takeEffects(): Effect[] {
    const taken = this.effects.toArray();
    this.effects.clear();
    return taken;
  }

  /** The effects emitted since the last clearEffects(), without handing them over (see NodeCore.pendingEffects). */
  pendingEffects(): ReusableList<Effect> {
    return this.effects;
  }

  clearEffects(): void {
    this.effects.clear();
  }

  isAlive(node: NodeId): boolean {
    return node === this.self || this.failureDetector.isAlive(node, this.nowMs);
  }

  /** `isAlive` as a function value, made once: every request plan passes it. */
  readonly isAliveNode = (node: NodeId): boolean => this.isAlive(node);

  send(to: NodeId, message: Message): void {
    this.emit({ type: 'send', to, message });
  }

  /** Sends a request whose replies (same id) go to `handler` until `forget(id)`. */
  request(to: NodeId, build: (id: number) => Message, handler: ReplyHandler | ReplyListener): number {
    const id = this.listen(handler);
    this.send(to, build(id));
    return id;
  }

  /** Allocates a request id whose replies go to `handler` until `forget(id)`; the caller sends the request. */
  listen(handler: ReplyHandler | ReplyListener): number {
    const id = this.nextId();
    this.replyWaiters.add(id, handler);
    return id;
  }

  forget(id: number): void {
    this.replyWaiters.delete(id);
  }

  deliverReply(from: NodeId, message: Message & { id: number }): void {
    const waiter = this.replyWaiters.get(message.id);
    if (waiter === undefined) return;
    if (typeof waiter === 'function') waiter(from, message);
    else waiter.onReply(from, message);
  }

  setTimer(delayMs: number, callback: (() => void) | TimerListener): number {
    const timerId = this.nextId();
    this.timerWaiters.add(timerId, callback);
    this.emit({ type: 'setTimer', timerId, delayMs });
    return timerId;
  }

  cancelTimer(timerId: number): void {
    this.timerWaiters.delete(timerId);
  }

  /** False once the timer fired or was cancelled: its `timerFired` event would change nothing. */
  isTimerPending(timerId: number): boolean {
    return this.timerWaiters.has(timerId);
  }

  fireTimer(timerId: number): void {
    const waiter = this.timerWaiters.take(timerId);
    if (waiter === undefined) return;
    if (typeof waiter === 'function') waiter();
    else waiter.onTimer();
  }

  store(
    effect: DistributiveOmit<
      Extract<TokenEffect, { type: 'storeRead' | 'storeUpdate' | 'storeMerge' | 'storeReap' }>,
      'token'
    >,
    callback: (result: StoreResult) => void,
  ): void {
    this.emit({ ...effect, token: this.storeToken(callback) } as Effect);
  }

  /**
   * Registers `callback` for a store answer and returns the token the store effect must carry;
   * `onMinted`, for a storeUpdate, hears of the minted version before it is durable (storeMinted).
   */
  storeToken(
    callback: (result: StoreResult) => void,
    onMinted?: (record: VersionedRecord, encoded: Uint8Array) => void,
  ): number {
    const token = this.nextId();
    this.storeWaiters.add(token, callback);
    if (onMinted !== undefined) this.mintedWaiters.add(token, onMinted);
    return token;
  }

  /** storeToken for a listener object, which hears of the answer and (a storeUpdate's) minted version. */
  storeTokenFor(listener: StoreListener): number {
    const token = this.nextId();
    this.storeWaiters.add(token, listener);
    this.mintedWaiters.add(token, listener);
    return token;
  }

  completeMinted(token: number, record: VersionedRecord, encoded: Uint8Array): void {
    this.observe(record);
    const waiter = this.mintedWaiters.take(token);
    if (waiter === undefined) return;
    if (typeof waiter === 'function') waiter(record, encoded);
    else waiter.onStoreMinted(record, encoded);
  }

  completeStore(token: number, result: StoreResult): void {
    const target = this.onStored === undefined ? undefined : this.writeTargets.take(token);
    if (result.ok) {
      this.observe(result.record);
      if (target !== undefined) this.onStored?.(target.partition, target.storageKey, result);
    }
    this.mintedWaiters.take(token);
    const waiter = this.storeWaiters.take(token);
    if (waiter === undefined) return;
    if (typeof waiter === 'function') waiter(result);
    else waiter.onStoreResult(result);
  }

  /** The timestamp of a write this node coordinates now, its clock reading `realtimeMs`. */
  stampWrite(realtimeMs: number): number {
    this.lastTimestamp = nextTimestamp(this.lastTimestamp, realtimeMs);
    return this.lastTimestamp;
  }

  /** Moves the clock past every version of a record this node has seen, so its later writes order after them. */
  observe(record: VersionedRecord): void {
    const siblings = record.siblings;
    for (let index = 0; index < siblings.length; index++)
      this.lastTimestamp = observeTimestamp(
        this.lastTimestamp,
        (siblings[index] as (typeof siblings)[number]).stored.timestamp,
      );
  }

  addHint(effect: Omit<Extract<Effect, { type: 'hintAdd' }>, 'token' | 'type'>, callback: (ok: boolean) => void): void {
    const token = this.nextId();
    this.hintWaiters.add(token, callback);
    this.emit({ type: 'hintAdd', token, ...effect });
  }

  completeHint(token: number, ok: boolean): void {
    this.hintWaiters.take(token)?.(ok);
  }

  /** Sends a coordination's outcome to whoever asked: a local client or a forwarding peer. */
  answer(origin: Origin, outcome: Outcome): void {
    if (origin.kind === 'client') {
      this.emit({ type: 'reply', requestId: origin.requestId, outcome });
    } else if (outcome.ok) {
      const context = outcome.context === undefined ? {} : { context: encodeContext(outcome.context) };
      this.send(origin.from, { type: 'forwardReply', id: origin.id, record: encodeRecord(outcome.record), ...context });
    } else {
      this.send(origin.from, { type: 'forwardReply', id: origin.id, error: outcome.error });
    }
  }
}
