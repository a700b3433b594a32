// Placeholder until the versioning benchmarks land.
import type { BenchResult } from '../harness.ts';
export function run(): BenchResult[] {
  return [];
}
