// Why: the same workload must be measurable over each way users reach a node (HTTP, the Redis
// protocol, the TypeScript client with server- or client-driven routing), so the workers speak to
// one small interface, a driver with a read and a write of key number i, and each protocol is one
// implementation of it. Every answer becomes an Outcome: ok, not found (a read of an absent key,
// still a success), or an error named by its code, so errors are counted by code whatever the
// protocol. The RESP driver lives in resp-driver.ts. Against a secured --target every driver is
// handed the CLI's credentials and trusted roots once (access.ts).
import { EverwriteClient, type Routing } from '../../client/index.ts';
import type { BenchAccess } from './access.ts';
import type { BenchHttp, RequestOutcome } from './http-clients.ts';

export type BenchProtocol = 'http' | 'resp' | 'client';
export const benchProtocols: readonly BenchProtocol[] = ['http', 'resp', 'client'];

export interface Outcome {
  readonly kind: 'ok' | 'notFound' | 'error';
  /** For errors: `HTTP <status> <code>`, `RESP <code>`, the client's EVERWRITE_* code, `timeout`, or a socket error. */
  readonly code?: string;
  /** The read's causal context, when `wantContext` asked for it and the node gave one. */
  readonly context?: string;
}

export interface BenchDriver {
  /** Reads key `keyIndex` for `worker`; with `wantContext` the outcome carries the read's context. */
  read(worker: number, keyIndex: number, wantContext: boolean): Promise<Outcome>;
  /** Writes the run's value to key `keyIndex`; with a context, the write supersedes what that read saw. */
  write(worker: number, keyIndex: number, context: string | undefined): Promise<Outcome>;
  /** Aborts requests started before `nowMs - timeoutMs` (they end as `timeout` errors); returns how many. */
  abortOverdue(nowMs: number, timeoutMs: number): number;
  close(): Promise<void>;
}

/** The name of key number `index`: `k` and the number (YCSB names its keys `user<n>`). */
export function keyName(index: number): string {
  return `k${index}`;
}

/** Worker `worker` of `workers` talks to node `worker mod targets` (round-robin over the nodes). */
export function targetOfWorker(worker: number, targets: number): number {
  return worker % targets;
}

/** Names a failed request: an HTTP answer by status and the node's error code, else the socket error. */
export function failureKind(failure: { readonly status?: number; readonly code?: string }): string {
  if (failure.status !== undefined)
    return failure.code === undefined ? `HTTP ${failure.status}` : `HTTP ${failure.status} ${failure.code}`;
  return failure.code ?? 'unknown';
}

/** An HTTP answer as an outcome: 2xx and a read's 300 (siblings) are ok, a read's 404 is not found. */
export function httpOutcome(operation: 'read' | 'write', answer: RequestOutcome): Outcome {
  const status = answer.status;
  const context = answer.context === undefined ? {} : { context: answer.context };
  if (status !== undefined && ((status >= 200 && status < 300) || (operation === 'read' && status === 300)))
    return { kind: 'ok', ...context };
  if (status === 404 && operation === 'read') return { kind: 'notFound', ...context };
  return { kind: 'error', code: failureKind(answer) };
}

export class HttpDriver implements BenchDriver {
  constructor(
    private readonly http: BenchHttp,
    private readonly targets: number,
    private readonly bucket: string,
    private readonly value: Uint8Array,
  ) {}

  private path(keyIndex: number): string {
    return `/buckets/${this.bucket}/keys/${keyName(keyIndex)}`;
  }

  async read(worker: number, keyIndex: number, wantContext: boolean): Promise<Outcome> {
    const answer = await this.http.send({
      method: 'GET',
      target: targetOfWorker(worker, this.targets),
      path: this.path(keyIndex),
      wantContext,
    });
    return httpOutcome('read', answer);
  }

  async write(worker: number, keyIndex: number, context: string | undefined): Promise<Outcome> {
    const answer = await this.http.send({
      method: 'PUT',
      target: targetOfWorker(worker, this.targets),
      path: this.path(keyIndex),
      body: this.value,
      ...(context === undefined ? {} : { context }),
    });
    return httpOutcome('write', answer);
  }

  abortOverdue(nowMs: number, timeoutMs: number): number {
    return this.http.abortOverdue(nowMs, timeoutMs);
  }

  async close(): Promise<void> {
    this.http.close();
  }
}

function clientErrorCode(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : error instanceof Error ? error.name : 'unknown';
}

/** The TypeScript client; it keeps its own per-request timeout, so there is nothing to sweep. */
export class ClientDriver implements BenchDriver {
  private readonly client: EverwriteClient;

  constructor(
    urls: readonly string[],
    routing: Routing,
    private readonly bucket: string,
    private readonly value: Uint8Array,
    concurrency: number,
    timeoutMs: number,
    access: Pick<BenchAccess, 'credentials' | 'ca'>,
  ) {
    this.client = new EverwriteClient({
      nodes: urls,
      routing,
      timeoutMs,
      maxConcurrency: concurrency,
      ...access.credentials,
      ...(access.ca === undefined ? {} : { ca: access.ca }),
    });
  }

  /**
   * Client routing needs the ring before the first request, or early requests go to any node. A
   * failure comes back as an outcome, so a refusal is reported as the requests' own are.
   */
  async prepare(): Promise<Outcome> {
    try {
      await this.client.refreshRing();
      return { kind: 'ok' };
    } catch (error) {
      return { kind: 'error', code: clientErrorCode(error) };
    }
  }

  async read(_worker: number, keyIndex: number, wantContext: boolean): Promise<Outcome> {
    try {
      const result = await this.client.get(this.bucket, keyName(keyIndex));
      const context = wantContext && result.context !== '' ? { context: result.context } : {};
      return { kind: result.found ? 'ok' : 'notFound', ...context };
    } catch (error) {
      return { kind: 'error', code: clientErrorCode(error) };
    }
  }

  async write(_worker: number, keyIndex: number, context: string | undefined): Promise<Outcome> {
    try {
      await this.client.put(this.bucket, keyName(keyIndex), this.value, context === undefined ? {} : { context });
      return { kind: 'ok' };
    } catch (error) {
      return { kind: 'error', code: clientErrorCode(error) };
    }
  }

  abortOverdue(): number {
    return 0;
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
