// Why: a replica back from an outage is owed only what was written while it was away, but the
// hash-ordered trees scatter those writes over every leaf, so the periodic full exchange costs
// about as much as sending every key of every shared partition. This node keeps a bounded change log
// (anti-entropy/change-log.ts) of the keys it stored, watches failure detection (SWIM) for a peer
// coming back up, and then offers that peer only the keys logged since it was last seen up (less a
// margin for detection), with their record hashes, in batches; the peer answers which it holds
// differently, and only those are repaired, through anti-entropy's repair queue and budget (decision
// 0020). When the log does not reach back far enough (evicted, or this node restarted since), or a
// batch is refused or unanswered, the (partition, peer) pair falls back to a full tree exchange now.
// An outage longer than antiEntropyCatchUpOutageMsMax is left to the periodic exchange altogether
// (with it at 1 ms the catch-up is off, as anti-entropy is with a huge interval).
import type { NodeId } from '../base/ids.ts';
import { asPartitionIndex } from '../base/ids.ts';
import { latin1Bytes } from '../base/latin1.ts';
import {
  answerCatchUpRequest,
  catchUpLimits,
  ChangeLog,
  differingPositionsValid,
  type CatchUpMessage,
  type CatchUpRefusalReason,
  type CatchUpRequest,
  type LeafEntry,
} from '../anti-entropy/index.ts';
import { primaryNodes } from '../ring/index.ts';
import type { AntiEntropy } from './anti-entropy.ts';
import type { NodeKernel } from './kernel.ts';
import { replicaCountOf } from './replica-trees.ts';

/** What /admin/aae shows of the catch-up. */
export interface CatchUpStatus {
  readonly changeLogEntries: number;
  readonly changeLogKeyBytes: number;
  /** Peers seen back up and caught up from the change log. */
  readonly catchUps: number;
  /** (partition, peer) pairs handed to the full exchange: log not covering the outage, a refused or unanswered batch. */
  readonly fallbacks: number;
  readonly keysOffered: number;
  readonly keysDiffering: number;
  readonly batchesQueued: number;
  readonly bytesExchanged: number;
}

interface PeerCatchUp {
  readonly peer: NodeId;
  readonly batches: Array<{ readonly partition: number; readonly keys: readonly string[] }>;
}

interface SentBatch {
  readonly peer: NodeId;
  readonly partition: number;
  readonly keys: readonly Uint8Array[];
  readonly timer: number;
}

/** Batches awaiting an answer at once, over all peers. */
const batchesInFlightMax = 4;
/** Counted per message on top of its keys and hashes (ids, partition, counts). */
const messageBytesOverhead = 16;
const noHash = new Uint8Array(0);

export class CatchUp {
  private changeLog: ChangeLog | undefined;
  private startedMs = 0;
  private readonly lastUpMs = new Map<NodeId, number>();
  /** Peers seen down, with the time from which they are owed this node's changes. */
  private readonly owedSinceMs = new Map<NodeId, number>();
  /** Running catch-ups, one per peer, with the time each reaches back to. */
  private readonly running = new Map<NodeId, PeerCatchUp & { readonly sinceMs: number }>();
  private readonly sent = new Map<number, SentBatch>();
  private readonly counts = { catchUps: 0, fallbacks: 0, keysOffered: 0, keysDiffering: 0, bytesExchanged: 0 };

  constructor(
    private readonly kernel: NodeKernel,
    private readonly antiEntropy: AntiEntropy,
  ) {
    // The trees hear of every stored write first; the log hears of it after them.
    const treesHook = kernel.onStored;
    kernel.onStored = (partition, storageKey, result) => {
      treesHook?.(partition, storageKey, result);
      this.noteStored(partition, storageKey);
    };
  }

  status(): CatchUpStatus {
    let batchesQueued = 0;
    for (const running of this.running.values()) batchesQueued += running.batches.length;
    return {
      changeLogEntries: this.changeLog?.size ?? 0,
      changeLogKeyBytes: this.changeLog?.bytes ?? 0,
      ...this.counts,
      batchesQueued,
    };
  }

  onTick(): void {
    this.watchPeers();
    this.pump();
  }

  onMessage(from: NodeId, ringVersion: number, message: CatchUpMessage): void {
    if (message.kind === 'catch-up-request') this.answer(from, ringVersion, message);
    else this.onAnswer(from, ringVersion, message);
  }

  /** Made at the first event, when the kernel's clock has its first reading: the log covers from then on. */
  private log(): ChangeLog {
    if (this.changeLog === undefined) {
      const settings = this.kernel.settings;
      this.startedMs = this.kernel.nowMs;
      this.changeLog = new ChangeLog(
        { entriesMax: settings.antiEntropyChangeLogEntriesMax, keyBytesMax: settings.antiEntropyChangeLogKeyBytesMax },
        this.startedMs,
      );
    }
    return this.changeLog;
  }

  private noteStored(partition: number, storageKey: Uint8Array): void {
    if (!this.antiEntropy.trees.holds(partition)) return;
    this.log().note(this.kernel.nowMs, partition, storageKey);
  }

  // ---- noticing outages -----------------------------------------------------------------------

  private watchPeers(): void {
    const kernel = this.kernel;
    const swim = kernel.failureDetector.swim;
    const marginMs = kernel.settings.antiEntropyCatchUpMarginMs;
    this.log();
    for (const member of kernel.ring.members) {
      const peer = member.id;
      if (peer === kernel.self) continue;
      if (!swim.isAlive(peer)) {
        if (!this.owedSinceMs.has(peer)) this.noteDown(peer, (this.lastUpMs.get(peer) ?? this.startedMs) - marginMs);
        continue;
      }
      this.lastUpMs.set(peer, kernel.nowMs);
      const sinceMs = this.owedSinceMs.get(peer);
      if (sinceMs === undefined) continue;
      this.owedSinceMs.delete(peer);
      this.start(peer, sinceMs);
    }
  }

  /** A peer went down: it is owed the changes since `sinceMs`, and whatever a catch-up still running owed it. */
  private noteDown(peer: NodeId, sinceMs: number): void {
    const unfinished = this.running.get(peer);
    this.running.delete(peer);
    this.owedSinceMs.set(peer, Math.min(sinceMs, unfinished?.sinceMs ?? sinceMs));
  }

  /** The partitions this node and `peer` are both primaries of. */
  private sharedPartitions(peer: NodeId): Set<number> {
    const kernel = this.kernel;
    const replicaCount = replicaCountOf(kernel);
    const shared = new Set<number>();
    for (let partition = 0; partition < kernel.ring.partitionCount; partition++) {
      if (!this.antiEntropy.trees.holds(partition)) continue;
      if (primaryNodes(kernel.ring, asPartitionIndex(partition), replicaCount).includes(peer)) shared.add(partition);
    }
    return shared;
  }

  private start(peer: NodeId, sinceMs: number): void {
    const kernel = this.kernel;
    const outageMs = kernel.nowMs - sinceMs - kernel.settings.antiEntropyCatchUpMarginMs;
    if (outageMs > kernel.settings.antiEntropyCatchUpOutageMsMax) {
      kernel.emit({
        type: 'log',
        level: 'info',
        message:
          'a peer is back after an outage longer than antiEntropyCatchUpOutageMsMax: left to the periodic exchange',
        fields: { peer, outageMs },
      });
      return;
    }
    const shared = this.sharedPartitions(peer);
    const changes = this.log().changesSince(sinceMs, (partition) => shared.has(partition));
    if (changes === undefined) {
      kernel.emit({
        type: 'log',
        level: 'info',
        message: 'a peer is back, but the change log does not reach back to its outage: full exchanges instead',
        fields: { peer, sinceMs, partitions: shared.size },
      });
      for (const partition of shared) this.fallBack(partition, peer);
      return;
    }
    const batches: PeerCatchUp['batches'] = [];
    let keys = 0;
    for (const [partition, changed] of changes) {
      keys += changed.length;
      for (let start = 0; start < changed.length; start += catchUpLimits.entriesPerRequestMax)
        batches.push({ partition, keys: changed.slice(start, start + catchUpLimits.entriesPerRequestMax) });
    }
    this.counts.catchUps++;
    kernel.emit({
      type: 'log',
      level: 'info',
      message: 'a peer is back: catching it up from the change log',
      fields: { peer, sinceMs, keys, partitions: changes.size },
    });
    if (batches.length > 0) this.running.set(peer, { peer, sinceMs, batches });
  }

  private fallBack(partition: number, peer: NodeId): void {
    this.counts.fallbacks++;
    this.antiEntropy.requestExchange(partition, peer);
  }

  // ---- asking ---------------------------------------------------------------------------------

  /** Sends batches, one peer after another, while few are in flight and client traffic leaves room. */
  private pump(): void {
    const kernel = this.kernel;
    for (const running of this.running.values()) {
      while (
        this.sent.size < batchesInFlightMax &&
        kernel.inFlightCoordinations < kernel.settings.antiEntropyForegroundInFlightMax
      ) {
        const batch = running.batches.shift();
        if (batch === undefined) break;
        this.send(running.peer, batch.partition, batch.keys);
      }
      if (running.batches.length === 0) this.running.delete(running.peer);
    }
  }

  private send(peer: NodeId, partition: number, keyTexts: readonly string[]): void {
    const kernel = this.kernel;
    const tree = this.antiEntropy.trees.current(partition);
    const keys = keyTexts.map(latin1Bytes);
    const entries: LeafEntry[] = keys.map((key) => ({ key, recordHash: tree?.get(key) ?? noHash }));
    const catchUpId = kernel.nextId();
    const timer = kernel.setTimer(kernel.settings.antiEntropyExchangeTimeoutMs, () => {
      this.sent.delete(catchUpId);
      kernel.emit({
        type: 'log',
        level: 'info',
        message: 'catch-up batch unanswered: full exchange instead',
        fields: { peer, partition },
      });
      this.fallBack(partition, peer);
      this.pump();
    });
    this.sent.set(catchUpId, { peer, partition, keys, timer });
    this.counts.keysOffered += entries.length;
    this.counts.bytesExchanged +=
      messageBytesOverhead + entries.reduce((sum, entry) => sum + entry.key.length + entry.recordHash.length + 2, 0);
    kernel.send(peer, {
      type: 'catchUp',
      ringVersion: kernel.ring.version,
      catchUp: { kind: 'catch-up-request', catchUpId, partition: asPartitionIndex(partition), entries },
    });
  }

  private onAnswer(from: NodeId, ringVersion: number, answer: Exclude<CatchUpMessage, CatchUpRequest>): void {
    const kernel = this.kernel;
    const sent = this.sent.get(answer.catchUpId);
    if (
      sent === undefined ||
      sent.peer !== from ||
      sent.partition !== answer.partition ||
      ringVersion !== kernel.ring.version
    ) {
      kernel.emit({
        type: 'log',
        level: 'warn',
        message: 'ignored a catch-up answer: unknown request, wrong peer or partition, or another ring version',
        fields: { from, catchUpId: answer.catchUpId, ringVersion },
      });
      return;
    }
    this.sent.delete(answer.catchUpId);
    kernel.cancelTimer(sent.timer);
    this.counts.bytesExchanged +=
      messageBytesOverhead + (answer.kind === 'catch-up-response' ? answer.differing.length * 2 : 0);
    if (answer.kind === 'catch-up-refused' || !differingPositionsValid(answer.differing, sent.keys.length)) {
      const reason = answer.kind === 'catch-up-refused' ? answer.reason : 'positions out of order or range';
      kernel.emit({
        type: 'log',
        level: 'warn',
        message: 'catch-up batch refused or malformed: full exchange instead',
        fields: { peer: from, partition: sent.partition, reason },
      });
      this.fallBack(sent.partition, from);
    } else {
      this.counts.keysDiffering += answer.differing.length;
      this.antiEntropy.queueRepairs(
        sent.partition,
        from,
        answer.differing.map((position) => sent.keys[position] as Uint8Array),
      );
    }
    this.pump();
  }

  // ---- answering ------------------------------------------------------------------------------

  private answer(from: NodeId, ringVersion: number, request: CatchUpRequest): void {
    const kernel = this.kernel;
    const address = { catchUpId: request.catchUpId, partition: request.partition };
    const tree = this.antiEntropy.trees.current(request.partition);
    let response: CatchUpMessage;
    if (ringVersion !== kernel.ring.version)
      response = { kind: 'catch-up-refused', ...address, reason: 'ring-mismatch' };
    else if (tree === undefined) response = { kind: 'catch-up-refused', ...address, reason: 'unknown-partition' };
    else response = answerCatchUpRequest(tree, request);
    if (response.kind === 'catch-up-refused') this.logRefusal(from, response.reason, request.partition);
    kernel.send(from, { type: 'catchUp', ringVersion: kernel.ring.version, catchUp: response });
  }

  private logRefusal(from: NodeId, reason: CatchUpRefusalReason, partition: number): void {
    this.kernel.emit({
      type: 'log',
      level: 'warn',
      message: 'refused a catch-up request',
      fields: { from, reason, partition },
    });
  }
}
