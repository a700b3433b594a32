// Why: mutual TLS on the peer port (decision 0026). With it, every inter-node connection is
// encrypted, and each side must show a certificate the cluster's CA signed before a byte of the
// secret handshake is read: a node without one never gets to knock. The secret handshake still
// runs inside TLS (defence in depth, and the secret also seals causal contexts), so everything
// after the TLS handshake is unchanged. The acceptor side runs node:tls's own verification through
// a tls.Server that never listens: the transport's net.Server hands it each raw connection after
// its admission (decision 0013), so the handshake budget and deadline cover the TLS handshake too.
import { isIP, type Socket } from 'node:net';
import { tlsFailureClassOf, type TlsFailureClass } from '../../core/base/tls-failure-class.ts';
import {
  connect as connectTls,
  createSecureContext,
  createServer as createTlsServer,
  type SecureContext,
  type Server as TlsServer,
  type TLSSocket,
} from 'node:tls';

/** A node's certificate (chain) and key, and the CA that signs every member's certificate; PEM. */
export interface PeerTlsCredentials {
  readonly cert: Buffer | string;
  readonly key: Buffer | string;
  readonly ca: Buffer | string;
}

/** What the acceptor tells the transport about a connection whose TLS handshake ended. */
export interface PeerTlsEvents {
  /** The peer showed a certificate the CA signed: read the secret handshake from `secured`. */
  secured(raw: Socket, secured: TLSSocket): void;
  /** The TLS handshake failed or the certificate was refused; `reason` names why (a node:tls or OpenSSL code), `failure` its class. */
  refused(raw: Socket, reason: string, failure: TlsFailureClass): void;
}

/** The raw connection a TLS socket runs over has the same two ends, which no other live connection to this port has. */
const connectionKeyOf = (socket: Socket): string => `${socket.remoteAddress ?? '?'}|${socket.remotePort ?? '?'}`;

/** The inbound half: wraps admitted raw connections in TLS, asks for and checks a client certificate. */
export class PeerTlsAcceptor {
  private readonly server: TlsServer;
  private readonly awaiting = new Map<string, Socket>();

  constructor(credentials: PeerTlsCredentials, handshakeTimeoutMs: number, events: PeerTlsEvents) {
    // rejectUnauthorized false: a refused certificate is reported (named in the log) rather than
    // dropped silently by node:tls; `authorized` is checked on every connection below.
    this.server = createTlsServer({
      ...pemOf(credentials),
      minVersion: 'TLSv1.2',
      requestCert: true,
      rejectUnauthorized: false,
      handshakeTimeout: handshakeTimeoutMs,
    });
    this.server.on('secureConnection', (secured: TLSSocket) => {
      const raw = this.take(secured);
      if (raw === undefined) secured.destroy();
      else if (secured.authorized) events.secured(raw, secured);
      else
        events.refused(
          raw,
          `its certificate is not signed by the cluster CA (${String(secured.authorizationError)})`,
          'certificate',
        );
    });
    this.server.on('tlsClientError', (error: Error & { code?: string }, secured: TLSSocket) => {
      const raw = this.take(secured);
      secured.destroy();
      if (raw !== undefined)
        events.refused(raw, `TLS handshake failed (${error.code ?? error.message})`, tlsFailureClassOf(error.code));
    });
  }

  /** Starts the TLS handshake on an admitted raw connection. */
  accept(raw: Socket): void {
    const key = connectionKeyOf(raw);
    this.awaiting.set(key, raw);
    raw.once('close', () => {
      if (this.awaiting.get(key) === raw) this.awaiting.delete(key);
    });
    this.server.emit('connection', raw);
  }

  /** Certificates for connections accepted from now on (rotation on SIGHUP). */
  setCredentials(credentials: PeerTlsCredentials): void {
    this.server.setSecureContext(pemOf(credentials));
  }

  private take(secured: TLSSocket): Socket | undefined {
    const key = connectionKeyOf(secured);
    const raw = this.awaiting.get(key);
    this.awaiting.delete(key);
    return raw;
  }
}

function pemOf(credentials: PeerTlsCredentials): { cert: Buffer | string; key: Buffer | string; ca: Buffer | string } {
  return { cert: credentials.cert, key: credentials.key, ca: credentials.ca };
}

/** The outbound half's context: our certificate for the acceptor to check, the CA to check the acceptor's with. */
export function dialerContextOf(credentials: PeerTlsCredentials): SecureContext {
  return createSecureContext({ ...pemOf(credentials), minVersion: 'TLSv1.2' });
}

/**
 * Dials a peer over TLS. node:tls checks the acceptor's certificate against the CA and against the
 * address dialled (an IP address must be in its subjectAltName, a host name in its DNS names).
 */
export function dialTls(host: string, port: number, context: SecureContext): TLSSocket {
  return connectTls({ host, port, secureContext: context, ...(isIP(host) === 0 ? { servername: host } : {}) });
}

/**
 * Dials `host:port` over mutual TLS and hangs up once the handshake ends, to learn whether the
 * node there shows a certificate the cluster CA signed for that address (a join is staged only
 * then, decision 0026). Resolves undefined when it does, else why not; never rejects.
 */
export function probePeerCertificate(
  host: string,
  port: number,
  context: SecureContext,
  timeoutMs: number,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = dialTls(host, port, context);
    const finish = (outcome: string | undefined): void => {
      clearTimeout(deadline);
      socket.destroy();
      resolve(outcome);
    };
    const deadline = setTimeout(() => finish(`no TLS handshake within ${timeoutMs} ms`), timeoutMs);
    socket.once('secureConnect', () =>
      finish(
        socket.authorized
          ? undefined
          : `its certificate is not signed by the cluster CA (${String(socket.authorizationError)})`,
      ),
    );
    socket.once('error', (error: Error & { code?: string }) =>
      finish(
        isTlsRefusal(error.code ?? '')
          ? `its certificate is not signed by the cluster CA for ${host} (${error.code ?? error.message})`
          : `its peer port cannot be reached (${error.code ?? error.message})`,
      ),
    );
  });
}

/** Socket errors that mean the peer is unreachable, not that TLS refused it. */
const unreachableCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'EADDRNOTAVAIL',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** True when a dialer's socket error is TLS refusing the peer (or the peer refusing us): a certificate or protocol failure. */
export function isTlsRefusal(code: string): boolean {
  return !unreachableCodes.has(code);
}
