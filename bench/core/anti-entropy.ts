// Placeholder until the anti-entropy benchmarks land.
import type { BenchResult } from '../harness.ts';
export function run(): BenchResult[] {
  return [];
}
