// Why: a crash may only lose what the StorageEngine contract allows it to lose, and the simulator
// must lose exactly that much, no less, or it proves nothing. A SimDisk models a node's disk the
// way the production write-ahead log behaves (docs/ARCHITECTURE.md section 3, src/io/storage/logged.ts):
//   - every batch is appended to a log in call order; a write becomes visible to reads when it is
//     acknowledged, never before;
//   - a durable batch is acknowledged by the fsync that covers it (group commit: one fsync covers
//     every batch appended before it started); a buffered batch is acknowledged after the write
//     and made durable by a later fsync or the periodic write-back;
//   - a crash keeps everything synced plus a random prefix of the unsynced log; the batch at the
//     cut may be torn, and a torn batch is discarded whole on recovery (CRC-framed records), so a
//     batch is atomic even across a crash;
//   - disk faults: a write may fail (rejected, nothing applied) and a read may fail.
// Completions are scheduler tasks owned by the node, so a paused node's disk waits and a crashed
// node's pending completions never arrive. Each incarnation of a node opens a fresh SimStorage
// handle; a handle dies with its incarnation and never touches the disk again.
import type { Prng } from '../core/base/prng.ts';
import { reservedNamespaces, type BatchOperation, type ScanOptions, type StorageCapabilities, type StorageEngine } from '../runtime/ports.ts';
import type { DotLedger } from './dot-ledger.ts';
import type { SimScheduler } from './scheduler.ts';

export interface DiskFaults {
  /** Probability a batch fails (rejects; nothing is applied). */
  readonly writeFailProbability: number;
  /** Probability a read fails. */
  readonly readFailProbability: number;
  /** Probability the batch at a crash's cut is torn (and discarded on recovery). */
  readonly tornWriteProbability: number;
}

export const healthyDisk: DiskFaults = Object.freeze({ writeFailProbability: 0, readFailProbability: 0, tornWriteProbability: 0 });

export interface DiskMetrics {
  batches: number;
  failedWrites: number;
  failedReads: number;
  syncs: number;
  crashes: number;
  /** Unsynced batches a crash discarded (acknowledged buffered ones included). */
  lostBatches: number;
  tornBatches: number;
}

interface Entry {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

interface LogRecord {
  readonly sequence: number;
  readonly namespace: number;
  readonly operations: readonly BatchOperation[];
  readonly durable: boolean;
  acknowledged: boolean;
  readonly acknowledge: () => void;
}

type State = Map<number, Map<string, Entry>>;

const toMapKey = (key: Uint8Array): string => Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');

function applyOperations(state: State, namespace: number, operations: readonly BatchOperation[]): void {
  let table = state.get(namespace);
  if (table === undefined) state.set(namespace, (table = new Map()));
  for (const operation of operations) {
    const mapKey = toMapKey(operation.key);
    if (operation.type === 'put') table.set(mapKey, { key: operation.key, value: operation.value });
    else table.delete(mapKey);
  }
}

function cloneState(state: State): State {
  return new Map([...state].map(([namespace, table]) => [namespace, new Map(table)]));
}

export interface DiskTiming {
  readonly writeLatencyMs: number;
  readonly fsyncLatencyMinMs: number;
  readonly fsyncLatencyMaxMs: number;
  /** Buffered batches are synced at most this long after they were written, in ms. */
  readonly writebackDelayMs: number;
}

export const defaultDiskTiming: DiskTiming = Object.freeze({ writeLatencyMs: 0.1, fsyncLatencyMinMs: 0.5, fsyncLatencyMaxMs: 4, writebackDelayMs: 200 });

export class SimDisk {
  faults: DiskFaults = healthyDisk;
  readonly metrics: DiskMetrics = { batches: 0, failedWrites: 0, failedReads: 0, syncs: 0, crashes: 0, lostBatches: 0, tornBatches: 0 };
  private durableState: State = new Map();
  private visibleState: State = new Map();
  /** Sequence of the newest batch applied to each visible key, so a late ack never hides a newer write. */
  private visibleSequence = new Map<string, number>();
  private log: LogRecord[] = [];
  private sequence = 0;
  private syncing = false;
  private syncAgain = false;
  private writebackScheduled = false;
  private handle: SimStorage | undefined;

  constructor(
    readonly node: string,
    private readonly scheduler: SimScheduler,
    private readonly prng: Prng,
    private readonly timing: DiskTiming = defaultDiskTiming,
    /** Sees every record of a partition that becomes visible (the cluster's dot invariant). */
    private readonly ledger?: DotLedger,
  ) {}

  /** A fresh engine handle for a new incarnation of the node; any older handle is dead. */
  open(): SimStorage {
    this.handle = new SimStorage(this);
    return this.handle;
  }

  isCurrent(handle: SimStorage): boolean {
    return this.handle === handle;
  }

  /** Power loss: keeps the synced state and a random prefix of the unsynced log. */
  crash(): void {
    this.metrics.crashes += 1;
    this.handle = undefined;
    const cut = this.prng.nextInt(this.log.length + 1);
    for (const record of this.log.slice(0, cut)) applyOperations(this.durableState, record.namespace, record.operations);
    if (cut < this.log.length && this.faults.tornWriteProbability > 0 && this.prng.chance(this.faults.tornWriteProbability)) this.metrics.tornBatches += 1;
    this.metrics.lostBatches += this.log.length - cut;
    this.log = [];
    this.visibleState = cloneState(this.durableState);
    this.visibleSequence = new Map();
    this.syncing = false;
    this.syncAgain = false;
    this.writebackScheduled = false;
  }

  /**
   * A lost or replaced disk: nothing survives, not even the node's metadata, so the next boot finds
   * new storage and draws a new epoch (decision 0008) exactly as a production node with an empty
   * data directory does. The node must be down (its handle dead) when this is called.
   */
  wipe(): void {
    this.handle = undefined;
    this.durableState = new Map();
    this.visibleState = new Map();
    this.visibleSequence = new Map();
    this.log = [];
    this.syncing = false;
    this.syncAgain = false;
    this.writebackScheduled = false;
  }

  /** What a read sees now (the checker inspects replicas through this, outside any node). */
  read(namespace: number, key: Uint8Array): Uint8Array | undefined {
    return this.visibleState.get(namespace)?.get(toMapKey(key))?.value;
  }

  entries(namespace: number): Entry[] {
    const table = this.visibleState.get(namespace);
    if (table === undefined) return [];
    return [...table].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, entry]) => entry);
  }

  namespaces(): number[] {
    return [...this.visibleState.keys()].sort((a, b) => a - b);
  }

  failRead(): boolean {
    const probability = this.faults.readFailProbability;
    if (probability > 0 && this.prng.chance(probability)) {
      this.metrics.failedReads += 1;
      return true;
    }
    return false;
  }

  batch(namespace: number, operations: readonly BatchOperation[], durable: boolean): Promise<void> {
    this.metrics.batches += 1;
    const probability = this.faults.writeFailProbability;
    if (probability > 0 && this.prng.chance(probability)) {
      this.metrics.failedWrites += 1;
      return new Promise((_, reject) => {
        this.scheduler.schedule(this.timing.writeLatencyMs, this.node, 'disk write failed', () => reject(new Error('EIO: simulated write failure')));
      });
    }
    return new Promise((resolve) => {
      const copied = operations.map((operation) => (operation.type === 'put' ? { type: 'put' as const, key: operation.key.slice(), value: operation.value.slice() } : { type: 'delete' as const, key: operation.key.slice() }));
      const record: LogRecord = {
        sequence: ++this.sequence,
        namespace,
        operations: copied,
        durable,
        acknowledged: false,
        acknowledge: () => {
          if (record.acknowledged) return;
          record.acknowledged = true;
          this.makeVisible(record);
          resolve();
        },
      };
      this.log.push(record);
      if (durable) {
        this.requestSync();
      } else {
        this.scheduler.schedule(this.timing.writeLatencyMs, this.node, 'disk write', record.acknowledge);
        this.scheduleWriteback();
      }
    });
  }

  private makeVisible(record: LogRecord): void {
    let table = this.visibleState.get(record.namespace);
    if (table === undefined) this.visibleState.set(record.namespace, (table = new Map()));
    for (const operation of record.operations) {
      const mapKey = toMapKey(operation.key);
      const slot = `${record.namespace}|${mapKey}`;
      if ((this.visibleSequence.get(slot) ?? 0) > record.sequence) continue;
      this.visibleSequence.set(slot, record.sequence);
      if (operation.type === 'put') table.set(mapKey, { key: operation.key, value: operation.value });
      else table.delete(mapKey);
      if (operation.type === 'put' && record.namespace < reservedNamespaces.firstReserved) this.ledger?.observe(`${record.namespace}|${mapKey}`, operation.value);
    }
  }

  private scheduleWriteback(): void {
    if (this.writebackScheduled) return;
    this.writebackScheduled = true;
    this.scheduler.schedule(this.timing.writebackDelayMs, this.node, 'disk writeback', () => {
      this.writebackScheduled = false;
      this.requestSync();
    });
  }

  /** Group commit: one fsync covers every batch appended before it started. */
  private requestSync(): void {
    if (this.syncing) {
      this.syncAgain = true;
      return;
    }
    if (this.log.length === 0) return;
    this.syncing = true;
    const covered = this.sequence;
    const latency = this.timing.fsyncLatencyMinMs + this.prng.nextFloat() * (this.timing.fsyncLatencyMaxMs - this.timing.fsyncLatencyMinMs);
    this.scheduler.schedule(latency, this.node, 'disk fsync', () => this.completeSync(covered));
  }

  private completeSync(covered: number): void {
    this.metrics.syncs += 1;
    const synced = this.log.filter((record) => record.sequence <= covered);
    this.log = this.log.filter((record) => record.sequence > covered);
    for (const record of synced) {
      applyOperations(this.durableState, record.namespace, record.operations);
      record.acknowledge();
    }
    this.syncing = false;
    if (this.syncAgain || this.log.some((record) => record.durable)) {
      this.syncAgain = false;
      this.requestSync();
    }
  }
}

/** The StorageEngine port over one incarnation's view of a SimDisk. */
export class SimStorage implements StorageEngine {
  readonly capabilities: StorageCapabilities = Object.freeze({ atomicBatch: true, durableWrites: true, orderedScan: true });

  constructor(private readonly disk: SimDisk) {}

  private get alive(): boolean {
    return this.disk.isCurrent(this);
  }

  async open(): Promise<void> {}

  async close(): Promise<void> {}

  get(namespace: number, key: Uint8Array): Promise<Uint8Array | undefined> {
    if (!this.alive) return new Promise(() => undefined);
    if (this.disk.failRead()) return Promise.reject(new Error('EIO: simulated read failure'));
    return Promise.resolve(this.disk.read(namespace, key));
  }

  batch(namespace: number, operations: readonly BatchOperation[], options: { readonly durable: boolean }): Promise<void> {
    if (!this.alive) return new Promise(() => undefined);
    return this.disk.batch(namespace, operations, options.durable);
  }

  async *scan(namespace: number, options: ScanOptions = {}): AsyncIterable<readonly [Uint8Array, Uint8Array]> {
    if (!this.alive) return;
    const start = options.start === undefined ? undefined : toMapKey(options.start);
    const end = options.end === undefined ? undefined : toMapKey(options.end);
    let yielded = 0;
    for (const entry of this.disk.entries(namespace)) {
      const mapKey = toMapKey(entry.key);
      if (start !== undefined && mapKey < start) continue;
      if (end !== undefined && mapKey >= end) break;
      if (options.limit !== undefined && yielded >= options.limit) break;
      yielded += 1;
      yield [entry.key, entry.value] as const;
    }
  }

  async drop(namespace: number): Promise<void> {
    const operations = this.disk.entries(namespace).map((entry) => ({ type: 'delete' as const, key: entry.key }));
    if (operations.length > 0) await this.batch(namespace, operations, { durable: true });
  }
}
