// Why: the node's Redis-protocol front end (docs/ARCHITECTURE.md section 1): unmodified Redis
// clients and tools (redis-cli, redis-benchmark, ioredis) read and write Everwrite keys. This file
// owns the listening socket and the connection set: it admits connections up to
// `connectionsMax`, and on close() stops accepting, lets commands in flight answer, and cuts what
// is left after `closeTimeoutMs`. Protocol and commands live in connection.ts and commands/.
import { createServer } from 'node:net';
import type { Socket } from 'node:net';
import { pino } from 'pino';
import { buildCommandTable } from './commands/index.ts';
import { RespConnection } from './connection.ts';
import type { RespServerContext, RespStats, Session } from './context.ts';
import { resolveRespServerOptions } from './options.ts';
import type { RespServerOptions } from './options.ts';
import { listen } from '../listen.ts';

export type { RespServerOptions, KeyMapping, LimitOverrides } from './options.ts';

export interface RespServerHandle {
  /** Where the server actually listens (the OS-chosen port when 0 was asked for). */
  readonly address: { readonly host: string; readonly port: number };
  /**
   * Stops accepting, reads no further command, lets commands in flight answer, then closes every
   * connection; cuts what is left after `closeTimeoutMs`. Calling it again returns the same promise.
   */
  close(): Promise<void>;
}

const maxClientsReply = '-ERR max number of clients reached\r\n';
/** How long a refused connection may stay half-open after its answer, in ms. */
const refusedLingerMs = 5000;
/** How often the coarse clock (context.ts CoarseClock) is refreshed, in ms. */
const coarseClockIntervalMs = 100;

/** Answers a connection past the limit and lets it go, without keeping it if the client does not close. */
function refuse(socket: Socket): void {
  socket.on('error', () => socket.destroy());
  socket.end(maxClientsReply);
  // Read and drop what the client already sent, so the close is a FIN and not a reset.
  socket.resume();
  setTimeout(() => socket.destroy(), refusedLingerMs).unref();
}

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
  });
  const connections = new Set<RespConnection>();
  let nextClientId = 1;
  let closing = false;
  // Half-open: a client that sends its commands and then FIN (nc, scripts) still gets every answer.
  const server = createServer({ allowHalfOpen: true, noDelay: true });
  server.on('connection', (socket: Socket) => {
    stats.connectionsReceived += 1;
    if (closing || connections.size >= resolved.connectionsMax) {
      stats.connectionsRejected += 1;
      refuse(socket);
      return;
    }
    const connection = new RespConnection(context, socket, nextClientId);
    nextClientId += 1;
    connections.add(connection);
    sessions.add(connection.session);
    socket.on('close', () => {
      connections.delete(connection);
      sessions.delete(connection.session);
    });
  });
  const address = await listen(server, resolved.host, resolved.port);
  const clockTimer = setInterval(() => (clock.nowMs = Date.now()), coarseClockIntervalMs);
  clockTimer.unref();
  server.on('error', (error) => context.logger.error({ err: error }, 'resp server error'));
  context.logger.info({ host: address.address, port: address.port }, 'resp api listening');
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= new Promise<void>((resolve, reject) => {
      closing = true;
      const deadline = setTimeout(() => {
        for (const connection of connections) connection.destroy();
      }, resolved.closeTimeoutMs);
      deadline.unref();
      server.close((error) => {
        clearTimeout(deadline);
        clearInterval(clockTimer);
        if (error === undefined) resolve();
        else reject(error);
      });
      for (const connection of connections) connection.shutdown();
    });
    return closed;
  };
  return Object.freeze({ address: Object.freeze({ host: address.address, port: address.port }), close });
}
