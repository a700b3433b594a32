// Why: a reaped key keeps a context-only record so that no older version can come back and no dot is
// minted twice (decision 0002); kept forever, those records grow without bound. Decision 0019 removes
// them once it is safe, and reaps tombstones that no full-ack write or full read ever confirmed:
// the key's decider (its lowest-id primary, which starts an anti-entropy exchange with every other
// primary) tracks the reapable records it holds (tombstone-only or context-only), and counts a
// primary as holding the same record when an exchange with it, started after this node came to hold
// the record, found the key's leaf equal. Once every other primary is confirmed, a tombstone is
// reaped (after reapDelayMs, as decision 0002's rules do), and a context-only record is removed
// `contextRemovalGraceMs` later, on every primary that still holds exactly it (reaping.ts), unless
// its context names a node that is no primary (that node may keep a fallback copy). A record
// that changes here starts over; confirmations cannot go stale otherwise, since a primary holding a
// reapable record only ever moves to a record that dominates it (or removes it when told to).
import type { NodeId } from '../base/ids.ts';
import type { MerkleTree } from '../anti-entropy/index.ts';
import { decodeRecord, recordsEqual, type VersionedRecord } from '../versioning/index.ts';
import type { ScannedRecord } from './events.ts';
import type { NodeKernel } from './kernel.ts';
import { keyString } from './replica-trees.ts';
import { isContextOnly, isReapable, keyPrimaries, reapDecider, scheduleReap, sendReap } from './reaping.ts';

interface Candidate {
  readonly partition: number;
  readonly storageKey: Uint8Array;
  readonly record: VersionedRecord;
  /** Every primary of the key, this node included (the reap goes to each). */
  readonly primaries: readonly NodeId[];
  /** nowMs when this node came to hold `record`: only exchanges started later confirm it. */
  readonly sinceMs: number;
  readonly confirmed: Set<NodeId>;
  /** nowMs when the last other primary was confirmed, or undefined. */
  allConfirmedMs: number | undefined;
  /** nowMs when the step down was asked for; its own report normally replaces or drops this candidate. */
  askedMs: number | undefined;
}

/** What /admin/aae shows of reaping. */
export interface ReapingStatus {
  readonly candidates: number;
  /** Reaps asked for by this node as decider (idempotent: a replica steps down only from the exact record). */
  readonly tombstoneReapsAsked: number;
  readonly contextRemovalsAsked: number;
  /** Context-only records kept for good: their context names a node that is no primary, which may hold a fallback copy. */
  readonly contextsKept: number;
  /** What this replica's store did when asked, by any node: tombstones reaped, context-only records removed. */
  readonly tombstonesReaped: number;
  readonly contextsRemoved: number;
  /** Reapable records not tracked because `reapCandidatesMax` was reached (found again by a later scan). */
  readonly untracked: number;
}

export class ConfirmedReaping {
  /** By partition, then by key (latin1). */
  private readonly candidates = new Map<number, Map<string, Candidate>>();
  private count = 0;
  private tombstoneReapsAsked = 0;
  private contextRemovalsAsked = 0;
  private contextsKept = 0;
  private untracked = 0;

  constructor(private readonly kernel: NodeKernel) {}

  status(): ReapingStatus {
    return {
      candidates: this.count,
      tombstoneReapsAsked: this.tombstoneReapsAsked,
      contextRemovalsAsked: this.contextRemovalsAsked,
      contextsKept: this.contextsKept,
      ...this.kernel.reapCounts,
      untracked: this.untracked,
    };
  }

  /** A write left `record` on this replica (the kernel's onStored). Live records cost one sibling walk. */
  noteStored(partition: number, storageKey: Uint8Array, record: VersionedRecord): void {
    const held = this.candidates.get(partition);
    if (!isReapable(record)) {
      if (held !== undefined && held.size > 0) this.drop(held, keyString(storageKey));
      return;
    }
    this.track(partition, storageKey, record, held);
  }

  /** Records found by a partition scan (the trees' rebuild at start): the reapable ones become candidates. */
  noteScanned(partition: number, entries: readonly ScannedRecord[]): void {
    for (const entry of entries) {
      let record: VersionedRecord;
      try {
        record = decodeRecord(entry.encoded);
      } catch {
        continue;
      }
      const held = this.candidates.get(partition);
      // A write since the scan began reported a newer record already.
      if (isReapable(record) && held?.has(keyString(entry.storageKey)) !== true)
        this.track(partition, new Uint8Array(entry.storageKey), record, held);
    }
  }

  /**
   * An exchange of `partition` with `peer`, started at `startedMs`, finished; `tree` is this node's
   * tree of the partition and `differingLeaves` the leaves whose entries differed. Every candidate
   * held since before the start whose leaf was equal is confirmed on `peer`.
   */
  onExchangeFinished(
    partition: number,
    peer: NodeId,
    startedMs: number,
    tree: MerkleTree,
    differingLeaves: readonly number[],
  ): void {
    const held = this.candidates.get(partition);
    if (held === undefined) return;
    const differing = new Set(differingLeaves);
    for (const candidate of [...held.values()]) {
      if (
        candidate.sinceMs <= startedMs &&
        candidate.primaries.includes(peer) &&
        !differing.has(tree.leafIndexOf(candidate.storageKey))
      ) {
        candidate.confirmed.add(peer);
        if (candidate.allConfirmedMs === undefined && candidate.confirmed.size === candidate.primaries.length - 1)
          candidate.allConfirmedMs = this.kernel.nowMs;
      }
      this.stepDownWhenDue(candidate);
    }
  }

  private track(
    partition: number,
    storageKey: Uint8Array,
    record: VersionedRecord,
    held: Map<string, Candidate> | undefined,
  ): void {
    const kernel = this.kernel;
    const text = keyString(storageKey);
    const existing = held?.get(text);
    if (existing !== undefined && recordsEqual(existing.record, record)) return;
    const primaries = keyPrimaries(kernel, partition, storageKey);
    if (primaries === undefined || primaries.length < 2 || reapDecider(primaries) !== kernel.self) {
      if (held !== undefined) this.drop(held, text);
      return;
    }
    if (existing === undefined && this.count >= kernel.settings.reapCandidatesMax) {
      this.untracked++;
      return;
    }
    let partitionCandidates = held;
    if (partitionCandidates === undefined) {
      partitionCandidates = new Map();
      this.candidates.set(partition, partitionCandidates);
    }
    if (existing === undefined) this.count++;
    // A copy: the key may be a view of a frame or of the slab (storage-key.ts).
    partitionCandidates.set(text, {
      partition,
      storageKey: new Uint8Array(storageKey),
      record,
      primaries,
      sinceMs: kernel.nowMs,
      confirmed: new Set(),
      allConfirmedMs: undefined,
      askedMs: undefined,
    });
  }

  private drop(held: Map<string, Candidate>, text: string): void {
    if (held.delete(text)) this.count--;
  }

  /** Asks for the step down once due; again after a while if its report never came (a failed disk write). */
  private stepDownWhenDue(candidate: Candidate): void {
    const { nowMs, settings } = this.kernel;
    if (candidate.allConfirmedMs === undefined) return;
    if (candidate.askedMs !== undefined && nowMs < candidate.askedMs + 2 * settings.reapDelayMs) return;
    const target = { partition: candidate.partition, storageKey: candidate.storageKey, primaries: candidate.primaries };
    if (!isContextOnly(candidate.record)) {
      candidate.askedMs = nowMs + settings.reapDelayMs;
      this.tombstoneReapsAsked++;
      scheduleReap(this.kernel, target, candidate.record);
    } else if (namesOtherNodes(candidate.record, candidate.primaries)) {
      // Only a coordinator mints, and one that is no primary keeps its version in its own store,
      // out of the trees' sight and never removed (no handoff): removing the context would let that
      // copy come back through a read or a write it coordinates. Kept, and no longer tracked.
      this.contextsKept++;
      this.drop(this.candidates.get(candidate.partition) as Map<string, Candidate>, keyString(candidate.storageKey));
    } else if (nowMs >= candidate.allConfirmedMs + settings.contextRemovalGraceMs) {
      candidate.askedMs = nowMs;
      this.contextRemovalsAsked++;
      sendReap(this.kernel, target, candidate.record);
    }
  }
}

/** Whether the record's context names an actor of a node that is not one of `primaries` (actors are `${nodeId}.${epoch}`). */
function namesOtherNodes(record: VersionedRecord, primaries: readonly NodeId[]): boolean {
  for (const actor of record.context.keys()) {
    const nodeId = actor.slice(0, actor.lastIndexOf('.'));
    if (!primaries.some((primary) => primary === nodeId)) return true;
  }
  return false;
}
