// Why: group commit is where the log's throughput and its acknowledgements are decided, so it lives
// on its own, apart from the files (log-directory.ts), replay (log-replay.ts) and the engine's API
// (logged.ts). The records of one turn are appended with one write and made durable with one
// fdatasync; then they are applied to the inner engine in runs, and the overlay serves reads of
// acknowledged writes still on their way there.
//
// Stages, one in flight each: write (one append per group) -> sync (one fdatasync per file, covering
// every group written to it before it) -> apply (one inner batch per namespace per run) -> release.
// Apply runs are gathered: written groups wait up to `applyDelayMs` so the inner engine sees few,
// large transactions (each lmdb commit has a fixed cost, writes every page it dirtied and flushes;
// a page rewritten several times between two commits is written once). Nothing that waits for the
// inner engine waits for that delay: a run starts at once for a drop, close(), a sealed log file
// awaiting its checkpoint, a backlog over `unappliedBytesMax`, or `applyRunBytes` of waiting groups.
// Runs stay in log order, one at a time, so the delay never reorders writes (decision 0006).
// Syncs are gathered the same way (decision 0042): a group with a durable batch or a drop is synced
// at once, since its caller waits for that; a group of buffered batches only, whose caller was
// answered at its append, is synced when it is due for its run, so a buffered workload pays one
// fdatasync per run instead of one per group (each costs the main thread a thread-pool round trip
// and the kernel a journal commit). A durable group synced meanwhile covers the buffered groups
// written to the same file before it.
// Acknowledgements:
//   durable: resolves after the fdatasync that covers the batch: it survives kill -9 and power loss.
//   buffered: resolves once the batch is appended to the OS (write returned, no fsync): it survives
//     kill -9 of the process, not an OS crash or power loss.
// A write is visible to reads from its acknowledgement on (never before); the overlay's latest view
// (readLatestNow) has it from the moment it is handed over, and since a failure of any stage fails
// every batch queued after it, a write built on that view never lands without the one it read
// (decision 0043). Every batch is fsynced before it reaches the inner engine, buffered ones too:
// otherwise after power loss the inner engine could hold a batch the log lost, and replaying older
// records over it would expose half of it.
import type { BatchOperation, Clock, StorageEngine, TimerHandle, Timers } from '../../runtime/ports.ts';
import type { EverwriteError } from '../../core/base/errors.ts';
import { ApplyPlan } from './apply-plan.ts';
import type { LogDirectory, LogFile } from './log-directory.ts';
import { storageFailure } from './options.ts';
import { Overlay, type OverlayEntry } from './overlay.ts';

/** Runs `callback` after the current event-loop turn (production: setImmediate). */
export type NextTurn = (callback: () => void) => void;

export interface PipelineOptions {
  readonly unappliedBytesMax: number;
  readonly applyDelayMs: number;
  readonly applyRunBytes: number;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly nextTurn: NextTurn;
  readonly onSyncSeconds: ((seconds: number) => void) | undefined;
}

/** What the pipeline needs from the engine it serves. */
export interface PipelineHost {
  readonly inner: StorageEngine;
  readonly directory: LogDirectory;
  /** The failure that stopped the engine, if any. */
  failure(): EverwriteError | undefined;
  isClosing(): boolean;
  /** A stage failed: the engine fails, and with it every queued group and `held`. */
  fail(failure: EverwriteError, held: readonly Group[]): void;
}

interface Deferred {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((onResolve, onReject) => {
    resolve = onResolve;
    reject = onReject;
  });
  return { promise, resolve, reject };
}

interface LoggedBatch {
  readonly namespace: number;
  /** Undefined for a drop of the namespace. */
  readonly operations: readonly BatchOperation[] | undefined;
  readonly durable: boolean;
  readonly sequence: number;
  /** The overlay entries of its keys, in the order of its operations (none for a drop). */
  readonly entries: readonly OverlayEntry[];
  /** A drop's completion: it resolves once the inner engine has dropped the namespace. */
  readonly dropped: Deferred | undefined;
}

/** The batches of one event-loop turn (or of everything queued while the previous write ran). */
export class Group {
  readonly batches: LoggedBatch[] = [];
  records: Buffer[] = [];
  bytes = 0;
  /** Shared by every buffered batch of the group: one promise, not one per request. */
  written: Deferred | undefined;
  /** Shared by every durable batch of the group. */
  synced: Deferred | undefined;
  /** A durable batch or a drop waits for this group's fdatasync: it is synced as soon as it is written. */
  syncAtOnce = false;
  /** When the append returned (the pipeline's clock): the group's apply delay counts from here. */
  writtenMs = 0;
  file: LogFile | undefined;

  get lastSequence(): number {
    return (this.batches[this.batches.length - 1] as LoggedBatch).sequence;
  }
}

export class LogPipeline {
  overlay = new Overlay();
  unappliedBytes = 0;
  readonly counters = { groupsWritten: 0, syncs: 0, runsApplied: 0 };
  private sequence = 0;
  private pending: Group | undefined;
  private unsynced: Group[] = [];
  private unapplied: Group[] = [];
  private writeScheduled = false;
  private writing = false;
  private syncing = false;
  private applying = false;
  /** Bytes and drops of the synced groups in `unapplied`, and when the oldest of them was synced. */
  private waitingBytes = 0;
  /** Bytes of the written groups in `unsynced`. */
  private unsyncedBytes = 0;
  /** Whether a group in `unsynced` holds a durable batch or a drop: a caller waits for its sync. */
  private unsyncedWaitedFor = false;
  private waitingDrops = 0;
  private waitingSince = 0;
  /** The timer set while written groups wait out applyDelayMs, for their sync or their run (it never keeps a process alive). */
  private applyTimer: TimerHandle | undefined;
  private backlog: Deferred | undefined;

  constructor(
    private readonly options: PipelineOptions,
    private readonly host: PipelineHost,
  ) {}

  private get failed(): boolean {
    return this.host.failure() !== undefined;
  }

  /**
   * Forgets what an earlier run of the engine left in flight. After a failure its queues were
   * abandoned with their bytes still counted and their overlay entries held; what they wrote to the
   * log is replayed by open(), so nothing of them may linger (the old count would hold every new
   * acknowledgement behind a backlog that never drains).
   */
  reset(): void {
    this.overlay = new Overlay();
    this.pending = undefined;
    this.unsynced = [];
    this.unsyncedBytes = 0;
    this.unsyncedWaitedFor = false;
    this.unapplied = [];
    this.unappliedBytes = 0;
    this.waitingBytes = 0;
    this.waitingDrops = 0;
    this.waitingSince = 0;
    this.cancelApplyTimer();
    this.backlog = undefined;
  }

  /** Queues a batch; resolves when it is acknowledged (see the file comment). */
  batch(namespace: number, operations: readonly BatchOperation[], durable: boolean, record: Buffer): Promise<void> {
    const group = this.enqueue(namespace, operations, durable, record, undefined);
    const acknowledged = durable ? (group.synced ??= deferred()) : (group.written ??= deferred());
    if (this.unappliedBytes <= this.options.unappliedBytesMax) return acknowledged.promise;
    return acknowledged.promise.then(this.waitForBacklog);
  }

  /** Queues a drop; resolves once the inner engine has dropped the namespace. */
  drop(namespace: number, record: Buffer): Promise<void> {
    const dropped = deferred();
    this.enqueue(namespace, undefined, true, record, dropped);
    return dropped.promise;
  }

  private enqueue(
    namespace: number,
    operations: readonly BatchOperation[] | undefined,
    durable: boolean,
    record: Buffer,
    dropped: Deferred | undefined,
  ): Group {
    const group = (this.pending ??= new Group());
    const sequence = ++this.sequence;
    // The overlay's latest view has the batch from now on; reads see it from its acknowledgement on.
    let entries: readonly OverlayEntry[] = noEntries;
    if (operations === undefined) this.overlay.queueDrop(namespace, sequence);
    else entries = this.overlay.queue(namespace, operations, sequence);
    group.batches.push({ namespace, operations, durable, sequence, entries, dropped });
    if (durable) group.syncAtOnce = true;
    group.records.push(record);
    group.bytes += record.length;
    this.unappliedBytes += record.length;
    // Everything queued until the end of this turn joins the group: one append, one fdatasync.
    if (!this.writeScheduled && !this.writing) {
      this.writeScheduled = true;
      this.options.nextTurn(this.startWriting);
    }
    return group;
  }

  private readonly startWriting = (): void => {
    this.writeScheduled = false;
    if (!this.writing) void this.writeLoop();
  };

  private readonly waitForBacklog = (): Promise<void> | undefined => {
    if (this.unappliedBytes <= this.options.unappliedBytesMax) return undefined;
    const backlog = (this.backlog ??= deferred());
    // An acknowledgement now waits for the inner engine: groups waiting out the delay go at once.
    this.applyWhenDue();
    return backlog.promise;
  };

  private async writeLoop(): Promise<void> {
    this.writing = true;
    let group: Group | undefined;
    try {
      while (!this.failed && (group = this.pending) !== undefined) {
        this.pending = undefined;
        const file = await this.host.directory.fileForAppend();
        const bytesWritten = file.handle.append(group.records);
        if (bytesWritten !== group.bytes) throw new Error(`short write: ${bytesWritten} of ${group.bytes} bytes`);
        file.bytes += group.bytes;
        file.unappliedGroups++;
        group.file = file;
        group.records = [];
        this.counters.groupsWritten++;
        this.acknowledgeWritten(group);
        group = undefined;
      }
    } catch (error) {
      this.host.fail(
        storageFailure('appending to the write-ahead log failed', error),
        group === undefined ? [] : [group],
      );
    } finally {
      this.writing = false;
    }
  }

  private acknowledgeWritten(group: Group): void {
    group.writtenMs = this.options.clock.monotonicMs();
    for (const batch of group.batches) {
      if (!batch.durable && batch.operations !== undefined)
        this.overlay.acknowledge(batch.entries, batch.operations, batch.sequence);
    }
    group.written?.resolve();
    // The engine failed while this group was being written: it will never be synced or applied.
    const failure = this.host.failure();
    if (failure !== undefined) return abandon([group], failure);
    this.unsynced.push(group);
    this.unsyncedBytes += group.bytes;
    if (group.syncAtOnce) this.unsyncedWaitedFor = true;
    this.syncWhenDue();
  }

  /** True when the written groups must be synced now: a caller waits for it, their run is due, or the delay is 0. */
  private syncIsDue(): boolean {
    const oldest = this.unsynced[0] as Group | undefined;
    if (oldest === undefined) return false;
    return this.unsyncedWaitedFor || this.applyDelayRemainingMs(oldest.writtenMs) <= 0;
  }

  /** Starts a sync if one is due, or else the timer that starts it once the oldest written group has waited applyDelayMs. */
  syncWhenDue(): void {
    if (this.syncing || this.unsynced.length === 0 || this.failed) return;
    if (this.syncIsDue()) void this.syncLoop();
    else this.wakeAfter(this.applyDelayRemainingMs((this.unsynced[0] as Group).writtenMs));
  }

  private async syncLoop(): Promise<void> {
    this.syncing = true;
    let groups: Group[] = [];
    try {
      while (!this.failed && this.syncIsDue()) {
        groups = this.unsynced;
        this.unsynced = [];
        this.unsyncedBytes = 0;
        this.unsyncedWaitedFor = false;
        // One fdatasync per file covers every group written to it before the call.
        let synced: LogFile | undefined;
        for (const group of groups) {
          if (group.file === synced) continue;
          synced = group.file as LogFile;
          const syncStartedMs = this.options.clock.monotonicMs();
          await synced.handle.datasync();
          this.options.onSyncSeconds?.((this.options.clock.monotonicMs() - syncStartedMs) / 1000);
          this.counters.syncs++;
        }
        for (const group of groups) this.acknowledgeSynced(group);
        // Synced, so acknowledged; but after a failure during the sync nothing applies them: their drops fail.
        const failure = this.host.failure();
        if (failure !== undefined) abandon(groups, failure);
        groups = [];
        this.applyWhenDue();
      }
    } catch (error) {
      this.host.fail(storageFailure('syncing the write-ahead log failed', error), groups);
    } finally {
      this.syncing = false;
    }
    // Buffered groups written during the sync wait out their delay.
    this.syncWhenDue();
  }

  private acknowledgeSynced(group: Group): void {
    for (const batch of group.batches) {
      if (batch.operations === undefined) this.waitingDrops++;
      else if (batch.durable) this.overlay.acknowledge(batch.entries, batch.operations, batch.sequence);
    }
    group.synced?.resolve();
    if (this.unapplied.length === 0) this.waitingSince = group.writtenMs;
    this.unapplied.push(group);
    this.waitingBytes += group.bytes;
  }

  /** True when something waits for the inner engine to have the written groups: no delay then. */
  private applyIsUrgent(): boolean {
    const oldest = (this.unapplied[0] as Group | undefined) ?? (this.unsynced[0] as Group | undefined);
    return (
      this.host.isClosing() ||
      this.waitingDrops > 0 ||
      // Buffered groups not yet synced are on their way to the same run.
      this.waitingBytes + this.unsyncedBytes >= this.options.applyRunBytes ||
      this.unappliedBytes > this.options.unappliedBytesMax ||
      this.backlog !== undefined ||
      // The oldest waiting group is in a sealed file: its checkpoint waits for the run.
      (oldest?.file?.sealed ?? false)
    );
  }

  /** Milliseconds before groups written at `sinceMs` are due for their sync and run (0: due now). */
  private applyDelayRemainingMs(sinceMs = this.waitingSince): number {
    if (this.applyIsUrgent()) return 0;
    return Math.max(0, sinceMs + this.options.applyDelayMs - this.options.clock.monotonicMs());
  }

  /** Starts a run if one is due, or else the timer that starts it once the oldest waiting group has waited applyDelayMs. */
  applyWhenDue(): void {
    this.syncWhenDue();
    if (this.applying || this.unapplied.length === 0 || this.failed) return;
    const remainingMs = this.applyDelayRemainingMs();
    if (remainingMs <= 0) void this.applyLoop();
    else this.wakeAfter(remainingMs);
  }

  /** Arms the one delay timer (if it is not armed): when it fires, whatever is due is synced and applied. */
  private wakeAfter(remainingMs: number): void {
    if (this.applyTimer === undefined)
      this.applyTimer = this.options.timers.after(Math.ceil(remainingMs), this.delayOver);
  }

  private readonly delayOver = (): void => {
    this.applyTimer = undefined;
    this.applyWhenDue();
  };

  cancelApplyTimer(): void {
    if (this.applyTimer === undefined) return;
    this.applyTimer.cancel();
    this.applyTimer = undefined;
  }

  private async applyLoop(): Promise<void> {
    this.applying = true;
    this.cancelApplyTimer();
    let groups: Group[] = [];
    try {
      while (!this.failed && this.unapplied.length > 0) {
        groups = this.takeWaitingGroups();
        await planRun(groups).execute(this.host.inner);
        this.counters.runsApplied++;
        this.release(groups);
        groups = [];
        // Groups synced during the run wait out the rest of their own delay, unless something waits for them.
        if (this.applyDelayRemainingMs() > 0) break;
      }
    } catch (error) {
      this.host.fail(storageFailure('applying the write-ahead log to the inner engine failed', error), groups);
    } finally {
      this.applying = false;
    }
    this.applyWhenDue();
  }

  private takeWaitingGroups(): Group[] {
    const groups = this.unapplied;
    this.unapplied = [];
    this.waitingBytes = 0;
    this.waitingDrops = 0;
    return groups;
  }

  /** The inner engine has the groups: their overlay entries, log bytes and files can go. */
  private release(groups: readonly Group[]): void {
    const appliedSequence = (groups[groups.length - 1] as Group).lastSequence;
    for (const group of groups) {
      for (const batch of group.batches) {
        this.overlay.release(batch.entries, appliedSequence);
        if (batch.dropped === undefined) continue;
        this.overlay.releaseDrop(batch.namespace, batch.sequence);
        batch.dropped.resolve();
      }
      this.unappliedBytes -= group.bytes;
      this.host.directory.groupApplied(group.file as LogFile);
    }
    if (this.backlog !== undefined && this.unappliedBytes <= this.options.unappliedBytesMax) {
      this.backlog.resolve();
      this.backlog = undefined;
    }
  }

  /** Waits until every queued batch has been written, synced and applied (or the engine failed). */
  async drain(): Promise<void> {
    const queued = (): boolean =>
      this.writeScheduled || this.pending !== undefined || this.unsynced.length > 0 || this.unapplied.length > 0;
    // After a failure the queues are abandoned, but an I/O already in flight is still waited for.
    while (this.writing || this.syncing || this.applying || (!this.failed && queued())) {
      this.applyWhenDue();
      await new Promise<void>((resolve) => this.options.nextTurn(resolve));
    }
    await this.host.directory.settled();
  }

  /** The engine failed: every queued group fails, with `held` (the groups a stage had taken). */
  abandonAll(failure: EverwriteError, held: readonly Group[]): void {
    const groups = [
      ...held,
      ...(this.pending === undefined ? [] : [this.pending]),
      ...this.unsynced,
      ...this.unapplied,
    ];
    this.pending = undefined;
    this.unsynced = [];
    this.unsyncedBytes = 0;
    this.unsyncedWaitedFor = false;
    this.takeWaitingGroups();
    this.cancelApplyTimer();
    abandon(groups, failure);
    this.backlog?.reject(failure);
    this.backlog = undefined;
  }
}

const noEntries: readonly OverlayEntry[] = Object.freeze([]);

/** One run: every batch and drop of the groups, in log order, merged per namespace. */
function planRun(groups: readonly Group[]): ApplyPlan {
  const plan = new ApplyPlan();
  for (const group of groups) {
    for (const batch of group.batches) {
      if (batch.operations === undefined) plan.addDrop(batch.namespace);
      else plan.addBatch(batch.namespace, batch.operations);
    }
  }
  return plan;
}

/** Fails whatever the groups' callers still wait for (a promise already resolved stays resolved). */
function abandon(groups: readonly Group[], failure: EverwriteError): void {
  for (const group of groups) {
    group.written?.reject(failure);
    group.synced?.reject(failure);
    for (const batch of group.batches) batch.dropped?.reject(failure);
  }
}
