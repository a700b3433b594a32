// Why: the client is one component with one options object (docs/ARCHITECTURE.md habit 5): every field is
// documented here (unit, default, why), validated once in the constructor and frozen, so the
// request path reads trusted numbers and a bad configuration fails at construction, not mid-flight.
import { badArgument } from './errors.ts';
import type { TrustedCa } from './http-exchange.ts';

export type Routing = 'server' | 'client';

export interface EverwriteClientOptions {
  /**
   * HTTP base URLs of the nodes, e.g. `http://127.0.0.1:8001`, or `https://...` for nodes serving
   * TLS (decision 0026; see `ca`). At least one; no path, query or credentials. With client routing every node of the
   * cluster should be listed: a node the client has no URL for cannot be sent requests directly.
   */
  readonly nodes: readonly string[];
  /**
   * `server`: each request goes to the next node round robin and that node coordinates (forwarding
   * to a primary of the key itself). `client`: the client holds the ring and sends each key request
   * straight to the key's first primary (the paper's partition-aware client, section 6.4).
   */
  readonly routing: Routing;
  /**
   * Deadline of one call, in milliseconds, from the call to the answer (waiting for a concurrency
   * slot and retries on another node included). Default 10000: above a node's quorum timeout
   * (2 s by default, 60 s at most) plus its forwarding timeout, so a node's own 503 normally
   * arrives first and says how many replicas answered. Overridable per call with `timeoutMs`.
   */
  readonly timeoutMs?: number;
  /**
   * Client routing only: how often the ring (and each bucket's N) is fetched again, in
   * milliseconds. Default 10000 (10 s): membership changes are rare, and a stale ring
   * only costs one forwarding hop on the node, never a wrong answer.
   */
  readonly ringRefreshMs?: number;
  /**
   * Most calls in flight at once; later calls wait in a FIFO queue. Default 64. It is also the
   * most keep-alive connections opened per node, so a burst cannot open thousands of sockets.
   */
  readonly maxConcurrency?: number;
  /**
   * Most calls waiting for a slot; one more is refused at once with EVERWRITE_OVERLOADED, so an
   * application that outruns the cluster sees an error instead of unbounded memory. Default 10000.
   */
  readonly maxQueued?: number;
  /**
   * How long a node that failed (refused connection, reset, no answer, "unavailable") is skipped,
   * in milliseconds; doubled for each further consecutive failure up to `backoffMaxMs`. Default 500.
   */
  readonly backoffMs?: number;
  /** Longest back-off of a failing node, in milliseconds. Default 10000 (one ring refresh). */
  readonly backoffMaxMs?: number;
  /**
   * Largest response body accepted, in bytes; a longer one fails with EVERWRITE_BAD_RESPONSE.
   * Default 64 MiB: a value is at most 1 MiB, but a 300 carries every sibling in base64.
   */
  readonly responseBytesMax?: number;
  /**
   * Credentials for a cluster with users (decision 0025): `user` and `password` (sent as HTTP Basic
   * with every request) or `token` (sent as Bearer), not both. Absent: no Authorization header,
   * which a cluster without users accepts. (The former `secret` option, accepted and ignored, is gone.)
   */
  /**
   * For https: nodes: the CA certificate(s), PEM, that the nodes' certificates must be signed by,
   * e.g. `readFileSync('ca.crt')`. Replaces the system's trusted roots (as node:https's `ca` does).
   * Default: the system's roots. Each node's certificate must also name the address in its URL.
   */
  readonly ca?: TrustedCa;
  readonly user?: string;
  readonly password?: string;
  readonly token?: string;
}

export interface ResolvedClientOptions {
  /** Base URLs without a trailing slash, in the order given. */
  readonly nodes: readonly string[];
  readonly routing: Routing;
  readonly timeoutMs: number;
  readonly ringRefreshMs: number;
  readonly maxConcurrency: number;
  readonly maxQueued: number;
  readonly backoffMs: number;
  readonly backoffMaxMs: number;
  readonly responseBytesMax: number;
  readonly ca: TrustedCa | undefined;
  /** The Authorization header every request carries; undefined without credentials. */
  readonly authorization: string | undefined;
}

/** Bounds on the options themselves, so a typo (timeoutMs: 1e12) is refused, not obeyed. */
export const clientOptionLimits = Object.freeze({
  nodesCountMax: 1024,
  timeoutMsMax: 600_000,
  ringRefreshMsMin: 100,
  ringRefreshMsMax: 3_600_000,
  maxConcurrencyMax: 65_536,
  maxQueuedMax: 10_000_000,
  backoffMsMax: 600_000,
  responseBytesMax: 1024 * 1024 * 1024,
});

export const clientDefaults = Object.freeze({
  timeoutMs: 10_000,
  ringRefreshMs: 10_000,
  maxConcurrency: 64,
  maxQueued: 10_000,
  backoffMs: 500,
  backoffMaxMs: 10_000,
  responseBytesMax: 64 * 1024 * 1024,
});

export function checkInteger(name: string, value: unknown, minimum: number, maximum: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < minimum || value > maximum) {
    throw badArgument(`${name} must be an integer from ${minimum} to ${maximum}, got ${String(value)}`);
  }
  return value;
}

function normalizeNodeUrl(text: unknown): string {
  if (typeof text !== 'string') throw badArgument(`each node must be a URL string, got ${typeof text}`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw badArgument(`node ${JSON.stringify(text)} is not a URL such as http://127.0.0.1:8001`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw badArgument(`node ${text}: only http: and https: URLs are supported`);
  if (
    (url.pathname !== '/' && url.pathname !== '') ||
    url.search !== '' ||
    url.hash !== '' ||
    url.username !== '' ||
    url.password !== ''
  ) {
    throw badArgument(`node ${text} must be a base URL: scheme, host and port only`);
  }
  return `${url.protocol}//${url.host}`;
}

function resolveNodes(nodes: unknown): string[] {
  if (!Array.isArray(nodes) || nodes.length === 0) throw badArgument('nodes must list at least one node URL');
  if (nodes.length > clientOptionLimits.nodesCountMax)
    throw badArgument(`at most ${clientOptionLimits.nodesCountMax} nodes`);
  const urls = nodes.map(normalizeNodeUrl);
  if (new Set(urls).size !== urls.length) throw badArgument('nodes must be distinct');
  return urls;
}

/** Largest `ca` accepted, in bytes of PEM: a bundle of a few hundred certificates. */
const caBytesMax = 1024 * 1024;

function checkCa(ca: unknown): TrustedCa | undefined {
  if (ca === undefined) return undefined;
  const entries: unknown[] = Array.isArray(ca) ? ca : [ca];
  let bytes = 0;
  for (const entry of entries) {
    if (typeof entry !== 'string' && !Buffer.isBuffer(entry))
      throw badArgument('ca must be PEM text or a Buffer, or an array of them');
    bytes += entry.length;
    if (!entry.includes('-----BEGIN CERTIFICATE-----'))
      throw badArgument('ca must hold PEM certificates (-----BEGIN CERTIFICATE-----)');
  }
  if (bytes > caBytesMax) throw badArgument(`ca must be at most ${caBytesMax} bytes`);
  return Array.isArray(ca) ? Object.freeze([...(ca as Array<string | Buffer>)]) : (ca as string | Buffer);
}

/** The Authorization header the credentials make; refuses half or mixed credentials, and the removed `secret`. */
function resolveAuthorization(options: EverwriteClientOptions): string | undefined {
  if ('secret' in options)
    throw badArgument('the secret option is gone: give user and password, or token (docs/CLIENT.md)');
  const { user, password, token } = options;
  for (const [name, value] of Object.entries({ user, password, token })) {
    if (value !== undefined && (typeof value !== 'string' || value === '' || /[\r\n]/.test(value)))
      throw badArgument(`${name} must be a non-empty string on one line`);
  }
  if (token !== undefined) {
    if (user !== undefined || password !== undefined) throw badArgument('give user and password, or token, not both');
    return `Bearer ${token}`;
  }
  if ((user === undefined) !== (password === undefined)) throw badArgument('user and password go together');
  if (user === undefined || password === undefined) return undefined;
  if (user.includes(':')) throw badArgument('a user name has no ":"');
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
}

export function resolveClientOptions(options: EverwriteClientOptions): ResolvedClientOptions {
  if (typeof options !== 'object' || options === null) throw badArgument('options must be an object');
  if (options.routing !== 'server' && options.routing !== 'client')
    throw badArgument(`routing must be "server" or "client", got ${String(options.routing)}`);
  const limits = clientOptionLimits;
  const backoffMs = checkInteger('backoffMs', options.backoffMs ?? clientDefaults.backoffMs, 1, limits.backoffMsMax);
  return Object.freeze({
    nodes: Object.freeze(resolveNodes(options.nodes)),
    routing: options.routing,
    timeoutMs: checkInteger('timeoutMs', options.timeoutMs ?? clientDefaults.timeoutMs, 1, limits.timeoutMsMax),
    ringRefreshMs: checkInteger(
      'ringRefreshMs',
      options.ringRefreshMs ?? clientDefaults.ringRefreshMs,
      limits.ringRefreshMsMin,
      limits.ringRefreshMsMax,
    ),
    maxConcurrency: checkInteger(
      'maxConcurrency',
      options.maxConcurrency ?? clientDefaults.maxConcurrency,
      1,
      limits.maxConcurrencyMax,
    ),
    maxQueued: checkInteger('maxQueued', options.maxQueued ?? clientDefaults.maxQueued, 0, limits.maxQueuedMax),
    backoffMs,
    backoffMaxMs: checkInteger(
      'backoffMaxMs',
      options.backoffMaxMs ?? Math.max(backoffMs, clientDefaults.backoffMaxMs),
      backoffMs,
      limits.backoffMsMax,
    ),
    responseBytesMax: checkInteger(
      'responseBytesMax',
      options.responseBytesMax ?? clientDefaults.responseBytesMax,
      1024,
      limits.responseBytesMax,
    ),
    ca: checkCa(options.ca),
    authorization: resolveAuthorization(options),
  });
}
