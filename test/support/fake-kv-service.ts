// Why: the HTTP layer and the CLI are tested against the KvService contract, not against a cluster.
// This fake is one in-memory node with the simplest sibling semantics that still exercise every
// answer shape: a write supersedes exactly the versions its context names, a blind write becomes a
// sibling, a delete is a tombstone sibling. Tests can also make the next call fail or wait.
import { EverwriteError } from '../../src/core/base/errors.ts';
import { asNodeId } from '../../src/core/base/ids.ts';
import { nextTimestamp } from '../../src/core/versioning/index.ts';
import type {
  BucketProps,
  DeleteRequest,
  GetResult,
  KeyListing,
  KeyListOptions,
  KeyListPage,
  KvService,
  NodeStatus,
  PutRequest,
  RequestOptions,
  SiblingView,
  WriteSink,
} from '../../src/runtime/service.ts';

export type FakeOperation =
  | 'get'
  | 'put'
  | 'delete'
  | 'getBucketProps'
  | 'setBucketProps'
  | 'deleteBucketProps'
  | 'status'
  | 'ring'
  | 'localGet'
  | 'listKeys';

/** One call as the fake received it, for asserting what the HTTP layer passed through. */
export interface FakeCall {
  readonly operation: FakeOperation;
  readonly bucket?: string;
  readonly key?: string;
  readonly options?: RequestOptions;
  readonly context?: string;
  readonly contentType?: string;
  readonly value?: Uint8Array;
  readonly supersedeLocal?: boolean;
}

export interface FakeKvServiceOptions {
  /** Wall clock for lastModified, in ms since the epoch. Default: Date.now. Tests pin it for exact output. */
  readonly nowMs?: () => number;
  /** Versions per key past which a write is refused with EVERWRITE_TOO_MANY_SIBLINGS. Default 100. */
  readonly siblingsCountMax?: number;
}

interface StoredVersion {
  readonly dot: number;
  readonly sibling: SiblingView;
}

const contextPrefix = 'fake.';
const defaultProps: BucketProps = Object.freeze({ n: 3, r: 2, w: 2, resolver: 'siblings', durability: 'durable' });

function encodeContext(dots: Iterable<number>): string {
  return contextPrefix + [...dots].join('.');
}

function decodeContext(token: string | undefined): ReadonlySet<number> {
  if (token === undefined) return new Set();
  if (!token.startsWith(contextPrefix)) throw new EverwriteError('EVERWRITE_BAD_CONTEXT', 'context token is malformed');
  const body = token.slice(contextPrefix.length);
  const dots = body === '' ? [] : body.split('.').map(Number);
  if (!dots.every((dot) => Number.isSafeInteger(dot) && dot > 0))
    throw new EverwriteError('EVERWRITE_BAD_CONTEXT', 'context token is malformed');
  return new Set(dots);
}

export class FakeKvService implements KvService {
  readonly calls: FakeCall[] = [];
  private readonly nowMs: () => number;
  private readonly siblingsCountMax: number;
  private readonly keys = new Map<string, StoredVersion[]>();
  private readonly props = new Map<string, BucketProps>();
  private readonly failures = new Map<FakeOperation, unknown>();
  private readonly holds = new Map<FakeOperation, Promise<void>>();
  private lastDot = 0;
  /** The one node's hybrid logical clock: every write's timestamp is past the previous one's. */
  private lastTimestamp = 0;

  constructor(options: FakeKvServiceOptions = {}) {
    this.nowMs = options.nowMs ?? Date.now;
    this.siblingsCountMax = options.siblingsCountMax ?? 100;
  }

  /** The next call of `operation` throws `error` (anything: a coded error or a plain bug). */
  failNext(operation: FakeOperation, error: unknown): void {
    this.failures.set(operation, error);
  }

  /** The next call of `operation` waits until the returned function is called. */
  holdNext(operation: FakeOperation): () => void {
    let release = (): void => {};
    this.holds.set(operation, new Promise<void>((resolve) => (release = resolve)));
    return release;
  }

  private async enter(call: FakeCall): Promise<void> {
    this.calls.push(call);
    const hold = this.holds.get(call.operation);
    if (hold !== undefined) {
      this.holds.delete(call.operation);
      await hold;
    }
    this.throwPlannedFailure(call.operation);
  }

  private throwPlannedFailure(operation: FakeOperation): void {
    if (!this.failures.has(operation)) return;
    const failure = this.failures.get(operation);
    this.failures.delete(operation);
    throw failure;
  }

  async get(bucket: string, key: string, options?: RequestOptions): Promise<GetResult> {
    await this.enter({ operation: 'get', bucket, key, ...(options === undefined ? {} : { options }) });
    return this.read(bucket, key);
  }

  private read(bucket: string, key: string): GetResult {
    const versions = this.keys.get(`${bucket}\u0000${key}`) ?? [];
    return {
      siblings: versions.map((version) => version.sibling),
      context: encodeContext(versions.map((version) => version.dot)),
    };
  }

  private write(
    bucket: string,
    key: string,
    context: string | undefined,
    sibling: SiblingView,
    supersedeLocal = false,
  ): { context: string } {
    const address = `${bucket}\u0000${key}`;
    // The fake is a single replica, so "the coordinator's own context" is every version it holds.
    const seen = supersedeLocal
      ? new Set((this.keys.get(address) ?? []).map((version) => version.dot))
      : decodeContext(context);
    const resolver = (this.props.get(bucket) ?? defaultProps).resolver;
    const survivors =
      resolver === 'lww' ? [] : (this.keys.get(address) ?? []).filter((version) => !seen.has(version.dot));
    if (survivors.length + 1 > this.siblingsCountMax) {
      throw new EverwriteError(
        'EVERWRITE_TOO_MANY_SIBLINGS',
        `key has ${survivors.length} siblings; read it and write with its context`,
      );
    }
    this.lastDot += 1;
    this.keys.set(address, [...survivors, { dot: this.lastDot, sibling }]);
    return { context: encodeContext([...seen, this.lastDot]) };
  }

  async put(request: PutRequest): Promise<{ readonly context: string }> {
    const { bucket, key, context, options, contentType, value } = request;
    const supersedeLocal = request.supersedeLocal === true;
    await this.enter({
      operation: 'put',
      bucket,
      key,
      contentType,
      value,
      ...(options === undefined ? {} : { options }),
      ...(context === undefined ? {} : { context }),
      ...(supersedeLocal ? { supersedeLocal } : {}),
    });
    return this.write(bucket, key, context, this.version(Uint8Array.from(value), contentType, false), supersedeLocal);
  }

  /** put() answered through a sink, as NodeRuntime.putInto: the RESP front end's SET takes this path when it exists. */
  putInto(request: PutRequest, sink: WriteSink): void {
    this.put(request).then(
      () => sink.written(),
      (error: unknown) => sink.failed(error as EverwriteError),
    );
  }

  async delete(request: DeleteRequest): Promise<{ readonly context: string }> {
    const { bucket, key, context, options } = request;
    await this.enter({
      operation: 'delete',
      bucket,
      key,
      ...(options === undefined ? {} : { options }),
      ...(context === undefined ? {} : { context }),
    });
    return this.write(bucket, key, context, this.version(new Uint8Array(0), '', true));
  }

  private version(value: Uint8Array, contentType: string, deleted: boolean): SiblingView {
    const lastModifiedMs = this.nowMs();
    this.lastTimestamp = nextTimestamp(this.lastTimestamp, lastModifiedMs);
    return { value, contentType, lastModifiedMs, deleted, timestamp: this.lastTimestamp };
  }

  async getBucketProps(bucket: string): Promise<BucketProps> {
    await this.enter({ operation: 'getBucketProps', bucket });
    return this.props.get(bucket) ?? defaultProps;
  }

  async setBucketProps(bucket: string, patch: Readonly<Record<string, unknown>>): Promise<BucketProps> {
    await this.enter({ operation: 'setBucketProps', bucket });
    const merged: Record<string, unknown> = { ...(this.props.get(bucket) ?? defaultProps) };
    for (const [name, value] of Object.entries(patch)) {
      if (!(name in defaultProps)) throw new EverwriteError('EVERWRITE_BAD_PROPS', `unknown bucket property ${name}`);
      merged[name] = value;
    }
    const props = validateProps(merged);
    this.props.set(bucket, props);
    return props;
  }

  async deleteBucketProps(bucket: string): Promise<BucketProps> {
    await this.enter({ operation: 'deleteBucketProps', bucket });
    this.props.delete(bucket);
    return defaultProps;
  }

  status(): NodeStatus {
    this.calls.push({ operation: 'status' });
    this.throwPlannedFailure('status');
    return {
      id: asNodeId('n1'),
      members: [{ id: asNodeId('n1'), address: '127.0.0.1:7001', state: 'up', partitions: 8 }],
    };
  }

  ring(): unknown {
    this.calls.push({ operation: 'ring' });
    this.throwPlannedFailure('ring');
    return { partitionCount: 8, version: 1, owners: Array.from({ length: 8 }, () => 'n1') };
  }

  /** Pages of key listings served so far: what a backpressure test watches. */
  listingPagesServed = 0;
  /** Partitions the next listings report as missing, in their last page (a partial listing). */
  listingMissingPartitions: readonly number[] = [];

  /**
   * The bucket's live keys in sorted order, a page at a time; the cursor is "fake.<index>". A
   * failNext('listKeys') error is thrown by the page after the first (a failure mid-listing).
   */
  listKeys(bucket: string, options: KeyListOptions = {}): KeyListing {
    const cursor = options.cursor;
    if (cursor !== undefined && !/^fake\.[0-9]+$/.test(cursor))
      throw new EverwriteError('EVERWRITE_BAD_REQUEST', 'the listing cursor is malformed');
    let position: number | undefined = cursor === undefined ? 0 : Number(cursor.slice('fake.'.length));
    const pageKeysMax = options.pageKeysMax ?? 1000;
    let pages = 0;
    // A snapshot taken at the first page: the fake's listing does not see later writes.
    let keys: string[] | undefined;
    return {
      nextPage: async (): Promise<KeyListPage | undefined> => {
        if (position === undefined) return undefined;
        if (pages++ > 0) this.throwPlannedFailure('listKeys');
        this.listingPagesServed += 1;
        keys ??= this.liveKeys(bucket);
        const page = keys.slice(position, position + pageKeysMax);
        position = position + pageKeysMax < keys.length ? position + pageKeysMax : undefined;
        return {
          keys: page,
          missingPartitions: position === undefined ? this.listingMissingPartitions : [],
          cursor: position === undefined ? undefined : `fake.${position}`,
        };
      },
    };
  }

  private liveKeys(bucket: string): string[] {
    const live = [...this.keys].filter(
      ([address, versions]) =>
        address.startsWith(`${bucket}\u0000`) && versions.some((version) => !version.sibling.deleted),
    );
    return live.map(([address]) => address.slice(bucket.length + 1)).sort();
  }

  async localGet(bucket: string, key: string): Promise<GetResult | undefined> {
    await this.enter({ operation: 'localGet', bucket, key });
    const result = this.read(bucket, key);
    return result.siblings.length === 0 ? undefined : result;
  }
}

function validateProps(merged: Record<string, unknown>): BucketProps {
  const { n, r, w, resolver, durability } = merged;
  const counts = [n, r, w];
  if (!counts.every((count) => typeof count === 'number' && Number.isSafeInteger(count) && count > 0)) {
    throw new EverwriteError('EVERWRITE_BAD_PROPS', 'n, r and w must be positive integers');
  }
  if ((r as number) > (n as number) || (w as number) > (n as number))
    throw new EverwriteError('EVERWRITE_BAD_PROPS', 'r and w must not exceed n');
  if (resolver !== 'siblings' && resolver !== 'lww')
    throw new EverwriteError('EVERWRITE_BAD_PROPS', 'resolver must be "siblings" or "lww"');
  if (durability !== 'durable' && durability !== 'buffered')
    throw new EverwriteError('EVERWRITE_BAD_PROPS', 'durability must be "durable" or "buffered"');
  return Object.freeze({ n: n as number, r: r as number, w: w as number, resolver, durability });
}
