// Why: the load generator shares the machine's CPU with the nodes it measures, so its HTTP client
// must be cheap. Two are offered behind one small interface, node:http with a keep-alive Agent and
// the global fetch, so the faster can be chosen by measurement (docs/BENCHMARKS.md). A request that
// hangs must not stall a worker forever, but a timer per request would cost more than the request:
// each client keeps its requests in flight in a set, and the runner sweeps it a few times a second,
// aborting the overdue ones, which then count as `timeout` errors. Against a secured --target
// (decisions 0025, 0026) both send the one Authorization header access.ts computed, and https
// targets are trusted with --ca: node:http through an https Agent given the roots, fetch through the
// dispatcher --ca installed for every fetch of the command (src/cli/tls-trust.ts).
import { Agent, request as httpRequest } from 'node:http';
import type { ClientRequest, IncomingMessage, RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { contextHeaderKey } from '../../core/protocol/http-contract.ts';
import type { BenchHttpClient } from './options.ts';

/** An HTTP status (with the node's error code for error answers), or a transport failure's code. */
export interface RequestOutcome {
  readonly status?: number;
  readonly code?: string;
  /** The answer's causal context (X-Everwrite-Context), only when the request asked for it. */
  readonly context?: string;
}

export interface BenchRequest {
  readonly method: 'GET' | 'PUT';
  /** Index into the client's base URLs. */
  readonly target: number;
  /** Path and query, starting with '/'. */
  readonly path: string;
  readonly body?: Uint8Array;
  /** Sent as X-Everwrite-Context: the write supersedes what the read that returned it saw. */
  readonly context?: string;
  /** Keep the answer's X-Everwrite-Context (a read-modify-write's read). */
  readonly wantContext?: boolean;
}

const contextHeader = contextHeaderKey;

function requestHeaders(
  benchRequest: BenchRequest,
  authorization: string | undefined,
): Record<string, string | number> {
  const headers: Record<string, string | number> = {};
  if (authorization !== undefined) headers['authorization'] = authorization;
  if (benchRequest.body !== undefined) {
    headers['content-type'] = 'application/octet-stream';
    headers['content-length'] = benchRequest.body.byteLength;
  }
  if (benchRequest.context !== undefined && benchRequest.context !== '') headers[contextHeader] = benchRequest.context;
  return headers;
}

function withContext(outcome: RequestOutcome, context: string | null | undefined): RequestOutcome {
  return typeof context === 'string' && context !== '' ? { ...outcome, context } : outcome;
}

export interface BenchHttp {
  send(request: BenchRequest): Promise<RequestOutcome>;
  /** Aborts every request started before `nowMs - timeoutMs`; returns how many. */
  abortOverdue(nowMs: number, timeoutMs: number): number;
  close(): void;
}

interface InFlight {
  readonly startedMs: number;
  abort(): void;
}

const timeoutOutcome: RequestOutcome = Object.freeze({ code: 'timeout' });

/** The node's JSON error body carries `code`; anything else yields none. */
function errorCode(bodyText: string): string | undefined {
  try {
    const parsed = JSON.parse(bodyText) as { code?: unknown };
    return typeof parsed.code === 'string' ? parsed.code : undefined;
  } catch {
    return undefined;
  }
}

function abortOverdueIn(inFlight: Set<InFlight>, nowMs: number, timeoutMs: number): number {
  let aborted = 0;
  for (const entry of inFlight) {
    if (nowMs - entry.startedMs >= timeoutMs) {
      inFlight.delete(entry);
      entry.abort();
      aborted++;
    }
  }
  return aborted;
}

/** Reads the whole answer; the body is kept only when it is an error worth naming. */
function readResponse(
  response: IncomingMessage,
  wantContext: boolean,
  settle: (outcome: RequestOutcome) => void,
): void {
  const status = response.statusCode ?? 0;
  const keepBody = status >= 400 && status !== 404;
  const chunks: Buffer[] = [];
  if (keepBody) response.on('data', (chunk: Buffer) => chunks.push(chunk));
  else response.resume();
  response.once('end', () => {
    const code = keepBody ? errorCode(Buffer.concat(chunks).toString('utf8')) : undefined;
    const outcome = code === undefined ? { status } : { status, code };
    const context = response.headers[contextHeader];
    settle(wantContext ? withContext(outcome, Array.isArray(context) ? context[0] : context) : outcome);
  });
  response.once('error', (error: Error & { code?: string }) => settle({ code: error.code ?? 'response-error' }));
}

/** How the bench reaches a secured cluster: the Authorization header and the roots https trusts. */
export interface BenchHttpAccess {
  readonly authorization: string | undefined;
  /** Replaces the system's roots for https targets (access.ts puts them in with --ca's CA); undefined: the defaults. */
  readonly ca: readonly string[] | undefined;
}

const noAccess: BenchHttpAccess = Object.freeze({ authorization: undefined, ca: undefined });

/** A keep-alive agent for one target: https with the trusted roots, or plain http. */
function agentFor(target: URL, socketsPerTarget: number, ca: readonly string[] | undefined): Agent {
  const options = { keepAlive: true, maxSockets: socketsPerTarget };
  if (target.protocol !== 'https:') return new Agent(options);
  return new HttpsAgent(ca === undefined ? options : { ...options, ca: [...ca] });
}

class NodeHttpClient implements BenchHttp {
  private readonly agents: Agent[];
  private readonly targets: URL[];
  private readonly sends: Array<(options: RequestOptions) => ClientRequest>;
  private readonly inFlight = new Set<InFlight>();

  constructor(
    baseUrls: readonly string[],
    socketsPerTarget: number,
    private readonly access: BenchHttpAccess,
  ) {
    this.targets = baseUrls.map((base) => new URL(base));
    this.agents = this.targets.map((target) => agentFor(target, socketsPerTarget, access.ca));
    this.sends = this.targets.map((target) => (target.protocol === 'https:' ? httpsRequest : httpRequest));
  }

  send(benchRequest: BenchRequest): Promise<RequestOutcome> {
    return new Promise((resolve) => {
      const target = this.targets[benchRequest.target] as URL;
      const headers = requestHeaders(benchRequest, this.access.authorization);
      const send = this.sends[benchRequest.target] as (options: RequestOptions) => ClientRequest;
      const request: ClientRequest = send({
        agent: this.agents[benchRequest.target],
        host: target.hostname,
        port: target.port,
        method: benchRequest.method,
        path: benchRequest.path,
        headers,
      });
      let timedOut = false;
      const entry: InFlight = {
        startedMs: performance.now(),
        abort: () => {
          timedOut = true;
          request.destroy();
        },
      };
      let settled = false;
      const settle = (outcome: RequestOutcome): void => {
        if (settled) return;
        settled = true;
        this.inFlight.delete(entry);
        resolve(timedOut ? timeoutOutcome : outcome);
      };
      this.inFlight.add(entry);
      request.once('response', (response) => readResponse(response, benchRequest.wantContext === true, settle));
      request.once('error', (error: Error & { code?: string }) => settle({ code: error.code ?? error.name }));
      request.once('close', () => settle({ code: 'closed-early' }));
      request.end(benchRequest.body);
    });
  }

  abortOverdue(nowMs: number, timeoutMs: number): number {
    return abortOverdueIn(this.inFlight, nowMs, timeoutMs);
  }

  close(): void {
    for (const agent of this.agents) agent.destroy();
  }
}

class FetchClient implements BenchHttp {
  private readonly inFlight = new Set<InFlight>();

  constructor(
    private readonly baseUrls: readonly string[],
    private readonly authorization: string | undefined,
  ) {}

  async send(benchRequest: BenchRequest): Promise<RequestOutcome> {
    const controller = new AbortController();
    let timedOut = false;
    const entry: InFlight = {
      startedMs: performance.now(),
      abort: () => {
        timedOut = true;
        controller.abort();
      },
    };
    this.inFlight.add(entry);
    try {
      const headers = requestHeaders(benchRequest, this.authorization);
      delete headers['content-length'];
      const init: RequestInit = {
        method: benchRequest.method,
        signal: controller.signal,
        headers: headers as Record<string, string>,
      };
      if (benchRequest.body !== undefined) init.body = benchRequest.body;
      const response = await fetch(`${this.baseUrls[benchRequest.target] as string}${benchRequest.path}`, init);
      const status = response.status;
      const context = benchRequest.wantContext === true ? response.headers.get(contextHeader) : undefined;
      if (status >= 400 && status !== 404) {
        const code = errorCode(await response.text());
        return withContext(code === undefined ? { status } : { status, code }, context);
      }
      await response.arrayBuffer();
      return withContext({ status }, context);
    } catch (error) {
      if (timedOut) return timeoutOutcome;
      // fetch rejects with TypeError('fetch failed'); the socket's error code is on its cause.
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      return { code: cause?.code ?? cause?.message ?? (error as Error).name };
    } finally {
      this.inFlight.delete(entry);
    }
  }

  abortOverdue(nowMs: number, timeoutMs: number): number {
    return abortOverdueIn(this.inFlight, nowMs, timeoutMs);
  }

  close(): void {
    // fetch's global dispatcher owns its connections; idle ones close on their own keep-alive timeout.
  }
}

/**
 * `socketsPerTarget` bounds node:http's pool per node; the bench passes its client count. fetch
 * trusts what --ca installed for every fetch, so only node:http is handed `access.ca`.
 */
export function createBenchHttp(
  kind: BenchHttpClient,
  baseUrls: readonly string[],
  socketsPerTarget: number,
  access: BenchHttpAccess = noAccess,
): BenchHttp {
  return kind === 'fetch'
    ? new FetchClient(baseUrls, access.authorization)
    : new NodeHttpClient(baseUrls, socketsPerTarget, access);
}
