// Why: RESP clients are most of a node's traffic in Redis deployments, so operators need its
// commands by outcome and latency beside HTTP's (docs/OPERATIONS.md "Metrics"). Only a node that
// passes its registry gets them: the command loop then pays one clock read and one cached-child
// observe per command, and an embedded server without a registry pays nothing.
import { Counter, Histogram, type Registry } from 'prom-client';
import { ErrorReply, type Reply } from './reply.ts';

/** Seconds; a cached GET (~0.1 ms) to a quorum timeout. */
const latencyBucketsSeconds = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const metricNames = ['everwrite_resp_commands_total', 'everwrite_resp_command_duration_seconds'] as const;

interface Children {
  readonly ok: { inc(): void };
  readonly error: { inc(): void };
  readonly duration: { observe(value: number): void };
}

export class RespMetrics {
  private readonly commands: Counter<'command' | 'outcome'>;
  private readonly duration: Histogram<'command'>;
  /** By command name; names come from the command table (or "unknown"), so they are few. */
  private readonly children = new Map<string, Children>();

  constructor(private readonly registry: Registry) {
    this.commands = new Counter({ name: metricNames[0], help: 'RESP commands answered, by command (lower case; "unknown" for names not in the table) and outcome (ok or error).', labelNames: ['command', 'outcome'], registers: [registry] });
    this.duration = new Histogram({ name: metricNames[1], help: 'Time from starting a RESP command to having its reply, by command.', labelNames: ['command'], buckets: latencyBucketsSeconds, registers: [registry] });
  }

  record(command: string, reply: Reply, seconds: number): void {
    let children = this.children.get(command);
    if (children === undefined) {
      children = { ok: this.commands.labels(command, 'ok'), error: this.commands.labels(command, 'error'), duration: this.duration.labels(command) };
      this.children.set(command, children);
    }
    (reply instanceof ErrorReply ? children.error : children.ok).inc();
    children.duration.observe(seconds);
  }

  unregister(): void {
    for (const name of metricNames) this.registry.removeSingleMetric(name);
  }
}
