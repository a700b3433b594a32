// Why: the handoff (decision 0017) runs between NodeCores that hold cluster views, gossip them, scan
// their partitions and persist progress. This drives several such cores directly with a virtual
// clock, an in-memory message queue, Map-backed replicas and a Map of saved progress, so each handoff
// rule (gating, batching, resume after a crash, refusal, dual writes, completion, drop, leaving) is
// tested deterministically and fast. Faults are explicit: a crashed node neither receives nor
// answers; `intercept` sees every message and may drop it.
import { asNodeId, type NodeId } from '../../src/core/base/ids.ts';
import {
  commitPlan,
  firstView,
  type ClusterView,
  type PlanChange,
  type ViewMember,
} from '../../src/core/cluster-view/index.ts';
import type { Effect, HandoffProgress, Outcome } from '../../src/core/node/effects.ts';
import type { Event, StoreResult } from '../../src/core/node/events.ts';
import { NodeCore } from '../../src/core/node/node-core.ts';
import type { NodeCoreSettings } from '../../src/core/node/options.ts';
import type { Message } from '../../src/core/protocol/messages.ts';
import { actorOf, emptyRecord, encodeRecord, type VersionedRecord } from '../../src/core/versioning/index.ts';
import { mergeIntoReplica, mintVersion } from '../../src/core/node/replica-versions.ts';
import { md5 } from './core-cluster.ts';

interface Scheduled {
  readonly atMs: number;
  readonly sequence: number;
  readonly node: NodeId;
  readonly event: Event;
}

export interface ViewNode {
  core: NodeCore;
  /** Persisted: survives a crash. */
  readonly records: Map<string, VersionedRecord>;
  readonly progress: Map<string, HandoffProgress>;
  view: ClusterView;
  readonly dropped: number[];
  leftAtVersion: number | undefined;
  incarnation: number;
}

export const recordKey = (partition: number, storageKey: Uint8Array): string =>
  `${partition}:${Buffer.from(storageKey).toString('hex')}`;
const progressKey = (progress: HandoffProgress): string =>
  `${progress.viewVersion}/${progress.partition}/${progress.target}`;

export class ViewCluster {
  nowMs = 0;
  readonly nodes = new Map<NodeId, ViewNode>();
  readonly crashed = new Set<NodeId>();
  readonly outcomes = new Map<number, Outcome>();
  readonly logs: Array<{
    readonly node: NodeId;
    readonly level: string;
    readonly message: string;
    readonly fields?: Readonly<Record<string, unknown>>;
  }> = [];
  /** Every message, before delivery; false drops it. */
  intercept: ((from: NodeId, to: NodeId, message: Message) => boolean) | undefined;
  private queue: Scheduled[] = [];
  private sequence = 0;
  private nextRequestId = 1;

  constructor(
    view: ClusterView,
    readonly settings: Partial<NodeCoreSettings> = {},
    /** One hop's delay in virtual ms; a test may raise it midway (slow client requests). */
    public latencyMs = 1,
  ) {
    for (const member of view.members) this.start(member.id, view, new Map(), new Map());
  }

  private start(
    id: NodeId,
    view: ClusterView,
    records: Map<string, VersionedRecord>,
    progress: Map<string, HandoffProgress>,
    incarnation = 1,
  ): void {
    const core = new NodeCore({
      self: id,
      actor: actorOf(id, incarnation),
      ring: view.ring,
      view,
      md5,
      settings: this.settings,
      idBase: incarnation * 2 ** 32,
      handoffProgress: [...progress.values()],
    });
    this.nodes.set(id, { core, records, progress, view, dropped: [], leftAtVersion: undefined, incarnation });
  }

  /** A new node, started as a singleton cluster of its own (decision 0017's joining node before it joins). */
  addSingleton(member: ViewMember, partitionCount: number): void {
    this.start(member.id, firstView(partitionCount, [member]), new Map(), new Map());
  }

  node(id: string): ViewNode {
    const node = this.nodes.get(asNodeId(id));
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  get ids(): NodeId[] {
    return [...this.nodes.keys()];
  }

  /** Commits `changes` at node `at` (its view) and gives joining nodes the transition view; returns it. */
  commit(at: string, changes: readonly PlanChange[], replicaCount = 3): ClusterView {
    const node = this.node(at);
    const transition = commitPlan(node.view, { baseVersion: node.view.version, changes }, replicaCount);
    if (node.core.viewGossip?.adoptLocal(transition, 'commit') !== true) throw new Error('the commit was not adopted');
    this.collect(asNodeId(at), node);
    for (const change of changes) {
      if (change.kind !== 'join') continue;
      const joiner = this.node(change.member.id);
      joiner.core.viewGossip?.adoptLocal(transition, 'joining');
      this.collect(change.member.id, joiner);
    }
    return transition;
  }

  crash(id: string): void {
    const self = asNodeId(id);
    this.crashed.add(self);
    this.queue = this.queue.filter((scheduled) => scheduled.node !== self);
  }

  /** Restarts a crashed node over its persisted records, view and handoff progress. */
  restart(id: string): void {
    const node = this.node(id);
    const self = asNodeId(id);
    this.crashed.delete(self);
    this.start(self, node.view, node.records, node.progress, node.incarnation + 1);
  }

  put(at: string, bucket: string, key: string, value: string, options: { readonly w?: number } = {}): number {
    const requestId = this.nextRequestId++;
    const write = { value: new TextEncoder().encode(value), contentType: 'text/plain', deleted: false };
    this.schedule(asNodeId(at), 0, (nowMs) => ({
      type: 'clientPut',
      nowMs,
      requestId,
      bucket,
      key,
      context: undefined,
      write,
      realtimeMs: 1_700_000_000_000 + nowMs,
      options,
    }));
    return requestId;
  }

  get(at: string, bucket: string, key: string): number {
    const requestId = this.nextRequestId++;
    this.schedule(asNodeId(at), 0, (nowMs) => ({ type: 'clientGet', nowMs, requestId, bucket, key, options: {} }));
    return requestId;
  }

  outcome(requestId: number): Outcome | undefined {
    return this.outcomes.get(requestId);
  }

  /** Values of the keys a node stores in `partition` (live siblings), by storage key hex. */
  held(id: string, partition?: number): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const [key, record] of this.node(id).records) {
      if (partition !== undefined && !key.startsWith(`${partition}:`)) continue;
      out.set(key, record.siblings.map((sibling) => new TextDecoder().decode(sibling.stored.value)).sort());
    }
    return out;
  }

  private schedule(node: NodeId, delayMs: number, build: (nowMs: number) => Event): void {
    const atMs = this.nowMs + delayMs;
    this.queue.push({ atMs, sequence: this.sequence++, node, event: build(atMs) });
  }

  /** Steps one node with a message as if `from` had sent it. */
  deliver(to: string, from: string, message: Message): void {
    const node = this.node(to);
    node.core.step({ type: 'message', nowMs: this.nowMs, from: asNodeId(from), message });
    this.collect(asNodeId(to), node);
  }

  run(untilMs: number): void {
    for (;;) {
      this.queue.sort((a, b) => a.atMs - b.atMs || a.sequence - b.sequence);
      const next = this.queue[0];
      if (next === undefined || next.atMs > untilMs) break;
      this.queue.shift();
      this.nowMs = next.atMs;
      if (this.crashed.has(next.node)) continue;
      const node = this.nodes.get(next.node)!;
      node.core.step(next.event);
      this.collect(next.node, node);
    }
    this.nowMs = Math.max(this.nowMs, untilMs);
  }

  /** Advances virtual time, ticking every live node every `tickMs`. */
  runFor(durationMs: number, tickMs = 100): void {
    const end = this.nowMs + durationMs;
    while (this.nowMs < end) {
      for (const id of this.ids) if (!this.crashed.has(id)) this.schedule(id, 0, (nowMs) => ({ type: 'tick', nowMs }));
      this.run(Math.min(end, this.nowMs + tickMs));
    }
  }

  /** Runs until `done()` or `limitMs` of virtual time pass; returns whether it became true. */
  runUntil(done: () => boolean, limitMs = 120_000): boolean {
    const end = this.nowMs + limitMs;
    while (this.nowMs < end) {
      if (done()) return true;
      this.runFor(100);
    }
    return done();
  }

  private collect(id: NodeId, node: ViewNode): void {
    for (const effect of node.core.takeEffects()) this.execute(id, node, effect);
  }

  private execute(from: NodeId, node: ViewNode, effect: Effect): void {
    const done = (token: number, result: StoreResult): void =>
      this.schedule(from, 0, (nowMs) => ({ type: 'storeDone', nowMs, token, result }));
    switch (effect.type) {
      case 'send':
        if (this.intercept !== undefined && !this.intercept(from, effect.to, effect.message)) return;
        if (!this.crashed.has(effect.to) && this.nodes.has(effect.to))
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
        return done(effect.token, {
          ok: true,
          record: node.records.get(recordKey(effect.partition, effect.storageKey)) ?? emptyRecord,
        });
      case 'storeUpdate': {
        const key = recordKey(effect.partition, effect.storageKey);
        const next = mintVersion(node.records.get(key) ?? emptyRecord, effect);
        node.records.set(key, next);
        return done(effect.token, { ok: true, record: next });
      }
      case 'storeMerge': {
        const key = recordKey(effect.partition, effect.storageKey);
        const next = mergeIntoReplica(node.records.get(key) ?? emptyRecord, effect.record).record;
        node.records.set(key, next);
        return done(effect.token, { ok: true, record: next });
      }
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
      case 'hintAdd':
        this.schedule(from, 0, (nowMs) => ({ type: 'hintAdded', nowMs, token: effect.token, ok: true }));
        return;
      case 'viewAdopted':
        node.view = effect.view;
        return;
      case 'handoffProgressSave':
        node.progress.set(progressKey(effect.progress), effect.progress);
        return;
      case 'handoffProgressClear':
        for (const [key, progress] of node.progress)
          if (progress.viewVersion <= effect.viewVersionMax) node.progress.delete(key);
        return;
      case 'storeDropPartition':
        node.dropped.push(effect.partition);
        for (const key of [...node.records.keys()])
          if (key.startsWith(`${effect.partition}:`)) node.records.delete(key);
        return;
      case 'leftCluster':
        node.leftAtVersion = effect.viewVersion;
        return;
      case 'log':
        this.logs.push({
          node: from,
          level: effect.level,
          message: effect.message,
          ...(effect.fields === undefined ? {} : { fields: effect.fields }),
        });
        return;
      default:
        return;
    }
  }
}
