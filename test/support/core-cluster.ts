// Why: drives several NodeCores directly, with a virtual clock, an in-memory message queue and
// Map-backed replicas, so the protocol logic can be tested deterministically and fast, without the
// runtime, sockets or disks. A replica mints and merges by the core's own rules (replica-versions.ts),
// as the runtime's LocalStore does. Faults are explicit: a "down" node neither receives nor answers;
// a node with a failing disk answers, but every read and replica write of its store fails.
import { createHash } from 'node:crypto';
import { asNodeId, type NodeId } from '../../src/core/base/ids.ts';
import { EverwriteError } from '../../src/core/base/errors.ts';
import type { Effect, Outcome } from '../../src/core/node/effects.ts';
import type { RequestOptions } from '../../src/core/protocol/contract.ts';
import type { Event, LoadedHint, StoreResult } from '../../src/core/node/events.ts';
import { NodeCore } from '../../src/core/node/node-core.ts';
import type { NodeCoreSettings } from '../../src/core/node/options.ts';
import { createRing, type Ring } from '../../src/core/ring/index.ts';
import type { Message } from '../../src/core/protocol/messages.ts';
import {
  actorOf,
  emptyRecord,
  encodeRecord,
  mergeContexts,
  recordsEqual,
  type VersionVector,
  type VersionedRecord,
} from '../../src/core/versioning/index.ts';
import { mergeIntoReplica, mintVersion } from '../../src/core/node/replica-versions.ts';

export const md5 = (bytes: Uint8Array): Uint8Array => createHash('md5').update(bytes).digest();

interface Scheduled {
  atMs: number;
  sequence: number;
  node: NodeId;
  event: Event;
}

interface SimNode {
  core: NodeCore;
  records: Map<string, VersionedRecord>;
  /** As LocalStore's counter floors: the contexts of removed context-only records, by partition. */
  floors: Map<number, VersionVector>;
  hints: Map<string, { target: NodeId; hint: LoadedHint }>;
}

const diskFailure: StoreResult = {
  ok: false,
  error: { code: 'EVERWRITE_STORAGE_FAILED', message: 'the disk failed (injected)' },
};

const recordKey = (partition: number, storageKey: Uint8Array): string =>
  `${partition}:${Buffer.from(storageKey).toString('hex')}`;

export class CoreCluster {
  nowMs = 0;
  readonly nodes = new Map<NodeId, SimNode>();
  readonly down = new Set<NodeId>();
  /** Nodes whose store fails every read and merge (a replica's part of a request), as a dying disk does. */
  readonly failingDisks = new Set<NodeId>();
  readonly outcomes = new Map<number, Outcome>();
  private queue: Scheduled[] = [];
  private sequence = 0;
  private nextRequestId = 1;
  private hintSequence = 0;
  messagesSent = 0;
  /** Every log effect, in order. */
  readonly logs: Array<{ readonly node: NodeId; readonly level: string; readonly message: string }> = [];
  private readonly ring: Ring;
  private readonly settings: Partial<NodeCoreSettings>;
  private incarnations = 1;
  /** Told of every effect before it is carried out (the golden transcripts print them: transcript.ts). */
  onEffect: ((node: NodeId, nowMs: number, effect: Effect) => void) | undefined;
  /** Per-node offset of the wall clock client puts carry (realtimeMs), in ms: 10_000 is a clock 10 s ahead. Default 0. */
  readonly clockSkewMs = new Map<string, number>();

  constructor(
    size: number,
    settings: Partial<NodeCoreSettings> = {},
    readonly latencyMs = 1,
  ) {
    const ids = Array.from({ length: size }, (_, index) => asNodeId(`n${index + 1}`));
    const ring = createRing({ partitionCount: 64, members: ids.map((id) => ({ id })) });
    this.ring = ring;
    this.settings = settings;
    for (const id of ids) {
      this.nodes.set(id, {
        core: new NodeCore({ self: id, actor: actorOf(id, 1), ring, md5, settings }),
        records: new Map(),
        floors: new Map(),
        hints: new Map(),
      });
    }
  }

  /**
   * Restarts a node as a new incarnation (a new epoch, new id range) over what it stored, or over an
   * empty store when `wipe` (a lost disk): pending events addressed to it are dropped.
   */
  restart(id: string, options: { readonly wipe: boolean }): void {
    const node = this.node(id);
    const self = asNodeId(id);
    this.queue = this.queue.filter((scheduled) => scheduled.node !== self);
    this.incarnations += 1;
    if (options.wipe) {
      node.records.clear();
      node.floors.clear();
    }
    node.core = new NodeCore({
      self,
      actor: actorOf(self, this.incarnations),
      ring: this.ring,
      md5,
      settings: this.settings,
      idBase: this.incarnations * 2 ** 32,
    });
  }

  /** Steps one node with a message as if `from` had sent it, and returns the effects it produced. */
  deliver(to: string, from: string, message: Message): Effect[] {
    const node = this.node(to);
    node.core.step({ type: 'message', nowMs: this.nowMs, from: asNodeId(from), message });
    const effects = node.core.takeEffects();
    for (const effect of effects) this.execute(asNodeId(to), node, effect);
    return effects;
  }

  get ids(): NodeId[] {
    return [...this.nodes.keys()];
  }

  node(id: string): SimNode {
    const node = this.nodes.get(asNodeId(id));
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  private schedule(node: NodeId, delayMs: number, build: (nowMs: number) => Event): void {
    const atMs = this.nowMs + delayMs;
    this.queue.push({ atMs, sequence: this.sequence++, node, event: build(atMs) });
  }

  get(at: string, bucket: string, key: string, options: RequestOptions = {}): number {
    const requestId = this.nextRequestId++;
    this.schedule(asNodeId(at), 0, (nowMs) => ({ type: 'clientGet', nowMs, requestId, bucket, key, options }));
    return requestId;
  }

  put(
    at: string,
    bucket: string,
    key: string,
    value: string,
    context?: string,
    options: RequestOptions = {},
    deleted = false,
    supersedeLocal = false,
  ): number {
    const requestId = this.nextRequestId++;
    const write = { value: new TextEncoder().encode(value), contentType: 'text/plain', deleted, supersedeLocal };
    const skewMs = this.clockSkewMs.get(at) ?? 0;
    this.schedule(asNodeId(at), 0, (nowMs) => ({
      type: 'clientPut',
      nowMs,
      requestId,
      bucket,
      key,
      context,
      write,
      realtimeMs: 1_700_000_000_000 + nowMs + skewMs,
      options,
    }));
    return requestId;
  }

  tickAll(): void {
    for (const id of this.ids) this.schedule(id, 0, (nowMs) => ({ type: 'tick', nowMs }));
  }

  /** Runs events in time order until the queue is empty or `untilMs` is reached. */
  run(untilMs = this.nowMs + 60_000): void {
    for (;;) {
      this.queue.sort((a, b) => a.atMs - b.atMs || a.sequence - b.sequence);
      const next = this.queue[0];
      if (next === undefined || next.atMs > untilMs) break;
      this.queue.shift();
      this.nowMs = next.atMs;
      if (this.down.has(next.node)) continue;
      const node = this.nodes.get(next.node)!;
      node.core.step(next.event);
      for (const effect of node.core.takeEffects()) this.execute(next.node, node, effect);
    }
    this.nowMs = Math.max(this.nowMs, untilMs === Infinity ? this.nowMs : untilMs);
  }

  /** Advances virtual time in steps, ticking every node, so periodic work (hints, props) runs. */
  runFor(durationMs: number, tickMs = 100): void {
    const end = this.nowMs + durationMs;
    while (this.nowMs < end) {
      this.tickAll();
      this.run(Math.min(end, this.nowMs + tickMs));
    }
  }

  outcome(requestId: number): Outcome {
    const outcome = this.outcomes.get(requestId);
    if (outcome === undefined) throw new Error(`request ${requestId} has no answer yet`);
    return outcome;
  }

  record(requestId: number): VersionedRecord {
    const outcome = this.outcome(requestId);
    if (!outcome.ok) throw new EverwriteError(outcome.error.code as never, outcome.error.message);
    return outcome.record;
  }

  values(requestId: number): string[] {
    return this.record(requestId)
      .siblings.filter((sibling) => !sibling.stored.deleted)
      .map((sibling) => new TextDecoder().decode(sibling.stored.value))
      .sort();
  }

  localRecords(id: string): VersionedRecord[] {
    return [...this.node(id).records.values()];
  }

  private execute(from: NodeId, node: SimNode, effect: Effect): void {
    this.onEffect?.(from, this.nowMs, effect);
    const done = (token: number, result: StoreResult): void =>
      this.schedule(from, 0, (nowMs) => ({ type: 'storeDone', nowMs, token, result }));
    switch (effect.type) {
      case 'send':
        this.messagesSent += 1;
        if (!this.down.has(effect.to))
          this.schedule(effect.to, this.latencyMs, (nowMs) => ({
            type: 'message',
            nowMs,
            from,
            message: effect.message,
          }));
        return;
      case 'reply':
        this.outcomes.set(effect.requestId, effect.outcome);
        return;
      case 'setTimer':
        this.schedule(from, effect.delayMs, (nowMs) => ({ type: 'timerFired', nowMs, timerId: effect.timerId }));
        return;
      case 'storeRead':
        if (this.failingDisks.has(from)) return done(effect.token, diskFailure);
        return done(effect.token, {
          ok: true,
          record: node.records.get(recordKey(effect.partition, effect.storageKey)) ?? emptyRecord,
        });
      case 'storeUpdate': {
        const key = recordKey(effect.partition, effect.storageKey);
        const counterFloor = node.floors.get(effect.partition)?.get(effect.actor) ?? 0;
        const held = node.records.get(key) ?? emptyRecord;
        const current =
          (held.context.get(effect.actor) ?? 0) >= counterFloor
            ? held
            : { context: new Map(held.context).set(effect.actor, counterFloor), siblings: held.siblings };
        let next: VersionedRecord;
        try {
          next = mintVersion(current, effect);
        } catch (error) {
          if (!(error instanceof EverwriteError)) throw error;
          return done(effect.token, { ok: false, error: { code: error.code, message: error.message } });
        }
        node.records.set(key, next);
        return done(effect.token, { ok: true, record: next });
      }
      case 'storeMerge': {
        if (this.failingDisks.has(from)) return done(effect.token, diskFailure);
        const key = recordKey(effect.partition, effect.storageKey);
        const next = mergeIntoReplica(node.records.get(key) ?? emptyRecord, effect.record).record;
        node.records.set(key, next);
        return done(effect.token, { ok: true, record: next });
      }
      case 'storeReap': {
        const key = recordKey(effect.partition, effect.storageKey);
        const current = node.records.get(key) ?? emptyRecord;
        // As LocalStore.reap: a tombstone goes and the causal context stays; a context-only record goes.
        if (!recordsEqual(current, effect.record)) return done(effect.token, { ok: true, record: current });
        if (current.siblings.length > 0) {
          const contextOnly = { context: current.context, siblings: [] };
          node.records.set(key, contextOnly);
          return done(effect.token, { ok: true, record: contextOnly });
        }
        node.records.delete(key);
        node.floors.set(
          effect.partition,
          mergeContexts(node.floors.get(effect.partition) ?? new Map(), current.context),
        );
        return done(effect.token, { ok: true, record: emptyRecord });
      }
      case 'hintAdd': {
        const id = `${effect.target}:${String(this.hintSequence++).padStart(8, '0')}`;
        node.hints.set(id, {
          target: effect.target,
          hint: { id, partition: effect.partition, storageKey: effect.storageKey, encoded: effect.encoded.slice() },
        });
        this.schedule(from, 0, (nowMs) => ({ type: 'hintAdded', nowMs, token: effect.token, ok: true }));
        return;
      }
      case 'hintLoad': {
        const byTarget = new Map<NodeId, LoadedHint[]>();
        for (const { target, hint } of node.hints.values())
          byTarget.set(target, [...(byTarget.get(target) ?? []), hint].slice(0, effect.limit));
        for (const [target, hints] of byTarget)
          this.schedule(from, 0, (nowMs) => ({ type: 'hintsLoaded', nowMs, target, hints }));
        return;
      }
      case 'hintRemove':
        for (const id of effect.ids) node.hints.delete(id);
        return;
      case 'storeScan': {
        const prefix = `${effect.partition}:`;
        const startHex = effect.start === undefined ? '' : Buffer.from(effect.start).toString('hex');
        const entries = [...node.records.entries()]
          .filter(([key]) => key.startsWith(prefix) && key.slice(prefix.length) >= startHex)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .slice(0, effect.limit)
          .map(([key, record]) => ({
            storageKey: new Uint8Array(Buffer.from(key.slice(prefix.length), 'hex')),
            encoded: new Uint8Array(encodeRecord(record)),
          }));
        this.schedule(from, 0, (nowMs) => ({ type: 'storeScanned', nowMs, scanId: effect.scanId, ok: true, entries }));
        return;
      }
      case 'log':
        this.logs.push({ node: from, level: effect.level, message: effect.message });
        return;
      case 'propsSave':
      case 'propsForget':
        return;
    }
  }
}
