// Why: the chaos report's latency figures (p50, p99 per phase) need a quantile of a short list of
// numbers; one small function, apart from the runner so it can be tested alone.

/** The q-quantile (0..1) of a list of numbers, 0 when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}
