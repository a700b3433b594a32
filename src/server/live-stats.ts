// Why: the dashboard charts throughput and p50/p99 per operation second by second, which a
// Prometheus histogram (cumulative since start) cannot answer without a Prometheus server. This
// keeps the last minute per operation in fixed memory: one slot per second, each a count, an error
// count and a log-scaled latency histogram, so recording is one array increment and the report
// (GET /admin/stats, docs/API.md) computes percentiles from bucket counts.

/** Seconds of history kept and reported. */
export const liveWindowSeconds = 60;

/** Bucket i holds latencies up to smallestMs * ratio^i: 0.05 ms to ~45 s in 1.25x steps. */
const smallestMs = 0.05;
const ratio = 1.25;
const bucketCount = 62;
const logRatio = Math.log(ratio);

function bucketOf(latencyMs: number): number {
  if (latencyMs <= smallestMs) return 0;
  return Math.min(bucketCount - 1, Math.ceil(Math.log(latencyMs / smallestMs) / logRatio));
}

/** A latency a bucket stands for: the geometric middle of its bounds, in ms. */
function bucketMiddleMs(bucket: number): number {
  return smallestMs * ratio ** (bucket - 0.5);
}

interface SecondSlot {
  second: number;
  count: number;
  errors: number;
  readonly buckets: Uint32Array;
}

export interface LiveSecond {
  /** Seconds since the epoch (wall clock) this slot covers. */
  readonly second: number;
  readonly count: number;
  readonly errors: number;
  /** Latency percentiles of the second's operations, ms (bucketed, about ±12%); null when none ran. */
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
}

function percentileMs(buckets: Uint32Array, total: number, fraction: number): number | null {
  if (total === 0) return null;
  const rank = Math.ceil(total * fraction);
  let seen = 0;
  for (let bucket = 0; bucket < bucketCount; bucket++) {
    seen += buckets[bucket] as number;
    if (seen >= rank) return Math.round(bucketMiddleMs(bucket) * 1000) / 1000;
  }
  return null;
}

/** One operation's last minute. */
class OperationWindow {
  private readonly slots: SecondSlot[] = Array.from({ length: liveWindowSeconds }, () => ({
    second: -1,
    count: 0,
    errors: 0,
    buckets: new Uint32Array(bucketCount),
  }));

  record(second: number, latencyMs: number, failed: boolean): void {
    const slot = this.slotFor(second);
    slot.count++;
    if (failed) slot.errors++;
    const bucket = bucketOf(latencyMs);
    slot.buckets[bucket] = (slot.buckets[bucket] as number) + 1;
  }

  /** The last `liveWindowSeconds` whole seconds before `nowSecond`, oldest first; empty seconds count 0. */
  report(nowSecond: number): LiveSecond[] {
    const seconds: LiveSecond[] = [];
    for (let second = nowSecond - liveWindowSeconds; second < nowSecond; second++) {
      const slot = this.slots[second % liveWindowSeconds] as SecondSlot;
      if (slot.second !== second) seconds.push({ second, count: 0, errors: 0, p50Ms: null, p99Ms: null });
      else
        seconds.push({
          second,
          count: slot.count,
          errors: slot.errors,
          p50Ms: percentileMs(slot.buckets, slot.count, 0.5),
          p99Ms: percentileMs(slot.buckets, slot.count, 0.99),
        });
    }
    return seconds;
  }

  private slotFor(second: number): SecondSlot {
    const slot = this.slots[second % liveWindowSeconds] as SecondSlot;
    if (slot.second !== second) {
      slot.second = second;
      slot.count = 0;
      slot.errors = 0;
      slot.buckets.fill(0);
    }
    return slot;
  }
}

/** The last minute of every operation kind named so far (the caller keeps the names few and fixed). */
export class LiveStats {
  private readonly windows = new Map<string, OperationWindow>();

  constructor(private readonly nowMs: () => number = Date.now) {}

  record(operation: string, latencyMs: number, failed: boolean): void {
    let window = this.windows.get(operation);
    if (window === undefined) this.windows.set(operation, (window = new OperationWindow()));
    window.record(Math.floor(this.nowMs() / 1000), latencyMs, failed);
  }

  report(): Record<string, LiveSecond[]> {
    const nowSecond = Math.floor(this.nowMs() / 1000);
    const report: Record<string, LiveSecond[]> = {};
    for (const [operation, window] of this.windows) report[operation] = window.report(nowSecond);
    return report;
  }
}
