// Why: the RESP server is one component with one options object (docs/ARCHITECTURE.md habit 5). Every field is
// documented here with its unit, default and reason, validated once at start-up and frozen, so the
// connection loop reads plain, trusted numbers and never re-checks configuration per command.
import type { Logger } from 'pino';
import { defaultLimits } from '../../core/base/limits.ts';
import type { Limits } from '../../core/base/limits.ts';
import type { KvService } from '../../runtime/service.ts';
import { validateAdmissionLimits } from '../../core/base/admission.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import type { AddressRateLimiter } from '../../core/base/rate-limiter.ts';
import type { Registry } from 'prom-client';
import type { TlsListenerOptions } from '../tls-listener.ts';

/**
 * How a Redis key names an Everwrite bucket and key.
 * - 'bucket': every Redis key is a key of the one configured bucket.
 * - 'prefixed': "b:k" is key "k" of bucket "b" (split at the first colon); a key with no colon, or
 *   with an empty part on either side of it, is a key of the configured bucket, whole.
 */
export type KeyMapping = 'bucket' | 'prefixed';

/**
 * Overrides of the default limits, each a number. (`Partial<Limits>` would not do: the frozen
 * defaults object types some limits as their literal default, e.g. `1024`.)
 */
export type LimitOverrides = { readonly [Name in keyof Limits]?: number };

export interface RespServerOptions {
  /** Injected: the node's client interface; every data command calls into it. */
  readonly service: KvService;
  /** Injected: the node's prom-client registry; commands are counted and timed into it (metrics.ts). None: not measured. */
  readonly metrics?: Registry;
  /** Interface to listen on, e.g. "127.0.0.1". Required: exposing a node beyond loopback is a decision. */
  readonly host: string;
  /** TCP port, 0..65535; 0 lets the OS pick a free port (tests read it back from `address`). */
  readonly port: number;
  /** The bucket Redis keys live in. Default "redis". */
  readonly bucket?: string;
  /** Default 'bucket'. See KeyMapping. */
  readonly keyMapping?: KeyMapping;
  /**
   * Overrides of `defaultLimits` (core/base/limits.ts). The server enforces `keyBytesMax`,
   * `bucketBytesMax` and `valueBytesMax` before calling the service; the rest are carried unused.
   */
  readonly limits?: LimitOverrides;
  /** Injected: pino logger for failures that are not the client's fault. Default: pino on stderr. */
  readonly logger?: Logger;
  /**
   * Largest bulk string (one argument) the parser accepts, in bytes. A larger one is a protocol
   * error: the connection gets an error reply and is closed, because the server will not read it.
   * Default `valueBytesMax` + 64 KiB, so a value a little over the limit is still read and refused
   * politely with EVERWRITE_VALUE_TOO_LARGE on a connection that stays open.
   */
  readonly argumentBytesMax?: number;
  /**
   * Largest total of argument bytes in one command, in bytes (MSET of many values). Larger is a
   * protocol error. Default max(16 MiB, 2 x argumentBytesMax).
   */
  readonly commandBytesMax?: number;
  /** Most arguments in one command (the multibulk count). Default 65536; larger is a protocol error. */
  readonly argumentsCountMax?: number;
  /** Longest inline command line, in bytes. Default 64 KiB (Redis's own limit). */
  readonly inlineBytesMax?: number;
  /**
   * Commands of one connection parsed but not yet answered, a count. Past it the server stops
   * reading that socket until answers go out. Default 1024: far above redis-benchmark's -P 16.
   */
  readonly pipelineCommandsMax?: number;
  /**
   * Reply bytes waiting in one socket, in bytes, past which the server stops reading that socket
   * until the client drains them. Default 4 MiB.
   */
  readonly outputBytesMax?: number;
  /**
   * Open client connections, a count. Default 10000 (Redis's maxclients). When all are taken, the
   * connection that sent nothing for the longest and has no command in flight is closed to make
   * room (decision 0013); with none such, the newcomer gets "-ERR max number of clients reached".
   */
  readonly connectionsMax?: number;
  /**
   * Open connections from one client address, a count. Default 1024: above redis-benchmark's
   * largest usual -c and any client pool, far below connectionsMax. One more gets
   * "-BUSY EVERWRITE_RATE_LIMITED: ..." and is closed.
   */
  readonly connectionsPerAddressMax?: number;
  /**
   * A connection with no command in flight that completes no command for this long is closed, in
   * ms. Default 300000 (5 minutes; Redis's own default is never): long enough for a client pool
   * that idles between bursts, short enough that abandoned sockets do not pile up. Idle
   * connections are also the first to make room when connectionsMax is reached.
   */
  readonly idleTimeoutMs?: number;
  /**
   * Injected: the per-address request rate limiter; a command over it is answered
   * "-BUSY EVERWRITE_RATE_LIMITED: ... retry in N ms" without running. startNode shares one with
   * the HTTP front end. Default: a limiter with the default (generous) rate, of this server alone.
   */
  readonly rateLimiter?: AddressRateLimiter;
  /**
   * Injected: checks credentials once users exist (decision 0025), shared with the HTTP front end.
   * Absent: AUTH answers as Redis does with no password configured, and every command is open.
   */
  readonly authenticator?: Authenticator;
  /**
   * Service calls one multi-key command (MGET, MSET, DEL, EXISTS) keeps in flight at once, a count.
   * Default 32: a 10k-key MGET must not take the node's whole coordination budget at once.
   */
  readonly fanOutMax?: number;
  /**
   * Largest total of value bytes one multi-key read (MGET) gathers before it is refused with
   * EVERWRITE_FRAME_TOO_LARGE, in bytes. Default 64 MiB: 65536 keys of 1 MiB would be 64 GiB.
   */
  readonly replyBytesMax?: number;
  /** How long close() lets commands in flight finish before cutting connections, in ms. Default 10000. */
  readonly closeTimeoutMs?: number;
  /** Speak RESP over TLS (rediss://) with this certificate and key (decision 0026); absent: plain TCP. */
  readonly tls?: TlsListenerOptions;
}

export interface ResolvedRespServerOptions {
  readonly host: string;
  readonly port: number;
  readonly bucket: string;
  readonly keyMapping: KeyMapping;
  readonly limits: Limits;
  readonly argumentBytesMax: number;
  readonly commandBytesMax: number;
  readonly argumentsCountMax: number;
  readonly inlineBytesMax: number;
  readonly pipelineCommandsMax: number;
  readonly outputBytesMax: number;
  readonly connectionsMax: number;
  readonly connectionsPerAddressMax: number;
  readonly idleTimeoutMs: number;
  readonly fanOutMax: number;
  readonly replyBytesMax: number;
  readonly closeTimeoutMs: number;
}

function requirePositiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`resp server option ${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

function resolveLimits(overrides: LimitOverrides | undefined): Limits {
  const limits: Record<string, number> = { ...defaultLimits };
  for (const [name, value] of Object.entries(overrides ?? {})) {
    if (!(name in defaultLimits)) throw new RangeError(`unknown limit ${name}`);
    if (value !== undefined) limits[name] = requirePositiveInteger(`limits.${name}`, value);
  }
  return Object.freeze(limits) as Limits;
}

function resolveBucket(bucket: string | undefined, limits: Limits): string {
  const resolved = bucket ?? 'redis';
  if (typeof resolved !== 'string' || resolved === '' || Buffer.byteLength(resolved) > limits.bucketBytesMax) {
    throw new RangeError(
      `resp server option bucket must be a non-empty string of at most ${limits.bucketBytesMax} bytes`,
    );
  }
  return resolved;
}

/** Validates the user options once (programming errors throw RangeError) and freezes them. */
export function resolveRespServerOptions(options: RespServerOptions): ResolvedRespServerOptions {
  if (typeof options.host !== 'string' || options.host === '')
    throw new RangeError('resp server option host must be a non-empty string');
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new RangeError(`resp server option port must be an integer in 0..65535, got ${String(options.port)}`);
  }
  const keyMapping = options.keyMapping ?? 'bucket';
  if (keyMapping !== 'bucket' && keyMapping !== 'prefixed')
    throw new RangeError(`resp server option keyMapping must be 'bucket' or 'prefixed'`);
  const limits = resolveLimits(options.limits);
  const argumentBytesMax = requirePositiveInteger(
    'argumentBytesMax',
    options.argumentBytesMax ?? limits.valueBytesMax + 64 * 1024,
  );
  const commandBytesMax = requirePositiveInteger(
    'commandBytesMax',
    options.commandBytesMax ?? Math.max(16 * 1024 * 1024, 2 * argumentBytesMax),
  );
  if (commandBytesMax < argumentBytesMax)
    throw new RangeError('resp server option commandBytesMax must be at least argumentBytesMax');
  const connectionsMax = options.connectionsMax ?? 10_000;
  const admission = validateAdmissionLimits('resp server', {
    connectionsMax,
    connectionsPerAddressMax: options.connectionsPerAddressMax ?? Math.min(1024, connectionsMax),
  });
  return Object.freeze({
    host: options.host,
    port: options.port,
    bucket: resolveBucket(options.bucket, limits),
    keyMapping,
    limits,
    argumentBytesMax,
    commandBytesMax,
    argumentsCountMax: requirePositiveInteger('argumentsCountMax', options.argumentsCountMax ?? 65_536),
    inlineBytesMax: requirePositiveInteger('inlineBytesMax', options.inlineBytesMax ?? 64 * 1024),
    pipelineCommandsMax: requirePositiveInteger('pipelineCommandsMax', options.pipelineCommandsMax ?? 1024),
    outputBytesMax: requirePositiveInteger('outputBytesMax', options.outputBytesMax ?? 4 * 1024 * 1024),
    ...admission,
    idleTimeoutMs: requirePositiveInteger('idleTimeoutMs', options.idleTimeoutMs ?? 300_000),
    fanOutMax: requirePositiveInteger('fanOutMax', options.fanOutMax ?? 32),
    replyBytesMax: requirePositiveInteger('replyBytesMax', options.replyBytesMax ?? 64 * 1024 * 1024),
    closeTimeoutMs: requirePositiveInteger('closeTimeoutMs', options.closeTimeoutMs ?? 10_000),
  });
}
