// Why: users compare stores with YCSB's core workloads, so `everwrite bench` offers them by name
// with YCSB's proportions and request distributions, plus a write-only W for the write path. A
// workload is a table of operation shares; the Keyspace hands out key indexes (the records of the
// load phase, then the keys workload D inserts) and the operation source draws one (operation,
// key) pair at a time from a worker's seeded Prng, so a run replays from its seed.
import type { Prng } from '../../core/base/prng.ts';
import type { KeyChooser, KeyDistribution } from './key-choosers.ts';

/** `readModifyWrite`: a read, then a write of the key carrying the read's causal context. */
export type YcsbOperation = 'read' | 'update' | 'insert' | 'readModifyWrite';
export const ycsbOperations: readonly YcsbOperation[] = ['read', 'update', 'insert', 'readModifyWrite'];

export type WorkloadName = 'A' | 'B' | 'C' | 'D' | 'F' | 'W';
export const workloadNames: readonly WorkloadName[] = ['A', 'B', 'C', 'D', 'F', 'W'];

export interface WorkloadSpec {
  readonly name: WorkloadName;
  readonly description: string;
  /** Shares of each operation, summing to 1. */
  readonly shares: Readonly<Record<YcsbOperation, number>>;
  /** YCSB's request distribution for the workload, used unless --distribution overrides it. */
  readonly distribution: KeyDistribution;
}

const shares = (
  read: number,
  update: number,
  insert: number,
  readModifyWrite: number,
): Record<YcsbOperation, number> => ({ read, update, insert, readModifyWrite });

export const workloads: Readonly<Record<WorkloadName, WorkloadSpec>> = Object.freeze({
  A: {
    name: 'A',
    description: 'update heavy: 50% reads, 50% updates',
    shares: shares(0.5, 0.5, 0, 0),
    distribution: 'zipfian',
  },
  B: {
    name: 'B',
    description: 'read mostly: 95% reads, 5% updates',
    shares: shares(0.95, 0.05, 0, 0),
    distribution: 'zipfian',
  },
  C: { name: 'C', description: 'read only', shares: shares(1, 0, 0, 0), distribution: 'zipfian' },
  D: {
    name: 'D',
    description: 'read latest: 95% reads, 5% inserts, reads favour the newest keys',
    shares: shares(0.95, 0, 0.05, 0),
    distribution: 'latest',
  },
  F: {
    name: 'F',
    description: 'read-modify-write: 50% reads, 50% read-then-write with the context',
    shares: shares(0.5, 0, 0, 0.5),
    distribution: 'zipfian',
  },
  W: { name: 'W', description: 'write only: 100% updates', shares: shares(0, 1, 0, 0), distribution: 'zipfian' },
} satisfies Record<WorkloadName, WorkloadSpec>);

/**
 * Key indexes: 0..records-1 exist after the load phase; inserts take the next index. Shared by all
 * workers of a run (one event loop, so the counter needs no lock).
 */
export class Keyspace {
  private inserted: number;

  constructor(readonly records: number) {
    this.inserted = records;
  }

  /** Keys that reads and updates may choose from: the records plus every insert handed out. */
  get count(): number {
    return this.inserted;
  }

  claimInsert(): number {
    return this.inserted++;
  }
}

export interface PlannedOperation {
  readonly operation: YcsbOperation;
  readonly keyIndex: number;
}

/** Draws operations by the workload's shares and keys by the chooser; one per worker (its own Prng). */
export class OperationSource {
  private readonly thresholds: Array<{ readonly below: number; readonly operation: YcsbOperation }> = [];

  constructor(
    spec: WorkloadSpec,
    private readonly chooser: KeyChooser,
    private readonly keyspace: Keyspace,
    private readonly prng: Prng,
  ) {
    let cumulative = 0;
    for (const operation of ycsbOperations) {
      if (spec.shares[operation] <= 0) continue;
      cumulative += spec.shares[operation];
      this.thresholds.push({ below: cumulative, operation });
    }
  }

  next(): PlannedOperation {
    const draw = this.prng.nextFloat() * (this.thresholds[this.thresholds.length - 1]?.below ?? 1);
    const operation = this.thresholds.find((threshold) => draw < threshold.below)?.operation ?? 'read';
    if (operation === 'insert') return { operation, keyIndex: this.keyspace.claimInsert() };
    return { operation, keyIndex: this.chooser.next(this.prng, Math.max(1, this.keyspace.count)) };
  }
}
