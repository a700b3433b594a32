// Why: replicas converge through hints and read repair only while those work; a lost hint, a wiped
// disk or a key nobody reads would stay divergent forever. Anti-entropy (Dynamo section 4.7,
// decision 0016) closes that gap: on a schedule, this node compares the Merkle tree of each partition
// it holds with the tree of each other primary (roots, then only differing subtrees, then the keys of
// differing leaves, src/core/anti-entropy) and reconciles every differing key through the ordinary
// replica paths: it reads the peer's record (replicaGet), merges it here (storeMerge, a DVV sync, so
// concurrent versions become siblings and tombstones win over what they deleted), and sends the merged
// record back (replicaPut) when the peer lacked any of it. Everything is budgeted (keys and bytes per
// second, exchanges and repairs at once) and waits while client requests crowd the node.
import type { NodeId } from '../base/ids.ts';
import { asPartitionIndex } from '../base/ids.ts';
import {
  answerTreeExchangeRequest,
  TreeExchange,
  validateTreeExchangeLimits,
  type TreeExchangeMessage,
  type TreeExchangeRequest,
  type TreeExchangeResponse,
} from '../anti-entropy/index.ts';
import { decodeStorageKey } from '../protocol/storage-key.ts';
import { primaryNodes } from '../ring/index.ts';
import { decodeRecord, emptyRecord, encodeRecord, recordsEqual, type VersionedRecord } from '../versioning/index.ts';
import type { ScannedRecord } from './events.ts';
import type { NodeKernel } from './kernel.ts';
import { replicaCountOf, ReplicaTrees } from './replica-trees.ts';
import { ConfirmedReaping, type ReapingStatus } from './confirmed-reaping.ts';

/** What /admin/aae and the metrics show of one partition. */
export interface PartitionExchangeStatus {
  readonly partition: number;
  /** nowMs of the last exchange that finished, or undefined before the first. */
  readonly lastExchangeMs: number | undefined;
  readonly lastPeer: string | undefined;
  readonly exchanges: number;
  readonly exchangesFailed: number;
  /** Differing keys found by exchanges and reconciled with the peer. */
  readonly keysRepaired: number;
  /** Tree hashes, leaf entries and records sent and received by exchanges of this partition. */
  readonly bytesExchanged: number;
}

export interface AntiEntropyStatus {
  readonly treesHeld: number;
  readonly treesReady: number;
  readonly exchangesRunning: number;
  readonly repairsQueued: number;
  /** Reaping confirmed by exchanges (decision 0019). */
  readonly reaping: ReapingStatus;
  readonly partitions: readonly PartitionExchangeStatus[];
}

interface RunningExchange {
  readonly exchange: TreeExchange;
  readonly peer: NodeId;
  readonly partition: number;
  readonly startedMs: number;
  timer: number;
}

interface RepairJob {
  readonly partition: number;
  readonly peer: NodeId;
  readonly storageKey: Uint8Array;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Room in the deferred pairs for operator-requested ones (outside the schedule's pairs). */
const deferredOperatorPairsMax = 1024;

/** Overhead counted per tree message on top of its hashes and keys (ids, partition, shape). */
const treeMessageBytesOverhead = 24;

export class AntiEntropy {
  readonly trees: ReplicaTrees;
  /** Reaping confirmed by this node's finished exchanges (decision 0019). */
  readonly reaping: ConfirmedReaping;
  private readonly limits = validateTreeExchangeLimits({});
  private pairs: Array<{ readonly partition: number; readonly peer: NodeId }> = [];
  private pairsFor = '';
  private pairsCheckedMs = 0;
  private nextPair = 0;
  private nextStartMs = 0;
  private readonly running = new Map<number, RunningExchange>();
  private readonly repairs: RepairJob[] = [];
  private repairsHead = 0;
  private repairsInFlight = 0;
  private keyTokens = 0;
  private byteTokens = 0;
  private refilledMs: number | undefined;
  private readonly stats = new Map<number, Mutable<PartitionExchangeStatus>>();
  /** Pairs asked for by an operator (`cluster repair`), run before the schedule's. */
  private readonly urgent: Array<{ readonly partition: number; readonly peer: NodeId }> = [];
  /**
   * Pairs whose turn came while the peer was seen down or still rebuilding its trees, retried a
   * tenth of an interval later rather than a whole interval: a node coming back is repaired soon
   * after it is seen up. At most one entry per pair.
   */
  private readonly deferred = new Map<
    string,
    { readonly partition: number; readonly peer: NodeId; readonly dueMs: number }
  >();

  constructor(private readonly kernel: NodeKernel) {
    this.trees = new ReplicaTrees(kernel);
    this.reaping = new ConfirmedReaping(kernel);
    const treesOnStored = kernel.onStored;
    kernel.onStored = (partition, storageKey, result) => {
      treesOnStored?.(partition, storageKey, result);
      this.reaping.noteStored(partition, storageKey, result.record);
    };
  }

  onTick(): void {
    this.refreshPairs();
    this.pump();
  }

  /** Queues an exchange now of `partition` (or every partition) with each other primary this node holds it with; returns how many. */
  requestRepair(partition: number | undefined): number {
    this.refreshPairs();
    const kernel = this.kernel;
    let queued = 0;
    for (const held of this.heldPartitions()) {
      if (partition !== undefined && held !== partition) continue;
      for (const peer of primaryNodes(kernel.ring, asPartitionIndex(held), replicaCountOf(kernel))) {
        if (peer === kernel.self) continue;
        this.urgent.push({ partition: held, peer });
        queued++;
      }
    }
    this.pump();
    return queued;
  }

  /** Queues an exchange now of one (partition, peer) pair: the catch-up's fallback when its change log does not cover an outage (decision 0020). */
  requestExchange(partition: number, peer: NodeId): void {
    this.urgent.push({ partition, peer });
    this.pump();
  }

  /** Queues the repair of keys found to differ outside an exchange (the catch-up, decision 0020), under the same budget. */
  queueRepairs(partition: number, peer: NodeId, storageKeys: readonly Uint8Array[]): void {
    for (const storageKey of storageKeys) this.repairs.push({ partition, peer, storageKey });
    this.pump();
  }

  status(): AntiEntropyStatus {
    const counts = this.trees.counts();
    const partitions = [...this.stats.values()]
      .sort((a, b) => a.partition - b.partition)
      .map((entry) => ({ ...entry }));
    return {
      treesHeld: counts.held,
      treesReady: counts.ready,
      exchangesRunning: this.running.size,
      repairsQueued: this.repairs.length - this.repairsHead + this.repairsInFlight + this.urgent.length,
      reaping: this.reaping.status(),
      partitions,
    };
  }

  /** A slice of a tree rebuild's scan: the reapable records in it are candidates for reaping too. */
  onScanned(scanId: number, ok: boolean, entries: readonly ScannedRecord[]): void {
    const partition = this.trees.scannedPartition(scanId);
    if (ok && partition !== undefined) this.reaping.noteScanned(partition, entries);
    this.trees.onScanned(scanId, ok, entries);
  }

  onMessage(from: NodeId, ringVersion: number, message: TreeExchangeMessage): void {
    // A request can come before this node's first tick: its trees must exist (not ready) by then.
    this.refreshPairs();
    if (message.kind === 'tree-hashes-request' || message.kind === 'tree-leaf-entries-request')
      this.answer(from, ringVersion, message);
    else this.onResponse(from, ringVersion, message);
  }

  // ---- the schedule ---------------------------------------------------------------------------

  private heldPartitions(): number[] {
    const held: number[] = [];
    for (let partition = 0; partition < this.kernel.ring.partitionCount; partition++)
      if (this.trees.holds(partition)) held.push(partition);
    return held;
  }

  /**
   * The (partition, peer) pairs this node starts exchanges for: each partition it is a primary of,
   * with each other primary of lower id than this node's peer... that is, only the lower id of a pair
   * initiates, so each pair is exchanged once per interval rather than twice.
   */
  private refreshPairs(): void {
    const kernel = this.kernel;
    // The props table may hold thousands of buckets: their largest n is looked at once a second.
    if (this.pairsFor !== '' && kernel.nowMs < this.pairsCheckedMs + 1000) return;
    this.pairsCheckedMs = kernel.nowMs;
    const replicaCount = replicaCountOf(kernel);
    const key = `${kernel.ring.version}/${kernel.ring.partitionCount}/${kernel.ring.members.length}/${replicaCount}`;
    if (key === this.pairsFor) return;
    this.pairsFor = key;
    this.trees.adopt(kernel.ring, replicaCount, kernel.self);
    const pairs: Array<{ partition: number; peer: NodeId }> = [];
    for (let partition = 0; partition < kernel.ring.partitionCount; partition++) {
      const primaries = primaryNodes(kernel.ring, asPartitionIndex(partition), replicaCount);
      if (!primaries.includes(kernel.self)) continue;
      for (const peer of primaries) if (peer !== kernel.self && kernel.self < peer) pairs.push({ partition, peer });
    }
    this.pairs = pairs;
    this.nextPair = 0;
    // The first exchange one spacing from now, not at once: a node just started is still rebuilding its trees.
    this.nextStartMs = kernel.nowMs + (pairs.length === 0 ? 0 : kernel.settings.antiEntropyIntervalMs / pairs.length);
  }

  /** Starts what the budgets allow: repairs first (they finish what exchanges found), then exchanges. */
  private pump(): void {
    const kernel = this.kernel;
    this.refill();
    if (kernel.inFlightCoordinations >= kernel.settings.antiEntropyForegroundInFlightMax) return;
    // The byte budget shared with handoff and hint delivery (background-admission.ts): in debt, wait a tick.
    if (!kernel.background.mayRun(kernel.nowMs)) return;
    while (
      this.repairsHead < this.repairs.length &&
      this.repairsInFlight < kernel.settings.antiEntropyRepairsInFlightMax &&
      this.keyTokens >= 1 &&
      this.byteTokens > 0
    ) {
      const job = this.repairs[this.repairsHead++] as RepairJob;
      if (this.repairsHead === this.repairs.length) this.repairs.length = this.repairsHead = 0;
      this.repair(job);
    }
    while (
      this.running.size < kernel.settings.antiEntropyExchangesMax &&
      this.byteTokens > 0 &&
      this.repairs.length - this.repairsHead < kernel.settings.antiEntropyKeysPerSecondMax
    ) {
      const pair = this.nextDuePair();
      if (pair === undefined) return;
      this.startExchange(pair.partition, pair.peer);
    }
  }

  private nextDuePair(): { readonly partition: number; readonly peer: NodeId } | undefined {
    const kernel = this.kernel;
    const urgent = this.urgent.shift();
    if (urgent !== undefined) return urgent;
    for (const [key, pair] of this.deferred) {
      if (pair.dueMs > kernel.nowMs) continue;
      this.deferred.delete(key);
      return pair;
    }
    if (this.pairs.length === 0 || kernel.nowMs < this.nextStartMs) return undefined;
    const intervalMs = kernel.settings.antiEntropyIntervalMs;
    this.nextStartMs = Math.max(this.nextStartMs, kernel.nowMs - intervalMs) + intervalMs / this.pairs.length;
    const pair = this.pairs[this.nextPair % this.pairs.length];
    this.nextPair = (this.nextPair + 1) % this.pairs.length;
    return pair;
  }

  /** Token buckets of one second's budget, refilled by the time since the last refill. */
  private refill(): void {
    const { nowMs, settings } = this.kernel;
    const elapsedMs = this.refilledMs === undefined ? 1000 : Math.max(0, nowMs - this.refilledMs);
    this.refilledMs = nowMs;
    // Half the rates while client requests are slow (the shared background admission, decision 0017).
    const share = this.kernel.background.throttled ? 0.5 : 1;
    this.keyTokens = Math.min(
      settings.antiEntropyKeysPerSecondMax,
      this.keyTokens + (elapsedMs * share * settings.antiEntropyKeysPerSecondMax) / 1000,
    );
    this.byteTokens = Math.min(
      settings.antiEntropyBytesPerSecondMax,
      this.byteTokens + (elapsedMs * share * settings.antiEntropyBytesPerSecondMax) / 1000,
    );
  }

  private statsOf(partition: number): Mutable<PartitionExchangeStatus> {
    let entry = this.stats.get(partition);
    if (entry === undefined) {
      entry = {
        partition,
        lastExchangeMs: undefined,
        lastPeer: undefined,
        exchanges: 0,
        exchangesFailed: 0,
        keysRepaired: 0,
        bytesExchanged: 0,
      };
      this.stats.set(partition, entry);
    }
    return entry;
  }

  private countBytes(partition: number, bytes: number): void {
    this.byteTokens -= bytes;
    this.kernel.background.spend(bytes, this.kernel.nowMs);
    this.statsOf(partition).bytesExchanged += bytes;
  }

  // ---- the exchange (asking side) -------------------------------------------------------------

  private defer(partition: number, peer: NodeId): void {
    const kernel = this.kernel;
    if (this.deferred.size >= 2 * this.pairs.length + deferredOperatorPairsMax) return;
    this.deferred.set(`${partition}/${peer}`, {
      partition,
      peer,
      dueMs: kernel.nowMs + kernel.settings.antiEntropyIntervalMs / 10,
    });
  }

  private startExchange(partition: number, peer: NodeId): void {
    const kernel = this.kernel;
    // A pair queued under an older ring (deferred, or asked for by the catch-up) whose peer is no
    // longer a primary with this node is dropped: a member that left is never heard from again,
    // and each try would hold an exchange slot until its timeout, ahead of every scheduled pair.
    if (!this.isCurrentPair(partition, peer)) return;
    const tree = this.trees.ready(partition);
    if (tree === undefined || !kernel.isAlive(peer)) return this.defer(partition, peer);
    const exchange = new TreeExchange(tree, {
      exchangeId: kernel.nextId(),
      partition: asPartitionIndex(partition),
      ...this.limits,
    });
    const running: RunningExchange = { exchange, peer, partition, startedMs: kernel.nowMs, timer: 0 };
    this.running.set(exchange.exchangeId, running);
    this.armTimer(running);
    this.sendRequests(running, exchange.start());
  }

  /** Whether this node and `peer` are both primaries of `partition` in the ring this node holds now. */
  private isCurrentPair(partition: number, peer: NodeId): boolean {
    return this.bothAmongPrimaries(partition, peer, replicaCountOf(this.kernel));
  }

  /** Whether this node and `peer` are both among the first `n` primaries of `partition` in the ring held now. */
  private bothAmongPrimaries(partition: number, peer: NodeId, n: number): boolean {
    const kernel = this.kernel;
    if (partition >= kernel.ring.partitionCount) return false;
    const primaries = primaryNodes(kernel.ring, asPartitionIndex(partition), n);
    return primaries.includes(kernel.self) && primaries.includes(peer);
  }

  private armTimer(running: RunningExchange): void {
    const kernel = this.kernel;
    kernel.cancelTimer(running.timer);
    running.timer = kernel.setTimer(kernel.settings.antiEntropyExchangeTimeoutMs, () => {
      kernel.emit({
        type: 'log',
        level: 'info',
        message: 'anti-entropy exchange abandoned: the peer did not answer in time',
        fields: { peer: running.peer, partition: running.partition },
      });
      this.end(running, false);
    });
  }

  private sendRequests(running: RunningExchange, requests: readonly TreeExchangeRequest[]): void {
    for (const request of requests) {
      const count = request.kind === 'tree-hashes-request' ? request.indices.length : request.leafIndices.length;
      this.countBytes(running.partition, treeMessageBytesOverhead + 4 * count);
      this.kernel.send(running.peer, {
        type: 'treeExchange',
        ringVersion: this.kernel.ring.version,
        exchange: request,
      });
    }
  }

  private onResponse(from: NodeId, ringVersion: number, response: TreeExchangeResponse): void {
    const kernel = this.kernel;
    const running = this.running.get(response.exchangeId);
    if (running === undefined || running.peer !== from || ringVersion !== kernel.ring.version) {
      kernel.emit({
        type: 'log',
        level: 'warn',
        message: 'ignored an anti-entropy answer: unknown exchange, wrong peer or another ring version',
        fields: { from, exchangeId: response.exchangeId, ringVersion },
      });
      return;
    }
    this.countBytes(running.partition, responseBytes(response));
    const exchange = running.exchange;
    const next = exchange.receive(response);
    if (exchange.state === 'failed') {
      const failure = exchange.failure;
      // A peer still rebuilding its trees at start refuses for a while: expected, not worth a warning.
      const notReady = failure?.reason === 'refused-by-peer' && failure.refusal === 'not-ready';
      kernel.emit({
        type: 'log',
        level: notReady ? 'debug' : 'warn',
        message: 'anti-entropy exchange failed',
        fields: { peer: from, partition: running.partition, failure },
      });
      if (notReady) this.defer(running.partition, from);
      this.end(running, false);
      return;
    }
    const result = exchange.result;
    if (result !== undefined) {
      // Copied: a key the peer listed is a view of its frame, which would stay alive while queued.
      for (const storageKey of result.differingKeys)
        this.repairs.push({ partition: running.partition, peer: from, storageKey: new Uint8Array(storageKey) });
      const tree = this.trees.ready(running.partition);
      if (tree !== undefined)
        this.reaping.onExchangeFinished(running.partition, from, running.startedMs, tree, result.differingLeaves);
      this.end(running, true);
      return;
    }
    this.armTimer(running);
    this.sendRequests(running, next);
  }

  private end(running: RunningExchange, ok: boolean): void {
    const kernel = this.kernel;
    kernel.cancelTimer(running.timer);
    this.running.delete(running.exchange.exchangeId);
    const stats = this.statsOf(running.partition);
    if (ok) {
      stats.exchanges++;
      stats.lastExchangeMs = kernel.nowMs;
      stats.lastPeer = running.peer;
    } else {
      stats.exchangesFailed++;
    }
    this.pump();
  }

  // ---- the exchange (answering side) ----------------------------------------------------------

  private answer(from: NodeId, ringVersion: number, request: TreeExchangeRequest): void {
    const kernel = this.kernel;
    const address = { exchangeId: request.exchangeId, partition: request.partition, requestId: request.requestId };
    const refuse = (reason: 'unknown-partition' | 'not-ready' | 'ring-mismatch'): void => {
      if (reason !== 'not-ready')
        kernel.emit({
          type: 'log',
          level: 'warn',
          message: 'refused an anti-entropy request',
          fields: { from, reason, partition: request.partition, ringVersion },
        });
      kernel.send(from, {
        type: 'treeExchange',
        ringVersion: kernel.ring.version,
        exchange: { kind: 'tree-exchange-refused', ...address, reason },
      });
    };
    if (ringVersion !== kernel.ring.version) return refuse('ring-mismatch');
    if (!this.trees.holds(request.partition)) return refuse('unknown-partition');
    const tree = this.trees.ready(request.partition);
    if (tree === undefined) return refuse('not-ready');
    const response = answerTreeExchangeRequest(tree, request, this.limits);
    if (response.kind === 'tree-exchange-refused')
      kernel.emit({
        type: 'log',
        level: 'warn',
        message: 'refused an anti-entropy request',
        fields: { from, reason: response.reason, partition: request.partition },
      });
    kernel.send(from, { type: 'treeExchange', ringVersion: kernel.ring.version, exchange: response });
  }

  // ---- repairing one key ----------------------------------------------------------------------

  /** Whether both this node and the peer are primaries of the key's bucket (n may be below the trees' replica count). */
  private bothPrimaries(job: RepairJob): boolean {
    const kernel = this.kernel;
    let bucket: string;
    try {
      bucket = decodeStorageKey(job.storageKey).bucket;
    } catch {
      return false;
    }
    return this.bothAmongPrimaries(
      job.partition,
      job.peer,
      Math.min(kernel.props.get(bucket).n, kernel.ring.members.length),
    );
  }

  private repair(job: RepairJob): void {
    if (!this.bothPrimaries(job)) return;
    const kernel = this.kernel;
    this.keyTokens -= 1;
    this.repairsInFlight++;
    let done = false;
    const finish = (repaired: boolean): void => {
      if (done) return;
      done = true;
      this.repairsInFlight--;
      if (repaired) this.statsOf(job.partition).keysRepaired++;
      this.pump();
    };
    const id = kernel.listen((from, message) => {
      if (from !== job.peer || message.type !== 'replicaGetReply') return;
      kernel.forget(id);
      kernel.cancelTimer(timer);
      if (!message.ok) return finish(false);
      this.mergeFromPeer(job, message.record, finish);
    });
    const timer = kernel.setTimer(kernel.settings.requestTimeoutMs, () => {
      kernel.forget(id);
      finish(false);
    });
    kernel.send(job.peer, { type: 'replicaGet', id, partition: job.partition, storageKey: job.storageKey });
    this.countBytes(job.partition, treeMessageBytesOverhead + job.storageKey.length);
  }

  /** Merges the peer's record here (a DVV sync), then sends the result back when the peer lacks part of it. */
  private mergeFromPeer(job: RepairJob, peerBytes: Uint8Array | undefined, finish: (repaired: boolean) => void): void {
    const kernel = this.kernel;
    let peerRecord: VersionedRecord;
    try {
      peerRecord = peerBytes === undefined ? emptyRecord : decodeRecord(peerBytes);
    } catch {
      kernel.emit({
        type: 'log',
        level: 'warn',
        message: 'anti-entropy got an undecodable record from a peer',
        fields: { peer: job.peer },
      });
      return finish(false);
    }
    this.countBytes(job.partition, peerBytes?.length ?? 0);
    const encoded = peerBytes === undefined ? {} : { encoded: peerBytes };
    kernel.store(
      {
        type: 'storeMerge',
        partition: job.partition,
        storageKey: job.storageKey,
        record: peerRecord,
        durable: true,
        ...encoded,
      },
      (result) => {
        if (!result.ok) return finish(false);
        const merged = result.record;
        const peerLacks =
          !recordsEqual(merged, peerRecord) && !(merged.siblings.length === 0 && merged.context.size === 0);
        if (peerLacks) {
          const record = result.encoded ?? encodeRecord(merged);
          kernel.send(job.peer, {
            type: 'replicaPut',
            id: 0,
            partition: job.partition,
            storageKey: job.storageKey,
            record,
            durable: true,
          });
          this.countBytes(job.partition, record.length + job.storageKey.length);
        }
        finish(true);
      },
    );
  }
}

function responseBytes(response: TreeExchangeResponse): number {
  if (response.kind === 'tree-hashes-response') {
    let bytes = treeMessageBytesOverhead;
    for (const hash of response.hashes) bytes += hash.length;
    return bytes;
  }
  if (response.kind === 'tree-leaf-entries-response') {
    let bytes = treeMessageBytesOverhead;
    for (const leaf of response.leafEntries)
      for (const entry of leaf) bytes += entry.key.length + entry.recordHash.length + 2;
    return bytes;
  }
  return treeMessageBytesOverhead;
}
