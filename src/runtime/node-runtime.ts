// Why: the seam between the pure NodeCore and the world (DESIGN.md section 2). It turns client calls
// and port callbacks into events, steps the core, and executes the effects it returns against the
// ports. The same runtime runs in production (TCP, disk, system clock) and in the simulator.
import { EverwriteError, type ErrorCode } from '../core/base/errors.ts';
import type { NodeId } from '../core/base/ids.ts';
import type { Effect, Outcome } from '../core/node/effects.ts';
import type { ClientRequestOptions, ClientWrite, Event, LoadedHint, StoreResult } from '../core/node/events.ts';
import type { NodeCore } from '../core/node/node-core.ts';
import type { Message, PropsEntry } from '../core/protocol/messages.ts';
import { keyHash, partitionOf, ringToJSON } from '../core/ring/index.ts';
import { encodeStorageKey } from '../core/protocol/storage-key.ts';
import type { DigestFunction } from '../core/base/hash.ts';
import { decodeRecord, encodeContext, encodeRecord, type VersionedRecord } from '../core/versioning/index.ts';
import { decodeMessages, encodeMessages } from './message-codec.ts';
import { propsStorageKey } from './node-metadata.ts';
import type { LocalStore } from './local-store.ts';
import type { HintStore } from './hint-store.ts';
import type { Clock, StorageEngine, Timers, Transport } from './ports.ts';
import { reservedNamespaces } from './ports.ts';
import type { BucketProps, DeleteRequest, GetResult, KvService, NodeStatus, PutRequest, RequestOptions } from './service.ts';

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
}

type Waiter = { resolve: (outcome: Outcome) => void };

const silentLogger: RuntimeLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };


export class NodeRuntime implements KvService {
  private readonly waiters = new Map<number, Waiter>();
  private nextRequestId = 1;
  private running = false;
  private tickHandle: { cancel(): void } | undefined;
  private readonly logger: RuntimeLogger;
  private readonly engine: StorageEngine;

  constructor(private readonly options: NodeRuntimeOptions) {
    this.logger = options.logger ?? silentLogger;
    this.engine = options.store.engine;
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
    for (const waiter of this.waiters.values()) {
      waiter.resolve({ ok: false, error: { code: 'EVERWRITE_UNAVAILABLE', message: 'node is shutting down' } });
    }
    this.waiters.clear();
  }

  // ---- KvService -------------------------------------------------------------------------------

  async get(bucket: string, key: string, options: RequestOptions = {}): Promise<GetResult> {
    const record = await this.ask((requestId, nowMs) => ({ type: 'clientGet', nowMs, requestId, bucket, key, options: requestOptions(options) }));
    return toGetResult(record.record);
  }

  async put(request: PutRequest): Promise<{ readonly context: string }> {
    if (request.value.length > this.options.valueBytesMax) {
      throw new EverwriteError('EVERWRITE_VALUE_TOO_LARGE', `value is ${request.value.length} bytes; the limit is ${this.options.valueBytesMax}`);
    }
    return this.write(request.bucket, request.key, request.context, { value: request.value, contentType: request.contentType, deleted: false, supersedeLocal: request.supersedeLocal === true }, request.options);
  }

  delete(request: DeleteRequest): Promise<{ readonly context: string }> {
    return this.write(request.bucket, request.key, request.context, { value: new Uint8Array(0), contentType: 'application/octet-stream', deleted: true }, request.options);
  }

  async getBucketProps(bucket: string): Promise<BucketProps> {
    if (bucket.length === 0) throw new EverwriteError('EVERWRITE_BAD_REQUEST', 'bucket must not be empty');
    return this.options.core.bucketProps(bucket);
  }

  async setBucketProps(bucket: string, patch: Readonly<Record<string, unknown>>): Promise<BucketProps> {
    await this.ask((requestId, nowMs) => ({ type: 'clientSetProps', nowMs, requestId, bucket, patch }));
    return this.options.core.bucketProps(bucket);
  }

  status(): NodeStatus {
    const core = this.options.core;
    const nowMs = this.options.clock.monotonicMs();
    const owned = new Map<NodeId, number>();
    for (const owner of core.ring.owners) owned.set(owner, (owned.get(owner) ?? 0) + 1);
    return {
      id: core.self,
      members: core.ring.members.map((member) => ({
        id: member.id,
        address: this.options.addresses.get(member.id) ?? '',
        state: core.isAlive(member.id, nowMs) ? 'up' : 'down',
        partitions: owned.get(member.id) ?? 0,
      })),
    };
  }

  ring(): unknown {
    return ringToJSON(this.options.core.ring);
  }

  async localGet(bucket: string, key: string): Promise<GetResult | undefined> {
    const partition = partitionOf(this.options.core.ring, keyHash(this.options.md5, bucket, key));
    const record = await this.options.store.read(partition, encodeStorageKey(bucket, key));
    // A tombstone is a version too: the API answers it with a 404 that carries its context.
    return record.siblings.length === 0 ? undefined : toGetResult(record);
  }

  // ---- event loop ------------------------------------------------------------------------------

  private write(bucket: string, key: string, context: string | undefined, write: ClientWrite, options: RequestOptions = {}): Promise<{ readonly context: string }> {
    return this.ask((requestId, nowMs) => ({ type: 'clientPut', nowMs, requestId, bucket, key, context, write, realtimeMs: this.options.clock.realtimeMs(), options: requestOptions(options) })).then((outcome) => ({ context: encodeContext(outcome.context ?? outcome.record.context) }));
  }

  private ask(build: (requestId: number, nowMs: number) => Event): Promise<Extract<Outcome, { ok: true }>> {
    if (!this.running) return Promise.reject(new EverwriteError('EVERWRITE_UNAVAILABLE', 'node is not running'));
    const requestId = this.nextRequestId++;
    return new Promise<Outcome>((resolve) => {
      this.waiters.set(requestId, { resolve });
      this.dispatch(build(requestId, this.options.clock.monotonicMs()));
    }).then((outcome) => {
      if (outcome.ok) return outcome;
      throw new EverwriteError(outcome.error.code as ErrorCode, outcome.error.message, outcome.error.details ?? {});
    });
  }

  private scheduleTick(): void {
    if (!this.running) return;
    this.tickHandle = this.options.timers.after(this.options.tickIntervalMs ?? 100, () => {
      this.dispatch({ type: 'tick', nowMs: this.options.clock.monotonicMs() });
      this.scheduleTick();
    });
  }

  private onFrame(from: NodeId, frame: Uint8Array): void {
    let messages: Message[];
    try {
      messages = decodeMessages(frame);
    } catch (error) {
      this.logger.warn({ from, error: String(error) }, 'dropped a malformed frame');
      return;
    }
    for (const message of messages) this.dispatch({ type: 'message', nowMs: this.options.clock.monotonicMs(), from, message });
  }

  /** Steps the core with one event and executes every effect it produced. */
  dispatch(event: Event): void {
    const core = this.options.core;
    core.step(event);
    const effects = core.takeEffects();
    let outbox: Map<NodeId, Message[]> | undefined;
    for (const effect of effects) {
      if (effect.type === 'send') {
        outbox ??= new Map();
        const queue = outbox.get(effect.to);
        if (queue === undefined) outbox.set(effect.to, [effect.message]);
        else queue.push(effect.message);
      } else {
        this.execute(effect);
      }
    }
    if (outbox !== undefined) {
      for (const [to, messages] of outbox) this.options.transport.send(to, encodeMessages(messages));
    }
  }

  private execute(effect: Exclude<Effect, { type: 'send' }>): void {
    switch (effect.type) {
      case 'reply': {
        const waiter = this.waiters.get(effect.requestId);
        this.waiters.delete(effect.requestId);
        waiter?.resolve(effect.outcome);
        return;
      }
      case 'setTimer':
        this.options.timers.after(effect.delayMs, () => this.dispatch({ type: 'timerFired', nowMs: this.options.clock.monotonicMs(), timerId: effect.timerId }));
        return;
      case 'storeRead':
        return this.completeStore(effect.token, this.options.store.read(effect.partition, effect.storageKey));
      case 'storeUpdate':
        return this.completeStore(effect.token, this.options.store.mint(effect.partition, effect.storageKey, effect));
      case 'storeMerge':
        return this.completeStore(effect.token, this.options.store.merge(effect.partition, effect.storageKey, effect.record, effect.durable));
      case 'storeReap':
        this.options.store.reap(effect.partition, effect.storageKey, effect.record).catch((error: unknown) => this.logger.error({ error: String(error) }, 'reap failed'));
        return;
      case 'hintAdd':
        this.addHint(effect);
        return;
      case 'hintLoad':
        this.loadHints(effect.limit);
        return;
      case 'hintRemove':
        this.options.hints.remove(effect.ids).catch((error: unknown) => this.logger.error({ error: String(error) }, 'hint removal failed'));
        return;
      case 'propsSave':
        this.saveProps(effect.entries);
        return;
      case 'log':
        this.logger[effect.level](effect.fields ?? {}, effect.message);
        return;
    }
  }

  private completeStore(token: number, pending: Promise<VersionedRecord>): void {
    pending.then(
      (record) => this.storeDone(token, { ok: true, record }),
      (error: unknown) => {
        const everwrite = error instanceof EverwriteError ? error : new EverwriteError('EVERWRITE_STORAGE_FAILED', `storage failed: ${String(error)}`);
        if (!(error instanceof EverwriteError)) this.logger.error({ error: String(error) }, 'storage operation failed');
        this.storeDone(token, { ok: false, error: { code: everwrite.code, message: everwrite.message, details: everwrite.details } });
      },
    );
  }

  private storeDone(token: number, result: StoreResult): void {
    if (this.running) this.dispatch({ type: 'storeDone', nowMs: this.options.clock.monotonicMs(), token, result });
  }

  private addHint(effect: Extract<Effect, { type: 'hintAdd' }>): void {
    const hint = { target: effect.target, namespace: effect.partition, key: effect.storageKey, record: encodeRecord(effect.record) };
    this.options.hints.add(hint, { durable: effect.durable }).then(
      (ok) => ok,
      (error: unknown) => {
        this.logger.error({ error: String(error) }, 'hint store failed');
        return false;
      },
    ).then((ok) => {
      if (!ok) this.logger.warn({ target: effect.target }, 'hint not stored (store full or failing)');
      if (this.running) this.dispatch({ type: 'hintAdded', nowMs: this.options.clock.monotonicMs(), token: effect.token, ok });
    });
  }

  private loadHints(limit: number): void {
    for (const target of this.options.hints.targets()) {
      this.options.hints.forTarget(target, limit).then((hints) => {
        const loaded: LoadedHint[] = [];
        for (const hint of hints) {
          try {
            loaded.push({ id: hint.id, partition: hint.namespace, storageKey: hint.key, record: decodeRecord(hint.record) });
          } catch {
            this.logger.error({ id: hint.id }, 'dropping an undecodable hint');
            void this.options.hints.remove([hint.id]);
          }
        }
        if (this.running) this.dispatch({ type: 'hintsLoaded', nowMs: this.options.clock.monotonicMs(), target: target as NodeId, hints: loaded });
      }, (error: unknown) => this.logger.error({ error: String(error) }, 'hint load failed'));
    }
  }

  private saveProps(entries: readonly PropsEntry[]): void {
    const operations = entries.map((entry) => ({ type: 'put' as const, key: propsStorageKey(entry.bucket), value: new TextEncoder().encode(JSON.stringify(entry)) }));
    this.engine.batch(reservedNamespaces.metadata, operations, { durable: true }).catch((error: unknown) => this.logger.error({ error: String(error) }, 'saving bucket properties failed'));
  }
}

function requestOptions(options: RequestOptions): ClientRequestOptions {
  return { ...(options.r === undefined ? {} : { r: options.r }), ...(options.w === undefined ? {} : { w: options.w }), ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }) };
}

export function toGetResult(record: VersionedRecord): GetResult {
  return {
    context: encodeContext(record.context),
    siblings: record.siblings.map((sibling) => ({
      value: sibling.stored.value,
      contentType: sibling.stored.contentType,
      lastModifiedMs: sibling.stored.lastModifiedMs,
      deleted: sibling.stored.deleted,
      timestamp: sibling.stored.timestamp,
    })),
  };
}
