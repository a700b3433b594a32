// Why: one HTTP(S) request/response with a node over a keep-alive pool (node:http or node:https Agent), bounded in
// time and in response size. It reports failures by what the caller must decide on: whether the
// request could have reached the node (a refused connection certainly did not, so even a write may
// go to another node; a reset after sending might have, so only reads are retried) and whether the
// deadline passed. It knows nothing of keys, routing or error codes.
import { Agent, request as httpRequest } from 'node:http';
import type { ClientRequest, IncomingHttpHeaders, IncomingMessage, RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface HttpAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface HttpCall {
  readonly method: 'GET' | 'PUT' | 'DELETE';
  /** Path and query, already percent-encoded. */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Uint8Array;
  /** Time left for this exchange, in milliseconds. */
  readonly timeoutMs: number;
}

/**
 * `refused`: the connection was never made, so the node never saw the request.
 * `broken`: the connection failed after the request may have been sent (reset, hang-up).
 * `timeout`: no whole answer before the deadline.
 * `tooLarge`: the answer is longer than responseBytesMax.
 */
export type NetworkFailureKind = 'refused' | 'broken' | 'timeout' | 'tooLarge';

export class NetworkFailure extends Error {
  override readonly name = 'NetworkFailure';
  constructor(
    readonly kind: NetworkFailureKind,
    message: string,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
  }
}

/**
 * Socket error codes raised before any byte of the request could leave this process: the
 * connection failed, or TLS refused the node's certificate (not signed by a trusted CA, expired, or
 * not issued for the address dialled), so the request was never sent.
 */
const connectErrorCodes = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function classify(error: Error & { code?: string }): NetworkFailure {
  const kind: NetworkFailureKind = error.code !== undefined && connectErrorCodes.has(error.code) ? 'refused' : 'broken';
  return new NetworkFailure(kind, error.message, error);
}

interface Target {
  readonly hostname: string;
  readonly port: number;
  /** An https: node: the request goes over TLS. */
  readonly secure: boolean;
}

function targetOf(baseUrl: string): Target {
  const url = new URL(baseUrl);
  // URL keeps IPv6 literals in brackets; node:http wants the bare address.
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const secure = url.protocol === 'https:';
  return { hostname, port: url.port === '' ? (secure ? 443 : 80) : Number(url.port), secure };
}

/** PEM certificates an https node's chain must lead to; undefined: the system's trusted roots. */
export type TrustedCa = string | Buffer | ReadonlyArray<string | Buffer>;

/**
 * Idle pooled connections are closed after this many milliseconds: before a node's default 5 s
 * keep-alive timeout, so the client drops a connection before the node does and rarely sends a
 * request on one the node is closing. Node's Agent also applies a shorter `Keep-Alive: timeout=`
 * hint from the node (less 1 s), but only when an Agent timeout is set, hence this value. It does
 * not cut requests in progress (the exchange's own deadline does that).
 */
export const idleSocketTimeoutMs = 4000;

export class HttpExchanger {
  private readonly agent: Agent;
  /** The pool for https: nodes, with the same limits; it checks each node's certificate against `ca`. */
  private readonly secureAgent: HttpsAgent;
  private readonly targets = new Map<string, Target>();

  constructor(
    socketsPerNodeMax: number,
    private readonly responseBytesMax: number,
    ca?: TrustedCa,
    /** Sent with every request (the client's credentials); undefined for none. */
    private readonly authorization?: string,
  ) {
    // LIFO reuses the warmest socket, so idle ones age out (Node honours the node's Keep-Alive
    // timeout hint) instead of being kept barely alive round robin.
    const pool = {
      keepAlive: true,
      maxSockets: socketsPerNodeMax,
      maxFreeSockets: socketsPerNodeMax,
      scheduling: 'lifo',
      timeout: idleSocketTimeoutMs,
    } as const;
    this.agent = new Agent(pool);
    this.secureAgent = new HttpsAgent({
      ...pool,
      ...(ca === undefined ? {} : { ca: ca as string | Buffer | Array<string | Buffer> }),
    });
  }

  private request(target: Target, options: RequestOptions): ClientRequest {
    const { hostname, port, secure } = target;
    return secure
      ? httpsRequest({ ...options, agent: this.secureAgent, hostname, port })
      : httpRequest({ ...options, agent: this.agent, hostname, port });
  }

  private target(baseUrl: string): Target {
    let target = this.targets.get(baseUrl);
    if (target === undefined) this.targets.set(baseUrl, (target = targetOf(baseUrl)));
    return target;
  }

  send(baseUrl: string, call: HttpCall): Promise<HttpAnswer> {
    const target = this.target(baseUrl);
    const headers: Record<string, string | number> = { ...call.headers };
    if (this.authorization !== undefined) headers.authorization = this.authorization;
    if (call.body !== undefined) headers['content-length'] = call.body.byteLength;
    return new Promise<HttpAnswer>((resolve, reject) => {
      let settled = false;
      const settle = (failure: NetworkFailure | undefined, answer?: HttpAnswer): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (failure === undefined) resolve(answer!);
        else {
          request.destroy();
          reject(failure);
        }
      };
      const request = this.request(target, { method: call.method, path: call.path, headers });
      const timer = setTimeout(
        () => settle(new NetworkFailure('timeout', `no answer from ${baseUrl} within ${call.timeoutMs} ms`)),
        call.timeoutMs,
      );
      request.on('error', (error) => settle(classify(error)));
      request.on('response', (response) => this.collect(response, baseUrl, settle));
      request.end(call.body);
    });
  }

  private collect(
    response: IncomingMessage,
    baseUrl: string,
    settle: (failure: NetworkFailure | undefined, answer?: HttpAnswer) => void,
  ): void {
    const chunks: Buffer[] = [];
    let length = 0;
    response.on('data', (chunk: Buffer) => {
      length += chunk.length;
      if (length > this.responseBytesMax) {
        settle(new NetworkFailure('tooLarge', `answer from ${baseUrl} is longer than ${this.responseBytesMax} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    response.on('error', (error) => settle(classify(error)));
    response.on('end', () =>
      settle(undefined, {
        status: response.statusCode ?? 0,
        headers: response.headers,
        body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length),
      }),
    );
    response.on('close', () => {
      if (!response.complete)
        settle(new NetworkFailure('broken', `connection to ${baseUrl} closed in the middle of the answer`));
    });
  }

  /** Closes every pooled connection; requests still in flight fail as broken. */
  close(): void {
    this.agent.destroy();
    this.secureAgent.destroy();
  }
}
