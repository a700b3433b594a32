// Why: one failed quorum is a client's retry; many in a row are an outage an operator must see in
// the log, yet a line per failure would flood it exactly when the cluster is struggling. So
// failures are counted per window, and a window with at least `failuresMin` of them ends in one
// warn line with a stable event (`quorum_failures`), the counts by operation and code, and the rate.
import type { RuntimeLogger } from '../runtime/node-runtime.ts';

/** The codes of an operation that could not reach its quorum in time. */
const quorumCodes = new Set(['EVERWRITE_QUORUM_NOT_MET', 'EVERWRITE_TIMEOUT', 'EVERWRITE_UNAVAILABLE']);

export interface QuorumFailureLogOptions {
  readonly logger: RuntimeLogger;
  /** Length of a window, in ms. Default 10000. */
  readonly windowMs?: number;
  /** Failures in a window that make it worth a line. Default 5 (0.5 per second over the default window). */
  readonly failuresMin?: number;
}

export class QuorumFailureLog {
  private readonly counts = new Map<string, number>();
  private total = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly windowMs: number;
  private readonly failuresMin: number;

  constructor(private readonly options: QuorumFailureLogOptions) {
    this.windowMs = options.windowMs ?? 10_000;
    this.failuresMin = options.failuresMin ?? 5;
    this.timer = setInterval(() => this.endWindow(), this.windowMs);
    this.timer.unref();
  }

  /** Counts a failed operation if its code is a quorum failure; other failures are the client's. */
  record(operation: string, code: string): void {
    if (!quorumCodes.has(code)) return;
    const key = `${operation} ${code}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    this.total++;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private endWindow(): void {
    if (this.total >= this.failuresMin) {
      const byOperationAndCode = Object.fromEntries(this.counts);
      const perSecond = Math.round((this.total / (this.windowMs / 1000)) * 100) / 100;
      this.options.logger.warn(
        { event: 'quorum_failures', failures: this.total, windowMs: this.windowMs, perSecond, byOperationAndCode },
        `${this.total} operations failed to reach their quorum in the last ${this.windowMs / 1000} s`,
      );
    }
    this.counts.clear();
    this.total = 0;
  }
}
