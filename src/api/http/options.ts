// Why: the HTTP server is one component with one options object (docs/ARCHITECTURE.md habit 5). This file
// documents every field, validates them once at start-up and freezes the result, so request
// handlers read plain, trusted numbers and never re-check configuration on the hot path.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { defaultLimits } from '../../core/base/limits.ts';
import type { Limits } from '../../core/base/limits.ts';
import type { KvService, MembershipService } from '../../runtime/service.ts';
import { validateAdmissionLimits } from '../../core/base/admission.ts';
import type { AddressRateLimiter } from '../../core/base/rate-limiter.ts';
import type { TlsListenerOptions } from '../tls-listener.ts';
import { parseCorsOrigins } from './cors.ts';
import type { Authenticator } from '../auth/authenticator.ts';

export interface HttpServerOptions {
  /** Injected: the node's client interface. Every data and admin route calls into it. */
  readonly service: KvService;
  /** Injected: elastic membership's admin half (decision 0017); absent, its routes answer 501. */
  readonly membership?: MembershipService;
  /** Interface to listen on, e.g. "127.0.0.1". Required: exposing a node beyond loopback is a decision. */
  readonly host: string;
  /** TCP port, 0..65535; 0 lets the OS pick a free port (tests read it back from `address`). */
  readonly port: number;
  /**
   * Overrides of `defaultLimits` (core/base/limits.ts). The server enforces `keyBytesMax`,
   * `bucketBytesMax` and `valueBytesMax` before calling the service, so oversized input never
   * reaches it; the other limits belong to the runtime and are carried along unused.
   */
  readonly limits?: Partial<Limits>;
  /** Injected: pino logger for failures that are not the client's fault. Default: pino, level info, on stderr. */
  readonly logger?: Logger;
  /**
   * Injected: the prom-client registry the server records into and serves at GET /metrics.
   * Default: a new registry per server, so two servers in one process (tests, `dev`) never share
   * counters. Pass the node's registry to expose the runtime's metrics on the same page; the
   * registry must not already hold metrics named `everwrite_http_*`.
   */
  readonly metrics?: Registry;
  /** Injected: what GET /admin/stats answers (the node's live figures, src/server/live-stats.ts). None: 501. */
  readonly liveStats?: () => unknown;
  /** Largest JSON request body (PUT /buckets/{b}/props), in bytes. Default 64 KiB: props are tiny. */
  readonly jsonBodyBytesMax?: number;
  /**
   * How long an idle keep-alive connection stays open, in milliseconds. Default 5000 (Node's):
   * long enough for a client's next request, short enough that idle sockets do not pile up.
   */
  readonly keepAliveTimeoutMs?: number;
  /**
   * Deadline for receiving a whole request (headers and body), in milliseconds. Default 60000:
   * a 1 MiB value over a slow link fits; a client trickling bytes to hold a socket does not.
   */
  readonly requestTimeoutMs?: number;
  /**
   * Deadline for receiving a request's headers, counted from the connection's opening or from
   * the previous answer, in milliseconds. Default 5000 (decision 0013): any client sends its
   * headers within a round trip or two; a slowloris client trickling header lines, or one that
   * connects and sends nothing, is answered 408 and closed. At most requestTimeoutMs.
   */
  readonly headersTimeoutMs?: number;
  /**
   * How often the header and request deadlines are checked, in milliseconds. Default 1000: Node's
   * own default (30000) let a connection outlive its deadline by up to 30 s.
   */
  readonly timeoutCheckIntervalMs?: number;
  /**
   * Connections held at once, a count. Default 4096 (decision 0013; 10000 before): with RESP's
   * 10000 and the peer port's 1024 a node stays under a 20,000-descriptor limit. When all are
   * taken, the connection idle the longest (no request in progress) is closed to make room; with
   * every one busy the newcomer gets 503 EVERWRITE_UNAVAILABLE and is closed.
   */
  readonly connectionsMax?: number;
  /**
   * Connections held at once from one client address, a count. Default 512: far above a client
   * pool (the TypeScript client opens at most 64 per node), far below connectionsMax. One more is
   * answered 429 EVERWRITE_RATE_LIMITED and closed.
   */
  readonly connectionsPerAddressMax?: number;
  /**
   * Injected: the per-address request rate limiter (src/core/base/rate-limiter.ts); a request over
   * it gets 429 EVERWRITE_RATE_LIMITED with Retry-After. startNode shares one with the RESP front
   * end. Default: a limiter with the default (generous) rate, of this server alone.
   */
  readonly rateLimiter?: AddressRateLimiter;
  /**
   * How long close() waits for requests in flight before cutting their connections, in
   * milliseconds. Default 10000: longer than a quorum timeout, so a clean stop loses no answer,
   * yet a hung request cannot hold a shutdown forever.
   */
  readonly closeTimeoutMs?: number;
  /** Serve HTTPS with this certificate and key (decision 0026); absent: plain HTTP. */
  readonly tls?: TlsListenerOptions;
  /**
   * Origins whose browser scripts may call this API (CORS), e.g. ["https://app.example.com"].
   * Default none: cross-origin requests get no CORS headers and browsers refuse them (cors.ts).
   */
  readonly corsOrigins?: readonly string[];
  /**
   * Injected: checks credentials once users exist (decision 0025); startNode shares one with the
   * RESP front end, so failed logins count together. Absent: every route is open.
   */
  readonly authenticator?: Authenticator;
  /** GET /metrics answers without credentials even once users exist (a scraper without a user). Default false. */
  readonly metricsPublic?: boolean;
}

/** The validated, frozen form every handler reads. */
export interface ResolvedHttpServerOptions {
  readonly host: string;
  readonly port: number;
  readonly limits: Limits;
  readonly jsonBodyBytesMax: number;
  readonly keepAliveTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly timeoutCheckIntervalMs: number;
  readonly connectionsMax: number;
  readonly connectionsPerAddressMax: number;
  readonly closeTimeoutMs: number;
  readonly corsOrigins: ReadonlySet<string>;
  readonly metricsPublic: boolean;
}

const jsonBodyBytesMaxDefault = 64 * 1024;
const keepAliveTimeoutMsDefault = 5000;
const requestTimeoutMsDefault = 60_000;
const closeTimeoutMsDefault = 10_000;
const headersTimeoutMsDefault = 5000;
const timeoutCheckIntervalMsDefault = 1000;
const connectionsMaxDefault = 4096;
const connectionsPerAddressMaxDefault = 512;

function requirePositiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`http server option ${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

function resolveLimits(overrides: Partial<Limits> | undefined): Limits {
  const limits: Record<string, number> = { ...defaultLimits };
  for (const [name, value] of Object.entries(overrides ?? {})) {
    if (!(name in defaultLimits)) throw new RangeError(`unknown limit ${name}`);
    if (value !== undefined) limits[name] = requirePositiveInteger(`limits.${name}`, value);
  }
  return Object.freeze(limits) as Limits;
}

function resolveCorsOrigins(origins: readonly string[] | undefined): ReadonlySet<string> {
  try {
    return new Set(parseCorsOrigins(origins ?? []));
  } catch (error) {
    throw new RangeError(`http server option corsOrigins: ${(error as Error).message}`);
  }
}

/** Validates the user options once (programming errors throw RangeError) and freezes them. */
export function resolveHttpServerOptions(options: HttpServerOptions): ResolvedHttpServerOptions {
  if (typeof options.host !== 'string' || options.host === '') {
    throw new RangeError('http server option host must be a non-empty string');
  }
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new RangeError(`http server option port must be an integer in 0..65535, got ${String(options.port)}`);
  }
  const requestTimeoutMs = requirePositiveInteger(
    'requestTimeoutMs',
    options.requestTimeoutMs ?? requestTimeoutMsDefault,
  );
  const headersTimeoutMs = requirePositiveInteger(
    'headersTimeoutMs',
    options.headersTimeoutMs ?? Math.min(headersTimeoutMsDefault, requestTimeoutMs),
  );
  if (headersTimeoutMs > requestTimeoutMs)
    throw new RangeError(
      `http server option headersTimeoutMs (${headersTimeoutMs}) must not exceed requestTimeoutMs (${requestTimeoutMs})`,
    );
  const admission = validateAdmissionLimits('http server', {
    connectionsMax: options.connectionsMax ?? connectionsMaxDefault,
    connectionsPerAddressMax:
      options.connectionsPerAddressMax ??
      Math.min(connectionsPerAddressMaxDefault, options.connectionsMax ?? connectionsMaxDefault),
  });
  return Object.freeze({
    host: options.host,
    port: options.port,
    limits: resolveLimits(options.limits),
    jsonBodyBytesMax: requirePositiveInteger('jsonBodyBytesMax', options.jsonBodyBytesMax ?? jsonBodyBytesMaxDefault),
    keepAliveTimeoutMs: requirePositiveInteger(
      'keepAliveTimeoutMs',
      options.keepAliveTimeoutMs ?? keepAliveTimeoutMsDefault,
    ),
    requestTimeoutMs,
    headersTimeoutMs,
    timeoutCheckIntervalMs: requirePositiveInteger(
      'timeoutCheckIntervalMs',
      options.timeoutCheckIntervalMs ?? timeoutCheckIntervalMsDefault,
    ),
    ...admission,
    closeTimeoutMs: requirePositiveInteger('closeTimeoutMs', options.closeTimeoutMs ?? closeTimeoutMsDefault),
    corsOrigins: resolveCorsOrigins(options.corsOrigins),
    metricsPublic: options.metricsPublic === true,
  });
}
