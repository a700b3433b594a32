// Why: every listening socket of a node (HTTP, RESP, the peer port's unauthenticated handshakes)
// must bound what strangers can hold: a total of connections and a share per client address, so
// one address cannot take every slot and many addresses cannot exhaust the process's file
// descriptors (decision 0013). When the total is reached, the connection idle the longest makes
// room for the newcomer instead of the newcomer being refused: otherwise whoever fills the table
// first with idle sockets locks everyone else out until the idle timeout, which is exactly the
// denial of service the cap is meant to stop. Connections busy with a request are never evicted.
// Pure bookkeeping (no sockets, no clock), so it is shared by src/api and src/io and unit-tested alone.

/** What the table needs to know about one connection. */
export interface AdmittedConnection {
  /** The client's address (IP without port); the per-address share is counted on it. */
  readonly clientAddress: string;
  /** True while a request of it is being served: such a connection is never evicted. */
  isBusy(): boolean;
  /** Closes the connection because a newcomer needs its slot; must not call back into the table. */
  evict(): void;
}

export interface AdmissionLimits {
  /** Connections held at once, a count. */
  readonly connectionsMax: number;
  /** Connections held at once from one client address, a count (at most connectionsMax). */
  readonly connectionsPerAddressMax: number;
}

/**
 * 'admitted': take it. 'addressFull': its address holds its share; refuse it. 'full': every slot
 * is taken by a busy connection (or by ones the scan did not reach); refuse it.
 */
export type AdmissionVerdict = 'admitted' | 'addressFull' | 'full';

/**
 * Busy connections examined, oldest first, when looking for one to evict: the scan stays bounded
 * even when thousands of connections are busy, at the price of refusing a newcomer now and then.
 */
export const evictionScanMax = 64;

export class ConnectionAdmission<Connection extends AdmittedConnection> {
  /** Admitted connections, least recently active first (a Set keeps insertion order). */
  private readonly byActivity = new Set<Connection>();
  private readonly perAddress = new Map<string, number>();
  /** Connections evicted so far (for metrics). */
  evictions = 0;

  constructor(readonly limits: AdmissionLimits) {}

  get size(): number {
    return this.byActivity.size;
  }

  /** Connections held from `clientAddress`. */
  countOf(clientAddress: string): number {
    return this.perAddress.get(clientAddress) ?? 0;
  }

  /** Decides on a new connection; when admitted it is tracked until `release`. */
  admit(connection: Connection): AdmissionVerdict {
    const address = connection.clientAddress;
    const held = this.perAddress.get(address) ?? 0;
    if (held >= this.limits.connectionsPerAddressMax) return 'addressFull';
    if (this.byActivity.size >= this.limits.connectionsMax && !this.evictOne()) return 'full';
    this.byActivity.add(connection);
    this.perAddress.set(address, held + 1);
    return 'admitted';
  }

  /** Marks activity: the connection moves to the back of the eviction order. */
  touch(connection: Connection): void {
    if (!this.byActivity.delete(connection)) return;
    this.byActivity.add(connection);
  }

  /** Forgets a connection (closed, or no longer counted here). Harmless for one not tracked. */
  release(connection: Connection): void {
    if (!this.byActivity.delete(connection)) return;
    const address = connection.clientAddress;
    const held = (this.perAddress.get(address) ?? 1) - 1;
    if (held <= 0) this.perAddress.delete(address);
    else this.perAddress.set(address, held);
  }

  /** Evicts the least recently active connection that is not busy; false when none was found. */
  private evictOne(): boolean {
    let examined = 0;
    for (const candidate of this.byActivity) {
      if (!candidate.isBusy()) {
        this.release(candidate);
        this.evictions += 1;
        candidate.evict();
        return true;
      }
      examined += 1;
      if (examined >= evictionScanMax) return false;
    }
    return false;
  }
}

/** Checks admission limits once (operator input): positive integers, the share within the total. */
export function validateAdmissionLimits(what: string, limits: AdmissionLimits): AdmissionLimits {
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value <= 0)
      throw new RangeError(`${what} option ${name} must be a positive integer, got ${String(value)}`);
  }
  if (limits.connectionsPerAddressMax > limits.connectionsMax) {
    throw new RangeError(
      `${what} option connectionsPerAddressMax (${limits.connectionsPerAddressMax}) must not exceed connectionsMax (${limits.connectionsMax})`,
    );
  }
  return Object.freeze({
    connectionsMax: limits.connectionsMax,
    connectionsPerAddressMax: limits.connectionsPerAddressMax,
  });
}
