// Why: SWIM failure detection (Das, Gupta, Motivala 2002; decision 0014), pure: ticks and messages
// in, messages and log lines out. Every protocol period this node probes one member directly
// (round-robin over a shuffled list); without an ack within the probe timeout it asks k others to
// probe it (ping-req); without any ack by the end of the period it suspects it; a suspicion that is
// not refuted within the suspicion timeout becomes `down`. A member refutes suspicion of itself by
// raising its incarnation. Liveness changes travel piggybacked on the probes, a bounded number per
// message, each ~lambda*log(S) times. This is local knowledge for the sloppy quorum: it never
// changes who owns what (the ring does).
import type { NodeId } from '../base/ids.ts';
import type { Prng } from '../base/prng.ts';
import type { LivenessMessage, LivenessUpdate } from '../protocol/messages.ts';
import {
  isValidIncarnation,
  isValidUpdate,
  livenessLimits,
  retransmitCount,
  supersedes,
  type LivenessState,
} from './liveness.ts';

export interface SwimSettings {
  /** Length of a protocol period: one member is probed per period, in ms. */
  readonly probeIntervalMs: number;
  /** How long a direct probe waits for its ack before asking others to probe (ping-req), in ms. */
  readonly probeTimeoutMs: number;
  /** k: members asked to probe indirectly when a direct probe gets no ack. */
  readonly indirectProbeCount: number;
  /** How long a member stays `suspect` without refuting before it is declared `down`, in ms. */
  readonly suspicionTimeoutMs: number;
}

/** What this node believes of one member. `lastHeardMs`: when a liveness message from it last arrived. */
export interface MemberLiveness {
  readonly state: LivenessState;
  readonly incarnation: number;
  readonly lastHeardMs: number | undefined;
}

/** Where the detector's messages and log lines go (the node core's effects). */
export interface SwimOutput {
  send(to: NodeId, message: LivenessMessage): void;
  log(level: 'info' | 'warn', message: string, fields: Readonly<Record<string, unknown>>): void;
}

interface Entry {
  state: LivenessState;
  incarnation: number;
  suspectSinceMs: number;
  lastHeardMs: number | undefined;
}

interface Probe {
  readonly target: NodeId;
  readonly id: number;
  startMs: number;
  indirectSent: boolean;
}

/** An indirect probe run for `requester`: our ping `id` to `target` answers its request `requestId`. */
interface Relay {
  readonly id: number;
  readonly requester: NodeId;
  readonly requestId: number;
  readonly target: NodeId;
  deadlineMs: number;
}

/** What this node's failure detector did since start, for operators (plain counts, read by the node's metrics). */
export interface SwimCounters {
  /** Direct probes started (one ping each). */
  probes: number;
  /** Probes that got no direct ack in time, so k others were asked to probe (ping-req). */
  indirectProbes: number;
  /** Probes that ended their period with no ack at all. */
  probesFailed: number;
}

export class Swim {
  readonly counters: SwimCounters = { probes: 0, indirectProbes: 0, probesFailed: 0 };
  private readonly table = new Map<NodeId, Entry>();
  private readonly suspects = new Set<NodeId>();
  /** Members whose latest state is being piggybacked, with how many times it has been sent (self included after a refutation). */
  private readonly broadcasts = new Map<NodeId, number>();
  private readonly probes: Probe[] = [];
  private readonly relays: Relay[] = [];
  private incarnation = 0;
  private order: NodeId[] = [];
  private orderIndex = 0;
  private nextProbeMs: number | undefined;
  private lastTickMs: number | undefined;
  private retransmits = 1;
  private refutations = 0;
  /** Members held `down`: while none is (nearly always), isAlive needs no lookup on the request path. */
  private downCount = 0;

  constructor(
    readonly self: NodeId,
    members: readonly NodeId[],
    private readonly settings: SwimSettings,
    private readonly prng: Prng,
    private readonly out: SwimOutput,
    private lastId = 0,
  ) {
    this.setMembers(members);
  }

  /** This node's own incarnation (raised only to refute suspicion of itself). */
  get ownIncarnation(): number {
    return this.incarnation;
  }

  /** Adopts the member list (the ring's); new members start `up` at incarnation 0. Ownership never depends on this. */
  setMembers(members: readonly NodeId[]): void {
    const wanted = new Set(members.filter((member) => member !== this.self));
    for (const member of [...this.table.keys()]) {
      if (wanted.has(member)) continue;
      if (this.table.get(member)?.state === 'down') this.downCount -= 1;
      this.table.delete(member);
      this.suspects.delete(member);
      this.broadcasts.delete(member);
    }
    for (const member of wanted)
      if (!this.table.has(member))
        this.table.set(member, { state: 'up', incarnation: 0, suspectSinceMs: 0, lastHeardMs: undefined });
    // A member gone from the list (it left or was removed, decision 0017) is probed no more: its
    // probe would ask for an entry that no longer exists (found by the simulator).
    for (let index = this.probes.length - 1; index >= 0; index--)
      if (!wanted.has((this.probes[index] as Probe).target)) this.probes.splice(index, 1);
    this.retransmits = retransmitCount(this.table.size + 1);
    this.order = [];
    this.orderIndex = 0;
  }

  liveness(member: NodeId): MemberLiveness | undefined {
    if (member === this.self) return { state: 'up', incarnation: this.incarnation, lastHeardMs: undefined };
    const entry = this.table.get(member);
    return entry === undefined
      ? undefined
      : { state: entry.state, incarnation: entry.incarnation, lastHeardMs: entry.lastHeardMs };
  }

  /** Unknown members count as alive: liveness only ever removes a known member from a preference list. */
  isAlive(member: NodeId): boolean {
    return this.downCount === 0 || this.table.get(member)?.state !== 'down';
  }

  get probesInFlight(): number {
    return this.probes.length;
  }

  get relaysInFlight(): number {
    return this.relays.length;
  }

  /**
   * A request to `member` timed out: evidence, never proof. It starts a probe of the member now
   * (if it is up and not already probed, within the probe bound); only the probe can suspect it.
   */
  reportUnresponsive(member: NodeId, nowMs: number): void {
    if (this.table.get(member)?.state !== 'up') return;
    if (
      this.probes.length >= livenessLimits.probesInFlightCountMax ||
      this.probes.some((probe) => probe.target === member)
    )
      return;
    this.startProbe(member, nowMs);
  }

  onTick(nowMs: number): void {
    if (this.lastTickMs === undefined) this.announce();
    this.forgiveOwnStall(nowMs);
    this.expireProbes(nowMs);
    for (let index = this.relays.length - 1; index >= 0; index--)
      if ((this.relays[index] as Relay).deadlineMs <= nowMs) this.relays.splice(index, 1);
    this.expireSuspicions(nowMs);
    if (this.nextProbeMs !== undefined && nowMs < this.nextProbeMs) return;
    this.nextProbeMs = nowMs + this.settings.probeIntervalMs;
    const target = this.nextTarget();
    if (target !== undefined && this.probes.length < livenessLimits.probesInFlightCountMax)
      this.startProbe(target, nowMs);
  }

  /**
   * A node just started: a few members hear from it at once (untracked pings). Their acks say what
   * they believe of it, so a restarted node that others hold down refutes within a round trip
   * instead of waiting to be probed.
   */
  private announce(): void {
    const members = this.shuffled([...this.table.keys()]).slice(0, livenessLimits.announceCountMax);
    for (const member of members) this.sendTo(member, 'ping', this.nextId());
  }

  /**
   * A gap between ticks longer than the probe timeout means this node itself was stalled (a pause,
   * a long GC): the acks it waited for may sit unread. Its deadlines move by the gap, so its own
   * stall never makes it suspect others.
   */
  private forgiveOwnStall(nowMs: number): void {
    const gapMs = this.lastTickMs === undefined ? 0 : nowMs - this.lastTickMs;
    this.lastTickMs = nowMs;
    if (gapMs <= this.settings.probeTimeoutMs) return;
    for (const probe of this.probes) probe.startMs += gapMs;
    for (const relay of this.relays) relay.deadlineMs += gapMs;
    for (const member of this.suspects) (this.table.get(member) as Entry).suspectSinceMs += gapMs;
  }

  private expireProbes(nowMs: number): void {
    for (let index = this.probes.length - 1; index >= 0; index--) {
      const probe = this.probes[index] as Probe;
      if (nowMs >= probe.startMs + this.settings.probeIntervalMs) {
        this.probes.splice(index, 1);
        this.counters.probesFailed += 1;
        const entry = this.table.get(probe.target);
        if (entry !== undefined && entry.state === 'up')
          this.apply({ member: probe.target, incarnation: entry.incarnation, state: 'suspect' }, this.self, nowMs);
      } else if (!probe.indirectSent && nowMs >= probe.startMs + this.settings.probeTimeoutMs) {
        probe.indirectSent = true;
        this.counters.indirectProbes += 1;
        this.sendPingRequests(probe);
      }
    }
  }

  private expireSuspicions(nowMs: number): void {
    if (this.suspects.size === 0) return;
    for (const member of [...this.suspects]) {
      const entry = this.table.get(member) as Entry;
      if (nowMs - entry.suspectSinceMs >= this.settings.suspicionTimeoutMs)
        this.apply({ member, incarnation: entry.incarnation, state: 'down' }, this.self, nowMs);
    }
  }

  /** Round-robin over a shuffled list of every other member (down ones too: a restarted node must be found again). */
  private nextTarget(): NodeId | undefined {
    for (let attempts = 0; attempts <= this.table.size; attempts++) {
      if (this.orderIndex >= this.order.length) {
        this.order = this.shuffled([...this.table.keys()]);
        this.orderIndex = 0;
        if (this.order.length === 0) return undefined;
      }
      const member = this.order[this.orderIndex++] as NodeId;
      if (this.table.has(member) && !this.probes.some((probe) => probe.target === member)) return member;
    }
    return undefined;
  }

  private shuffled(members: NodeId[]): NodeId[] {
    for (let index = members.length - 1; index > 0; index--) {
      const other = this.prng.nextInt(index + 1);
      [members[index], members[other]] = [members[other] as NodeId, members[index] as NodeId];
    }
    return members;
  }

  private startProbe(target: NodeId, nowMs: number): void {
    const probe: Probe = { target, id: this.nextId(), startMs: nowMs, indirectSent: false };
    this.probes.push(probe);
    this.counters.probes += 1;
    this.sendTo(target, 'ping', probe.id);
  }

  /** Asks k members that are up, chosen at random, to probe the target for us. */
  private sendPingRequests(probe: Probe): void {
    const helpers = [...this.table]
      .filter(([member, entry]) => member !== probe.target && entry.state === 'up')
      .map(([member]) => member);
    const count = Math.min(this.settings.indirectProbeCount, helpers.length);
    const chosen = this.shuffled(helpers).slice(0, count);
    const entry = this.table.get(probe.target) as Entry;
    const target: LivenessUpdate = { member: probe.target, incarnation: entry.incarnation, state: entry.state };
    for (const helper of chosen) this.sendTo(helper, 'pingReq', probe.id, target);
  }

  private nextId(): number {
    this.lastId += 1;
    return this.lastId;
  }

  private sendTo(to: NodeId, kind: LivenessMessage['kind'], id: number, target?: LivenessUpdate): void {
    const updates = this.piggyback(to);
    this.out.send(
      to,
      target === undefined
        ? { type: 'liveness', kind, id, incarnation: this.incarnation, updates }
        : { type: 'liveness', kind, id, incarnation: this.incarnation, target, updates },
    );
  }

  /**
   * The updates carried by a message to `recipient`: first what this node believes of the recipient
   * (so a suspected or restarted node learns it and can refute), then the least-sent recent updates.
   */
  private piggyback(recipient: NodeId): LivenessUpdate[] {
    const entry = this.table.get(recipient);
    const updates: LivenessUpdate[] =
      entry === undefined ? [] : [{ member: recipient, incarnation: entry.incarnation, state: entry.state }];
    if (this.broadcasts.size === 0) return updates;
    const queued = [...this.broadcasts].filter(([member]) => member !== recipient).sort((a, b) => a[1] - b[1]);
    for (const [member, sent] of queued) {
      if (updates.length >= livenessLimits.piggybackCountMax) break;
      updates.push(
        member === this.self ? { member, incarnation: this.incarnation, state: 'up' } : this.updateOf(member),
      );
      if (sent + 1 >= this.retransmits) this.broadcasts.delete(member);
      else this.broadcasts.set(member, sent + 1);
    }
    return updates;
  }

  private updateOf(member: NodeId): LivenessUpdate {
    const entry = this.table.get(member) as Entry;
    return { member, incarnation: entry.incarnation, state: entry.state };
  }

  private readonly isKnown = (member: string): boolean => member === this.self || this.table.has(member as NodeId);

  onMessage(from: NodeId, message: LivenessMessage, nowMs: number): void {
    const problem = this.checkMessage(from, message);
    if (problem !== undefined) {
      this.out.log('warn', 'dropped a liveness message', { event: 'liveness_message_dropped', from, reason: problem });
      return;
    }
    const sender = this.table.get(from) as Entry;
    sender.lastHeardMs = nowMs;
    const refutationsBefore = this.refutations;
    this.apply({ member: from, incarnation: message.incarnation, state: 'up' }, from, nowMs);
    let dropped = 0;
    for (const update of message.updates) {
      if (isValidUpdate(update, this.isKnown)) this.apply(update, from, nowMs);
      else dropped += 1;
    }
    if (dropped > 0)
      this.out.log('warn', 'dropped liveness updates', { event: 'liveness_update_dropped', from, count: dropped });
    // A refutation goes straight back to whoever doubted us (an ack to a ping carries it anyway).
    if (this.refutations !== refutationsBefore && message.kind !== 'ping') this.sendTo(from, 'ping', this.nextId());
    if (message.kind === 'ping')
      this.sendTo(from, 'ack', message.id, { member: this.self, incarnation: this.incarnation, state: 'up' });
    else if (message.kind === 'pingReq') this.relay(from, message, nowMs);
    else this.onAck(from, message, nowMs);
  }

  /** Why a message must be dropped whole, or undefined when it may be read. */
  private checkMessage(from: NodeId, message: LivenessMessage): string | undefined {
    if (!this.table.has(from)) return 'unknown sender';
    if (!Number.isSafeInteger(message.id) || message.id < 0) return 'bad id';
    if (!isValidIncarnation(message.incarnation)) return 'absurd incarnation';
    if (!Array.isArray(message.updates) || message.updates.length > livenessLimits.updatesPerMessageCountMax)
      return 'oversized update list';
    if (message.kind !== 'ping' && !isValidUpdate(message.target, this.isKnown)) return 'bad target';
    if (message.kind !== 'ping' && message.kind !== 'pingReq' && message.kind !== 'ack') return 'unknown kind';
    return undefined;
  }

  /** A ping-req: probe the target for the requester and pass its ack on. */
  private relay(from: NodeId, message: LivenessMessage, nowMs: number): void {
    const target = (message.target as LivenessUpdate).member as NodeId;
    if (target === this.self) {
      this.sendTo(from, 'ack', message.id, { member: this.self, incarnation: this.incarnation, state: 'up' });
      return;
    }
    if (this.relays.length >= livenessLimits.relaysInFlightCountMax) {
      this.out.log('warn', 'refused an indirect probe', {
        event: 'liveness_relay_refused',
        from,
        target,
        relaysInFlight: this.relays.length,
      });
      return;
    }
    const relay: Relay = {
      id: this.nextId(),
      requester: from,
      requestId: message.id,
      target,
      deadlineMs: nowMs + this.settings.probeIntervalMs,
    };
    this.relays.push(relay);
    this.sendTo(target, 'ping', relay.id);
  }

  private onAck(from: NodeId, message: LivenessMessage, nowMs: number): void {
    const target = message.target as LivenessUpdate;
    const relayIndex = this.relays.findIndex((relay) => relay.id === message.id && relay.target === from);
    if (relayIndex >= 0) {
      const relay = this.relays[relayIndex] as Relay;
      this.relays.splice(relayIndex, 1);
      this.sendTo(relay.requester, 'ack', relay.requestId, {
        member: from,
        incarnation: message.incarnation,
        state: 'up',
      });
      return;
    }
    const probeIndex = this.probes.findIndex((probe) => probe.id === message.id && probe.target === target.member);
    if (probeIndex < 0) return;
    this.probes.splice(probeIndex, 1);
    // An indirect ack vouches for the target at the incarnation the target itself claimed.
    if (target.member !== from && target.state === 'up') this.apply(target, from, nowMs);
  }

  /** Merges one update into the table; a change is logged and queued for piggybacking. */
  private apply(update: LivenessUpdate, reportedBy: NodeId, nowMs: number): void {
    if (update.member === this.self) {
      this.applyAboutSelf(update, reportedBy);
      return;
    }
    const member = update.member as NodeId;
    const entry = this.table.get(member);
    if (entry === undefined || !supersedes(update, entry)) return;
    const previous = entry.state;
    if (previous === 'down' && update.state !== 'down') this.downCount -= 1;
    else if (previous !== 'down' && update.state === 'down') this.downCount += 1;
    entry.incarnation = update.incarnation;
    entry.state = update.state;
    if (update.state === 'suspect') {
      entry.suspectSinceMs = nowMs;
      this.suspects.add(member);
    } else {
      this.suspects.delete(member);
    }
    this.broadcasts.set(member, 0);
    if (previous !== update.state) {
      this.out.log(update.state === 'up' ? 'info' : 'warn', `member ${member} is ${update.state}`, {
        event: `member_${update.state}`,
        member,
        incarnation: update.incarnation,
        reportedBy,
        previous,
      });
    }
  }

  /** Others' belief about this node: adopt a higher incarnation; refute suspicion or death with a higher one. */
  private applyAboutSelf(update: LivenessUpdate, reportedBy: NodeId): void {
    if (update.state === 'up') {
      if (update.incarnation > this.incarnation) this.incarnation = update.incarnation;
      return;
    }
    if (update.incarnation < this.incarnation || update.incarnation >= livenessLimits.incarnationMax) return;
    this.incarnation = update.incarnation + 1;
    this.refutations += 1;
    this.broadcasts.set(this.self, 0);
    this.out.log('info', `refuting ${update.state} with incarnation ${this.incarnation}`, {
      event: 'member_refute',
      member: this.self,
      incarnation: this.incarnation,
      reportedBy,
      claimed: update.state,
    });
  }
}
