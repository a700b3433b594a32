// Why: a run's percentiles over its whole length hide a stall in the middle (a compaction, an fsync
// storm, a GC pause), and the paper's Figures 4 and 5 are latency over time. So each completed
// operation is also recorded in the histogram of its time bucket, and the report and the SVG plot
// read one point per bucket: throughput and p50/p99/p99.9/max latency. Buckets are one second, or
// longer for long runs so a run never keeps more than `bucketsMax` histograms.
import type { Histogram } from 'hdr-histogram-js';
import { createLatencyHistogram, percentileMicroseconds } from './latency.ts';

export const bucketsMax = 600;

export interface TimelinePoint {
  /** Start of the bucket, seconds since the measured run began. */
  readonly atSeconds: number;
  readonly bucketSeconds: number;
  /** Successful operations completed in the bucket, per second. */
  readonly opsPerSecond: number;
  readonly errors: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
}

/** Bucket length for a run of `durationSeconds`: 1 s, or longer so there are at most `bucketsMax`. */
export function bucketMsFor(durationSeconds: number): number {
  return Math.max(1, Math.ceil(durationSeconds / bucketsMax)) * 1000;
}

const toMs = (microseconds: number): number => Math.round(microseconds) / 1000;

export class Timeline {
  private readonly histograms: Histogram[] = [];
  private readonly errorCounts: number[] = [];

  private readonly lastBucket: number;

  /**
   * Operations that complete after the run's end (those in flight at the deadline) are counted in
   * the last bucket, so no sliver of a bucket gets a rate from a handful of stragglers.
   */
  constructor(
    private readonly startMs: number,
    readonly bucketMs: number,
    durationMs: number = bucketsMax * bucketMs,
  ) {
    this.lastBucket = Math.min(bucketsMax, Math.max(1, Math.ceil(durationMs / bucketMs))) - 1;
  }

  private bucketOf(atMs: number): number {
    return Math.min(this.lastBucket, Math.max(0, Math.floor((atMs - this.startMs) / this.bucketMs)));
  }

  recordSuccess(atMs: number, latencyMicroseconds: number): void {
    const bucket = this.bucketOf(atMs);
    while (this.histograms.length <= bucket) this.histograms.push(createLatencyHistogram());
    (this.histograms[bucket] as Histogram).recordValue(latencyMicroseconds);
  }

  recordError(atMs: number): void {
    const bucket = this.bucketOf(atMs);
    while (this.errorCounts.length <= bucket) this.errorCounts.push(0);
    this.errorCounts[bucket] = (this.errorCounts[bucket] ?? 0) + 1;
  }

  /** One point per bucket up to the last one that saw anything; a partial last bucket's rate uses its own length. */
  points(elapsedSeconds: number): TimelinePoint[] {
    const count = Math.max(this.histograms.length, this.errorCounts.length);
    const bucketSeconds = this.bucketMs / 1000;
    const points: TimelinePoint[] = [];
    for (let bucket = 0; bucket < count; bucket++) {
      const histogram = this.histograms[bucket];
      const atSeconds = bucket * bucketSeconds;
      const spanSeconds = Math.max(0.001, Math.min(bucketSeconds, elapsedSeconds - atSeconds));
      const empty = histogram === undefined || histogram.totalCount === 0;
      points.push({
        atSeconds,
        bucketSeconds,
        opsPerSecond: empty ? 0 : Math.round((histogram.totalCount / spanSeconds) * 10) / 10,
        errors: this.errorCounts[bucket] ?? 0,
        p50Ms: empty ? 0 : toMs(percentileMicroseconds(histogram, 50)),
        p99Ms: empty ? 0 : toMs(percentileMicroseconds(histogram, 99)),
        p999Ms: empty ? 0 : toMs(percentileMicroseconds(histogram, 99.9)),
        maxMs: empty ? 0 : toMs(histogram.maxValue),
      });
    }
    return points;
  }
}
