// Why: every coordination starts the same way: find the bucket's properties, check the request's
// overrides against them, hash the key onto the ring and pick the first N healthy nodes. Doing it
// in one place keeps the validation (R, W within 1..N; timeouts bounded) identical for reads,
// writes and forwarded requests.
import { EverwriteError, isEverwriteError } from '../base/errors.ts';
import type { NodeId } from '../base/ids.ts';
import { utf8Encode } from '../base/bytes.ts';
import type { WireError } from '../protocol/messages.ts';
import { encodeStorageKey } from '../protocol/storage-key.ts';
import { keyHash, partitionOf, placementOf, type PreferenceEntry } from '../ring/index.ts';
import type { RequestOptions } from '../protocol/contract.ts';
import type { NodeKernel } from './kernel.ts';
import type { BucketProps } from '../protocol/contract.ts';

/** Where a request's placement digest is written: read at once, so one buffer serves every request. */
const placementDigest = new Uint8Array(16);

export interface RequestPlan {
  readonly bucket: string;
  readonly key: string;
  readonly props: BucketProps;
  /** R for reads or W for writes, after overrides. */
  readonly quorum: number;
  readonly timeoutMs: number;
  readonly partition: number;
  readonly storageKey: Uint8Array;
  /** The first N healthy nodes: live primaries and fallbacks standing in for dead ones. */
  readonly targets: readonly PreferenceEntry[];
  /** All N primaries, alive or not. */
  readonly primaries: readonly NodeId[];
}

function validateName(kind: 'bucket' | 'key', value: string, bytesMax: number): void {
  if (value.length === 0) throw new EverwriteError('EVERWRITE_BAD_REQUEST', `${kind} must not be empty`);
  // A UTF-16 code unit encodes to at most 3 UTF-8 bytes: short names need no encoding to be checked.
  if (value.length * 3 <= bytesMax) return;
  const length = utf8Encode(value).length;
  if (length > bytesMax) {
    const code = kind === 'key' ? 'EVERWRITE_KEY_TOO_LARGE' : 'EVERWRITE_BAD_REQUEST';
    throw new EverwriteError(code, `${kind} is ${length} bytes; the limit is ${bytesMax}`, {
      bytes: length,
      limit: bytesMax,
    });
  }
}

function quorumOverride(name: 'r' | 'w', requested: number | undefined, fallback: number, n: number): number {
  const value = requested ?? fallback;
  if (!Number.isSafeInteger(value) || value < 1 || value > n) {
    throw new EverwriteError('EVERWRITE_BAD_REQUEST', `${name} must be an integer from 1 to n (${n}), got ${value}`);
  }
  return value;
}

export function planRequest(
  kernel: NodeKernel,
  bucket: string,
  key: string,
  kind: 'r' | 'w',
  options: RequestOptions,
): RequestPlan {
  validateName('bucket', bucket, kernel.requestLimits.bucketBytesMax);
  validateName('key', key, kernel.requestLimits.keyBytesMax);
  const props = kernel.props.get(bucket);
  const n = Math.min(props.n, kernel.ring.members.length);
  const quorum = quorumOverride(
    kind,
    kind === 'r' ? options.r : options.w,
    Math.min(kind === 'r' ? props.r : props.w, n),
    n,
  );
  const timeoutMs = options.timeoutMs ?? kernel.settings.requestTimeoutMs;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > kernel.settings.requestTimeoutMsMax) {
    throw new EverwriteError(
      'EVERWRITE_BAD_REQUEST',
      `timeout_ms must be an integer from 1 to ${kernel.settings.requestTimeoutMsMax}`,
    );
  }
  const partition = partitionOf(kernel.ring, keyHash(kernel.digest, bucket, key, placementDigest));
  const { targets, primaries } = placementOf(kernel.ring, partition, n, kernel.isAliveNode);
  return {
    bucket,
    key,
    props,
    quorum,
    timeoutMs,
    partition,
    storageKey: encodeStorageKey(bucket, key),
    targets,
    primaries,
  };
}

/** Turns anything thrown while serving a request into the error an answer carries. */
export function toWireError(error: unknown): WireError {
  if (isEverwriteError(error)) return { code: error.code, message: error.message, details: error.details };
  throw error;
}

/** What the coordinator had heard from the targets when it gave up on a quorum. */
export interface QuorumCounts {
  /** Targets that acknowledged (a write) or answered (a read). */
  readonly answered: number;
  /** Targets that refused, or whose reply could not be read. */
  readonly refused: number;
}

/** Why the coordinator gave up: the quorum became impossible, or the request's deadline passed. */
export type QuorumFailure = 'impossible' | 'deadline';

/**
 * The error of a quorum not met, with counts true at the moment it is sent. Every one of the key's
 * replicas is in exactly one count: acknowledged (answered, for a read), refused, not answered yet
 * (sent to, no reply by then), or known down with no live node to stand in (never sent to). A
 * quorum that became impossible is answered at once, so targets may still be storing the write;
 * calling them "tried" would hide that they had simply not answered yet. `tried` (how many targets
 * the request went to) stays in the body for older clients.
 */
export function quorumNotMet(
  kind: 'read' | 'write',
  counts: QuorumCounts,
  plan: RequestPlan,
  failure: QuorumFailure,
): WireError {
  const required = plan.quorum;
  const tried = plan.targets.length;
  const replicas = plan.primaries.length;
  const { answered, refused } = counts;
  const unanswered = Math.max(0, tried - answered - refused);
  const down = Math.max(0, replicas - tried);
  const verb = kind === 'write' ? 'acknowledged' : 'answered';
  const silence = failure === 'deadline' ? `did not answer within ${plan.timeoutMs} ms` : 'had not answered yet';
  const when =
    failure === 'deadline'
      ? 'the timeout passed'
      : `answered as soon as ${required} could no longer ${kind === 'write' ? 'acknowledge' : 'answer'}`;
  const undone = kind === 'write' ? `; the write is not undone where it was stored` : '';
  const message = `${kind} quorum not met: ${required} of the key's ${replicas} replicas required; ${answered} ${verb}, ${refused} refused, ${unanswered} ${silence}, ${down} known down with no live node to try; ${when}${undone}`;
  return {
    code: 'EVERWRITE_QUORUM_NOT_MET',
    message,
    details: { answered, required, refused, unanswered, down, tried, replicas },
  };
}
