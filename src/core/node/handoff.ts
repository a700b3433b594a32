// Why: a committed membership change names the ring it moves to (decision 0017), but the new
// primaries of a partition hold nothing of it until its records are streamed to them. This is that
// stream, run by every node from its view alone: as a source it sends each partition it must hand
// off in bounded, acknowledged batches in storage-key order, once every member it holds up is at the
// transition's version (from then on every write also reaches the new primaries: put-coordination's
// dual writes) plus one request timeout; as a target it merges each batch durably and acknowledges
// it; every node tells the others which transfers it finished and, when all are done, adopts the
// completed view (completeTransition: the same bytes on every node). Afterwards it drops the
// partitions it no longer replicates, and a leaving node reports that it left.
//
// Interface for the runtime and operators: effects `handoffProgressSave`, `handoffProgressClear`,
// `storeDropPartition`, `leftCluster` (effects.ts); messages `handoffBatch`, `handoffAck`,
// `handoffDone` (protocol/messages.ts); NodeCoreOptions.handoffProgress (what was saved);
// NodeCore.handoffStatus() (HandoffStatus below).
import type { NodeId } from '../base/ids.ts';
import { asPartitionIndex } from '../base/ids.ts';
import {
  completeTransition,
  memberOf,
  transfersOf,
  type ClusterView,
  type Transfer,
  type ViewGossip,
} from '../cluster-view/index.ts';
import type { HandoffMessage, HandoffRecord, Message } from '../protocol/messages.ts';
import { placementInput } from '../protocol/storage-key.ts';
import { partitionOf, primaryNodes } from '../ring/index.ts';
import { decodeOwnedRecord, type VersionedRecord } from '../versioning/index.ts';
import type { BackgroundAdmission } from './background-admission.ts';
import type { HandoffProgress } from './effects.ts';
import type { ScannedRecord } from './events.ts';
import type { NodeKernel } from './kernel.ts';

/** Progress of one transfer this node takes part in, for /admin/status and the CLI. */
export interface TransferStatus {
  readonly partition: number;
  /** The other end: the target when this node sends, the source when it receives. */
  readonly peer: NodeId;
  readonly direction: 'outgoing' | 'incoming';
  readonly batches: number;
  readonly keys: number;
  readonly bytes: number;
  readonly done: boolean;
}

export interface HandoffStatus {
  /** The transition's view version; undefined outside a transition. */
  readonly viewVersion: number | undefined;
  /** Whether this node started streaming (every member held up is at the transition's version, plus one request timeout). */
  readonly started: boolean;
  /** Transfers of the whole transition, and those this node knows are done. */
  readonly transfersTotal: number;
  readonly transfersKnownDone: number;
  readonly transfers: readonly TransferStatus[];
  readonly totals: { readonly batches: number; readonly keys: number; readonly bytes: number };
  /** Partitions waiting to be dropped after a completed transition. */
  readonly partitionsToDrop: number;
}

interface Counters {
  batches: number;
  keys: number;
  bytes: number;
}

interface Outgoing {
  readonly transfer: Transfer;
  readonly index: number;
  readonly counters: Counters;
  lastKey: Uint8Array | undefined;
  done: boolean;
  /** Holds a transfer slot of the admission controller. */
  running: boolean;
  scanId: number;
  batch: SentBatch | undefined;
}

interface SentBatch {
  readonly id: number;
  readonly message: Extract<HandoffMessage, { type: 'handoffBatch' }>;
  readonly lastKey: Uint8Array | undefined;
  readonly bytes: number;
  attempts: number;
  timer: number;
}

interface Incoming {
  readonly transfer: Transfer;
  readonly index: number;
  readonly counters: Counters;
  done: boolean;
  /** A batch's merges are under way: a copy arriving meanwhile (a retransmission) is ignored. */
  merging: boolean;
}

interface Transition {
  readonly view: ClusterView;
  readonly transfers: readonly Transfer[];
  readonly outgoing: Outgoing[];
  /** By incomingKey(partition, source): a partition taking a removed primary's place comes from every staying primary (decision 0029). */
  readonly incoming: Map<string, Incoming>;
  readonly knownDone: Set<number>;
  /** When every member held up was first seen at this version; the stream starts a request timeout later. */
  gateSinceMs: number | undefined;
  started: boolean;
  nextBroadcastMs: number;
  /** By partition: the targets this node streams it to (forwardTargets). */
  readonly streamedTo: Map<number, NodeId[]>;
  /** Set once every transfer is known done on a node the completed view excludes: leftCluster after one more broadcast. */
  leaveAtMs: number | undefined;
  left: boolean;
}

interface DropPlan {
  readonly viewVersion: number;
  readonly partitions: readonly number[];
  gateSinceMs: number | undefined;
}

const noTargets: readonly NodeId[] = [];

function emptyCounters(): Counters {
  return { batches: 0, keys: 0, bytes: 0 };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return false;
  return true;
}

/** An incoming transfer's name on its target: one per (partition, source). */
function incomingKey(partition: number, source: string): string {
  return `${partition}<${source}`;
}

function progressKey(viewVersion: number, partition: number, target: string): string {
  return `${viewVersion}/${partition}>${target}`;
}

export class Handoff {
  private transition: Transition | undefined;
  private drop: DropPlan | undefined;
  /** The view the last tick saw: another object means the view changed. */
  private seenView: ClusterView;
  private readonly scans = new Map<number, Outgoing>();
  private readonly saved: Map<string, HandoffProgress>;

  constructor(
    private readonly kernel: NodeKernel,
    private readonly gossip: ViewGossip,
    private readonly admission: BackgroundAdmission,
    progress: readonly HandoffProgress[],
  ) {
    this.saved = new Map(
      progress.map((entry) => [progressKey(entry.viewVersion, entry.partition, entry.target), entry]),
    );
    this.seenView = gossip.view;
  }

  onTick(): void {
    const view = this.gossip.view;
    if (view !== this.seenView) this.onViewChanged(view);
    if (this.drop !== undefined) this.tickDrop(this.drop);
    const transition = this.transition;
    if (transition === undefined) {
      if (view.pending !== undefined) this.begin(view);
      return;
    }
    this.broadcastDone(transition);
    if (transition.knownDone.size < transition.transfers.length && this.memberPast(transition))
      return this.onTransitionOver(transition);
    if (!transition.started && !this.openGate(transition)) return;
    this.startTransfers(transition);
    this.checkCompletion(transition);
  }

  // ---- transitions ----------------------------------------------------------------------------

  private onViewChanged(view: ClusterView): void {
    const previous = this.seenView;
    this.seenView = view;
    const transition = this.transition;
    if (transition !== undefined && transition.view.version < view.version) this.end(transition, view);
    else if (transition === undefined && previous.pending !== undefined && previous.version < view.version)
      this.planDrop(previous, view);
    if (view.pending !== undefined && this.transition === undefined) this.begin(view);
  }

  private begin(view: ClusterView): void {
    const self = this.kernel.self;
    const transfers = transfersOf(view);
    const transition: Transition = {
      view,
      transfers,
      outgoing: [],
      incoming: new Map(),
      knownDone: new Set(),
      streamedTo: new Map(),
      gateSinceMs: undefined,
      started: false,
      nextBroadcastMs: this.kernel.nowMs,
      leaveAtMs: undefined,
      left: false,
    };
    transfers.forEach((transfer, index) => {
      if (transfer.source === self) {
        const saved = this.saved.get(progressKey(view.version, transfer.partition, transfer.target));
        const outgoing: Outgoing = {
          transfer,
          index,
          counters: emptyCounters(),
          lastKey: saved?.lastKey,
          done: saved?.done === true,
          running: false,
          scanId: 0,
          batch: undefined,
        };
        transition.outgoing.push(outgoing);
        if (outgoing.done) transition.knownDone.add(index);
        const targets = transition.streamedTo.get(transfer.partition);
        if (targets === undefined) transition.streamedTo.set(transfer.partition, [transfer.target]);
        else targets.push(transfer.target);
      }
      if (transfer.target === self)
        transition.incoming.set(incomingKey(transfer.partition, transfer.source), {
          transfer,
          index,
          counters: emptyCounters(),
          done: false,
          merging: false,
        });
    });
    this.transition = transition;
    this.kernel.emit({
      type: 'log',
      level: 'info',
      message: 'a membership transition began: handing partitions off',
      fields: {
        version: view.version,
        transfers: transfers.length,
        outgoing: transition.outgoing.length,
        incoming: transition.incoming.size,
      },
    });
  }

  /** The transition's view was replaced by a newer one: stop its streams, forget its progress, plan the drop. */
  private end(transition: Transition, view: ClusterView): void {
    for (const outgoing of transition.outgoing) this.stop(outgoing);
    this.transition = undefined;
    this.kernel.emit({ type: 'handoffProgressClear', viewVersionMax: transition.view.version });
    this.saved.clear();
    this.planDrop(transition.view, view);
  }

  private stop(outgoing: Outgoing): void {
    if (outgoing.batch !== undefined) {
      this.kernel.forget(outgoing.batch.id);
      this.kernel.cancelTimer(outgoing.batch.timer);
      outgoing.batch = undefined;
    }
    if (outgoing.scanId !== 0) this.scans.delete(outgoing.scanId);
    outgoing.scanId = 0;
    if (outgoing.running) this.admission.releaseTransfer();
    outgoing.running = false;
  }

  /**
   * Whether every member this node holds up (removed ones aside) said it is at `version` or later.
   * Members are asked through view gossip's summaries; this node itself holds the view.
   */
  private allAt(view: ClusterView, version: number): boolean {
    const heard = this.gossip.peerSummaries();
    for (const member of view.members) {
      if (member.id === this.kernel.self || member.state === 'removed' || !this.kernel.isAlive(member.id)) continue;
      const summary = heard.get(member.id);
      if (summary === undefined || summary.version < version) return false;
    }
    return true;
  }

  /**
   * Whether a member of the transition's view says it holds a later view. Only the transition's
   * completion follows it, so every transfer was done, including those between other nodes whose
   * `handoffDone` this node missed: a leaving node that restarted after the others moved on hears
   * no more of those, and the members no longer answer its pulls, but it still hears their digests.
   */
  private memberPast(transition: Transition): boolean {
    const heard = this.gossip.peerSummaries();
    return transition.view.members.some(
      (member) => member.id !== this.kernel.self && (heard.get(member.id)?.version ?? 0) > transition.view.version,
    );
  }

  /**
   * The members that stay after the transition and that this node holds up. A leaving node waits
   * for each to complete before it goes: a target that restarted forgot which batches it received,
   * so the leaving source's `handoffDone` may be the only word of a transfer, and a lost broadcast
   * would leave the others waiting for it forever (found by simulator seed 429). Members it holds
   * down do not hold it up; once the others completed, they stop talking to it and are held down.
   */
  private staying(transition: Transition): NodeId[] {
    return transition.view.members
      .filter(
        (member) =>
          member.id !== this.kernel.self &&
          member.state !== 'removed' &&
          member.state !== 'leaving' &&
          this.kernel.isAlive(member.id),
      )
      .map((member) => member.id);
  }

  /**
   * Whether this node is handing its partitions away: it is leaving, and streaming began. From then
   * on it coordinates no client request and keeps no hint for others (node-core.ts, replica.ts): a
   * version it minted or a hint it took after its scan passed the key would stay with it alone,
   * and go when it exits (simulator seed 180217875 lost an acknowledged write that way: the leaving
   * node stood in for three primaries it held down, acknowledged with W=1 from its own hint store,
   * and left before it could hand the hints out).
   */
  handsOff(): boolean {
    const transition = this.transition;
    if (transition === undefined || !transition.started) return false;
    return transition.view.members.some((member) => member.id === this.kernel.self && member.state === 'leaving');
  }

  /**
   * Where a node that has left the cluster sends a hint it holds for `target`, a staying member it
   * holds down: to the lowest-id staying member it holds up, as a hint for `target` (replicaPut with
   * hintFor), which keeps it. Hints are not part of the handoff; without this, the ones a leaving
   * node held for a member that was down went with it, and the write they carried had one copy
   * fewer. Undefined while this node has not left, for a target that is up (delivered directly) or
   * does not stay, and when no staying member is up.
   */
  hintRelay(target: NodeId): NodeId | undefined {
    const transition = this.transition;
    if (transition === undefined || !transition.left || this.kernel.isAlive(target)) return undefined;
    if (
      !transition.view.members.some(
        (member) => member.id === target && member.state !== 'leaving' && member.state !== 'removed',
      )
    )
      return undefined;
    // staying() holds only members held up, so never the target, which is held down.
    return this.staying(transition).sort()[0];
  }

  private heardPast(transition: Transition, member: NodeId): boolean {
    return (this.gossip.peerSummaries().get(member)?.version ?? 0) > transition.view.version;
  }

  private openGate(transition: Transition): boolean {
    const nowMs = this.kernel.nowMs;
    if (!this.allAt(transition.view, transition.view.version)) {
      transition.gateSinceMs = undefined;
      return false;
    }
    transition.gateSinceMs ??= nowMs;
    if (nowMs < transition.gateSinceMs + this.kernel.settings.requestTimeoutMs) return false;
    transition.started = true;
    this.kernel.emit({
      type: 'log',
      level: 'info',
      message: 'every member is at the transition view: streaming starts',
      fields: { version: transition.view.version },
    });
    return true;
  }

  // ---- source ---------------------------------------------------------------------------------

  /**
   * Where a record this node merges as a replica of `partition` must also go: the targets it streams
   * that partition to, once streaming began. The stream is a snapshot in key order and coordinators'
   * dual writes cover every client write from the gate on, but a hint delivered, a read repair, an
   * exchange's push or a coordinator's write delayed past the gate can land here after the scan
   * passed its key; without this the target would lack it, and this copy is dropped after the
   * transition (Riak's handoff forwards requests to the new owner the same way).
   */
  forwardTargets(partition: number): readonly NodeId[] {
    const transition = this.transition;
    if (transition === undefined || !transition.started) return noTargets;
    return transition.streamedTo.get(partition) ?? noTargets;
  }

  private startTransfers(transition: Transition): void {
    const nowMs = this.kernel.nowMs;
    for (const outgoing of transition.outgoing) {
      if (outgoing.done) continue;
      if (!outgoing.running) {
        if (!this.kernel.isAlive(outgoing.transfer.target) || !this.admission.acquireTransfer()) continue;
        outgoing.running = true;
      }
      if (outgoing.scanId === 0 && outgoing.batch === undefined && this.admission.mayRun(nowMs)) this.scan(outgoing);
    }
  }

  private scan(outgoing: Outgoing): void {
    const scanId = this.kernel.nextId();
    outgoing.scanId = scanId;
    this.scans.set(scanId, outgoing);
    // One more than a batch, to know whether more follow, and one for the acknowledged key itself (the scan's start is inclusive).
    this.kernel.emit({
      type: 'storeScan',
      scanId,
      partition: outgoing.transfer.partition,
      start: outgoing.lastKey,
      limit: this.kernel.settings.handoffBatchKeysMax + 2,
    });
  }

  /** A scan slice answered; false when the scan is not one of the handoff's. */
  onScanned(scanId: number, ok: boolean, entries: readonly ScannedRecord[]): boolean {
    const outgoing = this.scans.get(scanId);
    if (outgoing === undefined) return false;
    this.scans.delete(scanId);
    outgoing.scanId = 0;
    if (!ok) {
      this.kernel.emit({
        type: 'log',
        level: 'error',
        message: 'handoff could not scan a partition; it tries again next tick',
        fields: { partition: outgoing.transfer.partition },
      });
      return true;
    }
    this.sendBatch(outgoing, entries);
    return true;
  }

  private sendBatch(outgoing: Outgoing, scanned: readonly ScannedRecord[]): void {
    const { kernel } = this;
    const settings = kernel.settings;
    const limit = settings.handoffBatchKeysMax + 2;
    const skip =
      outgoing.lastKey !== undefined && scanned[0] !== undefined && sameBytes(scanned[0].storageKey, outgoing.lastKey)
        ? 1
        : 0;
    const records: HandoffRecord[] = [];
    let bytes = 0;
    for (let index = skip; index < scanned.length && records.length < settings.handoffBatchKeysMax; index++) {
      const entry = scanned[index] as ScannedRecord;
      const size = entry.storageKey.length + entry.encoded.length;
      if (records.length > 0 && bytes + size > settings.handoffBatchBytesMax) break;
      records.push({ storageKey: entry.storageKey, record: entry.encoded });
      bytes += size;
    }
    const final = scanned.length < limit && skip + records.length === scanned.length;
    const transition = this.transition as Transition;
    const id = kernel.listen((from, message) => this.onAck(outgoing, from, message));
    const message = {
      type: 'handoffBatch',
      id,
      viewVersion: transition.view.version,
      partition: outgoing.transfer.partition,
      records,
      final,
    } as const;
    const lastKey = records.length === 0 ? outgoing.lastKey : (records[records.length - 1] as HandoffRecord).storageKey;
    outgoing.batch = { id, message, lastKey, bytes, attempts: 0, timer: 0 };
    this.transmit(outgoing, outgoing.batch);
  }

  private transmit(outgoing: Outgoing, batch: SentBatch): void {
    const { kernel } = this;
    this.admission.spend(batch.bytes, kernel.nowMs);
    kernel.send(outgoing.transfer.target, batch.message);
    const delayMs = Math.min(
      kernel.settings.handoffRetryDelayMsMax,
      kernel.settings.requestTimeoutMs * 2 ** Math.min(batch.attempts, 16),
    );
    batch.timer = kernel.setTimer(delayMs, () => this.onBatchTimeout(outgoing, batch));
  }

  /** No acknowledgement in time (target down, batch or ack lost, or refused): the same batch again, waiting longer each time. */
  private onBatchTimeout(outgoing: Outgoing, batch: SentBatch): void {
    if (outgoing.batch !== batch) return;
    batch.attempts += 1;
    this.transmit(outgoing, batch);
  }

  private onAck(outgoing: Outgoing, from: NodeId, message: Message): void {
    const batch = outgoing.batch;
    if (
      message.type !== 'handoffAck' ||
      batch === undefined ||
      message.id !== batch.id ||
      from !== outgoing.transfer.target
    )
      return;
    if (!message.ok) return; // the timer sends it again later
    const current = this.transition as Transition;
    if (message.viewVersion > current.view.version) return this.onTransitionOver(current);
    const { kernel } = this;
    kernel.forget(batch.id);
    kernel.cancelTimer(batch.timer);
    outgoing.batch = undefined;
    outgoing.lastKey = batch.lastKey;
    outgoing.counters.batches += 1;
    outgoing.counters.keys += batch.message.records.length;
    outgoing.counters.bytes += batch.bytes;
    const transition = this.transition as Transition;
    if (batch.message.final) {
      outgoing.done = true;
      transition.knownDone.add(outgoing.index);
      transition.nextBroadcastMs = kernel.nowMs;
      this.stop(outgoing);
    }
    const progress: HandoffProgress = {
      viewVersion: transition.view.version,
      partition: outgoing.transfer.partition,
      target: outgoing.transfer.target,
      done: outgoing.done,
      ...(outgoing.lastKey === undefined ? {} : { lastKey: outgoing.lastKey }),
    };
    kernel.emit({ type: 'handoffProgressSave', progress });
    if (!outgoing.done && this.admission.mayRun(kernel.nowMs)) this.scan(outgoing);
    else if (outgoing.done) this.checkCompletion(transition);
  }

  /**
   * A target already holds a view past this transition: it completed, so every transfer was done
   * (a restarted source, or a leaving node the others stopped talking to, learns it this way).
   */
  private onTransitionOver(transition: Transition): void {
    for (const outgoing of transition.outgoing) {
      this.stop(outgoing);
      outgoing.done = true;
    }
    transition.transfers.forEach((_, index) => transition.knownDone.add(index));
    this.kernel.emit({
      type: 'log',
      level: 'info',
      message: 'a target holds a later view: the transition completed',
      fields: { version: transition.view.version },
    });
    this.checkCompletion(transition);
  }

  // ---- target ---------------------------------------------------------------------------------

  onMessage(from: NodeId, message: HandoffMessage): void {
    if (message.type === 'handoffBatch') this.onBatch(from, message);
    else if (message.type === 'handoffDone') this.onDone(from, message);
    else this.kernel.deliverReply(from, message);
  }

  private refuse(from: NodeId, reason: string, fields: Readonly<Record<string, unknown>> = {}): void {
    this.kernel.emit({
      type: 'log',
      level: 'warn',
      message: `refused a handoff batch: ${reason}`,
      fields: { from, ...fields },
    });
  }

  private onBatch(from: NodeId, message: Extract<HandoffMessage, { type: 'handoffBatch' }>): void {
    const transition = this.transition;
    if (transition === undefined || transition.view.version !== message.viewVersion) {
      // A view past that version means the transition completed (only completion follows one):
      // say so, with this node's version, to a source that missed the end (it restarted), merging nothing.
      const version = this.gossip.view.version;
      if (message.viewVersion < version)
        this.kernel.send(from, {
          type: 'handoffAck',
          id: message.id,
          viewVersion: version,
          partition: message.partition,
          ok: true,
        });
      return this.refuse(from, 'not for the transition this node holds', { viewVersion: message.viewVersion });
    }
    const incoming = transition.incoming.get(incomingKey(message.partition, from));
    if (incoming === undefined) {
      const receiving = [...transition.incoming.values()].some(
        (candidate) => candidate.transfer.partition === message.partition,
      );
      return this.refuse(
        from,
        receiving
          ? 'the sender is not the source of this transfer'
          : 'this node is not becoming a primary of the partition',
        { partition: message.partition },
      );
    }
    if (incoming.merging) return;
    const records = this.decodeBatch(from, message);
    if (records === undefined) return;
    incoming.merging = true;
    let waiting = records.length;
    let allOk = true;
    const finish = (): void => {
      incoming.merging = false;
      this.kernel.send(from, {
        type: 'handoffAck',
        id: message.id,
        viewVersion: message.viewVersion,
        partition: message.partition,
        ok: allOk,
      });
      if (allOk) this.countIncoming(transition, incoming, message);
    };
    if (waiting === 0) return finish();
    records.forEach((record, index) => {
      const entry = message.records[index] as HandoffRecord;
      this.kernel.store(
        {
          type: 'storeMerge',
          partition: message.partition,
          storageKey: entry.storageKey,
          record,
          durable: true,
          encoded: entry.record,
        },
        (result) => {
          if (!result.ok) allOk = false;
          if (--waiting === 0) finish();
        },
      );
    });
  }

  /** Every record decoded and placed in the batch's partition, or undefined (logged) when one is not. */
  private decodeBatch(
    from: NodeId,
    message: Extract<HandoffMessage, { type: 'handoffBatch' }>,
  ): VersionedRecord[] | undefined {
    const { kernel } = this;
    const records: VersionedRecord[] = [];
    for (const entry of message.records) {
      const placement = placementInput(entry.storageKey);
      if (placement === undefined || partitionOf(kernel.ring, kernel.digest(placement)) !== message.partition) {
        this.refuse(from, 'a record is not placed in the partition', { partition: message.partition });
        return undefined;
      }
      try {
        records.push(decodeOwnedRecord(entry.record));
      } catch {
        this.refuse(from, 'a record does not decode', { partition: message.partition });
        return undefined;
      }
    }
    return records;
  }

  private countIncoming(
    transition: Transition,
    incoming: Incoming,
    message: Extract<HandoffMessage, { type: 'handoffBatch' }>,
  ): void {
    incoming.counters.batches += 1;
    incoming.counters.keys += message.records.length;
    for (const entry of message.records) incoming.counters.bytes += entry.storageKey.length + entry.record.length;
    if (!message.final || incoming.done) return;
    incoming.done = true;
    transition.knownDone.add(incoming.index);
    transition.nextBroadcastMs = this.kernel.nowMs;
    this.checkCompletion(transition);
  }

  // ---- completion -----------------------------------------------------------------------------

  private onDone(from: NodeId, message: Extract<HandoffMessage, { type: 'handoffDone' }>): void {
    const transition = this.transition;
    if (transition === undefined || transition.view.version !== message.viewVersion) return;
    for (const index of message.transfers) {
      const transfer = transition.transfers[index];
      if (transfer !== undefined && (transfer.source === from || transfer.target === from))
        transition.knownDone.add(index);
    }
    this.checkCompletion(transition);
  }

  /** Every view-gossip interval, tells every member which transfers this node finished (as source or target). */
  private broadcastDone(transition: Transition): void {
    const { kernel } = this;
    if (kernel.nowMs < transition.nextBroadcastMs) return;
    transition.nextBroadcastMs = kernel.nowMs + kernel.settings.viewGossipIntervalMs;
    const mine: number[] = [];
    for (const outgoing of transition.outgoing) if (outgoing.done) mine.push(outgoing.index);
    for (const incoming of transition.incoming.values()) if (incoming.done) mine.push(incoming.index);
    if (mine.length === 0) return;
    const message = { type: 'handoffDone', viewVersion: transition.view.version, transfers: mine } as const;
    for (const member of transition.view.members)
      if (member.id !== kernel.self && member.state !== 'removed') kernel.send(member.id, message);
  }

  private checkCompletion(transition: Transition): void {
    if (transition.knownDone.size < transition.transfers.length || transition.left) return;
    const completed = completeTransition(transition.view);
    if (memberOf(completed, this.kernel.self) !== undefined) {
      this.gossip.adoptLocal(completed, 'completion');
      // The adoption is seen as a view change on the next tick (onViewChanged), which ends the transition.
      return;
    }
    // A leaving node: at least one more round of broadcasts, then it goes once the others completed.
    transition.leaveAtMs ??= this.kernel.nowMs + this.kernel.settings.viewGossipIntervalMs;
    transition.nextBroadcastMs = Math.min(transition.nextBroadcastMs, this.kernel.nowMs);
    if (
      this.kernel.nowMs < transition.leaveAtMs ||
      !this.staying(transition).every((member) => this.heardPast(transition, member))
    )
      return;
    transition.left = true;
    this.kernel.emit({
      type: 'log',
      level: 'info',
      message: 'this node left the cluster: its partitions are handed off',
      fields: { version: completed.version },
    });
    this.kernel.emit({ type: 'leftCluster', viewVersion: completed.version });
  }

  // ---- drop -----------------------------------------------------------------------------------

  /** The partitions this node replicated in `before` (current ring) and does not in `after`. */
  private planDrop(before: ClusterView, after: ClusterView): void {
    const self = this.kernel.self;
    if (memberOf(after, self) === undefined || before.pending === undefined) return;
    const n = before.pending.transferN;
    const beforeN = Math.min(n, new Set(before.ring.owners).size);
    const afterN = Math.min(n, after.ring.members.length);
    const partitions: number[] = [];
    for (let partition = 0; partition < after.partitionCount; partition++) {
      const index = asPartitionIndex(partition);
      if (
        primaryNodes(before.ring, index, beforeN).includes(self) &&
        !primaryNodes(after.ring, index, afterN).includes(self)
      )
        partitions.push(partition);
    }
    const pendingAfter = after.pending;
    // A newer transition already under way may move partitions back: keep what it will need.
    const kept =
      pendingAfter === undefined
        ? partitions
        : partitions.filter(
            (partition) =>
              !primaryNodes(
                pendingAfter.ring,
                asPartitionIndex(partition),
                Math.min(n, pendingAfter.ring.members.length),
              ).includes(self),
          );
    this.drop =
      kept.length === 0 ? undefined : { viewVersion: after.version, partitions: kept, gateSinceMs: undefined };
  }

  /** Once every member held up is at the final view (plus a request timeout), no stale coordinator reads the old copies: drop them. */
  private tickDrop(drop: DropPlan): void {
    const { kernel } = this;
    if (!this.allAt(this.gossip.view, drop.viewVersion)) {
      drop.gateSinceMs = undefined;
      return;
    }
    drop.gateSinceMs ??= kernel.nowMs;
    if (kernel.nowMs < drop.gateSinceMs + kernel.settings.requestTimeoutMs) return;
    this.drop = undefined;
    for (const partition of drop.partitions) kernel.emit({ type: 'storeDropPartition', partition });
    this.onDropped?.(drop.partitions);
    kernel.emit({
      type: 'log',
      level: 'info',
      message: 'dropped the partitions this node no longer replicates',
      fields: { version: drop.viewVersion, partitions: drop.partitions.length },
    });
  }

  /** Told of partitions dropped (the node core drops their Merkle trees). */
  onDropped: ((partitions: readonly number[]) => void) | undefined;

  // ---- status ---------------------------------------------------------------------------------

  status(): HandoffStatus {
    const transition = this.transition;
    const transfers: TransferStatus[] = [];
    const totals = emptyCounters();
    const add = (
      partition: number,
      peer: NodeId,
      direction: TransferStatus['direction'],
      counters: Counters,
      done: boolean,
    ): void => {
      transfers.push({ partition, peer, direction, ...counters, done });
      totals.batches += counters.batches;
      totals.keys += counters.keys;
      totals.bytes += counters.bytes;
    };
    if (transition !== undefined) {
      for (const outgoing of transition.outgoing)
        add(outgoing.transfer.partition, outgoing.transfer.target, 'outgoing', outgoing.counters, outgoing.done);
      for (const incoming of transition.incoming.values())
        add(incoming.transfer.partition, incoming.transfer.source, 'incoming', incoming.counters, incoming.done);
    }
    return {
      viewVersion: transition?.view.version,
      started: transition?.started ?? false,
      transfersTotal: transition?.transfers.length ?? 0,
      transfersKnownDone: transition?.knownDone.size ?? 0,
      transfers,
      totals,
      partitionsToDrop: this.drop?.partitions.length ?? 0,
    };
  }
}
