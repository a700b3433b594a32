// Why: the node's HTTP front end (docs/ARCHITECTURE.md section 4) on bare node:http: keep-alive, no framework,
// one request listener that matches a route from a table, runs its handler and records metrics.
// No failure of a request (bad input, a service error, a bug) may take the server down: every
// throw becomes a coded JSON answer, and unexpected ones are logged.
import { createServer, STATUS_CODES } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { pino } from 'pino';
import type { Exchange, ServerContext } from './exchange.ts';
import { HttpMetrics } from './metrics.ts';
import { HttpConnectionGuard } from './connections.ts';
import { AddressRateLimiter } from '../../core/base/rate-limiter.ts';
import type { AntiEntropyReport } from '../../runtime/service.ts';
import { resolveHttpServerOptions } from './options.ts';
import type { HttpServerOptions } from './options.ts';
import { sendCodedError, sendRateLimited, sendThrown } from './respond.ts';
import { matchRoute, routes, unmatchedRoute } from './routes.ts';
import { answerOptions, applyCors } from './cors.ts';
import { hasConditionalHeader } from './preconditions.ts';
import { authorize } from './authorize.ts';
import { protectedModeMessage } from '../auth/protected-mode.ts';
import { listen } from '../listen.ts';
import { guardTlsHandshakes, tlsServerOptions, type TlsCredentials, type TlsHandshakeStats } from '../tls-listener.ts';

export type { HttpServerOptions } from './options.ts';

export interface HttpServerHandle {
  /** Where the server actually listens (the OS-chosen port when 0 was asked for). */
  readonly address: { readonly host: string; readonly port: number };
  /**
   * Stops accepting, lets requests in flight finish (their connections then close), closes idle
   * keep-alive connections; cuts what is left after `closeTimeoutMs`. Calling it again is harmless.
   */
  close(): Promise<void>;
  /** HTTPS only: serves `credentials` to new connections from now on; open ones keep theirs (decision 0026). */
  setTlsCredentials(credentials: TlsCredentials): void;
  /** HTTPS only: unfinished and failed TLS handshakes; undefined for plain HTTP. */
  readonly tlsStats: TlsHandshakeStats | undefined;
}

/** Mutable per-server state, apart from the frozen context. */
interface Lifecycle {
  closing: boolean;
  /** Responses not yet finished, so close() can tell them to drop keep-alive. */
  readonly inFlight: Set<ServerResponse>;
  /** The one close in progress or done: close() may be called again and gets the same promise. */
  closed: Promise<void> | undefined;
  readonly connections: HttpConnectionGuard;
  readonly rateLimiter: AddressRateLimiter;
}

/** What `OPTIONS *` (the server as a whole) answers in Allow. */
const serverAllow = 'GET, HEAD, PUT, POST, DELETE, OPTIONS';

function answerUnrouted(context: ServerContext, request: IncomingMessage, response: ServerResponse): void {
  if (request.method === 'OPTIONS' && request.url === '*') {
    answerOptions(context.options.corsOrigins, request, response, serverAllow);
    return;
  }
  sendCodedError(response, 404, 'EVERWRITE_NOT_FOUND', `no route for ${request.method ?? 'GET'} ${request.url ?? '/'}`);
}

/** Whether a stranger may make this request once users exist: what protected mode still serves (decision 0025). */
function isPublic(context: ServerContext, exchange: Exchange | undefined, method: string | undefined): boolean {
  if (exchange === undefined) return false;
  return (
    exchange.route.access[method ?? ''] === 'public' ||
    (exchange.route === routes.metrics && context.options.metricsPublic)
  );
}

async function serveRequest(
  context: ServerContext,
  lifecycle: Lifecycle,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const startedMs = performance.now();
  // A server being closed tells clients not to reuse the connection, so close() does not wait on it.
  if (lifecycle.closing) response.shouldKeepAlive = false;
  lifecycle.inFlight.add(response);
  const socket = request.socket;
  lifecycle.connections.requestStarted(socket);
  const exchange = matchRoute(request, response);
  const template = exchange === undefined ? unmatchedRoute : exchange.route.template;
  applyCors(context.options.corsOrigins, request, response);
  try {
    const clientAddress = lifecycle.connections.clientAddressOf(socket);
    const retryAfterMs = lifecycle.rateLimiter.take(clientAddress, Date.now());
    if (retryAfterMs > 0) {
      sendRateLimited(response, retryAfterMs);
    } else if (
      context.auth?.refusesInProtectedMode(clientAddress, socket.localAddress ?? '') === true &&
      !isPublic(context, exchange, request.method)
    ) {
      response.shouldKeepAlive = false;
      sendCodedError(response, 403, 'EVERWRITE_PROTECTED_MODE', protectedModeMessage);
    } else if (exchange === undefined) {
      answerUnrouted(context, request, response);
    } else {
      const handler = exchange.route.handlers[request.method ?? ''];
      if (request.method === 'OPTIONS') {
        answerOptions(context.options.corsOrigins, request, response, exchange.route.allow);
      } else if (exchange.route !== routes.key && hasConditionalHeader(request.headers)) {
        sendCodedError(
          response,
          400,
          'EVERWRITE_BAD_REQUEST',
          `${template} honours no conditional header (If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since); only /buckets/{bucket}/keys/{key} does`,
        );
      } else if (handler === undefined) {
        response.setHeader('Allow', exchange.route.allow);
        sendCodedError(
          response,
          405,
          'EVERWRITE_METHOD_NOT_ALLOWED',
          `${request.method ?? '?'} is not allowed on ${template}; allowed: ${exchange.route.allow}`,
        );
      } else {
        await authorize(context, exchange, exchange.route.access[request.method ?? ''], clientAddress);
        await handler(context, exchange);
      }
    }
  } catch (thrown) {
    sendThrown(response, thrown, context.logger, template);
  }
  lifecycle.inFlight.delete(response);
  lifecycle.connections.requestFinished(socket);
  context.metrics.record(template, request.method, response.statusCode, (performance.now() - startedMs) / 1000);
}

/** Node's own HTTP framing errors (malformed request line, oversized headers, timeouts), answered as JSON. */
function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  // A response already under way on this socket cannot be followed by a raw one. Node exposes the
  // socket's current response only as `_httpMessage` (its own default handler checks it the same way).
  const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent === true) {
    socket.destroy();
    return;
  }
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const body = JSON.stringify({
    code: 'EVERWRITE_BAD_REQUEST',
    message: `malformed or incomplete HTTP request (${error.code ?? error.message})`,
  });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * Node closes the idle keep-alive connections at close(), but a connection whose response is still
 * being computed would stay open (and close() pending) until the client gives it up. So answers
 * still in flight go out with "Connection: close", and after `closeTimeoutMs` whatever is left is cut.
 */
function closeServer(
  server: Server,
  lifecycle: Lifecycle,
  metrics: HttpMetrics,
  closeTimeoutMs: number,
): Promise<void> {
  if (lifecycle.closed !== undefined) return lifecycle.closed;
  lifecycle.closing = true;
  const closeIdle = (): void => server.closeIdleConnections();
  for (const response of lifecycle.inFlight) {
    if (!response.headersSent) response.shouldKeepAlive = false;
    else response.once('finish', closeIdle);
  }
  const deadline = setTimeout(() => server.closeAllConnections(), closeTimeoutMs);
  deadline.unref();
  lifecycle.closed = new Promise((resolve, reject) => {
    server.close((error) => {
      clearTimeout(deadline);
      metrics.unregister();
      if (error === undefined) resolve();
      else reject(error);
    });
  });
  return lifecycle.closed;
}

/** Starts the HTTP API of one node; resolves once it listens. */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServerHandle> {
  const resolved = resolveHttpServerOptions(options);
  const context: ServerContext = Object.freeze({
    service: options.service,
    membership: options.membership,
    options: resolved,
    logger: options.logger ?? pino({ name: 'everwrite-http' }, pino.destination(2)),
    liveStats: options.liveStats,
    auth: options.authenticator,
    metrics: new HttpMetrics(
      options.metrics,
      options.service.antiEntropy === undefined
        ? undefined
        : () => (options.service.antiEntropy as () => AntiEntropyReport).call(options.service),
    ),
  });
  const connections = new HttpConnectionGuard(resolved);
  const rateLimiter = options.rateLimiter ?? new AddressRateLimiter();
  const lifecycle: Lifecycle = { closing: false, inFlight: new Set(), closed: undefined, connections, rateLimiter };
  const httpOptions = {
    keepAlive: true,
    keepAliveTimeout: resolved.keepAliveTimeoutMs,
    requestTimeout: resolved.requestTimeoutMs,
    headersTimeout: resolved.headersTimeoutMs,
    connectionsCheckingInterval: resolved.timeoutCheckIntervalMs,
  };
  const tls = options.tls;
  const server =
    tls === undefined ? createServer(httpOptions) : createHttpsServer({ ...httpOptions, ...tlsServerOptions(tls) });
  // No server.maxConnections: Node would drop a newcomer at the cap before the guard could make
  // room for it by closing an idle connection (decision 0013). Over TLS a connection joins the
  // table once its handshake is done; until then the handshake budget holds it (tls-listener.ts).
  const tlsGuard =
    tls === undefined ? undefined : guardTlsHandshakes(server as ReturnType<typeof createHttpsServer>, tls);
  server.on(tls === undefined ? 'connection' : 'secureConnection', connections.onConnection);
  const onRequest = (request: IncomingMessage, response: ServerResponse): void => {
    void serveRequest(context, lifecycle, request, response);
  };
  server.on('request', onRequest);
  // Handled here rather than by Node, so "100 Continue" is sent only once the body is wanted.
  server.on('checkContinue', onRequest);
  server.on('clientError', answerClientError);
  let address: AddressInfo;
  try {
    address = await listen(server, resolved.host, resolved.port);
  } catch (error) {
    context.metrics.unregister();
    throw error;
  }
  server.on('error', (error) => context.logger.error({ err: error }, 'http server error'));
  context.logger.info(
    { host: address.address, port: address.port, tls: tls !== undefined },
    `http api listening${tls === undefined ? '' : ' (https)'}`,
  );
  return Object.freeze({
    address: Object.freeze({ host: address.address, port: address.port }),
    close: () => {
      tlsGuard?.closePending();
      return closeServer(server, lifecycle, context.metrics, resolved.closeTimeoutMs);
    },
    setTlsCredentials: (credentials: TlsCredentials) => {
      if (tls !== undefined)
        (server as ReturnType<typeof createHttpsServer>).setSecureContext({
          cert: credentials.cert,
          key: credentials.key,
        });
    },
    tlsStats: tlsGuard?.stats,
  });
}
