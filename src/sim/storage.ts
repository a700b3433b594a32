// Why: a crash may only lose what the StorageEngine contract allows it to lose, and the simulator
// must lose exactly that much, no less, or it proves nothing. So a simulated node stores through the
// production write-ahead log (LoggedEngine, src/io/storage/logged.ts), and only the disk under it is
// simulated (decision 0027). A SimDisk is one node's disk:
//   - log files (through the LogFileSystem port): appends are readable at once and durable only
//     after datasync; a crash keeps every synced byte plus a prefix of the unsynced appends, whole
//     appends, except that the first one past the cut is torn (a prefix of it kept) with the seed's
//     torn-write probability. Creating or removing a file is durable only after syncDirectory; a
//     crash keeps or undoes each change made since, by a coin.
//   - the inner engine's files, standing in for lmdb: its writes are durable only after a durable
//     batch (the log's checkpoint barrier); a crash keeps either the state at the last barrier or
//     everything applied (both are states lmdb without sync may be left in).
//   - faults, on command: an append or a datasync fails (EIO), which fails the log as it would in
//     production; a read (a log file at replay, or the inner engine) fails.
// Every completion that takes time is a scheduler task the node owns, so a paused node's disk waits
// and a crashed node's completions never arrive. Each incarnation of a node opens a fresh handle;
// a handle dies with its incarnation and never touches the disk again.
import type { Prng } from '../core/base/prng.ts';
import { LoggedEngine } from '../io/storage/logged.ts';
import type { AppendableLogFile, LogFileSystem } from '../io/storage/log-files.ts';
import {
  reservedNamespaces,
  type BatchOperation,
  type Clock,
  type ScanOptions,
  type StorageCapabilities,
  type StorageEngine,
  type SyncRead,
} from '../runtime/ports.ts';
import { SimTimers } from './clock.ts';
import type { DotLedger } from './dot-ledger.ts';
import type { SimScheduler } from './scheduler.ts';

export interface DiskFaults {
  /** Probability a log append or datasync fails (EIO): the log fails, and the node is restarted. */
  readonly writeFailProbability: number;
  /** Probability a read fails (a log file at replay, or an inner-engine read). */
  readonly readFailProbability: number;
  /** Probability a crash tears the first unsynced append past its cut (keeps a prefix of it). */
  readonly tornWriteProbability: number;
}

/** Where a crash tore an append: the test checks replay against it (decision 0027). */
export interface TornAppend {
  readonly path: string;
  /** Offset in the file where the torn append began. */
  readonly appendOffset: number;
  /** Bytes the append had, and the prefix of them the crash kept (at least 1, fewer than all). */
  readonly appendBytes: number;
  readonly keptBytes: number;
}

export const healthyDisk: DiskFaults = Object.freeze({
  writeFailProbability: 0,
  readFailProbability: 0,
  tornWriteProbability: 0,
});

export interface DiskMetrics {
  /** Batches the node's storage acknowledged. */
  batches: number;
  failedWrites: number;
  failedReads: number;
  syncs: number;
  crashes: number;
  /** Unsynced log appends a crash discarded (whole or torn). */
  lostWrites: number;
  tornWrites: number;
  /** Times the log failed and the node was restarted. */
  storageFailures: number;
}

export interface DiskTiming {
  /** Latency of a directory operation, a file creation or a read, in ms. */
  readonly writeLatencyMs: number;
  readonly fsyncLatencyMinMs: number;
  readonly fsyncLatencyMaxMs: number;
}

export const defaultDiskTiming: DiskTiming = Object.freeze({
  writeLatencyMs: 0.1,
  fsyncLatencyMinMs: 0.5,
  fsyncLatencyMaxMs: 4,
});

/** Where a simulated node keeps its log (the inner engine's files are not named). */
const logDirectory = '/sim/wal';

interface Entry {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

type Tables = Map<number, Map<string, Entry>>;

const toMapKey = (key: Uint8Array): string =>
  Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');

function cloneTables(tables: Tables): Tables {
  return new Map([...tables].map(([namespace, table]) => [namespace, new Map(table)]));
}

/** One simulated file: the appends in order, and how many bytes of them are durable. */
class SimFile {
  appends: Buffer[] = [];
  bytes = 0;
  syncedBytes = 0;

  append(chunks: readonly Uint8Array[]): number {
    const bytes = Buffer.concat(chunks);
    this.appends.push(bytes);
    this.bytes += bytes.length;
    return bytes.length;
  }

  content(): Buffer {
    return Buffer.concat(this.appends);
  }

  /**
   * Power loss: the synced bytes stay; of the unsynced appends a random number stay whole, and the
   * next one is torn (a prefix kept) with `tornProbability`. Returns the appends lost, and where the
   * torn one began and how much of it was kept.
   */
  crash(prng: Prng, tornProbability: number): { lost: number; torn: Omit<TornAppend, 'path'> | undefined } {
    let offset = 0;
    let firstUnsynced = 0;
    while (
      firstUnsynced < this.appends.length &&
      offset + (this.appends[firstUnsynced] as Buffer).length <= this.syncedBytes
    )
      offset += (this.appends[firstUnsynced++] as Buffer).length;
    const unsynced = this.appends.length - firstUnsynced;
    if (unsynced === 0) return { lost: 0, torn: undefined };
    const cut = firstUnsynced + prng.nextInt(unsynced + 1);
    const kept = this.appends.slice(0, cut);
    let torn: Omit<TornAppend, 'path'> | undefined;
    const next = this.appends[cut];
    if (next !== undefined && next.length > 1 && tornProbability > 0 && prng.chance(tornProbability)) {
      const keptBytes = 1 + prng.nextInt(next.length - 1);
      torn = {
        appendOffset: kept.reduce((total, append) => total + append.length, 0),
        appendBytes: next.length,
        keptBytes,
      };
      kept.push(next.subarray(0, keptBytes));
    }
    this.appends = kept;
    this.bytes = kept.reduce((total, append) => total + append.length, 0);
    this.syncedBytes = Math.min(this.syncedBytes, this.bytes);
    return { lost: unsynced - (cut - firstUnsynced), torn };
  }
}

export class SimDisk {
  faults: DiskFaults = healthyDisk;
  readonly metrics: DiskMetrics = {
    batches: 0,
    failedWrites: 0,
    failedReads: 0,
    syncs: 0,
    crashes: 0,
    lostWrites: 0,
    tornWrites: 0,
    storageFailures: 0,
  };
  /**
   * The appends the last crash tore, file by file. The disk knows nothing of records: whether a
   * tear left a partial record (or fell exactly between two records of one group's append, leaving
   * whole records only) is for the caller to tell from the file's content.
   */
  lastCrashTears: readonly TornAppend[] = [];
  /** The directory as the running node sees it, and as a power loss would leave it. */
  private files = new Map<string, SimFile>();
  private durableFiles = new Map<string, SimFile>();
  /** The inner engine's state: what it has applied, and what survives a power loss. */
  private applied: Tables = new Map();
  private durableApplied: Tables = new Map();
  private handle: SimStorage | undefined;

  constructor(
    readonly node: string,
    private readonly scheduler: SimScheduler,
    private readonly prng: Prng,
    private readonly timing: DiskTiming = defaultDiskTiming,
    /** Sees every record of a partition a node acknowledges (the cluster's dot invariant). */
    private readonly ledger?: DotLedger,
  ) {}

  /**
   * A fresh, unopened engine for a new incarnation of the node: the production LoggedEngine over
   * this disk; any older handle is dead. `onLogFailed` is told when the log fails (the node is
   * then restarted, as a supervisor would once the process exits).
   */
  open(onLogFailed: () => void = () => undefined): SimStorage {
    this.handle = new SimStorage(this, this.scheduler, this.prng, this.ledger, onLogFailed);
    return this.handle;
  }

  isCurrent(handle: SimStorage): boolean {
    return this.handle === handle;
  }

  /** Bound to one handle: every call through a dead handle never completes and changes nothing. */
  fileSystem(handle: SimStorage): LogFileSystem {
    return new SimLogFileSystem(this, handle);
  }

  /** kill -9 of the process: the handle dies, but the OS keeps every byte written (nothing is lost). */
  kill(): void {
    this.handle = undefined;
  }

  /** Power loss: the handle dies; the disk keeps what was synced and a random part of the rest. */
  crash(): void {
    this.metrics.crashes += 1;
    this.handle = undefined;
    for (const path of new Set([...this.files.keys(), ...this.durableFiles.keys()])) {
      const current = this.files.get(path);
      if (current === this.durableFiles.get(path)) continue;
      // A creation or removal not yet made durable by syncDirectory: a coin decides if it persisted.
      const persisted = this.prng.chance(0.5) ? current : this.durableFiles.get(path);
      if (persisted === undefined) this.files.delete(path);
      else this.files.set(path, persisted);
    }
    this.durableFiles = new Map(this.files);
    const tears: TornAppend[] = [];
    for (const [path, file] of this.files) {
      const { lost, torn } = file.crash(this.prng, this.faults.tornWriteProbability);
      this.metrics.lostWrites += lost;
      if (torn === undefined) continue;
      this.metrics.tornWrites += 1;
      tears.push({ path, ...torn });
    }
    this.lastCrashTears = tears;
    if (this.prng.chance(0.5)) this.applied = cloneTables(this.durableApplied);
    else this.durableApplied = cloneTables(this.applied);
  }

  /**
   * A lost or replaced disk: nothing survives, not even the node's metadata, so the next boot finds
   * new storage and draws a new epoch (decision 0008) exactly as a production node with an empty
   * data directory does. The node must be down (its handle dead) when this is called.
   */
  wipe(): void {
    this.handle = undefined;
    this.files = new Map();
    this.durableFiles = new Map();
    this.applied = new Map();
    this.durableApplied = new Map();
  }

  /**
   * What a read of the node sees now, for the checker outside any node: through the running
   * engine (its overlay, then the inner engine) when the node is up, else the inner engine's
   * state (the log a restart would replay is not read: the checker looks at nodes that are up).
   */
  read(namespace: number, key: Uint8Array): Uint8Array | undefined {
    return this.handle?.peek(namespace, key) ?? this.applied.get(namespace)?.get(toMapKey(key))?.value;
  }

  /** The log files as they are now: content and how much of it is durable (tests check a crash against it). */
  logFiles(): Map<string, { readonly content: Buffer; readonly syncedBytes: number }> {
    return new Map(
      [...this.files].map(([path, file]) => [path, { content: file.content(), syncedBytes: file.syncedBytes }]),
    );
  }

  // ---- what the handles call ----------------------------------------------------------------

  /** Resolves after `delayMs` as a task of the node, or never when the handle died first. */
  complete<T>(handle: SimStorage, delayMs: number, label: string, work: () => T): Promise<T> {
    return new Promise((resolve, reject) => {
      if (!this.isCurrent(handle)) return;
      this.scheduler.schedule(delayMs, this.node, label, () => {
        if (!this.isCurrent(handle)) return;
        try {
          resolve(work());
        } catch (error) {
          reject(error);
        }
      });
    });
  }

  get writeLatencyMs(): number {
    return this.timing.writeLatencyMs;
  }

  fsyncLatencyMs(): number {
    return (
      this.timing.fsyncLatencyMinMs +
      this.prng.nextFloat() * (this.timing.fsyncLatencyMaxMs - this.timing.fsyncLatencyMinMs)
    );
  }

  writeFails(): boolean {
    const probability = this.faults.writeFailProbability;
    if (probability > 0 && this.prng.chance(probability)) {
      this.metrics.failedWrites += 1;
      return true;
    }
    return false;
  }

  readFails(): boolean {
    const probability = this.faults.readFailProbability;
    if (probability > 0 && this.prng.chance(probability)) {
      this.metrics.failedReads += 1;
      return true;
    }
    return false;
  }

  directory(): Map<string, SimFile> {
    return this.files;
  }

  syncDirectory(): void {
    this.durableFiles = new Map(this.files);
  }

  innerTables(): Tables {
    return this.applied;
  }

  /** The inner engine's durability barrier: everything it applied survives a power loss from now. */
  innerBarrier(): void {
    this.durableApplied = cloneTables(this.applied);
  }
}

/** simulated EIO, as the OS reports a failed write or read. */
function ioError(what: string): Error {
  return Object.assign(new Error(`EIO: simulated ${what} failure`), { code: 'EIO' });
}

class SimAppendableFile implements AppendableLogFile {
  constructor(
    private readonly disk: SimDisk,
    private readonly handle: SimStorage,
    private readonly file: SimFile,
  ) {}

  append(chunks: readonly Uint8Array[]): number {
    if (!this.disk.isCurrent(this.handle)) throw ioError('write through a dead process');
    if (this.disk.writeFails()) throw ioError('write');
    return this.file.append(chunks);
  }

  datasync(): Promise<void> {
    const covered = this.file.bytes;
    const fails = this.disk.writeFails();
    return this.disk.complete(this.handle, this.disk.fsyncLatencyMs(), 'disk fsync', () => {
      if (fails) throw ioError('fsync');
      this.disk.metrics.syncs += 1;
      this.file.syncedBytes = Math.max(this.file.syncedBytes, Math.min(covered, this.file.bytes));
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** The LogFileSystem port over a SimDisk, for one incarnation. */
class SimLogFileSystem implements LogFileSystem {
  constructor(
    private readonly disk: SimDisk,
    private readonly handle: SimStorage,
  ) {}

  private later<T>(label: string, work: () => T): Promise<T> {
    return this.disk.complete(this.handle, this.disk.writeLatencyMs, label, work);
  }

  ensureDirectory(): Promise<void> {
    return this.later('disk mkdir', () => undefined);
  }

  list(directory: string): Promise<string[]> {
    return this.later('disk list', () =>
      [...this.disk.directory().keys()]
        .filter((path) => path.startsWith(`${directory}/`))
        .map((path) => path.slice(directory.length + 1)),
    );
  }

  create(path: string): Promise<AppendableLogFile> {
    return this.later('disk create', () => {
      const files = this.disk.directory();
      if (files.has(path)) throw Object.assign(new Error(`EEXIST: ${path}`), { code: 'EEXIST' });
      const file = new SimFile();
      files.set(path, file);
      return new SimAppendableFile(this.disk, this.handle, file);
    });
  }

  read(path: string): Promise<Uint8Array> {
    return this.later('disk read', () => {
      const file = this.disk.directory().get(path);
      if (file === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
      if (this.disk.readFails()) throw ioError('read');
      return file.content();
    });
  }

  unlink(path: string): Promise<void> {
    return this.later('disk unlink', () => {
      if (!this.disk.directory().delete(path)) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    });
  }

  syncDirectory(): Promise<void> {
    return this.later('disk directory sync', () => this.disk.syncDirectory());
  }
}

/**
 * The inner engine of one incarnation, standing in for lmdb: sorted tables in memory whose writes
 * become durable at a durable batch (the log's barrier). It offers readNow as lmdb does.
 */
class SimInnerEngine implements StorageEngine {
  readonly capabilities: StorageCapabilities = Object.freeze({
    atomicBatch: true,
    durableWrites: true,
    orderedScan: true,
  });
  /** While true, reads draw no fault (the checker's peek must not change the run). */
  quiet = false;

  constructor(
    private readonly disk: SimDisk,
    private readonly handle: SimStorage,
  ) {}

  private get alive(): boolean {
    return this.disk.isCurrent(this.handle);
  }

  async open(): Promise<void> {}

  async close(): Promise<void> {}

  readonly readNow = (namespace: number, key: Uint8Array): Uint8Array | undefined => {
    if (!this.quiet && this.disk.readFails()) throw ioError('read');
    return this.disk.innerTables().get(namespace)?.get(toMapKey(key))?.value;
  };

  get(namespace: number, key: Uint8Array): Promise<Uint8Array | undefined> {
    if (!this.alive) return new Promise(() => undefined);
    try {
      return Promise.resolve(this.readNow(namespace, key));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  batch(
    namespace: number,
    operations: readonly BatchOperation[],
    options: { readonly durable: boolean },
  ): Promise<void> {
    if (!this.alive) return new Promise(() => undefined);
    const tables = this.disk.innerTables();
    let table = tables.get(namespace);
    if (table === undefined) tables.set(namespace, (table = new Map()));
    for (const operation of operations) {
      // Copied, as lmdb copies into its pages: the caller's arrays are not the disk's.
      const key = operation.key.slice();
      if (operation.type === 'put') table.set(toMapKey(key), { key, value: operation.value.slice() });
      else table.delete(toMapKey(key));
    }
    if (options.durable) this.disk.innerBarrier();
    return Promise.resolve();
  }

  async *scan(namespace: number, options: ScanOptions = {}): AsyncIterable<readonly [Uint8Array, Uint8Array]> {
    if (!this.alive) return;
    const table = this.disk.innerTables().get(namespace);
    if (table === undefined) return;
    const start = options.start === undefined ? undefined : toMapKey(options.start);
    const end = options.end === undefined ? undefined : toMapKey(options.end);
    const keys = [...table.keys()].sort();
    let yielded = 0;
    for (const mapKey of keys) {
      if (start !== undefined && mapKey < start) continue;
      if (end !== undefined && mapKey >= end) break;
      if (options.limit !== undefined && yielded >= options.limit) break;
      const entry = table.get(mapKey) as Entry;
      yielded += 1;
      yield [entry.key, entry.value] as const;
    }
  }

  drop(namespace: number): Promise<void> {
    if (!this.alive) return new Promise(() => undefined);
    this.disk.innerTables().delete(namespace);
    return Promise.resolve();
  }
}

/** A virtual monotonic clock for the log (its wall clock is never read). */
function schedulerClock(scheduler: SimScheduler): Clock {
  return { monotonicMs: () => scheduler.nowMs, realtimeMs: () => scheduler.nowMs };
}

/**
 * One incarnation's storage: the production LoggedEngine over the SimDisk, with the node's virtual
 * clock and timers. It reports every acknowledged partition write to the dot ledger, and tells the
 * cluster when the log failed.
 */
export class SimStorage implements StorageEngine {
  readonly capabilities: StorageCapabilities;
  readonly engine: LoggedEngine;
  readonly readNow: SyncRead | undefined;
  readonly readLatestNow: SyncRead | undefined;
  private readonly inner: SimInnerEngine;

  constructor(
    private readonly disk: SimDisk,
    scheduler: SimScheduler,
    prng: Prng,
    private readonly ledger: DotLedger | undefined,
    private readonly onLogFailed: () => void,
  ) {
    this.inner = new SimInnerEngine(disk, this);
    const timers = new SimTimers(scheduler, disk.node);
    this.engine = new LoggedEngine(this.inner, {
      directory: logDirectory,
      fileSystem: disk.fileSystem(this),
      clock: schedulerClock(scheduler),
      timers,
      nextTurn: (callback) => void timers.after(0, callback),
      // Small log files, so checkpoints (rotation, barrier, deletion) happen within a run.
      checkpointBytes: prng.pick([4096, 16_384, 65_536]),
      applyDelayMs: prng.pick([0, 100]),
      onFailure: () => this.logFailed(),
    });
    this.capabilities = this.engine.capabilities;
    this.readNow = this.engine.readNow;
    this.readLatestNow = this.engine.readLatestNow;
  }

  /**
   * The checker's read: the engine's answer without drawing a read fault, or undefined while the
   * engine cannot answer (still opening: the disk's state is read instead).
   */
  peek(namespace: number, key: Uint8Array): Uint8Array | undefined {
    this.inner.quiet = true;
    try {
      return this.engine.readNow?.(namespace, key);
    } catch {
      return undefined;
    } finally {
      this.inner.quiet = false;
    }
  }

  open(): Promise<void> {
    return this.engine.open();
  }

  close(): Promise<void> {
    return this.engine.close();
  }

  get(namespace: number, key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.engine.get(namespace, key);
  }

  batch(
    namespace: number,
    operations: readonly BatchOperation[],
    options: { readonly durable: boolean },
  ): Promise<void> {
    return this.engine.batch(namespace, operations, options).then(() => this.acknowledged(namespace, operations));
  }

  scan(namespace: number, options?: ScanOptions): AsyncIterable<readonly [Uint8Array, Uint8Array]> {
    return this.engine.scan(namespace, options);
  }

  drop(namespace: number): Promise<void> {
    return this.engine.drop(namespace);
  }

  private acknowledged(namespace: number, operations: readonly BatchOperation[]): void {
    this.disk.metrics.batches += 1;
    if (namespace >= reservedNamespaces.firstReserved || this.ledger === undefined) return;
    for (const operation of operations)
      if (operation.type === 'put') this.ledger.observe(`${namespace}|${toMapKey(operation.key)}`, operation.value);
  }

  private logFailed(): void {
    if (!this.disk.isCurrent(this)) return;
    this.disk.metrics.storageFailures += 1;
    this.onLogFailed();
  }
}
