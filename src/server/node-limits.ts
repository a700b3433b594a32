// Why: the limits that keep connections and request rates from starving a node (decision 0013)
// and what one request may carry (decision 0035) belong to three components (HTTP, RESP, the peer transport), one shared rate limiter and, with TLS,
// the handshake budget of the HTTP and RESP listeners (decision 0026). An
// operator sets them in one place: this object, given to startNode and, from the command line, as
// `--limits-json` (or "limitsJson" in --config, or EVERWRITE_LIMITS_JSON). Each component validates
// and documents its own fields; this file only names which fields are exposed and checks the shape.

import type { RequestLimits } from '../core/base/limits.ts';
import { isPlainObject, readJsonObjectFlag } from './json-flag.ts';

/** HTTP front end limits; see src/api/http/options.ts for units, defaults and reasons. */
export interface HttpLimits {
  readonly connectionsMax?: number;
  readonly connectionsPerAddressMax?: number;
  readonly headersTimeoutMs?: number;
  readonly keepAliveTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
}

/** RESP front end limits; see src/api/resp/options.ts. */
export interface RespLimits {
  readonly connectionsMax?: number;
  readonly connectionsPerAddressMax?: number;
  readonly idleTimeoutMs?: number;
}

/** Peer port limits; see src/io/transport/tcp-options.ts. */
export interface PeerLimits {
  readonly inboundConnectionsMax?: number;
  readonly handshakesPendingMax?: number;
  readonly handshakesPendingPerAddressMax?: number;
  readonly handshakeTimeoutMs?: number;
}

/** The per-address request rate shared by HTTP and RESP; see src/core/base/rate-limiter.ts. */
export interface RateLimits {
  readonly requestsPerSecond?: number;
  readonly burstRequests?: number;
  readonly addressesTrackedMax?: number;
}

/** Unfinished TLS handshakes on the HTTP and RESP ports (decision 0026); see src/api/tls-listener.ts. The peer port's are `peer`'s. */
export interface TlsLimits {
  readonly handshakeTimeoutMs?: number;
  readonly handshakesPendingMax?: number;
  readonly handshakesPendingPerAddressMax?: number;
}

export interface NodeLimits {
  /** What one client request may carry: key, bucket and value sizes (core/base/limits.ts RequestLimits, decision 0035). */
  readonly request?: Partial<RequestLimits>;
  readonly tls?: TlsLimits;
  readonly http?: HttpLimits;
  readonly resp?: RespLimits;
  readonly peer?: PeerLimits;
  readonly rate?: RateLimits;
}

const knownFields: Readonly<Record<keyof NodeLimits, readonly string[]>> = Object.freeze({
  request: ['keyBytesMax', 'bucketBytesMax', 'valueBytesMax'],
  http: ['connectionsMax', 'connectionsPerAddressMax', 'headersTimeoutMs', 'keepAliveTimeoutMs', 'requestTimeoutMs'],
  resp: ['connectionsMax', 'connectionsPerAddressMax', 'idleTimeoutMs'],
  peer: ['inboundConnectionsMax', 'handshakesPendingMax', 'handshakesPendingPerAddressMax', 'handshakeTimeoutMs'],
  rate: ['requestsPerSecond', 'burstRequests', 'addressesTrackedMax'],
  tls: ['handshakeTimeoutMs', 'handshakesPendingMax', 'handshakesPendingPerAddressMax'],
});

/**
 * Parses `--limits-json`: {"http":{...},"resp":{...},"peer":{...},"rate":{...}}, every field a
 * positive integer. Unknown sections or fields are refused, so a typo is not silently ignored;
 * whether values fit together (a share above its total) is checked by each component at start.
 */
export function parseLimitsJson(source: unknown): NodeLimits {
  const parsed = readJsonObjectFlag(source, '--limits-json');
  if (parsed === undefined) return {};
  const limits: Record<string, Record<string, number>> = {};
  for (const [section, fields] of Object.entries(parsed)) {
    const known = knownFields[section as keyof NodeLimits] as readonly string[] | undefined;
    if (!Object.hasOwn(knownFields, section) || known === undefined)
      throw new Error(
        `--limits-json: unknown section ${JSON.stringify(section)}; known: ${Object.keys(knownFields).join(', ')}`,
      );
    if (!isPlainObject(fields)) throw new Error(`--limits-json: ${section} must be an object`);
    const checked: Record<string, number> = {};
    for (const [name, value] of Object.entries(fields)) {
      if (!known.includes(name))
        throw new Error(`--limits-json: unknown field ${section}.${name}; known: ${known.join(', ')}`);
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0)
        throw new Error(`--limits-json: ${section}.${name} must be a positive integer, got ${JSON.stringify(value)}`);
      checked[name] = value;
    }
    limits[section] = checked;
  }
  return limits as NodeLimits;
}
