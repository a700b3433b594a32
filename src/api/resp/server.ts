// Why: the node's Redis-protocol front end (docs/ARCHITECTURE.md section 1): unmodified Redis
// clients and tools (redis-cli, redis-benchmark, ioredis) read and write Everwrite keys. This file
// owns the listening socket and the connection set: it admits connections up to `connectionsMax`
// and `connectionsPerAddressMax` (making room by closing the longest-idle one, decision 0013),
// closes connections idle past `idleTimeoutMs`, and on close() stops accepting, lets commands in
// flight answer, and cuts what is left after `closeTimeoutMs`. Protocol and commands live in
// connection.ts and commands/.
import { createServer } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Socket } from 'node:net';
import { pino } from 'pino';
import { buildCommandTable } from './commands/index.ts';
import { RespConnection } from './connection.ts';
import { ConnectionAdmission } from '../../core/base/admission.ts';
import { AddressRateLimiter } from '../../core/base/rate-limiter.ts';
import type { RespServerContext, RespStats, Session } from './context.ts';
import { resolveRespServerOptions } from './options.ts';
import type { RespServerOptions } from './options.ts';
import { listen } from '../listen.ts';
import { guardTlsHandshakes, tlsServerOptions, type TlsCredentials, type TlsHandshakeStats } from '../tls-listener.ts';
import { RespMetrics } from './metrics.ts';
import { ErrorReply, encodeReply } from './reply.ts';
import { protectedModeMessage } from '../auth/protected-mode.ts';

export type { RespServerOptions, KeyMapping, LimitOverrides } from './options.ts';

export interface RespServerHandle {
  /** Where the server actually listens (the OS-chosen port when 0 was asked for). */
  readonly address: { readonly host: string; readonly port: number };
  /**
   * Stops accepting, reads no further command, lets commands in flight answer, then closes every
   * connection; cuts what is left after `closeTimeoutMs`. Calling it again returns the same promise.
   */
  close(): Promise<void>;
  /** TLS only: serves `credentials` to new connections from now on; open ones keep theirs (decision 0026). */
  setTlsCredentials(credentials: TlsCredentials): void;
  /** TLS only: unfinished and failed TLS handshakes; undefined without TLS. */
  readonly tlsStats: TlsHandshakeStats | undefined;
}

const maxClientsReply = Buffer.from('-ERR max number of clients reached\r\n', 'latin1');
const addressFullReply = Buffer.from(
  '-BUSY EVERWRITE_RATE_LIMITED: your address holds as many connections as this node allows one address\r\n',
  'latin1',
);
/** How often the coarse clock (context.ts CoarseClock) is refreshed, in ms. */
const coarseClockIntervalMs = 100;

/**
 * Answers a connection past a limit and closes it as soon as the answer is handed to the kernel:
 * under a flood, a refused socket must not hold a descriptor while waiting for its client.
 */
function refuse(socket: Socket, reply: Buffer): void {
  socket.on('error', () => socket.destroy());
  socket.write(reply);
  socket.destroySoon();
}

/** How often idle connections are looked for, in ms: a quarter of the timeout, within 10..1000. */
function idleSweepIntervalMs(idleTimeoutMs: number): number {
  return Math.min(1000, Math.max(10, Math.floor(idleTimeoutMs / 4)));
}

const protectedModeReply = encodeReply(new ErrorReply(`DENIED EVERWRITE_PROTECTED_MODE: ${protectedModeMessage}`), 2);

/** Starts the RESP front end of one node; resolves once it listens. */
export async function startRespServer(options: RespServerOptions): Promise<RespServerHandle> {
  const resolved = resolveRespServerOptions(options);
  const sessions = new Set<Session>();
  const stats: RespStats = { connectionsReceived: 0, connectionsRejected: 0, commandsProcessed: 0, protocolErrors: 0 };
  const clock = { nowMs: Date.now() };
  const context: RespServerContext = Object.freeze({
    service: options.service,
    options: resolved,
    logger: options.logger ?? pino({ name: 'everwrite-resp' }, pino.destination(2)),
    commands: buildCommandTable(),
    stats,
    sessions,
    startedMs: clock.nowMs,
    clock,
    rateLimiter: options.rateLimiter ?? new AddressRateLimiter(),
    auth: options.authenticator,
    ...(options.metrics === undefined ? {} : { metrics: new RespMetrics(options.metrics) }),
  });
  const connections = new Set<RespConnection>();
  const admission = new ConnectionAdmission<RespConnection>(resolved);
  let nextClientId = 1;
  let closing = false;
  // Half-open: a client that sends its commands and then FIN (nc, scripts) still gets every answer.
  const tls = options.tls;
  const socketOptions = { allowHalfOpen: true, noDelay: true };
  const server =
    tls === undefined ? createServer(socketOptions) : createTlsServer({ ...socketOptions, ...tlsServerOptions(tls) });
  // Over TLS a connection is admitted once its handshake is done; until then the handshake budget holds it (tls-listener.ts).
  const tlsGuard =
    tls === undefined ? undefined : guardTlsHandshakes(server as ReturnType<typeof createTlsServer>, tls);
  server.on(tls === undefined ? 'connection' : 'secureConnection', (socket: Socket) => {
    stats.connectionsReceived += 1;
    if (closing) {
      stats.connectionsRejected += 1;
      refuse(socket, maxClientsReply);
      return;
    }
    if (context.auth?.refusesInProtectedMode(socket.remoteAddress ?? '', socket.localAddress ?? '') === true) {
      stats.connectionsRejected += 1;
      refuse(socket, protectedModeReply);
      return;
    }
    const connection = new RespConnection(context, socket, nextClientId, admission);
    const verdict = admission.admit(connection);
    if (verdict !== 'admitted') {
      stats.connectionsRejected += 1;
      refuse(socket, verdict === 'full' ? maxClientsReply : addressFullReply);
      return;
    }
    nextClientId += 1;
    connections.add(connection);
    sessions.add(connection.session);
    socket.on('close', () => {
      admission.release(connection);
      connections.delete(connection);
      sessions.delete(connection.session);
    });
  });
  const address = await listen(server, resolved.host, resolved.port);
  const clockTimer = setInterval(() => (clock.nowMs = Date.now()), coarseClockIntervalMs);
  clockTimer.unref();
  const idleTimer = setInterval(() => {
    const idleSinceMs = clock.nowMs - resolved.idleTimeoutMs;
    for (const connection of connections)
      if (connection.session.lastActiveMs < idleSinceMs && !connection.isBusy()) connection.evict();
  }, idleSweepIntervalMs(resolved.idleTimeoutMs));
  idleTimer.unref();
  server.on('error', (error) => context.logger.error({ err: error }, 'resp server error'));
  context.logger.info(
    { host: address.address, port: address.port, tls: tls !== undefined },
    `resp api listening${tls === undefined ? '' : ' (tls)'}`,
  );
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= new Promise<void>((resolve, reject) => {
      closing = true;
      tlsGuard?.closePending();
      const deadline = setTimeout(() => {
        for (const connection of connections) connection.destroy();
      }, resolved.closeTimeoutMs);
      deadline.unref();
      server.close((error) => {
        clearTimeout(deadline);
        clearInterval(clockTimer);
        clearInterval(idleTimer);
        context.metrics?.unregister();
        if (error === undefined) resolve();
        else reject(error);
      });
      for (const connection of connections) connection.shutdown();
    });
    return closed;
  };
  const setTlsCredentials = (credentials: TlsCredentials): void => {
    if (tls !== undefined)
      (server as ReturnType<typeof createTlsServer>).setSecureContext({ cert: credentials.cert, key: credentials.key });
  };
  return Object.freeze({
    address: Object.freeze({ host: address.address, port: address.port }),
    close,
    setTlsCredentials,
    tlsStats: tlsGuard?.stats,
  });
}
