// Why: a node's background work (handoff streams, hint delivery, anti-entropy) competes with client
// requests for the same disk, link and event loop. The paper (section 6.5) gives background tasks a
// share of the resources through an admission controller that watches foreground latency and backs
// off when it rises. This is that controller, one per node, shared by every background task
// (decision 0017): a byte budget per second, a bound on concurrent handoff transfers, and a cheap
// running p99 of coordinated requests; while the p99 exceeds `latencyFactor` times its baseline (and
// a floor), the byte budget is halved. Pure: time comes in as nowMs.
import { assert } from '../base/assert.ts';

export interface BackgroundAdmissionSettings {
  readonly bytesPerSecondMax: number;
  readonly transfersMax: number;
  /** The p99 over its baseline above which the budget is halved. */
  readonly latencyFactor: number;
  /** A p99 below this never throttles, in ms. */
  readonly latencyFloorMs: number;
}

/** What the controller is doing, for /admin/status, the metrics and `cluster status`. */
export interface BackgroundStatus {
  /** The running estimate of the foreground p99, in ms. */
  readonly foregroundP99Ms: number;
  /** The quiet-time p99 it is compared with, in ms; null until enough requests were seen. */
  readonly baselineMs: number | null;
  /** The foreground p99 is above the factor times its baseline (and the floor): the budget is halved. */
  readonly throttled: boolean;
  readonly bytesPerSecondNow: number;
  readonly bytesPerSecondMax: number;
  readonly transfersRunning: number;
  readonly transfersMax: number;
}

/** How far the running quantile moves per sample, as a share of its value (and at least this many ms). */
const quantileStepShare = 0.05;
const quantileStepMsMin = 0.05;
const quantile = 0.99;
/**
 * How long the baseline takes to follow a higher p99 most of the way, in ms: slowly, so a rise that
 * lasts minutes is seen as one, and a load that stays high becomes the new normal after a while.
 */
const baselineRiseMs = 300_000;
/** Samples before the baseline is set: the running quantile starts at 0 and needs a few to settle. */
const warmUpSamples = 100;

export class BackgroundAdmission {
  private tokens: number;
  private refilledMs: number | undefined;
  private transfersRunning = 0;
  /** Running estimate of the foreground p99, in ms (a stochastic quantile estimate, O(1) per sample). */
  private p99Ms = 0;
  /** The p99 of quiet times: follows a lower p99 at once, a higher one slowly. */
  private baselineMs: number | undefined;
  private samples = 0;
  private baselineMovedMs = 0;

  constructor(private readonly settings: BackgroundAdmissionSettings) {
    assert(
      settings.bytesPerSecondMax > 0 && settings.transfersMax > 0 && settings.latencyFactor >= 1,
      'background admission settings are positive',
    );
    this.tokens = settings.bytesPerSecondMax;
  }

  /** One coordinated client request took `durationMs` (start to finish), ending at `nowMs`. */
  observeForeground(durationMs: number, nowMs: number): void {
    this.samples += 1;
    const step = Math.max(quantileStepMsMin, this.p99Ms * quantileStepShare);
    if (durationMs > this.p99Ms) this.p99Ms += step * quantile;
    else this.p99Ms = Math.max(0, this.p99Ms - step * (1 - quantile));
    if (this.samples < warmUpSamples) return;
    const baseline = this.baselineMs;
    if (baseline === undefined || this.p99Ms < baseline) {
      this.baselineMs = this.p99Ms;
      this.baselineMovedMs = nowMs;
    } else if (nowMs - this.baselineMovedMs >= 1000) {
      this.baselineMs =
        baseline + (this.p99Ms - baseline) * Math.min(1, (nowMs - this.baselineMovedMs) / baselineRiseMs);
      this.baselineMovedMs = nowMs;
    }
  }

  /** True while foreground latency is high: background work gets half its budget. */
  get throttled(): boolean {
    const baseline = this.baselineMs;
    return (
      baseline !== undefined &&
      this.p99Ms > this.settings.latencyFloorMs &&
      this.p99Ms > baseline * this.settings.latencyFactor
    );
  }

  /** The byte budget per second now: the configured one, halved while throttled. */
  bytesPerSecondNow(): number {
    return this.throttled ? this.settings.bytesPerSecondMax / 2 : this.settings.bytesPerSecondMax;
  }

  /** The running p99 and its baseline, in ms, for status. */
  latency(): { readonly p99Ms: number; readonly baselineMs: number | undefined; readonly throttled: boolean } {
    return { p99Ms: this.p99Ms, baselineMs: this.baselineMs, throttled: this.throttled };
  }

  status(): BackgroundStatus {
    const { bytesPerSecondMax, transfersMax } = this.settings;
    return {
      foregroundP99Ms: this.p99Ms,
      baselineMs: this.baselineMs ?? null,
      throttled: this.throttled,
      bytesPerSecondNow: this.bytesPerSecondNow(),
      bytesPerSecondMax,
      transfersRunning: this.transfersRunning,
      transfersMax,
    };
  }

  /** Whether background work may send now: the budget is not in debt. Refills by elapsed time (at most one second's worth). */
  mayRun(nowMs: number): boolean {
    this.refill(nowMs);
    return this.tokens > 0;
  }

  /** Counts bytes sent by background work; the budget may go into debt by one batch, repaid before the next. */
  spend(bytes: number, nowMs: number): void {
    this.refill(nowMs);
    this.tokens -= bytes;
  }

  /** Takes a slot for one more concurrent transfer; false when all are taken. */
  acquireTransfer(): boolean {
    if (this.transfersRunning >= this.settings.transfersMax) return false;
    this.transfersRunning += 1;
    return true;
  }

  releaseTransfer(): void {
    assert(this.transfersRunning > 0, 'a transfer slot is released once');
    this.transfersRunning -= 1;
  }

  get transfersInUse(): number {
    return this.transfersRunning;
  }

  private refill(nowMs: number): void {
    const last = this.refilledMs;
    this.refilledMs = nowMs;
    if (last === undefined || nowMs <= last) return;
    const perSecond = this.bytesPerSecondNow();
    this.tokens = Math.min(perSecond, this.tokens + ((nowMs - last) * perSecond) / 1000);
  }
}
