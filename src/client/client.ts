// Why: a TypeScript application should get Dynamo's whole interface in a few lines: reads that
// return every concurrent version and one causal context, writes that supersede exactly what was
// read, and update() for the read-merge-write loop of the shopping cart. The client also chooses
// where each request goes: any node round robin (server-driven coordination) or straight to the
// key's first primary (client-driven, the paper's section 6.4), skipping nodes that just failed.
// It retries only what is safe to retry: a request that never reached a node goes to another one;
// a read whose connection broke is tried once more elsewhere; a write is never sent twice.
import { iterateKeys, keyPagePath, parseKeyPage, type KeyPage, type ListKeysOptions } from './key-listing.ts';
import { Buffer } from 'node:buffer';
import type { BucketProps, MemberStatus } from '../runtime/service.ts';
import { badArgument, clientErrorCodes, EverwriteClientError, isEverwriteClientError } from './errors.ts';
import { HttpExchanger, NetworkFailure, type HttpAnswer, type HttpCall } from './http-exchange.ts';
import { ConcurrencyLimiter } from './limiter.ts';
import { NodeSet } from './node-set.ts';
import {
  checkInteger,
  clientOptionLimits,
  resolveClientOptions,
  type EverwriteClientOptions,
  type ResolvedClientOptions,
} from './options.ts';
import {
  contextHeaderName,
  errorFromAnswer,
  jsonAnswer,
  parseGetAnswer,
  parseWriteAnswer,
  type GetResult,
  type Sibling,
} from './responses.ts';
import { RingView, type KeyRoute } from './ring-view.ts';

export interface ReadOptions {
  /** Replicas that must answer (overrides the bucket's R for this read). */
  readonly r?: number;
  /** Deadline of this call in milliseconds (overrides the client's timeoutMs). */
  readonly timeoutMs?: number;
}

export interface WriteOptions {
  /** The context of the read this write follows; absent or empty for a blind write. */
  readonly context?: string;
  /** Replicas that must acknowledge (overrides the bucket's W for this write). */
  readonly w?: number;
  readonly timeoutMs?: number;
}

export interface PutOptions extends WriteOptions {
  /** Default: `text/plain; charset=utf-8` for a string value, `application/octet-stream` for bytes. */
  readonly contentType?: string;
}

export interface UpdateOptions {
  /** Further read-merge-write rounds after a retryable failure. Default 5, at most 100. */
  readonly retries?: number;
  readonly r?: number;
  readonly w?: number;
  /** Default: the content type of the first live sibling read, else as for put. */
  readonly contentType?: string;
  /** Deadline of each read and each write, in milliseconds. */
  readonly timeoutMs?: number;
}

/** The merge function of update(): the live siblings (none when the key is absent) in, the new value out. */
export type MergeFunction = (siblings: readonly Sibling[]) => Uint8Array | string;

export type BucketPropsPatch = Partial<Pick<BucketProps, 'n' | 'r' | 'w' | 'resolver' | 'durability'>>;

export interface ClusterStatus {
  /** The node that answered. */
  readonly node: string;
  readonly id: string;
  readonly members: readonly MemberStatus[];
}

export interface ClientStats {
  /** HTTP requests sent (each attempt counts). */
  readonly requests: number;
  /** Attempts after the first one of a call (sent to another node after a failure). */
  readonly retries: number;
  /** Client routing: key requests sent straight to one of the key's primaries. */
  readonly primaryRequests: number;
  /** Client routing: key requests sent to a node that is not a primary of the key (no ring yet, primaries failing or unknown). */
  readonly nonPrimaryRequests: number;
  readonly ringRefreshes: number;
  readonly ringRefreshFailures: number;
  readonly ringVersion: number | undefined;
  /** Calls running now, and waiting for a slot. */
  readonly inFlight: number;
  readonly queued: number;
}

/** What one call sends and how its answer is read. */
interface CallSpec<T> {
  readonly http: Omit<HttpCall, 'timeoutMs'>;
  /** Safe to send twice (reads): may be retried once when a connection breaks after sending. */
  readonly idempotent: boolean;
  /** Set for key requests, which client routing sends to the key's primaries. */
  readonly address?: { readonly bucket: string; readonly key: string };
  readonly parse: (answer: HttpAnswer, node: string) => T;
}

const textContentType = 'text/plain; charset=utf-8';
const bytesContentType = 'application/octet-stream';
const updateRetriesMax = 100;
/**
 * Bound on each read of a ring refresh (ring, a node's id, a bucket's N), in milliseconds: the
 * first key request waits for the first refresh, and one hung node must not hold it for long.
 */
const adminReadTimeoutMs = 2000;
/** Pause before update() retries: doubled per attempt from this, capped, jittered (so two updaters drift apart). */
const updatePauseMs = 20;
const updatePauseMaxMs = 1000;

function keyPath(bucket: string, key: string): string {
  if (typeof bucket !== 'string' || bucket === '') throw badArgument('bucket must be a non-empty string');
  if (typeof key !== 'string' || key === '') throw badArgument('key must be a non-empty string');
  try {
    return `/buckets/${encodeURIComponent(bucket)}/keys/${encodeURIComponent(key)}`;
  } catch {
    throw badArgument('bucket and key must be valid Unicode (no lone surrogates)');
  }
}

function bucketPath(bucket: string): string {
  if (typeof bucket !== 'string' || bucket === '') throw badArgument('bucket must be a non-empty string');
  try {
    return `/buckets/${encodeURIComponent(bucket)}/props`;
  } catch {
    throw badArgument('bucket must be valid Unicode (no lone surrogates)');
  }
}

/** `?r=2&w=2` from the overrides given; quorums are checked here so a typo is not sent. */
function quorumQuery(overrides: { readonly r?: number | undefined; readonly w?: number | undefined }): string {
  const parts: string[] = [];
  if (overrides.r !== undefined) parts.push(`r=${checkInteger('r', overrides.r, 1, 1024)}`);
  if (overrides.w !== undefined) parts.push(`w=${checkInteger('w', overrides.w, 1, 1024)}`);
  return parts.length === 0 ? '' : `?${parts.join('&')}`;
}

function encodeValue(value: Uint8Array | string): Uint8Array {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (value instanceof Uint8Array) return value;
  throw badArgument('value must be a string or a Uint8Array');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function retryableForUpdate(error: unknown): boolean {
  if (!isEverwriteClientError(error)) return false;
  // Siblings piled up while we merged: a new read covers them all.
  return error.retryable || error.code === 'EVERWRITE_TOO_MANY_SIBLINGS';
}

export class EverwriteClient {
  readonly options: ResolvedClientOptions;
  private readonly nodes: NodeSet;
  private readonly exchanger: HttpExchanger;
  private readonly limiter: ConcurrencyLimiter;
  private readonly ringView: RingView | undefined;
  private readonly counters = { requests: 0, retries: 0, primaryRequests: 0, nonPrimaryRequests: 0 };
  private active = 0;
  private drained: (() => void) | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: EverwriteClientOptions) {
    this.options = resolveClientOptions(options);
    const resolved = this.options;
    this.nodes = new NodeSet(resolved.nodes, resolved.backoffMs, resolved.backoffMaxMs);
    this.exchanger = new HttpExchanger(
      resolved.maxConcurrency,
      resolved.responseBytesMax,
      resolved.ca,
      resolved.authorization,
    );
    this.limiter = new ConcurrencyLimiter(resolved.maxConcurrency, resolved.maxQueued);
    this.ringView =
      resolved.routing === 'client'
        ? new RingView(this.nodes, (index, path) => this.fetchJson(index, path), resolved.ringRefreshMs)
        : undefined;
  }

  // ---- data --------------------------------------------------------------------------------------

  /** Reads a key: every concurrent version and the context covering them (`found: false` when absent or deleted). */
  get(bucket: string, key: string, options: ReadOptions = {}): Promise<GetResult> {
    return this.run(
      () => ({
        http: { method: 'GET', path: keyPath(bucket, key) + quorumQuery({ r: options.r }) },
        idempotent: true,
        address: { bucket, key },
        parse: parseGetAnswer,
      }),
      options.timeoutMs,
    );
  }

  /** Writes a value; with the context of a read it supersedes what that read returned, without one it is concurrent with it. */
  put(
    bucket: string,
    key: string,
    value: Uint8Array | string,
    options: PutOptions = {},
  ): Promise<{ readonly context: string }> {
    return this.run(() => {
      const body = encodeValue(value);
      const contentType = options.contentType ?? (typeof value === 'string' ? textContentType : bytesContentType);
      return {
        http: {
          method: 'PUT',
          path: keyPath(bucket, key) + quorumQuery({ w: options.w }),
          headers: this.writeHeaders(options.context, contentType),
          body,
        },
        idempotent: false,
        address: { bucket, key },
        parse: parseWriteAnswer,
      };
    }, options.timeoutMs);
  }

  /** Deletes what the context covers (a tombstone); the answer is the tombstone's context. */
  delete(bucket: string, key: string, options: WriteOptions = {}): Promise<{ readonly context: string }> {
    return this.run(
      () => ({
        http: {
          method: 'DELETE',
          path: keyPath(bucket, key) + quorumQuery({ w: options.w }),
          headers: this.writeHeaders(options.context, undefined),
        },
        idempotent: false,
        address: { bucket, key },
        parse: parseWriteAnswer,
      }),
      options.timeoutMs,
    );
  }

  private writeHeaders(context: string | undefined, contentType: string | undefined): Record<string, string> {
    if (context !== undefined && typeof context !== 'string') throw badArgument('context must be a string');
    const headers: Record<string, string> = {};
    if (context !== undefined && context !== '') headers[contextHeaderName] = context;
    if (contentType !== undefined) headers['content-type'] = contentType;
    return headers;
  }

  /**
   * Read, merge, write back with the read's context: the shopping-cart pattern. `merge` gets the
   * live siblings (an empty array when the key is absent or deleted) and returns the new value.
   * A write that fails with a retryable code (429, 503: quorum not met, timeout, unavailable) or
   * EVERWRITE_TOO_MANY_SIBLINGS is redone from a fresh read, up to `retries` more times. A
   * concurrent writer does not make the write fail: with dotted version vectors both writes are
   * kept as siblings, and the next read (and so the next update) merges them. `merge` must
   * therefore be safe to apply again to its own output (a union, a max), and may run more than once.
   */
  async update(
    bucket: string,
    key: string,
    merge: MergeFunction,
    options: UpdateOptions = {},
  ): Promise<{ readonly context: string; readonly attempts: number }> {
    if (typeof merge !== 'function') throw badArgument('merge must be a function');
    const retries = checkInteger('retries', options.retries ?? 5, 0, updateRetriesMax);
    const timeout = options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs };
    for (let attempt = 1; ; attempt++) {
      try {
        const read = await this.get(bucket, key, { ...(options.r === undefined ? {} : { r: options.r }), ...timeout });
        const live = read.siblings.filter((sibling) => !sibling.deleted);
        const value = merge(live);
        const contentType =
          options.contentType ??
          live[0]?.contentType ??
          (typeof value === 'string' ? textContentType : bytesContentType);
        const written = await this.put(bucket, key, value, {
          context: read.context,
          contentType,
          ...(options.w === undefined ? {} : { w: options.w }),
          ...timeout,
        });
        return { context: written.context, attempts: attempt };
      } catch (error) {
        if (attempt > retries || !retryableForUpdate(error) || this.closing !== undefined) throw error;
        const pauseMs = Math.min(updatePauseMs * 2 ** (attempt - 1), updatePauseMaxMs);
        await sleep(pauseMs / 2 + Math.random() * (pauseMs / 2));
      }
    }
  }

  // ---- key listing (decision 0030) ---------------------------------------------------------------

  /**
   * Every live key of a bucket, one page fetched at a time as the loop asks for more. Expensive:
   * for batch jobs and operators, never a request path. Ends with EVERWRITE_PARTIAL_LISTING when
   * some partitions had no live replica (unless `allowPartial`), after yielding what was listed.
   */
  listKeys(bucket: string, options: ListKeysOptions = {}): AsyncGenerator<string, void, undefined> {
    keyPagePath(bucket, undefined, options.pageKeys);
    return iterateKeys(
      (continuation) =>
        this.listKeysPage(bucket, { ...options, ...(continuation === undefined ? {} : { continuation }) }),
      options.allowPartial === true,
    );
  }

  /** One page of a bucket's keys and the continuation to pass for the next (null at the end). */
  listKeysPage(
    bucket: string,
    options: { readonly continuation?: string; readonly pageKeys?: number; readonly timeoutMs?: number } = {},
  ): Promise<KeyPage> {
    return this.run(
      () => ({
        http: { method: 'GET', path: keyPagePath(bucket, options.continuation, options.pageKeys) },
        idempotent: true,
        parse: parseKeyPage,
      }),
      options.timeoutMs,
    );
  }

  // ---- buckets and cluster -----------------------------------------------------------------------

  async getProps(bucket: string, options: { readonly timeoutMs?: number } = {}): Promise<BucketProps> {
    const props = await this.run(
      () => ({ http: { method: 'GET', path: bucketPath(bucket) }, idempotent: true, parse: jsonAnswer }),
      options.timeoutMs,
    );
    return this.noteProps(bucket, props);
  }

  /** Changes some of a bucket's properties; answers all of them after the change. */
  async setProps(
    bucket: string,
    patch: BucketPropsPatch,
    options: { readonly timeoutMs?: number } = {},
  ): Promise<BucketProps> {
    if (typeof patch !== 'object' || patch === null || Array.isArray(patch))
      throw badArgument('patch must be an object such as {"n": 3}');
    const body = Buffer.from(JSON.stringify(patch), 'utf8');
    const props = await this.run(
      () => ({
        http: { method: 'PUT', path: bucketPath(bucket), headers: { 'content-type': 'application/json' }, body },
        idempotent: false,
        parse: jsonAnswer,
      }),
      options.timeoutMs,
    );
    return this.noteProps(bucket, props);
  }

  /** Returns a bucket to the cluster's defaults (DELETE /buckets/{b}/props); answers them. Idempotent. */
  async deleteProps(bucket: string, options: { readonly timeoutMs?: number } = {}): Promise<BucketProps> {
    const props = await this.run(
      () => ({ http: { method: 'DELETE', path: bucketPath(bucket) }, idempotent: true, parse: jsonAnswer }),
      options.timeoutMs,
    );
    return this.noteProps(bucket, props);
  }

  private noteProps(bucket: string, props: unknown): BucketProps {
    const n = (props as { n?: unknown } | null)?.n;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1)
      throw new EverwriteClientError({
        code: clientErrorCodes.badResponse,
        message: 'bucket properties came without a valid n',
      });
    this.ringView?.rememberReplicas(bucket, n);
    return props as BucketProps;
  }

  /** One node's view of the cluster (GET /admin/status on the next node). */
  async status(options: { readonly timeoutMs?: number } = {}): Promise<ClusterStatus> {
    return this.run(
      () => ({
        http: { method: 'GET', path: '/admin/status' },
        idempotent: true,
        parse: (answer, node) => {
          const body = jsonAnswer(answer, node) as { id?: unknown; members?: unknown };
          if (typeof body?.id !== 'string' || !Array.isArray(body.members))
            throw new EverwriteClientError({
              code: clientErrorCodes.badResponse,
              message: `${node} answered a status without id and members`,
              status: answer.status,
              node,
            });
          return { node, id: body.id, members: body.members as MemberStatus[] };
        },
      }),
      options.timeoutMs,
    );
  }

  stats(): ClientStats {
    const ring = this.ringView?.stats();
    return {
      ...this.counters,
      ringRefreshes: ring?.ringRefreshes ?? 0,
      ringRefreshFailures: ring?.ringRefreshFailures ?? 0,
      ringVersion: ring?.ringVersion,
      inFlight: this.limiter.inFlight,
      queued: this.limiter.queued,
    };
  }

  /** Client routing: fetches the ring now instead of waiting for the next period (e.g. after a membership change). */
  async refreshRing(): Promise<void> {
    await this.ringView?.refreshNow();
  }

  /**
   * Refuses queued and new calls (EVERWRITE_CLIENT_CLOSED), lets calls in flight finish (each is
   * bounded by its timeout), then closes every connection. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.ringView?.close();
      this.limiter.close();
      if (this.active > 0) await new Promise<void>((resolve) => (this.drained = resolve));
      this.exchanger.close();
    })();
    return this.closing;
  }

  // ---- the request path --------------------------------------------------------------------------

  /** Builds the call (argument errors reject, never throw), waits for a slot, sends it. */
  private async run<T>(build: () => CallSpec<T>, timeoutMs: number | undefined): Promise<T> {
    const budgetMs =
      timeoutMs === undefined
        ? this.options.timeoutMs
        : checkInteger('timeoutMs', timeoutMs, 1, clientOptionLimits.timeoutMsMax);
    const spec = build();
    const deadlineMs = performance.now() + budgetMs;
    await this.limiter.acquire();
    this.active++;
    try {
      return await this.send(spec, deadlineMs, budgetMs);
    } finally {
      this.limiter.release();
      if (--this.active === 0 && this.drained !== undefined) this.drained();
    }
  }

  private async send<T>(spec: CallSpec<T>, deadlineMs: number, budgetMs: number): Promise<T> {
    const route = await this.routeOf(spec);
    const tried = new Set<number>();
    let brokenRetried = false;
    let lastFailure: EverwriteClientError | undefined;
    for (;;) {
      const index = this.pick(route, tried);
      const remainingMs = Math.floor(deadlineMs - performance.now());
      if (remainingMs <= 0)
        throw new EverwriteClientError({
          code: clientErrorCodes.timeout,
          message: `no answer within ${budgetMs} ms${lastFailure === undefined ? '' : ` (last failure: ${lastFailure.message})`}`,
          cause: lastFailure,
        });
      if (index === undefined)
        throw (
          lastFailure ??
          new EverwriteClientError({ code: clientErrorCodes.unavailable, message: 'no node to send the request to' })
        );
      if (tried.size > 0) this.counters.retries++;
      tried.add(index);
      this.count(route, index, spec);
      const node = this.nodes.url(index);
      let answer: HttpAnswer;
      try {
        answer = await this.exchanger.send(node, { ...spec.http, timeoutMs: remainingMs });
      } catch (thrown) {
        const failure = this.networkError(thrown, node, index, budgetMs);
        // Never delivered: any request may go elsewhere. Broken after sending: reads only, once.
        const again = failure.kind === 'refused' || (failure.kind === 'broken' && spec.idempotent && !brokenRetried);
        if (failure.kind === 'broken') brokenRetried = true;
        if (!again) throw failure.error;
        lastFailure = failure.error;
        continue;
      }
      if (this.nodeUnavailable(answer, index) && spec.idempotent && !brokenRetried) {
        brokenRetried = true;
        lastFailure = errorFromAnswer(answer, node);
        continue;
      }
      return spec.parse(answer, node);
    }
  }

  private async routeOf(spec: CallSpec<unknown>): Promise<KeyRoute | undefined> {
    if (this.ringView === undefined || spec.address === undefined) return undefined;
    await this.ringView.ready();
    return this.ringView.route(spec.address.bucket, spec.address.key);
  }

  /** Client routing: the key's primaries, healthy ones first; then (and for server routing) any node round robin. */
  private pick(route: KeyRoute | undefined, tried: ReadonlySet<number>): number | undefined {
    if (route !== undefined) {
      for (const index of this.nodes.preferHealthy(route.primaries)) if (!tried.has(index)) return index;
    }
    return this.nodes.next(tried);
  }

  private count(route: KeyRoute | undefined, index: number, spec: CallSpec<unknown>): void {
    this.counters.requests++;
    if (this.ringView === undefined || spec.address === undefined) return;
    if (route?.primaries.includes(index) === true) this.counters.primaryRequests++;
    else this.counters.nonPrimaryRequests++;
  }

  /** A node answering 503 EVERWRITE_UNAVAILABLE cannot serve now (e.g. shutting down): back off from it. */
  private nodeUnavailable(answer: HttpAnswer, index: number): boolean {
    const unavailable = answer.status === 503 && errorFromAnswer(answer, '').code === clientErrorCodes.unavailable;
    if (unavailable) this.nodes.failed(index);
    else this.nodes.succeeded(index);
    return unavailable;
  }

  private networkError(
    thrown: unknown,
    node: string,
    index: number,
    budgetMs: number,
  ): { kind: string; error: EverwriteClientError } {
    if (!(thrown instanceof NetworkFailure)) throw thrown;
    if (thrown.kind === 'tooLarge')
      return {
        kind: thrown.kind,
        error: new EverwriteClientError({
          code: clientErrorCodes.badResponse,
          message: thrown.message,
          node,
          cause: thrown,
        }),
      };
    this.nodes.failed(index);
    if (thrown.kind === 'timeout')
      return {
        kind: thrown.kind,
        error: new EverwriteClientError({
          code: clientErrorCodes.timeout,
          message: `no answer within ${budgetMs} ms (last asked ${node})`,
          node,
          cause: thrown,
        }),
      };
    const closed = this.closing !== undefined ? ' (the client was closed)' : '';
    return {
      kind: thrown.kind,
      error: new EverwriteClientError({
        code: clientErrorCodes.unavailable,
        message: `cannot reach ${node}: ${thrown.message}${closed}`,
        node,
        cause: thrown,
      }),
    };
  }

  /** Internal JSON reads (ring, status, props) for client routing: outside the concurrency limit, one attempt. */
  private async fetchJson(index: number, path: string): Promise<unknown> {
    const node = this.nodes.url(index);
    let answer: HttpAnswer;
    try {
      answer = await this.exchanger.send(node, {
        method: 'GET',
        path,
        timeoutMs: Math.min(this.options.timeoutMs, adminReadTimeoutMs),
      });
    } catch (thrown) {
      if (thrown instanceof NetworkFailure && thrown.kind !== 'tooLarge') this.nodes.failed(index);
      throw thrown;
    }
    this.nodes.succeeded(index);
    return jsonAnswer(answer, node);
  }
}
