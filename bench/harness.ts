// Why: benchmarks measure, they do not assert (docs/ARCHITECTURE.md habit 9). One tiny harness times an
// operation for a fixed wall-clock budget and reports ops/s, so every bench prints the same shape.
import { performance } from 'node:perf_hooks';

export interface BenchResult {
  name: string;
  opsPerSecond: number;
  operations: number;
  elapsedMs: number;
}

/** Runs `operation` in batches of `batchSize` until `budgetMs` has passed (after a warm-up). */
export function measure(
  name: string,
  operation: (iteration: number) => unknown,
  budgetMs = 1000,
  batchSize = 1000,
): BenchResult {
  let sink: unknown;
  for (let i = 0; i < batchSize * 10; i++) sink = operation(i);
  let operations = 0;
  const start = performance.now();
  let now = start;
  while (now - start < budgetMs) {
    for (let i = 0; i < batchSize; i++) sink = operation(operations + i);
    operations += batchSize;
    now = performance.now();
  }
  if (sink === Symbol.for('never')) console.log('');
  const elapsedMs = now - start;
  return {
    name,
    opsPerSecond: Math.round((operations / elapsedMs) * 1000),
    operations,
    elapsedMs: Math.round(elapsedMs),
  };
}

export function printResults(results: readonly BenchResult[]): void {
  for (const result of results) {
    console.log(`${result.name.padEnd(52)} ${result.opsPerSecond.toLocaleString('en-US').padStart(14)} ops/s`);
  }
}
