// Why: acking after each lmdb commit capped SET at ~13k/s; an append-only log with one fdatasync per
// event-loop turn's writes reached ~29k/s (-P 1) and ~143k/s (-P 16), durably (docs/ARCHITECTURE.md section 3).
// LoggedEngine is that log in front of any engine, and this file is its face: the StorageEngine
// API, open (replay, then a fresh file) and close, reads (the overlay of acknowledged writes the
// inner engine may not have yet, then the inner engine), and failure. The work is in three modules
// with one job each: log-pipeline.ts (group commit: append, fdatasync, apply runs, acknowledgements),
// log-directory.ts (the files and their checkpoints) and log-replay.ts (what a crash leaves).
//
// A write is visible to reads from its acknowledgement on (never before), whether or not the inner
// engine has it yet. Wrapping a non-durable engine (memory) is for tests and benchmarks only: a
// checkpoint would then discard the only durable copy. The inner engine must honour the durability
// barrier a checkpoint relies on (log-directory.ts).
//
// Keys and values are referenced, not copied, until applied: callers must not mutate the arrays they
// pass to batch (the port hands them over as readonly).
//
// The engine touches the world only through ports: its files through a LogFileSystem, time through
// Clock and Timers, the end of a turn through nextTurn. Production binds them to node:fs and Node's
// clock and timers; the simulator to its simulated disk and virtual time, so the simulator's crash
// and disk faults exercise this code (decision 0027).
import type {
  BatchOperation,
  Clock,
  ScanOptions,
  StorageCapabilities,
  StorageEngine,
  SyncRead,
  Timers,
} from '../../runtime/ports.ts';
import { assert } from '../../core/base/assert.ts';
import { EverwriteError } from '../../core/base/errors.ts';
import { systemClock, systemTimers } from '../system-clock.ts';
import { LogDirectory } from './log-directory.ts';
import { nodeLogFileSystem, type LogFileSystem } from './log-files.ts';
import { encodeBatchRecord, encodeDropRecord } from './log-format.ts';
import { LogPipeline, type Group, type NextTurn } from './log-pipeline.ts';
import { emptyReplayReport, replayLog, type ReplayReport } from './log-replay.ts';
import { assertNamespace, assertScanOptions } from './namespace-keys.ts';
import { directoryOption, integerOption, storageFailure } from './options.ts';
import { mergeScan, type OverlayEntry } from './overlay.ts';

export type { NextTurn } from './log-pipeline.ts';
export type { ReplayReport } from './log-replay.ts';

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
   * How long a written log group may wait before it is applied to the inner engine, in milliseconds;
   * a group of buffered batches only is also synced then, not at once (decision 0042).
   * Default 100. Why: applied as soon as it is synced, a run holds the few writes of one group and
   * is an lmdb transaction of its own (a commit, its dirty pages written, a flush). At a replica's
   * pace, 100 ms of writes in one run cut the CPU per durable write by about 40% and the bytes the
   * disk wrote by half (decision 0006); 250 ms gained little more. The overlay this keeps in memory
   * stays small (rate x delay, bounded by unappliedBytesMax). The log already made the writes
   * durable, and reads are served from the overlay meanwhile. 0 syncs and applies every group at once.
   */
  readonly applyDelayMs?: number;
  /**
   * Written bytes waiting for a run that start one at once, whatever `applyDelayMs`, in bytes.
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
  /** Told once when the engine fails (see `fail`), as it happens rather than at the next write it refuses. */
  readonly onFailure?: (failure: EverwriteError) => void;
}

type ResolvedLoggedOptions = Required<Omit<LoggedEngineOptions, 'onSyncSeconds' | 'onFailure'>>;

function resolveOptions(options: LoggedEngineOptions): ResolvedLoggedOptions {
  const component = 'LoggedEngine';
  return Object.freeze({
    directory: directoryOption(component, options.directory),
    checkpointBytes: integerOption(component, 'checkpointBytes', options.checkpointBytes, 64 * 1024 * 1024, 4096),
    recordBytesMax: integerOption(
      component,
      'recordBytesMax',
      options.recordBytesMax,
      128 * 1024 * 1024,
      64,
      0xffffffff,
    ),
    unappliedBytesMax: integerOption(component, 'unappliedBytesMax', options.unappliedBytesMax, 64 * 1024 * 1024, 1),
    applyDelayMs: integerOption(component, 'applyDelayMs', options.applyDelayMs, 100, 0, 60_000),
    applyRunBytes: integerOption(component, 'applyRunBytes', options.applyRunBytes, 4 * 1024 * 1024, 1),
    fileSystem: options.fileSystem ?? nodeLogFileSystem,
    clock: options.clock ?? systemClock,
    timers: options.timers ?? systemTimers,
    nextTurn: options.nextTurn ?? nodeNextTurn,
  });
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

type EngineState = 'created' | 'opening' | 'open' | 'closing' | 'closed' | 'failed';

export class LoggedEngine implements StorageEngine {
  readonly capabilities: StorageCapabilities;
  readonly options: ResolvedLoggedOptions;
  private state: EngineState = 'created';
  private failure: EverwriteError | undefined;
  private readonly directory: LogDirectory;
  private readonly pipeline: LogPipeline;
  private lastReplay: ReplayReport = emptyReplayReport;
  private readonly onFailure: ((failure: EverwriteError) => void) | undefined;

  constructor(
    readonly inner: StorageEngine,
    options: LoggedEngineOptions,
  ) {
    this.options = resolveOptions(options);
    this.onFailure = options.onFailure;
    this.capabilities = Object.freeze({
      atomicBatch: true,
      durableWrites: inner.capabilities.durableWrites,
      orderedScan: inner.capabilities.orderedScan,
    });
    const innerReadNow = inner.readNow;
    this.readNow =
      innerReadNow === undefined
        ? undefined
        : (namespace, key) => this.readOverlayThenInner(innerReadNow, namespace, key);
    this.readLatestNow =
      innerReadNow === undefined ? undefined : (namespace, key) => this.readLatest(innerReadNow, namespace, key);
    this.directory = new LogDirectory(this.options, {
      inner,
      isFailed: () => this.state === 'failed',
      checkpointFailed: (error) => this.fail(storageFailure('write-ahead log checkpoint failed', error), []),
      // The sealed file's checkpoint waits for its groups: those waiting out the delay go at once.
      sealed: () => this.pipeline.applyWhenDue(),
    });
    this.pipeline = new LogPipeline(
      { ...this.options, onSyncSeconds: options.onSyncSeconds },
      {
        inner,
        directory: this.directory,
        failure: () => (this.state === 'failed' ? (this.failure ?? this.unusable()) : this.failure),
        isClosing: () => this.state === 'closing',
        fail: (failure, held) => this.fail(failure, held),
      },
    );
  }

  /** True once a log or inner-engine failure stopped the engine (see `fail`); close() and open() start it again. */
  get failed(): boolean {
    return this.state === 'failed';
  }

  get replayReport(): ReplayReport {
    return this.lastReplay;
  }

  get statistics(): LoggedEngineStatistics {
    const current = this.directory.current;
    return {
      ...this.pipeline.counters,
      checkpoints: this.directory.checkpoints,
      overlayEntries: this.pipeline.overlay.size,
      unappliedBytes: this.pipeline.unappliedBytes,
      logGeneration: current?.generation ?? 0,
      logBytes: current?.bytes ?? 0,
    };
  }

  async open(): Promise<void> {
    assert(this.state === 'created' || this.state === 'closed', `LoggedEngine cannot open while ${this.state}`);
    this.state = 'opening';
    this.failure = undefined;
    this.pipeline.reset();
    this.directory.reset();
    try {
      await this.inner.open();
      const files = await this.directory.list();
      this.lastReplay = await replayLog(this.options.fileSystem, files, this.inner, this.options.recordBytesMax);
      await this.directory.start(files);
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
    this.pipeline.applyWhenDue();
    await this.pipeline.drain();
    this.pipeline.cancelApplyTimer();
    let failure = this.failure;
    try {
      await this.directory.close(failure === undefined);
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
  readonly readNow: SyncRead | undefined;

  private readOverlayThenInner(innerReadNow: SyncRead, namespace: number, key: Uint8Array): Uint8Array | undefined {
    this.assertReadable(namespace);
    const entry = this.overlayEntry(namespace, key);
    return entry === undefined ? innerReadNow(namespace, key) : entry.value;
  }

  /**
   * StorageEngine.readLatestNow, offered when the inner engine offers readNow: every batch handed to
   * `batch` so far counts, acknowledged or not. Batches go to the log, and from it to the inner
   * engine, in the order they were handed over, and a failure fails every one still queued, so a
   * write built on what this reads is never kept without the writes it read (decision 0043).
   */
  readonly readLatestNow: SyncRead | undefined;

  private readLatest(innerReadNow: SyncRead, namespace: number, key: Uint8Array): Uint8Array | undefined {
    this.assertReadable(namespace);
    return this.pipeline.overlay.latest(namespace, key, innerReadNow);
  }

  /** For the synchronous reads: a bad namespace is a bug, an engine that cannot serve reads throws its failure. */
  private assertReadable(namespace: number): void {
    assertNamespace(namespace);
    if (!this.readable()) throw this.unusable();
  }

  /** Reads are served while open, while closing, and after a failure (what was acknowledged stays readable). */
  private readable(): boolean {
    return this.state === 'open' || this.state === 'closing' || this.state === 'failed';
  }

  /** The overlay's entry for a key (an acknowledged write the inner engine may not have yet), if any. */
  private overlayEntry(namespace: number, key: Uint8Array): OverlayEntry | undefined {
    const overlay = this.pipeline.overlay;
    return overlay.has(namespace) ? overlay.lookup(namespace, key) : undefined;
  }

  batch(
    namespace: number,
    operations: readonly BatchOperation[],
    options: { readonly durable: boolean },
  ): Promise<void> {
    assertNamespace(namespace);
    if (this.state !== 'open') return Promise.reject(this.unusable());
    let record: Buffer;
    try {
      record = encodeBatchRecord(namespace, operations, this.options.recordBytesMax);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.pipeline.batch(namespace, operations, options.durable, record);
  }

  scan(namespace: number, options?: ScanOptions): AsyncIterable<readonly [Uint8Array, Uint8Array]> {
    assertNamespace(namespace);
    assertScanOptions(options);
    return { [Symbol.asyncIterator]: () => this.mergedScan(namespace, options) };
  }

  drop(namespace: number): Promise<void> {
    assertNamespace(namespace);
    if (this.state !== 'open') return Promise.reject(this.unusable());
    return this.pipeline.drop(namespace, encodeDropRecord(namespace));
  }

  private async *mergedScan(
    namespace: number,
    options: ScanOptions | undefined,
  ): AsyncGenerator<readonly [Uint8Array, Uint8Array]> {
    if (!this.readable()) throw this.unusable();
    // The overlay snapshot is taken before the inner scan starts, so an entry released in between
    // is still in the snapshot, and one released before it is already in the inner engine.
    const snapshot = this.pipeline.overlay.range(namespace, options);
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

  /**
   * After a log or inner-engine failure nothing more is written: what reached the disk is unknown,
   * and retrying an fsync that failed can report success for lost data. Every waiting batch fails.
   */
  private fail(failure: EverwriteError, held: readonly Group[]): void {
    if (this.state === 'failed') return;
    this.failure = failure;
    this.state = 'failed';
    this.pipeline.abandonAll(failure, held);
    this.onFailure?.(failure);
  }

  private unusable(): EverwriteError {
    return this.failure ?? new EverwriteError('EVERWRITE_STORAGE_FAILED', `the logged storage engine is ${this.state}`);
  }
}
