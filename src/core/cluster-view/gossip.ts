// Why: a new view (an operator's change, made at one node) must reach every node without anyone
// pushing whole views around, and a node whose view cannot be reconciled with its peers' must stop
// answering before it answers wrongly (decision 0015). Every gossip interval this node sends its
// view's (version, partition count, digest) to one random member and to one seed, which answer
// with theirs; whichever side is older pulls the whole view from the other, so a version spreads epidemically, in O(log S)
// rounds. Every summary heard is kept per peer (bounded by the members) and compared with this
// node's view: peers that agree and peers that conflict. The node refuses to serve while the
// conflicting peers are at least as many as the agreeing ones counting itself, so a single
// misconfigured node stops itself without stopping the cluster it disagrees with. Pure: time comes
// in as nowMs, randomness from a seeded Prng, and output goes through the ports.
import type { EverwriteError } from '../base/errors.ts';
import type { NodeId } from '../base/ids.ts';
import type { Prng } from '../base/prng.ts';
import { decodeView } from './codec.ts';
import { relateViews } from './compare.ts';
import type { ViewMessage } from './messages.ts';
import { memberOf, summaryOf, type ClusterView, type ViewSummary } from './view.ts';

export interface ViewGossipPorts {
  send(to: NodeId, message: ViewMessage): void;
  /** This node now holds `view` (newer than `previous`): persist it, follow it with the transport. */
  adopted(view: ClusterView, previous: ClusterView): void;
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string, fields: Readonly<Record<string, unknown>>): void;
}

export interface ViewGossipOptions {
  readonly self: NodeId;
  readonly view: ClusterView;
  /** Members this node contacts every round besides a random one (the `--seeds` that are members). */
  readonly seeds: readonly NodeId[];
  /** Milliseconds between rounds. */
  readonly gossipIntervalMs: number;
  readonly prng: Prng;
  readonly ports: ViewGossipPorts;
  /**
   * The first round goes to every member, not one. A booting node thereby tells every peer it is
   * back at once, and their links to it, in a reconnect backoff grown while it was down or not yet
   * listening, dial it now instead of letting the first requests' frames go stale. At most one
   * message per member per boot. The node core sets it; the spread simulation does not.
   */
  readonly announceOnFirstRound?: boolean;
}

/** Why this node refuses to serve, for logs, the 503 and /admin/status. */
export interface ViewRefusal {
  readonly reason: string;
  readonly conflictingPeers: readonly NodeId[];
  readonly agreeingPeers: readonly NodeId[];
}

export class ViewGossip {
  private current: ClusterView;
  /** The last summary each member sent (bounded by the member count: others are ignored). */
  private readonly heard = new Map<NodeId, ViewSummary>();
  /** When this node last sent its whole view to each peer: one per half interval, whatever they ask. */
  private readonly fullSentMs = new Map<NodeId, number>();
  /** A newer view that leaves this node out: not adopted; the node refuses to serve. */
  private excludedBy: string | undefined;
  private nextRoundMs = Number.NEGATIVE_INFINITY;
  private refusalValue: ViewRefusal | undefined;
  /** A pull in flight (version asked for, until when): several peers announcing one version in a round cost one pull. */
  private pulling: { readonly version: number; readonly untilMs: number } | undefined;
  /** Conflict reasons already logged per peer, so a conflict is logged when it starts, not every round. */
  private readonly loggedConflicts = new Map<NodeId, string>();
  rounds = 0;
  viewsAdopted = 0;

  constructor(private readonly options: ViewGossipOptions) {
    this.current = options.view;
  }

  get view(): ClusterView {
    return this.current;
  }

  /** Set while this node must not serve clients. */
  get refusal(): ViewRefusal | undefined {
    return this.refusalValue;
  }

  /** What each member last said its view was. */
  peerSummaries(): ReadonlyMap<NodeId, ViewSummary> {
    return this.heard;
  }

  onTick(nowMs: number): void {
    if (nowMs < this.nextRoundMs) return;
    this.nextRoundMs = nowMs + this.options.gossipIntervalMs;
    this.rounds += 1;
    const self = this.options.self;
    const others = this.current.members.filter((member) => member.id !== self);
    if (others.length === 0) return;
    if (this.rounds === 1 && this.options.announceOnFirstRound === true) {
      for (const member of others) this.sendDigest(member.id, false);
      return;
    }
    const target = this.options.prng.pick(others).id;
    this.sendDigest(target, false);
    const seeds = this.options.seeds.filter(
      (seed) => seed !== self && seed !== target && memberOf(this.current, seed) !== undefined,
    );
    if (seeds.length > 0) this.sendDigest(this.options.prng.pick(seeds), false);
  }

  onMessage(from: NodeId, message: ViewMessage, nowMs: number): void {
    if (from === this.options.self) return;
    if (memberOf(this.current, from) === undefined) {
      // A node this view no longer holds (one that left and restarted before it learned the end of
      // its transition) still hears our digest, so it learns the cluster is past its version and
      // its handoff can finish; nothing else it says is taken.
      if (message.type === 'viewDigest' && !message.reply) this.sendDigest(from, true);
      this.options.ports.log('debug', 'ignored a view message from a node outside the view', {
        from,
        type: message.type,
      });
      return;
    }
    switch (message.type) {
      case 'viewDigest':
        return this.onDigest(from, message, nowMs);
      case 'viewPull':
        return this.onPull(from, nowMs);
      case 'viewFull':
        return this.onFull(from, message.view);
    }
  }

  private sendDigest(to: NodeId, reply: boolean): void {
    const { version, partitionCount, digest } = this.current;
    this.options.ports.send(to, { type: 'viewDigest', version, partitionCount, digest, reply });
  }

  private onDigest(from: NodeId, message: Extract<ViewMessage, { type: 'viewDigest' }>, nowMs: number): void {
    const summary: ViewSummary = {
      version: message.version,
      partitionCount: message.partitionCount,
      digest: message.digest,
    };
    this.heard.set(from, summary);
    const relation = relateViews(this.current, summary, from);
    if (
      relation.kind === 'newer' &&
      !(this.pulling !== undefined && this.pulling.untilMs > nowMs && this.pulling.version >= message.version)
    ) {
      this.pulling = { version: message.version, untilMs: nowMs + this.options.gossipIntervalMs };
      this.options.ports.send(from, { type: 'viewPull', version: this.current.version });
    }
    // Every round is answered with our own digest, so both sides learn the same thing: that they
    // agree, that one is older (it pulls), or that they conflict.
    if (!message.reply) this.sendDigest(from, true);
    this.evaluate();
  }

  private onPull(from: NodeId, nowMs: number): void {
    const last = this.fullSentMs.get(from);
    if (last !== undefined && nowMs - last < this.options.gossipIntervalMs / 2) return;
    this.fullSentMs.set(from, nowMs);
    this.options.ports.send(from, { type: 'viewFull', view: this.current.encoded });
  }

  private onFull(from: NodeId, bytes: Uint8Array): void {
    let view: ClusterView;
    try {
      view = decodeView(bytes);
    } catch (error) {
      this.options.ports.log('warn', 'refused a malformed cluster view from a peer', {
        from,
        error: (error as EverwriteError).message,
      });
      return;
    }
    this.heard.set(from, summaryOf(view));
    if (relateViews(this.current, view, from).kind === 'newer') this.adoptOrRefuse(from, view);
    this.evaluate();
  }

  /**
   * Adopts a view made on this node rather than pulled (decision 0017): a committed plan or a
   * completed transition, which must be newer than the current view, or, for a node joining a
   * cluster, the cluster's first view that includes it (`joining`), which replaces its own
   * singleton view whatever the versions. Returns false, changing nothing, when the view does not
   * qualify (older or equal, another partition count, or without this node).
   */
  adoptLocal(view: ClusterView, kind: 'commit' | 'completion' | 'joining'): boolean {
    if (memberOf(view, this.options.self) === undefined || view.partitionCount !== this.current.partitionCount)
      return false;
    if (kind !== 'joining' && relateViews(this.current, view).kind !== 'newer') return false;
    if (kind === 'joining' && view.digest === this.current.digest) return false;
    if (kind === 'joining') this.heard.clear();
    this.excludedBy = undefined;
    this.adopt(`this node (${kind})`, view);
    this.evaluate();
    return true;
  }

  private adoptOrRefuse(from: NodeId, view: ClusterView): void {
    if (memberOf(view, this.options.self) === undefined) {
      this.excludedBy = `view version ${view.version} (from ${from}) does not include this node`;
      return;
    }
    this.adopt(from, view);
  }

  private adopt(from: string, view: ClusterView): void {
    const previous = this.current;
    this.current = view;
    this.viewsAdopted += 1;
    for (const peer of [...this.heard.keys()]) if (memberOf(view, peer) === undefined) this.heard.delete(peer);
    this.options.ports.log('info', 'adopted a newer cluster view', {
      from,
      version: view.version,
      digest: view.digest,
      previousVersion: previous.version,
    });
    this.options.ports.adopted(view, previous);
  }

  /** Recounts agreeing and conflicting peers; logs a conflict when it starts and a refusal when it starts or ends. */
  private evaluate(): void {
    const agreeing: NodeId[] = [];
    const conflicting: NodeId[] = [];
    const reasons: string[] = [];
    for (const [peer, summary] of this.heard) {
      const relation = relateViews(this.current, summary, peer);
      if (relation.kind === 'same') agreeing.push(peer);
      if (relation.kind !== 'conflict') {
        this.loggedConflicts.delete(peer);
        continue;
      }
      conflicting.push(peer);
      reasons.push(relation.reason);
      if (this.loggedConflicts.get(peer) !== relation.reason) {
        this.loggedConflicts.set(peer, relation.reason);
        this.options.ports.log('warn', `cluster view conflict: ${relation.reason}`, {
          peer,
          version: this.current.version,
          digest: this.current.digest,
        });
      }
    }
    const refusing =
      this.excludedBy !== undefined || (conflicting.length > 0 && conflicting.length >= agreeing.length + 1);
    const before = this.refusalValue;
    this.refusalValue = refusing
      ? Object.freeze({
          reason: this.excludedBy ?? reasons.join('; '),
          conflictingPeers: conflicting,
          agreeingPeers: agreeing,
        })
      : undefined;
    if (this.refusalValue !== undefined && before?.reason !== this.refusalValue.reason) {
      this.options.ports.log(
        'error',
        `refusing to serve: this node's cluster view conflicts with its peers': ${this.refusalValue.reason}`,
        { conflictingPeers: conflicting, agreeingPeers: agreeing },
      );
    } else if (this.refusalValue === undefined && before !== undefined) {
      this.options.ports.log('info', 'serving again: the cluster view conflict is resolved', {
        agreeingPeers: agreeing,
      });
    }
  }
}
