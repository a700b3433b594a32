// Why: operators need request rates, error rates and latency per route without a log line per
// request. The counter and histogram live in a registry per server (tests and `dev` run several
// servers in one process). Label children are cached, so recording a request on the hot path is a
// map lookup and two increments, with no label objects built per request. The histogram is the
// FastHistogram the RESP front end uses: prom-client's hashes its labels on every observe even
// through a child (decision 0038).
import { Counter, Gauge, Registry } from 'prom-client';
import { FastHistogram, type HistogramSeries } from '../fast-histogram.ts';
import type { AntiEntropyReport } from '../../runtime/service.ts';

/** Methods the API uses keep their name as a label; anything else is folded into "OTHER" (bounded cardinality). */
const knownMethods = new Set(['GET', 'HEAD', 'PUT', 'POST', 'DELETE']);

/** Seconds; from a cached GET (~0.1 ms) to a quorum timeout (seconds). */
const latencyBucketsSeconds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface CountChild {
  inc(value?: number): void;
}
export class HttpMetrics {
  readonly registry: Registry;
  private readonly requests: Counter<'route' | 'method' | 'status'>;
  private readonly duration: FastHistogram<'route' | 'method'>;
  private readonly countChildren = new Map<string, CountChild>();
  private readonly durationChildren = new Map<string, HistogramSeries>();

  /** `antiEntropy`, when the node runs it: read at each scrape into the everwrite_aae_* gauges (decision 0016). */
  constructor(registry: Registry | undefined, antiEntropy?: () => AntiEntropyReport) {
    this.registry = registry ?? new Registry();
    if (antiEntropy !== undefined) registerAntiEntropyGauges(this.registry, antiEntropy);
    this.requests = new Counter({
      name: 'everwrite_http_requests_total',
      help: 'HTTP requests answered, by route template, method and status code.',
      labelNames: ['route', 'method', 'status'],
      registers: [this.registry],
    });
    this.duration = new FastHistogram(
      this.registry,
      'everwrite_http_request_duration_seconds',
      'Time from receiving a request to finishing its answer, by route template and method.',
      ['route', 'method'],
      latencyBucketsSeconds,
    );
  }

  /** Records one answered request. `route` is a template ("/buckets/{bucket}/keys/{key}"), never a raw path. */
  record(route: string, rawMethod: string | undefined, status: number, seconds: number): void {
    const method = rawMethod !== undefined && knownMethods.has(rawMethod) ? rawMethod : 'OTHER';
    const routeMethod = `${route} ${method}`;
    let duration = this.durationChildren.get(routeMethod);
    if (duration === undefined) {
      duration = this.duration.labels(route, method);
      this.durationChildren.set(routeMethod, duration);
    }
    duration.observe(seconds);
    const routeMethodStatus = `${routeMethod} ${status}`;
    let count = this.countChildren.get(routeMethodStatus);
    if (count === undefined) {
      count = this.requests.labels(route, method, String(status));
      this.countChildren.set(routeMethodStatus, count);
    }
    count.inc();
  }

  /** Unregisters this server's metrics, so a shared registry can take a new server after close. */
  unregister(): void {
    this.registry.removeSingleMetric('everwrite_http_requests_total');
    this.duration.unregister();
    for (const name of antiEntropyGaugeNames) this.registry.removeSingleMetric(name);
  }
}

const antiEntropyGaugeNames = [
  'everwrite_aae_trees_ready',
  'everwrite_aae_keys_repaired',
  'everwrite_aae_bytes_exchanged',
  'everwrite_aae_last_exchange_age_seconds',
] as const;

/** Per partition (at most the ring's partition count of series each): what GET /admin/aae shows. */
function registerAntiEntropyGauges(registry: Registry, antiEntropy: () => AntiEntropyReport): void {
  let report: AntiEntropyReport | undefined;
  // One report per scrape: the first gauge collected reads it, the last lets it go.
  const read = (): AntiEntropyReport => (report ??= antiEntropy());
  new Gauge({
    name: 'everwrite_aae_trees_ready',
    help: 'Merkle trees of held partitions rebuilt and ready for exchanges.',
    registers: [registry],
    collect() {
      this.set(read().treesReady);
    },
  });
  const perPartition = (
    name: string,
    help: string,
    value: (entry: AntiEntropyReport['partitions'][number]) => number | undefined,
    last = false,
  ): void => {
    new Gauge({
      name,
      help,
      labelNames: ['partition'],
      registers: [registry],
      collect() {
        this.reset();
        for (const entry of read().partitions) {
          const current = value(entry);
          if (current !== undefined) this.labels(String(entry.partition)).set(current);
        }
        if (last) report = undefined;
      },
    });
  };
  perPartition(
    'everwrite_aae_keys_repaired',
    'Differing keys anti-entropy reconciled, by partition, since the node started.',
    (entry) => entry.keysRepaired,
  );
  perPartition(
    'everwrite_aae_bytes_exchanged',
    'Bytes of tree hashes, leaf entries and records anti-entropy exchanged, by partition, since the node started.',
    (entry) => entry.bytesExchanged,
  );
  perPartition(
    'everwrite_aae_last_exchange_age_seconds',
    'Seconds since the last finished exchange of the partition.',
    (entry) => (entry.lastExchangeAgoMs === null ? undefined : entry.lastExchangeAgoMs / 1000),
    true,
  );
}
