// Placeholder until the ring benchmarks land.
import type { BenchResult } from '../harness.ts';
export function run(): BenchResult[] {
  return [];
}
