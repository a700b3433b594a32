// Why: prom-client's Histogram hashes its label object on every observe, even through a child from
// labels(). Per coordinated operation that cost 2.8-3.6 µs (bench/node-metrics.bench.ts,
// docs/BENCHMARKS.md), on the path of every client request; with this histogram 0.6-0.7 µs. It keeps
// each label set's bucket counts in a typed array found once, so an observe is a short bucket scan
// and three additions, and hands prom-client the same exposition at scrape time through the
// registry's custom-metric interface (an object with name, help, type and get()).
import type { Registry } from 'prom-client';

export interface HistogramSeries {
  observe(value: number): void;
}

interface SeriesState extends HistogramSeries {
  readonly labels: Readonly<Record<string, string>>;
  /** Per bucket, not cumulative; the last slot is +Inf. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

interface MetricValue {
  readonly labels: Record<string, string | number>;
  readonly value: number;
  readonly metricName: string;
}

export class FastHistogram<Label extends string> {
  private readonly series = new Map<string, SeriesState>();
  private readonly bounds: Float64Array;

  constructor(
    private readonly registry: Registry,
    readonly name: string,
    private readonly help: string,
    private readonly labelNames: readonly Label[],
    buckets: readonly number[],
  ) {
    this.bounds = Float64Array.from([...buckets].sort((a, b) => a - b));
    // The registry's custom-metric interface: it reads name, help and type, and awaits get().
    registry.registerMetric({
      name,
      help,
      type: 'histogram',
      aggregator: 'sum',
      get: () => Promise.resolve(this.snapshot()),
    } as never);
  }

  /** The series for these label values, in `labelNames` order; keep it, observing through it costs no lookup. */
  labels(...values: string[]): HistogramSeries {
    const key = values.join('\u0000');
    let found = this.series.get(key);
    if (found === undefined) {
      const labels = Object.fromEntries(this.labelNames.map((name, index) => [name, values[index] ?? '']));
      const counts = new Float64Array(this.bounds.length + 1);
      const bounds = this.bounds;
      const state: SeriesState = {
        labels,
        counts,
        sum: 0,
        count: 0,
        observe(value: number): void {
          let bucket = 0;
          while (bucket < bounds.length && value > (bounds[bucket] as number)) bucket++;
          counts[bucket] = (counts[bucket] as number) + 1;
          state.sum += value;
          state.count += 1;
        },
      };
      found = state;
      this.series.set(key, found);
    }
    return found;
  }

  unregister(): void {
    this.registry.removeSingleMetric(this.name);
  }

  private snapshot(): { name: string; help: string; type: string; aggregator: string; values: MetricValue[] } {
    const values: MetricValue[] = [];
    for (const state of this.series.values()) {
      let cumulative = 0;
      for (let bucket = 0; bucket <= this.bounds.length; bucket++) {
        cumulative += state.counts[bucket] as number;
        const le = bucket < this.bounds.length ? (this.bounds[bucket] as number) : '+Inf';
        values.push({ labels: { le, ...state.labels }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: { ...state.labels }, value: state.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...state.labels }, value: state.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: 'histogram', aggregator: 'sum', values };
  }
}
