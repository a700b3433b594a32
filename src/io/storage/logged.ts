// Why: acking after each lmdb commit capped SET at ~13k/s; an append-only log with one fdatasync per
// event-loop turn's writes reached ~29k/s (-P 1) and ~143k/s (-P 16), durably (docs/ARCHITECTURE.md section 3).
// LoggedEngine is that log in front of any engine. A batch becomes a CRC-framed record; the records
// of one turn are appended with one writev and made durable with one fdatasync (group commit); then
// they are applied to the inner engine in runs, without waiting for its durability, and an overlay
// lets reads see acknowledged writes still on their way to the inner engine. On open the log is
// replayed into the inner engine; once the inner engine is durable the log is discarded (checkpoint).
//
// Pipeline, one stage in flight each: write (one writev per group) -> sync (one fdatasync covering
// every group written before it) -> apply (one inner batch per namespace per run) -> release.
// Apply runs are gathered: synced groups wait up to `applyDelayMs` so the inner engine sees few,
// large transactions (each lmdb commit has a fixed cost, writes every page it dirtied and flushes;
// a page rewritten several times between two commits is written once). Nothing that waits for the
// inner engine waits for that delay: a run starts at once for a drop, close(), a sealed log file
// awaiting its checkpoint, a backlog over `unappliedBytesMax`, or `applyRunBytes` of waiting groups.
// Runs stay in log order, one at a time, so the delay never reorders writes (decision 0006).
// Acknowledgements:
//   durable: resolves after the fdatasync that covers the batch: it survives kill -9 and power loss.
//   buffered: resolves once the batch is appended to the OS (write returned, no fsync): it survives
//     kill -9 of the process, not an OS crash or power loss.
// A write is visible to reads from its acknowledgement on (never before), whether or not the inner
// engine has it yet. Every batch is fsynced before it reaches the inner engine, buffered ones too:
// otherwise after power loss the inner engine could hold a batch the log lost, and replaying older
// records over it would expose half of it.
//
// Checkpoint: when the log file reaches `checkpointBytes`, new records go to a new file; once every
// record of the old one has been applied, an empty durable batch on the inner engine (a durability
// barrier: lmdb waits for `flushed`, LevelDB for a synced write) makes them durable there, and the old
// file is deleted. The inner engine must honour that barrier. Wrapping a non-durable engine (memory)
// is for tests and benchmarks only: a checkpoint would then discard the only durable copy.
//
// Keys and values are referenced, not copied, until applied: callers must not mutate the arrays they
// pass to batch (the port hands them over as readonly).
//
// The engine touches the world only through ports: its files through a LogFileSystem, time through
// Clock and Timers, the end of a turn through nextTurn. Production binds them to node:fs and Node's
// clock and timers; the simulator to its simulated disk and virtual time, so the simulator's crash
// and disk faults exercise this code (decision 0027).
import { join } from 'node:path';
import type { BatchOperation, Clock, ScanOptions, StorageCapabilities, StorageEngine, TimerHandle, Timers } from '../../runtime/ports.ts';
import { reservedNamespaces } from '../../runtime/ports.ts';
import { assert } from '../../core/base/assert.ts';
import { EverwriteError } from '../../core/base/errors.ts';
import { systemClock, systemTimers } from '../system-clock.ts';
import { ApplyPlan } from './apply-plan.ts';
import { nodeLogFileSystem, type AppendableLogFile, type LogFileSystem } from './log-files.ts';
import { decodeLog, encodeBatchRecord, encodeDropRecord, logFileMagic } from './log-format.ts';
import { assertNamespace, assertScanOptions } from './namespace-keys.ts';
import { directoryOption, integerOption, storageFailure } from './options.ts';
import { mergeScan, Overlay, type OverlayEntry } from './overlay.ts';

/** Runs `callback` after the current event-loop turn (production: setImmediate). */
export type NextTurn = (callback: () => void) => void;

const nodeNextTurn: NextTurn = (callback) => {
  setImmediate(callback);
};

export interface LoggedEngineOptions {
  /** Directory for the log files (`wal-<generation>.log`). Required; created if missing. Keep it apart from the inner engine's files. */
  readonly directory: string;
  /**
   * Log size that starts a checkpoint, in bytes. Default 64 MiB. Why: it bounds replay time after a
   * crash and the disk the log takes, while keeping checkpoints (an inner-engine flush) rare.
   */
  readonly checkpointBytes?: number;
  /**
   * Largest single batch, framed, in bytes. Default 128 MiB (twice the largest inter-node frame).
   * Why: a bigger batch is refused up front, and on replay a length past it marks a corrupt record.
   */
  readonly recordBytesMax?: number;
  /**
   * Acknowledged log bytes not yet applied to the inner engine before acknowledgements wait for it
   * to catch up, in bytes. Default 64 MiB. Why: the overlay and the queued batches live in memory;
   * without this bound a writer faster than the inner engine would grow them without limit.
   */
  readonly unappliedBytesMax?: number;
  /**
   * How long a synced log group may wait before it is applied to the inner engine, in milliseconds.
   * Default 100. Why: applied as soon as it is synced, a run holds the few writes of one group and
   * is an lmdb transaction of its own (a commit, its dirty pages written, a flush). At a replica's
   * pace, 100 ms of writes in one run cut the CPU per durable write by about 40% and the bytes the
   * disk wrote by half (decision 0006); 250 ms gained little more. The overlay this keeps in memory
   * stays small (rate x delay, bounded by unappliedBytesMax). The log already made the writes
   * durable, and reads are served from the overlay meanwhile. 0 applies every group once synced.
   */
  readonly applyDelayMs?: number;
  /**
   * Synced bytes waiting for a run that start one at once, whatever `applyDelayMs`, in bytes.
   * Default 4 MiB. Why: past a few MiB a run already writes each page it touches once, so waiting
   * longer saves little, while one inner transaction and the overlay behind it would keep growing
   * under a fast writer until unappliedBytesMax stalled acknowledgements.
   */
  readonly applyRunBytes?: number;
  /** Where the log files live. Default: node:fs (the simulator binds a simulated disk, decision 0027). */
  readonly fileSystem?: LogFileSystem;
  /** Times applyDelayMs and the fsync latency metric. Default: the system clock (tests inject a manual one). */
  readonly clock?: Clock;
  /** Starts the applyDelayMs timer; a timer must never keep the process alive. Default: Node's timers. */
  readonly timers?: Timers;
  /** Ends a group of batches: everything queued before it runs shares one append and one fdatasync. Default: setImmediate. */
  readonly nextTurn?: NextTurn;
  /** Told how long each fdatasync of the log took, in seconds (the node's fsync latency metric). */
  readonly onSyncSeconds?: (seconds: number) => void;
}

type ResolvedLoggedOptions = Required<Omit<LoggedEngineOptions, 'onSyncSeconds'>>;

function resolveOptions(options: LoggedEngineOptions): ResolvedLoggedOptions {
  const component = 'LoggedEngine';
  return Object.freeze({
    directory: directoryOption(component, options.directory),
    checkpointBytes: integerOption(component, 'checkpointBytes', options.checkpointBytes, 64 * 1024 * 1024, 4096),
    recordBytesMax: integerOption(component, 'recordBytesMax', options.recordBytesMax, 128 * 1024 * 1024, 64, 0xffffffff),
    unappliedBytesMax: integerOption(component, 'unappliedBytesMax', options.unappliedBytesMax, 64 * 1024 * 1024, 1),
    applyDelayMs: integerOption(component, 'applyDelayMs', options.applyDelayMs, 100, 0, 60_000),
    applyRunBytes: integerOption(component, 'applyRunBytes', options.applyRunBytes, 4 * 1024 * 1024, 1),
    fileSystem: options.fileSystem ?? nodeLogFileSystem,
    clock: options.clock ?? systemClock,
    timers: options.timers ?? systemTimers,
    nextTurn: options.nextTurn ?? nodeNextTurn,
  });
}

/** What the last open found in the log. */
export interface ReplayReport {
  /** Log files read (including one with a torn tail). */
  readonly files: number;
  /** Records applied to the inner engine. */
  readonly records: number;
  /** True when a torn or corrupt record ended the replay (expected after a crash mid-append). */
  readonly tornTail: boolean;
  /** Files after a torn one, left unread: nothing in them can have been acknowledged. */
  readonly ignoredFiles: number;
}

/** Counters for tests, benchmarks and metrics. */
export interface LoggedEngineStatistics {
  readonly groupsWritten: number;
  readonly syncs: number;
  readonly runsApplied: number;
  readonly checkpoints: number;
  readonly overlayEntries: number;
  readonly unappliedBytes: number;
  readonly logGeneration: number;
  readonly logBytes: number;
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
  /** A drop's completion: it resolves once the inner engine has dropped the namespace. */
  readonly dropped: Deferred | undefined;
}

interface LogFile {
  readonly generation: number;
  readonly path: string;
  readonly handle: AppendableLogFile;
  bytes: number;
  /** Groups written to this file and not yet applied to the inner engine. */
  unappliedGroups: number;
  /** No more records go to this file; it is deleted once all of them are applied and durable. */
  sealed: boolean;
  retiring: boolean;
}

/** The batches of one event-loop turn (or of everything queued while the previous write ran). */
class Group {
  readonly batches: LoggedBatch[] = [];
  records: Buffer[] = [];
  bytes = 0;
  /** Shared by every buffered batch of the group: one promise, not one per request. */
  written: Deferred | undefined;
  /** Shared by every durable batch of the group. */
  synced: Deferred | undefined;
  file: LogFile | undefined;
  /** Overlay entries this group's batches created or updated, released after it is applied. */
  readonly touched: OverlayEntry[] = [];

  get lastSequence(): number {
    return (this.batches[this.batches.length - 1] as LoggedBatch).sequence;
  }
}

type EngineState = 'created' | 'opening' | 'open' | 'closing' | 'closed' | 'failed';

const logFilePattern = /^wal-(\d{12})\.log$/;
/** Operations gathered from the log before replay applies them to the inner engine. */
const replayRunOperations = 50_000;

export class LoggedEngine implements StorageEngine {
  readonly capabilities: StorageCapabilities;
  readonly options: ResolvedLoggedOptions;
  private readonly onSyncSeconds: ((seconds: number) => void) | undefined;
  private state: EngineState = 'created';
  private failure: EverwriteError | undefined;
  private overlay = new Overlay();
  private sequence = 0;
  private current: LogFile | undefined;
  /** Every log file with an open handle: the current one and sealed ones awaiting their checkpoint. */
  private readonly openFiles = new Set<LogFile>();
  private pending: Group | undefined;
  private unsynced: Group[] = [];
  private unapplied: Group[] = [];
  private writeScheduled = false;
  private writing = false;
  private syncing = false;
  private applying = false;
  private unappliedBytes = 0;
  /** Bytes and drops of the synced groups in `unapplied`, and when the oldest of them was synced. */
  private waitingBytes = 0;
  private waitingDrops = 0;
  private waitingSince = 0;
  /** The timer set while the groups in `unapplied` wait out applyDelayMs (it never keeps a process alive). */
  private applyTimer: TimerHandle | undefined;
  private backlog: Deferred | undefined;
  private checkpointChain: Promise<void> = Promise.resolve();
  private counters = { groupsWritten: 0, syncs: 0, runsApplied: 0, checkpoints: 0 };
  private lastReplay: ReplayReport = { files: 0, records: 0, tornTail: false, ignoredFiles: 0 };

  constructor(
    readonly inner: StorageEngine,
    options: LoggedEngineOptions,
  ) {
    this.options = resolveOptions(options);
    this.onSyncSeconds = options.onSyncSeconds;
    this.capabilities = Object.freeze({ atomicBatch: true, durableWrites: inner.capabilities.durableWrites, orderedScan: inner.capabilities.orderedScan });
    const innerReadNow = inner.readNow;
    this.readNow = innerReadNow === undefined ? undefined : (namespace, key) => this.readOverlayThenInner(innerReadNow, namespace, key);
  }

  /** True once a log or inner-engine failure stopped the engine (docs above `fail`); close() and open() start it again. */
  get failed(): boolean {
    return this.state === 'failed';
  }

  get replayReport(): ReplayReport {
    return this.lastReplay;
  }

  get statistics(): LoggedEngineStatistics {
    return { ...this.counters, overlayEntries: this.overlay.size, unappliedBytes: this.unappliedBytes, logGeneration: this.current?.generation ?? 0, logBytes: this.current?.bytes ?? 0 };
  }

  async open(): Promise<void> {
    assert(this.state === 'created' || this.state === 'closed', `LoggedEngine cannot open while ${this.state}`);
    this.state = 'opening';
    this.failure = undefined;
    this.resetPipeline();
    try {
      await this.options.fileSystem.ensureDirectory(this.options.directory);
      await this.inner.open();
      const files = await this.listLogFiles();
      this.lastReplay = await this.replay(files);
      if (files.length > 0) {
        await this.innerBarrier();
        for (const file of files) await this.options.fileSystem.unlink(file.path);
        await this.options.fileSystem.syncDirectory(this.options.directory);
      }
      this.current = await this.createLogFile((files[files.length - 1]?.generation ?? 0) + 1);
      this.state = 'open';
    } catch (error) {
      this.failure = storageFailure(`cannot open the write-ahead log in ${this.options.directory}`, error);
      this.state = 'failed';
      throw this.failure;
    }
  }

  async close(): Promise<void> {
    if (this.state === 'created' || this.state === 'closed') return;
    if (this.state === 'open') this.state = 'closing';
    // Closing waits for the inner engine: what waits out applyDelayMs is applied now.
    this.applyWhenDue();
    await this.drain();
    this.cancelApplyTimer();
    let failure = this.failure;
    this.current = undefined;
    try {
      // A clean shutdown leaves no log to replay: make the inner engine durable, then discard it.
      // After a failure the files stay, to be replayed by the next open.
      if (failure === undefined) await this.innerBarrier();
      for (const file of this.openFiles) {
        await file.handle.close();
        if (failure === undefined) await this.options.fileSystem.unlink(file.path);
      }
      this.openFiles.clear();
      if (failure === undefined) await this.options.fileSystem.syncDirectory(this.options.directory);
    } catch (error) {
      failure ??= storageFailure('closing the write-ahead log failed', error);
    }
    await this.inner.close();
    this.state = 'closed';
    if (failure !== undefined && this.failure === undefined) throw failure;
  }

  get(namespace: number, key: Uint8Array): Promise<Uint8Array | undefined> {
    assertNamespace(namespace);
    if (!this.readable()) return Promise.reject(this.unusable());
    const entry = this.overlayEntry(namespace, key);
    return entry === undefined ? this.inner.get(namespace, key) : Promise.resolve(entry.value);
  }

  /** StorageEngine.readNow, offered when the inner engine offers it: the overlay, then the inner engine. */
  readonly readNow: ((namespace: number, key: Uint8Array) => Uint8Array | undefined) | undefined;

  private readOverlayThenInner(innerReadNow: (namespace: number, key: Uint8Array) => Uint8Array | undefined, namespace: number, key: Uint8Array): Uint8Array | undefined {
    assertNamespace(namespace);
    if (!this.readable()) throw this.unusable();
    const entry = this.overlayEntry(namespace, key);
    return entry === undefined ? innerReadNow(namespace, key) : entry.value;
  }

  /** Reads are served while open, while closing, and after a failure (what was acknowledged stays readable). */
  private readable(): boolean {
    return this.state === 'open' || this.state === 'closing' || this.state === 'failed';
  }

  /** The overlay's entry for a key (an acknowledged write the inner engine may not have yet), if any. */
  private overlayEntry(namespace: number, key: Uint8Array): OverlayEntry | undefined {
    return this.overlay.has(namespace) ? this.overlay.lookup(namespace, key) : undefined;
  }

  batch(namespace: number, operations: readonly BatchOperation[], options: { readonly durable: boolean }): Promise<void> {
    assertNamespace(namespace);
    if (this.state !== 'open') return Promise.reject(this.unusable());
    let record: Buffer;
    try {
      record = encodeBatchRecord(namespace, operations, this.options.recordBytesMax);
    } catch (error) {
      return Promise.reject(error);
    }
    const group = this.enqueue(namespace, operations, options.durable, record, undefined);
    const acknowledged = options.durable ? (group.synced ??= deferred()) : (group.written ??= deferred());
    if (this.unappliedBytes <= this.options.unappliedBytesMax) return acknowledged.promise;
    return acknowledged.promise.then(this.waitForBacklog);
  }

  scan(namespace: number, options?: ScanOptions): AsyncIterable<readonly [Uint8Array, Uint8Array]> {
    assertNamespace(namespace);
    assertScanOptions(options);
    return { [Symbol.asyncIterator]: () => this.mergedScan(namespace, options) };
  }

  drop(namespace: number): Promise<void> {
    assertNamespace(namespace);
    if (this.state !== 'open') return Promise.reject(this.unusable());
    const dropped = deferred();
    this.enqueue(namespace, undefined, true, encodeDropRecord(namespace), dropped);
    return dropped.promise;
  }

  // ---- the write pipeline -------------------------------------------------------------------

  /**
   * Forgets what an earlier run of this object left in flight. After a failure its queues were
   * abandoned with their bytes still counted and their overlay entries held; what they wrote to the
   * log is replayed by open(), so nothing of them may linger (the old count would hold every new
   * acknowledgement behind a backlog that never drains).
   */
  private resetPipeline(): void {
    this.overlay = new Overlay();
    this.pending = undefined;
    this.unsynced = [];
    this.unapplied = [];
    this.unappliedBytes = 0;
    this.waitingBytes = 0;
    this.waitingDrops = 0;
    this.waitingSince = 0;
    this.applyTimer?.cancel();
    this.applyTimer = undefined;
    this.backlog = undefined;
    this.openFiles.clear();
  }

  private enqueue(namespace: number, operations: readonly BatchOperation[] | undefined, durable: boolean, record: Buffer, dropped: Deferred | undefined): Group {
    const group = (this.pending ??= new Group());
    group.batches.push({ namespace, operations, durable, sequence: ++this.sequence, dropped });
    group.records.push(record);
    group.bytes += record.length;
    this.unappliedBytes += record.length;
    // Everything queued until the end of this turn joins the group: one writev, one fdatasync.
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
      while (this.state !== 'failed' && (group = this.pending) !== undefined) {
        this.pending = undefined;
        let file = this.current as LogFile;
        if (file.bytes >= this.options.checkpointBytes) file = await this.rotate(file);
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
      this.fail(storageFailure('appending to the write-ahead log failed', error), group === undefined ? [] : [group]);
    } finally {
      this.writing = false;
    }
  }

  private acknowledgeWritten(group: Group): void {
    for (const batch of group.batches) {
      if (!batch.durable && batch.operations !== undefined) this.overlay.record(batch.namespace, batch.operations, batch.sequence, group.touched);
    }
    group.written?.resolve();
    // The engine failed while this group was being written: it will never be synced or applied.
    if (this.failure !== undefined) return abandon([group], this.failure);
    this.unsynced.push(group);
    if (!this.syncing) void this.syncLoop();
  }

  private async syncLoop(): Promise<void> {
    this.syncing = true;
    let groups: Group[] = [];
    try {
      while (this.state !== 'failed' && this.unsynced.length > 0) {
        groups = this.unsynced;
        this.unsynced = [];
        // One fdatasync per file covers every group written to it before the call.
        let synced: LogFile | undefined;
        for (const group of groups) {
          if (group.file === synced) continue;
          synced = group.file as LogFile;
          const syncStartedMs = this.options.clock.monotonicMs();
          await synced.handle.datasync();
          this.onSyncSeconds?.((this.options.clock.monotonicMs() - syncStartedMs) / 1000);
          this.counters.syncs++;
        }
        for (const group of groups) this.acknowledgeSynced(group);
        // Synced, so acknowledged; but after a failure during the sync nothing applies them: their drops fail.
        if (this.failure !== undefined) abandon(groups, this.failure);
        groups = [];
        this.applyWhenDue();
      }
    } catch (error) {
      this.fail(storageFailure('syncing the write-ahead log failed', error), groups);
    } finally {
      this.syncing = false;
    }
  }

  private acknowledgeSynced(group: Group): void {
    for (const batch of group.batches) {
      if (batch.operations === undefined) this.waitingDrops++;
      else if (batch.durable) this.overlay.record(batch.namespace, batch.operations, batch.sequence, group.touched);
    }
    group.synced?.resolve();
    if (this.unapplied.length === 0) this.waitingSince = this.options.clock.monotonicMs();
    this.unapplied.push(group);
    this.waitingBytes += group.bytes;
  }

  /** True when something waits for the inner engine to have the waiting groups: no delay then. */
  private applyIsUrgent(): boolean {
    return (
      this.state === 'closing' ||
      this.waitingDrops > 0 ||
      this.waitingBytes >= this.options.applyRunBytes ||
      this.unappliedBytes > this.options.unappliedBytesMax ||
      this.backlog !== undefined ||
      // The oldest waiting group is in a sealed file: its checkpoint waits for the run.
      ((this.unapplied[0] as Group | undefined)?.file?.sealed ?? false)
    );
  }

  /** Milliseconds before the waiting groups are due for a run (0: due now). */
  private applyDelayRemainingMs(): number {
    if (this.applyIsUrgent()) return 0;
    return Math.max(0, this.waitingSince + this.options.applyDelayMs - this.options.clock.monotonicMs());
  }

  /** Starts a run if one is due, or else the timer that starts it once the oldest waiting group has waited applyDelayMs. */
  private applyWhenDue(): void {
    if (this.applying || this.unapplied.length === 0 || this.state === 'failed') return;
    const remainingMs = this.applyDelayRemainingMs();
    if (remainingMs <= 0) {
      void this.applyLoop();
    } else if (this.applyTimer === undefined) {
      this.applyTimer = this.options.timers.after(Math.ceil(remainingMs), this.applyDue);
    }
  }

  private readonly applyDue = (): void => {
    this.applyTimer = undefined;
    if (!this.applying && this.unapplied.length > 0 && this.state !== 'failed') void this.applyLoop();
  };

  private cancelApplyTimer(): void {
    if (this.applyTimer === undefined) return;
    this.applyTimer.cancel();
    this.applyTimer = undefined;
  }

  private async applyLoop(): Promise<void> {
    this.applying = true;
    this.cancelApplyTimer();
    let groups: Group[] = [];
    try {
      while (this.state !== 'failed' && this.unapplied.length > 0) {
        groups = this.takeWaitingGroups();
        await this.planRun(groups).execute(this.inner);
        this.counters.runsApplied++;
        this.release(groups);
        groups = [];
        // Groups synced during the run wait out the rest of their own delay, unless something waits for them.
        if (this.applyDelayRemainingMs() > 0) break;
      }
    } catch (error) {
      this.fail(storageFailure('applying the write-ahead log to the inner engine failed', error), groups);
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

  /** One run: every batch and drop of the groups, in log order, merged per namespace. */
  private planRun(groups: readonly Group[]): ApplyPlan {
    const plan = new ApplyPlan();
    for (const group of groups) {
      for (const batch of group.batches) {
        if (batch.operations === undefined) plan.addDrop(batch.namespace);
        else plan.addBatch(batch.namespace, batch.operations);
      }
    }
    return plan;
  }

  /** The inner engine has the groups: their overlay entries, log bytes and files can go. */
  private release(groups: readonly Group[]): void {
    const appliedSequence = (groups[groups.length - 1] as Group).lastSequence;
    for (const group of groups) {
      this.overlay.release(group.touched, appliedSequence);
      for (const batch of group.batches) batch.dropped?.resolve();
      this.unappliedBytes -= group.bytes;
      const file = group.file as LogFile;
      file.unappliedGroups--;
      this.maybeRetire(file);
    }
    if (this.backlog !== undefined && this.unappliedBytes <= this.options.unappliedBytesMax) {
      this.backlog.resolve();
      this.backlog = undefined;
    }
  }

  // ---- checkpoints and files ----------------------------------------------------------------

  private async rotate(previous: LogFile): Promise<LogFile> {
    const next = await this.createLogFile(previous.generation + 1);
    previous.sealed = true;
    this.current = next;
    this.maybeRetire(previous);
    // The sealed file's checkpoint waits for its groups: those waiting out the delay go at once.
    this.applyWhenDue();
    return next;
  }

  private maybeRetire(file: LogFile): void {
    if (!file.sealed || file.unappliedGroups > 0 || file.retiring) return;
    file.retiring = true;
    this.checkpointChain = this.checkpointChain.then(() => this.retire(file)).catch((error: unknown) => this.fail(storageFailure('write-ahead log checkpoint failed', error), []));
  }

  private async retire(file: LogFile): Promise<void> {
    if (this.state === 'failed') return;
    await this.innerBarrier();
    this.openFiles.delete(file);
    await file.handle.close();
    await this.options.fileSystem.unlink(file.path);
    await this.options.fileSystem.syncDirectory(this.options.directory);
    this.counters.checkpoints++;
  }

  /** Resolves once everything the inner engine has applied is durable there (see the file comment). */
  private innerBarrier(): Promise<void> {
    return this.inner.batch(reservedNamespaces.metadata, [], { durable: true });
  }

  private async createLogFile(generation: number): Promise<LogFile> {
    const path = join(this.options.directory, `wal-${String(generation).padStart(12, '0')}.log`);
    const handle = await this.options.fileSystem.create(path);
    try {
      if (handle.append([logFileMagic]) !== logFileMagic.length) throw new Error('short write of the log file header');
      await handle.datasync();
      // The new name must survive a power loss before any record in it is acknowledged.
      await this.options.fileSystem.syncDirectory(this.options.directory);
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error;
    }
    const file: LogFile = { generation, path, handle, bytes: logFileMagic.length, unappliedGroups: 0, sealed: false, retiring: false };
    this.openFiles.add(file);
    return file;
  }

  private async listLogFiles(): Promise<Array<{ generation: number; path: string }>> {
    const names = await this.options.fileSystem.list(this.options.directory);
    const files: Array<{ generation: number; path: string }> = [];
    for (const name of names) {
      const match = logFilePattern.exec(name);
      if (match !== null) files.push({ generation: Number(match[1]), path: join(this.options.directory, name) });
    }
    return files.sort((a, b) => a.generation - b.generation);
  }

  /** Applies every intact record, oldest file first, stopping at the first torn or corrupt one. */
  private async replay(files: ReadonlyArray<{ path: string }>): Promise<ReplayReport> {
    let records = 0;
    let tornTail = false;
    let read = 0;
    for (const file of files) {
      if (tornTail) break;
      read++;
      const decoded = decodeLog(await this.options.fileSystem.read(file.path), this.options.recordBytesMax);
      let plan = new ApplyPlan();
      for (const record of decoded.records) {
        if (record.kind === 'drop') plan.addDrop(record.namespace);
        else plan.addBatch(record.namespace, record.operations);
        if (plan.size >= replayRunOperations) {
          await plan.execute(this.inner);
          plan = new ApplyPlan();
        }
      }
      await plan.execute(this.inner);
      records += decoded.records.length;
      tornTail = decoded.tornTail;
    }
    return { files: read, records, tornTail, ignoredFiles: files.length - read };
  }

  // ---- reads, draining and failure ----------------------------------------------------------

  private async *mergedScan(namespace: number, options: ScanOptions | undefined): AsyncGenerator<readonly [Uint8Array, Uint8Array]> {
    if (!this.readable()) throw this.unusable();
    // The overlay snapshot is taken before the inner scan starts, so an entry released in between
    // is still in the snapshot, and one released before it is already in the inner engine.
    const snapshot = this.overlay.range(namespace, options);
    if (snapshot.length === 0) {
      yield* this.inner.scan(namespace, options);
      return;
    }
    const limit = options?.limit;
    let innerOptions = options;
    if (limit !== undefined) {
      let tombstones = 0;
      for (const entry of snapshot) if (entry.value === undefined) tombstones++;
      innerOptions = { ...options, limit: limit + tombstones };
    }
    yield* mergeScan(snapshot, this.inner.scan(namespace, innerOptions), limit ?? Number.POSITIVE_INFINITY);
  }

  /** Waits until every queued batch has been written, synced and applied (or the engine failed). */
  private async drain(): Promise<void> {
    const queued = (): boolean => this.writeScheduled || this.pending !== undefined || this.unsynced.length > 0 || this.unapplied.length > 0;
    // After a failure the queues are abandoned, but an I/O already in flight is still waited for.
    while (this.writing || this.syncing || this.applying || (this.state !== 'failed' && queued())) {
      this.applyWhenDue();
      await new Promise<void>((resolve) => this.options.nextTurn(resolve));
    }
    await this.checkpointChain;
  }

  /**
   * After a log or inner-engine failure nothing more is written: what reached the disk is unknown,
   * and retrying an fsync that failed can report success for lost data. Every waiting batch fails.
   */
  private fail(failure: EverwriteError, held: readonly Group[]): void {
    if (this.state === 'failed') return;
    this.failure = failure;
    this.state = 'failed';
    const groups = [...held, ...(this.pending === undefined ? [] : [this.pending]), ...this.unsynced, ...this.unapplied];
    this.pending = undefined;
    this.unsynced = [];
    this.takeWaitingGroups();
    this.cancelApplyTimer();
    abandon(groups, failure);
    this.backlog?.reject(failure);
    this.backlog = undefined;
  }

  private unusable(): EverwriteError {
    return this.failure ?? new EverwriteError('EVERWRITE_STORAGE_FAILED', `the logged storage engine is ${this.state}`);
  }
}

/** Fails whatever the groups' callers still wait for (a promise already resolved stays resolved). */
function abandon(groups: readonly Group[], failure: EverwriteError): void {
  for (const group of groups) {
    group.written?.reject(failure);
    group.synced?.reject(failure);
    for (const batch of group.batches) batch.dropped?.reject(failure);
  }
}
