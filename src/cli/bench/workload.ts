// Why: the measured load is `clients` closed-loop workers: each sends one request, waits for the
// whole answer, records it, and sends the next at once, until the deadline. No per-request timer
// and nothing but a counter bump and a histogram record between requests, so the generator costs
// as little CPU as it can on a machine it shares with the nodes. Key and operation choices come
// from a seeded Prng per worker, so two runs with the same seed issue the same request sequence.
import type { Histogram } from 'hdr-histogram-js';
import { Prng } from '../../core/base/prng.ts';
import type { BenchHttp, RequestOutcome } from './http-clients.ts';
import { createLatencyHistogram, toMicroseconds } from './latency.ts';
import { failureKind, isSuccess } from './report.ts';

export type Operation = 'read' | 'write';

/** Everything the workers record; read by the progress display while they run. */
export class LoadStats {
  readonly reads: Histogram = createLatencyHistogram();
  readonly writes: Histogram = createLatencyHistogram();
  readsNotFound = 0;
  readErrors = 0;
  writeErrors = 0;
  readonly errorsByKind = new Map<string, number>();

  /** Successful plus failed operations so far. */
  get completed(): number {
    return this.reads.totalCount + this.writes.totalCount + this.readErrors + this.writeErrors;
  }

  get errors(): number {
    return this.readErrors + this.writeErrors;
  }

  record(operation: Operation, outcome: RequestOutcome, elapsedMs: number): void {
    if (outcome.status !== undefined && isSuccess(operation, outcome.status)) {
      (operation === 'read' ? this.reads : this.writes).recordValue(toMicroseconds(elapsedMs));
      if (outcome.status === 404) this.readsNotFound++;
      return;
    }
    if (operation === 'read') this.readErrors++;
    else this.writeErrors++;
    const kind = failureKind(outcome);
    this.errorsByKind.set(kind, (this.errorsByKind.get(kind) ?? 0) + 1);
  }

  /** Reads and writes together, built once at the end. */
  combined(): Histogram {
    const all = createLatencyHistogram();
    all.add(this.reads);
    all.add(this.writes);
    return all;
  }
}

/** Picks read or write so that, over many draws, reads make up `readFraction`. */
export function chooseOperation(prng: Prng, readFraction: number): Operation {
  if (readFraction >= 1) return 'read';
  if (readFraction <= 0) return 'write';
  return prng.nextFloat() < readFraction ? 'read' : 'write';
}

/** The path of key number `index` of the bench bucket: `k` and the number, fixed width so keys sort. */
export function keyPath(bucket: string, index: number, keys: number): string {
  return `/buckets/${bucket}/keys/k${String(index).padStart(String(keys - 1).length, '0')}`;
}

/** Worker `worker` of `workers` talks to node `worker mod targets` (round-robin over the nodes). */
export function targetOfWorker(worker: number, targets: number): number {
  return worker % targets;
}

/** Seeded value bytes: incompressible enough that no layer gets a free ride on repeated bytes. */
export function makeValue(bytes: number, seed: number): Uint8Array {
  const prng = new Prng(seed);
  const value = new Uint8Array(bytes);
  for (let index = 0; index < bytes; index++) value[index] = prng.nextUint32() & 0xff;
  return value;
}

export interface WorkerPlan {
  readonly worker: number;
  readonly target: number;
  readonly bucket: string;
  readonly keys: number;
  readonly readFraction: number;
  readonly value: Uint8Array;
  readonly seed: number;
  /** performance.now() time after which the worker sends no new request; shared, so a stop can move it. */
  readonly until: { readonly deadlineMs: number };
}

/** One closed-loop worker: sends until the deadline, recording every answer in `stats`. */
export async function runWorker(plan: WorkerPlan, http: BenchHttp, stats: LoadStats): Promise<void> {
  const prng = new Prng(plan.seed);
  while (performance.now() < plan.until.deadlineMs) {
    const operation = chooseOperation(prng, plan.readFraction);
    const path = keyPath(plan.bucket, prng.nextInt(plan.keys), plan.keys);
    const startedMs = performance.now();
    const outcome = await http.send(operation === 'read' ? { method: 'GET', target: plan.target, path } : { method: 'PUT', target: plan.target, path, body: plan.value });
    stats.record(operation, outcome, performance.now() - startedMs);
  }
}
