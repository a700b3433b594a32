// Why: a client address must not be able to take the whole node with requests (decision 0013).
// One token bucket per address: it holds up to `burstRequests` tokens, refills at
// `requestsPerSecond`, and each request takes one; an empty bucket answers how long until the next
// token, which the front ends send as 429 + Retry-After (HTTP) or a BUSY error (RESP). The table of
// buckets is bounded too: a flood from many addresses cannot grow it past `addressesTrackedMax`.
// Pure (time arrives as nowMs), so one limiter is shared by the HTTP and RESP front ends of a node.

export interface RateLimiterOptions {
  /** Steady requests per second one client address may make. */
  readonly requestsPerSecond?: number;
  /** Requests one address may make at once after being quiet (the bucket's size). */
  readonly burstRequests?: number;
  /** Addresses with a bucket at once, a count; past it, full buckets are forgotten first. */
  readonly addressesTrackedMax?: number;
}

export type ResolvedRateLimiterOptions = Required<RateLimiterOptions>;

/**
 * Generous on purpose (decision 0013): above what one node served in any measurement here (about
 * 44k requests/s, docs/BENCHMARKS.md) and what its RESP front end alone served (53k/s), so a
 * default deployment, whose clients often share one address (an application tier, NAT, a
 * benchmark), is never throttled by it; an operator facing many independent clients sets it to a
 * fair share. Node-wide overload is answered separately (inFlightCoordinationsMax).
 */
export const rateLimiterDefaults: ResolvedRateLimiterOptions = Object.freeze({
  requestsPerSecond: 100_000,
  burstRequests: 100_000,
  addressesTrackedMax: 100_000,
});

/** How often, at most, the table is swept for full buckets when it is at its bound, in ms. */
const sweepIntervalMs = 1000;

interface Bucket {
  tokens: number;
  updatedMs: number;
}

export function resolveRateLimiterOptions(options: RateLimiterOptions = {}): ResolvedRateLimiterOptions {
  const merged = { ...rateLimiterDefaults };
  for (const [name, value] of Object.entries(options)) {
    if (!(name in rateLimiterDefaults)) throw new RangeError(`rate limiter: unknown option ${name}`);
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0)
      throw new RangeError(`rate limiter option ${name} must be a positive integer, got ${String(value)}`);
    (merged as Record<string, number>)[name] = value;
  }
  return Object.freeze(merged);
}

export class AddressRateLimiter {
  readonly options: ResolvedRateLimiterOptions;
  private readonly buckets = new Map<string, Bucket>();
  private readonly tokensPerMs: number;
  private lastSweepMs = Number.NEGATIVE_INFINITY;
  /** Requests refused so far (for metrics). */
  refusals = 0;

  constructor(options: RateLimiterOptions = {}) {
    this.options = resolveRateLimiterOptions(options);
    this.tokensPerMs = this.options.requestsPerSecond / 1000;
  }

  get addressesTracked(): number {
    return this.buckets.size;
  }

  /**
   * Takes one token for `clientAddress` at `nowMs`. Returns 0 when the request may go ahead, else
   * the milliseconds until a token will be there (the request is refused and takes nothing).
   */
  take(clientAddress: string, nowMs: number): number {
    let bucket = this.buckets.get(clientAddress);
    if (bucket === undefined) {
      if (this.buckets.size >= this.options.addressesTrackedMax && !this.sweep(nowMs)) return 0;
      bucket = { tokens: this.options.burstRequests, updatedMs: nowMs };
      this.buckets.set(clientAddress, bucket);
    } else if (nowMs > bucket.updatedMs) {
      bucket.tokens = Math.min(
        this.options.burstRequests,
        bucket.tokens + (nowMs - bucket.updatedMs) * this.tokensPerMs,
      );
      bucket.updatedMs = nowMs;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    this.refusals += 1;
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.tokensPerMs));
  }

  /**
   * Forgets buckets that are full again (their address has been quiet). Returns whether there is
   * room for a new one; when not, the newcomer goes unlimited rather than evicting an active
   * bucket, which would let a busy address reset its own limit by flooding from many others.
   */
  private sweep(nowMs: number): boolean {
    if (nowMs - this.lastSweepMs >= sweepIntervalMs) {
      this.lastSweepMs = nowMs;
      const { burstRequests } = this.options;
      for (const [address, bucket] of this.buckets) {
        if (bucket.tokens + (nowMs - bucket.updatedMs) * this.tokensPerMs >= burstRequests)
          this.buckets.delete(address);
      }
    }
    return this.buckets.size < this.options.addressesTrackedMax;
  }
}
