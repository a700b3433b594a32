// Why: TLS on the HTTP and RESP ports (decision 0026). A TLS handshake happens before either front end
// sees a connection, so a client that opens a socket and never finishes the handshake would sit
// outside every limit of decision 0013. This file gives those connections what the peer port gives
// its unauthenticated ones: a deadline (node:tls's handshakeTimeout, 120 s by default, cut to
// seconds) and a budget of their own, total and per address, where a full budget closes its oldest
// pending handshake for the newcomer. A connection joins the front end's own table (and its caps)
// once its handshake is done. Garbage, plaintext and failed handshakes are counted and closed.
import type { Socket } from 'node:net';
import type { Server as TlsServer, TLSSocket, TlsOptions } from 'node:tls';
import { ConnectionAdmission, validateAdmissionLimits, type AdmittedConnection } from '../core/base/admission.ts';
import { tlsFailureClassOf, tlsFailureCounts, type TlsFailureClass } from '../core/base/tls-failure-class.ts';

/** TLS for one listener: what it serves and how long and how many unfinished handshakes it tolerates. */
export interface TlsListenerOptions {
  /** The node's certificate (chain) and its key, PEM. Replaced without a restart by the handle's setTlsCredentials. */
  readonly cert: Buffer | string;
  readonly key: Buffer | string;
  /**
   * Milliseconds from the TCP connection to a finished TLS handshake; past it the socket is closed.
   * Default 5000: a handshake is one or two round trips; node:tls's own default of 120 s would let a
   * silent client hold a descriptor for two minutes.
   */
  readonly handshakeTimeoutMs?: number;
  /** Connections still in the TLS handshake held at once, a count. Default 512; when full, the oldest is closed for the newcomer. */
  readonly handshakesPendingMax?: number;
  /** Of those, from one address, a count. Default 64 (the TypeScript client opens up to 64 connections per node); one more is refused. */
  readonly handshakesPendingPerAddressMax?: number;
}

export interface TlsCredentials {
  readonly cert: Buffer | string;
  readonly key: Buffer | string;
}

export const tlsListenerDefaults = Object.freeze({
  handshakeTimeoutMs: 5000,
  handshakesPendingMax: 512,
  handshakesPendingPerAddressMax: 64,
});

/** Counters since start; monotonic. */
export interface TlsHandshakeStats {
  /** Handshakes that completed: the connection was handed to the front end. */
  completed: number;
  /** Handshakes that failed: plaintext, garbage, an unknown protocol version, the deadline. */
  failed: number;
  /** The failed ones by class of reason (tls-failure-class.ts): a bounded set, whatever the client sends. */
  readonly failedByClass: Record<TlsFailureClass, number>;
  /** Pending handshakes closed to make room (handshakesPendingMax reached). */
  evicted: number;
  /** Connections refused because their address held handshakesPendingPerAddressMax pending handshakes. */
  refusedAddressFull: number;
}

/** The options node:tls (and node:https) servers take for a listener: TLS 1.2 or later, the handshake deadline. */
export function tlsServerOptions(options: TlsListenerOptions): TlsOptions {
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? tlsListenerDefaults.handshakeTimeoutMs;
  if (!Number.isSafeInteger(handshakeTimeoutMs) || handshakeTimeoutMs <= 0)
    throw new RangeError(`TLS option handshakeTimeoutMs must be a positive integer, got ${String(handshakeTimeoutMs)}`);
  return { cert: options.cert, key: options.key, minVersion: 'TLSv1.2', handshakeTimeout: handshakeTimeoutMs };
}

class PendingHandshake implements AdmittedConnection {
  constructor(
    readonly socket: Socket,
    readonly clientAddress: string,
  ) {}

  /** Unfinished handshakes are all alike to the budget: none is protected from eviction. */
  isBusy(): boolean {
    return false;
  }

  evict(): void {
    this.socket.destroy();
  }
}

/** A TCP connection and the TLS socket over it share both ends' addresses, which no other live connection to this port has. */
const connectionKeyOf = (socket: Socket): string => `${socket.remoteAddress ?? '?'}|${socket.remotePort ?? '?'}`;

/** A listener's handshake guard: its counters, and a way to cut unfinished handshakes when the listener closes. */
export interface TlsHandshakeGuard {
  readonly stats: TlsHandshakeStats;
  /** Closes every connection still in its TLS handshake, so closing the server does not wait for their deadlines. */
  closePending(): void;
}

/**
 * Puts `server`'s unfinished handshakes under a budget and counts failures. The front end must take
 * its connections from 'secureConnection' (finished handshakes), not 'connection'.
 */
export function guardTlsHandshakes(server: TlsServer, options: TlsListenerOptions): TlsHandshakeGuard {
  const limits = validateAdmissionLimits('TLS', {
    connectionsMax: options.handshakesPendingMax ?? tlsListenerDefaults.handshakesPendingMax,
    connectionsPerAddressMax:
      options.handshakesPendingPerAddressMax ?? tlsListenerDefaults.handshakesPendingPerAddressMax,
  });
  const admission = new ConnectionAdmission<PendingHandshake>(limits);
  const pending = new Map<string, PendingHandshake>();
  const stats: TlsHandshakeStats = {
    completed: 0,
    failed: 0,
    failedByClass: tlsFailureCounts(),
    evicted: 0,
    refusedAddressFull: 0,
  };
  const settle = (key: string): void => {
    const handshake = pending.get(key);
    if (handshake === undefined) return;
    pending.delete(key);
    admission.release(handshake);
  };
  server.on('connection', (socket: Socket) => {
    const handshake = new PendingHandshake(socket, socket.remoteAddress ?? '?');
    const verdict = admission.admit(handshake);
    stats.evicted = admission.evictions;
    if (verdict !== 'admitted') {
      stats.refusedAddressFull += 1;
      socket.destroy();
      return;
    }
    const key = connectionKeyOf(socket);
    pending.set(key, handshake);
    socket.once('close', () => {
      if (pending.get(key) === handshake) settle(key);
    });
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    stats.completed += 1;
    settle(connectionKeyOf(socket));
  });
  // Without a listener node:tls destroys the socket itself; with one, this must.
  server.on('tlsClientError', (error: Error & { code?: string }, socket: TLSSocket) => {
    stats.failed += 1;
    stats.failedByClass[tlsFailureClassOf(error.code)] += 1;
    socket.destroy();
  });
  return {
    stats,
    closePending: () => {
      for (const handshake of [...pending.values()]) handshake.evict();
    },
  };
}
