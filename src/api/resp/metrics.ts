// Why: RESP clients are most of a node's traffic in Redis deployments, so operators need its
// commands by outcome and latency beside HTTP's (docs/OPERATIONS.md "Metrics"). Only a node that
// passes its registry gets them: the command loop then pays one clock read and one observe into a
// series found once per command and outcome (fast-histogram.ts), and an embedded server without a
// registry pays nothing. The histogram's _count is the command count.
import type { Registry } from 'prom-client';
import { FastHistogram, type HistogramSeries } from '../fast-histogram.ts';
import { ErrorReply, type Reply } from './reply.ts';

/** Seconds; a cached GET (~0.1 ms) to a quorum timeout. */
const latencyBucketsSeconds = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

interface Children {
  readonly ok: HistogramSeries;
  readonly error: HistogramSeries;
}

export class RespMetrics {
  private readonly duration: FastHistogram<'command' | 'outcome'>;
  /** By command name; names come from the command table (or "unknown"), so they are few. */
  private readonly children = new Map<string, Children>();

  constructor(registry: Registry) {
    this.duration = new FastHistogram(
      registry,
      'everwrite_resp_command_duration_seconds',
      'RESP commands from start to reply, by command (lower case; "unknown" for names not in the table) and outcome (ok or error); _count counts them.',
      ['command', 'outcome'],
      latencyBucketsSeconds,
    );
  }

  record(command: string, reply: Reply, seconds: number): void {
    let children = this.children.get(command);
    if (children === undefined) {
      children = { ok: this.duration.labels(command, 'ok'), error: this.duration.labels(command, 'error') };
      this.children.set(command, children);
    }
    (reply instanceof ErrorReply ? children.error : children.ok).observe(seconds);
  }

  unregister(): void {
    this.duration.unregister();
  }
}
