// Why: server-driven routing spreads requests over every node round robin, and neither routing may
// keep sending requests to a node that just failed. A failed node is skipped for a back-off that
// doubles with each consecutive failure (capped), then tried again by the next request that comes
// along; one success clears it. When every node is backing off, the one that recovers first is
// still tried: the client never refuses a request without sending it somewhere.

export class NodeSet {
  private readonly failures: Int32Array;
  private readonly retryAtMs: Float64Array;
  private cursor = 0;

  constructor(
    readonly urls: readonly string[],
    private readonly backoffMs: number,
    private readonly backoffMaxMs: number,
    private readonly nowMs: () => number = () => performance.now(),
  ) {
    this.failures = new Int32Array(urls.length);
    this.retryAtMs = new Float64Array(urls.length);
  }

  get size(): number {
    return this.urls.length;
  }

  url(index: number): string {
    return this.urls[index]!;
  }

  isHealthy(index: number, nowMs: number = this.nowMs()): boolean {
    return this.retryAtMs[index]! <= nowMs;
  }

  /**
   * The next node round robin that is not in `excluded` and not backing off; failing that, the
   * excluded-free node whose back-off ends first; undefined when every node is excluded.
   */
  next(excluded: ReadonlySet<number> = new Set()): number | undefined {
    const nowMs = this.nowMs();
    const count = this.urls.length;
    let soonest: number | undefined;
    for (let step = 0; step < count; step++) {
      const index = (this.cursor + step) % count;
      if (excluded.has(index)) continue;
      if (this.isHealthy(index, nowMs)) {
        this.cursor = (index + 1) % count;
        return index;
      }
      if (soonest === undefined || this.retryAtMs[index]! < this.retryAtMs[soonest]!) soonest = index;
    }
    if (soonest !== undefined) this.cursor = (soonest + 1) % count;
    return soonest;
  }

  /** `candidates` with the healthy ones first, each group keeping its order (a stable partition). */
  preferHealthy(candidates: readonly number[]): number[] {
    const nowMs = this.nowMs();
    const healthy = candidates.filter((index) => this.isHealthy(index, nowMs));
    if (healthy.length === candidates.length) return healthy;
    const backingOff = candidates
      .filter((index) => !this.isHealthy(index, nowMs))
      .sort((a, b) => this.retryAtMs[a]! - this.retryAtMs[b]!);
    return [...healthy, ...backingOff];
  }

  failed(index: number): void {
    const failures = Math.min(this.failures[index]! + 1, 30);
    this.failures[index] = failures;
    this.retryAtMs[index] = this.nowMs() + Math.min(this.backoffMs * 2 ** (failures - 1), this.backoffMaxMs);
  }

  succeeded(index: number): void {
    this.failures[index] = 0;
    this.retryAtMs[index] = 0;
  }
}
