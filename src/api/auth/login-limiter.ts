// Why: a password can be guessed only as fast as the node lets one try (decision 0025). Failed
// logins are counted per remote address in a fixed window; past the limit every login from that
// address is refused until the window ends, right password or not, so a guesser learns nothing
// meanwhile. The table is bounded: past `addressesTrackedMax` the address that failed longest ago
// is forgotten first. Time comes in as nowMs, so the class is tested without waiting.

export interface LoginLimiterOptions {
  /** Failed logins one address may make per window before it is refused. Default 10. */
  readonly failuresPerWindowMax: number;
  /** The window, in ms. Default 60000. */
  readonly windowMs: number;
  /** Addresses with failures remembered at once. Default 10000. */
  readonly addressesTrackedMax: number;
}

export const loginLimiterDefaults: LoginLimiterOptions = Object.freeze({
  failuresPerWindowMax: 10,
  windowMs: 60_000,
  addressesTrackedMax: 10_000,
});

interface Failures {
  count: number;
  readonly windowStartMs: number;
}

export class LoginLimiter {
  private readonly failures = new Map<string, Failures>();

  constructor(private readonly options: LoginLimiterOptions = loginLimiterDefaults) {}

  get addressesTracked(): number {
    return this.failures.size;
  }

  /** 0 when `address` may try to log in now, else how many ms until it may. */
  retryAfterMs(address: string, nowMs: number): number {
    const entry = this.current(address, nowMs);
    if (entry === undefined || entry.count < this.options.failuresPerWindowMax) return 0;
    return Math.max(1, entry.windowStartMs + this.options.windowMs - nowMs);
  }

  recordFailure(address: string, nowMs: number): void {
    const entry = this.current(address, nowMs) ?? { count: 0, windowStartMs: nowMs };
    entry.count += 1;
    // Re-inserted, so the map's order is the order of last failure: the first key is the stalest.
    this.failures.delete(address);
    while (this.failures.size >= this.options.addressesTrackedMax)
      this.failures.delete(this.failures.keys().next().value as string);
    this.failures.set(address, entry);
  }

  private current(address: string, nowMs: number): Failures | undefined {
    const entry = this.failures.get(address);
    if (entry === undefined) return undefined;
    if (nowMs - entry.windowStartMs < this.options.windowMs) return entry;
    this.failures.delete(address);
    return undefined;
  }
}
