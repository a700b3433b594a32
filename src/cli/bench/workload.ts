// Why: what happens between two requests must cost the load generator almost nothing, since it
// shares the CPU with the nodes it measures: draw the next (operation, key) pair, call the driver,
// record the latency in the operation's histogram and the timeline. This file is that step and the
// tally it feeds. A read-modify-write is one operation: the read, then the write with its context,
// timed together. A read of an absent key is a success (counted apart as not found).
import type { Histogram } from 'hdr-histogram-js';
import { Prng } from '../../core/base/prng.ts';
import type { BenchDriver, Outcome } from './drivers.ts';
import { createLatencyHistogram, toMicroseconds } from './latency.ts';
import type { LoopClock } from './loops.ts';
import { Timeline } from './timeline.ts';
import { ycsbOperations, type OperationSource, type YcsbOperation } from './ycsb.ts';

export interface OperationTally {
  readonly latency: Histogram;
  notFound: number;
  errors: number;
}

/** Everything the workers record; read by the progress display while they run. */
export class LoadStats {
  readonly byOperation: ReadonlyMap<YcsbOperation, OperationTally> = new Map(
    ycsbOperations.map((operation) => [operation, { latency: createLatencyHistogram(), notFound: 0, errors: 0 }]),
  );
  readonly errorsByKind = new Map<string, number>();
  readonly timeline: Timeline;
  completed = 0;
  errors = 0;

  constructor(startMs: number, bucketMs: number, durationMs?: number) {
    this.timeline = new Timeline(startMs, bucketMs, durationMs);
  }

  record(operation: YcsbOperation, outcome: Outcome, latencyMs: number, atMs: number): void {
    const tally = this.byOperation.get(operation) as OperationTally;
    this.completed++;
    if (outcome.kind === 'error') {
      tally.errors++;
      this.errors++;
      const kind = outcome.code ?? 'unknown';
      this.errorsByKind.set(kind, (this.errorsByKind.get(kind) ?? 0) + 1);
      this.timeline.recordError(atMs);
      return;
    }
    const microseconds = toMicroseconds(latencyMs);
    tally.latency.recordValue(microseconds);
    if (outcome.kind === 'notFound') tally.notFound++;
    this.timeline.recordSuccess(atMs, microseconds);
  }

  /** Every operation's successes together, built once at the end. */
  combined(): Histogram {
    const all = createLatencyHistogram();
    for (const tally of this.byOperation.values()) all.add(tally.latency);
    return all;
  }
}

/** Seeded value bytes: incompressible enough that no layer gets a free ride on repeated bytes. */
export function makeValue(bytes: number, seed: number): Uint8Array {
  const prng = new Prng(seed);
  const value = new Uint8Array(bytes);
  for (let index = 0; index < bytes; index++) value[index] = prng.nextUint32() & 0xff;
  return value;
}

/** Runs one operation through the driver; a read-modify-write writes only after a successful read. */
export async function performOperation(
  driver: BenchDriver,
  worker: number,
  operation: YcsbOperation,
  keyIndex: number,
): Promise<Outcome> {
  if (operation === 'read') return driver.read(worker, keyIndex, false);
  if (operation !== 'readModifyWrite') return driver.write(worker, keyIndex, undefined);
  const read = await driver.read(worker, keyIndex, true);
  if (read.kind === 'error') return read;
  return driver.write(worker, keyIndex, read.context);
}

/**
 * The step both loops call: draw from the worker's source, perform, record against the due time.
 * `onError` sees each error outcome after it is recorded (the runner stops on a refusal).
 */
export function operationStep(
  driver: BenchDriver,
  sources: readonly OperationSource[],
  stats: LoadStats,
  clock: LoopClock,
  onError?: (outcome: Outcome) => void,
) {
  return async (worker: number, intendedMs: number): Promise<void> => {
    const planned = (sources[worker] as OperationSource).next();
    const outcome = await performOperation(driver, worker, planned.operation, planned.keyIndex);
    const nowMs = clock.nowMs();
    stats.record(planned.operation, outcome, nowMs - intendedMs, nowMs);
    if (outcome.kind === 'error' && onError !== undefined) onError(outcome);
  };
}
