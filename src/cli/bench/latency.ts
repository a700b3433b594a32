// Why: latencies are recorded in HdrHistograms (docs/ARCHITECTURE.md section 3) in whole microseconds, so the
// tail (p99.9, max) keeps 3 significant digits however long the run, at a fixed memory cost; and
// the summary is computed by one pure function from any histogram-shaped value, so tests can feed
// it known data.
import { build } from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';

/** 60 s: beyond any per-request timeout the bench allows by default; autoResize covers the rest. */
const highestTrackableMicroseconds = 60_000_000;

export function createLatencyHistogram(): Histogram {
  return build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: highestTrackableMicroseconds,
    numberOfSignificantValueDigits: 3,
    autoResize: true,
  });
}

/** Elapsed milliseconds (performance.now() difference) as a whole number of microseconds, at least 1. */
export function toMicroseconds(elapsedMs: number): number {
  return Math.max(1, Math.round(elapsedMs * 1000));
}

/** What the summary needs from a histogram (hdr-histogram-js provides it). */
export interface HistogramView {
  readonly totalCount: number;
  readonly mean: number;
  readonly maxValue: number;
  getValueAtPercentile(percentile: number): number;
}

/** Latency figures in milliseconds, rounded to the microsecond; all zero when nothing was recorded. */
export interface LatencySummary {
  readonly count: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
}

const microsecondsToMs = (microseconds: number): number => Math.round(microseconds) / 1000;

/**
 * The value at `percentile`, in µs, never above the largest value recorded: a histogram answers a
 * percentile with the top of its bucket, which can pass the maximum when both share a bucket (about
 * one short run in ten), and a report whose p99 exceeds its max is wrong to a reader.
 */
export function percentileMicroseconds(histogram: HistogramView, percentile: number): number {
  return Math.min(histogram.getValueAtPercentile(percentile), histogram.maxValue);
}

export function summarizeLatency(histogram: HistogramView): LatencySummary {
  if (histogram.totalCount === 0)
    return Object.freeze({ count: 0, meanMs: 0, p50Ms: 0, p95Ms: 0, p99Ms: 0, p999Ms: 0, maxMs: 0 });
  return Object.freeze({
    count: histogram.totalCount,
    meanMs: microsecondsToMs(histogram.mean),
    p50Ms: microsecondsToMs(percentileMicroseconds(histogram, 50)),
    p95Ms: microsecondsToMs(percentileMicroseconds(histogram, 95)),
    p99Ms: microsecondsToMs(percentileMicroseconds(histogram, 99)),
    p999Ms: microsecondsToMs(percentileMicroseconds(histogram, 99.9)),
    maxMs: microsecondsToMs(histogram.maxValue),
  });
}
