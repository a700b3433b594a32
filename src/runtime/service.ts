// Why: the one interface every front end (HTTP, RESP, the embedded client) calls into. A node's
// runtime implements it; front ends know nothing of quorums or rings. Failures are thrown as
// EverwriteError with a code from core/base/errors.ts.
import type { EverwriteError } from '../core/base/errors.ts';
import type { NodeId } from '../core/base/ids.ts';
import type { BackgroundStatus } from '../core/node/background-admission.ts';
import type { HandoffStatus } from '../core/node/handoff.ts';
import type { CatchUpStatus } from '../core/node/catch-up.ts';
import type { UserEntry } from '../core/protocol/messages.ts';
import type { NewUser } from '../core/node/users.ts';

import type { BucketProps, RequestOptions } from '../core/protocol/contract.ts';

export type { BucketProps, Durability, RequestOptions, Resolver } from '../core/protocol/contract.ts';

/** One version of a value as a client sees it. A delete is a sibling with `deleted: true`. */
export interface SiblingView {
  readonly value: Uint8Array;
  readonly contentType: string;
  readonly lastModifiedMs: number;
  readonly deleted: boolean;
  /**
   * The version's hybrid logical clock timestamp (core/versioning/hlc.ts): the order
   * last-writer-wins and RESP GET choose by. Not a wall-clock time; show lastModifiedMs instead.
   */
  readonly timestamp: number;
}

/**
 * The answer to a read: every causally concurrent version and one opaque causal context token that
 * covers them all. No siblings means the key was never written (context is then an empty-context token).
 * Siblings come in the record's canonical order (by writing actor, then its counter), so among
 * equal timestamps the later one in the list is the later write (versioning compareWriteOrder).
 */
export interface GetResult {
  readonly siblings: readonly SiblingView[];
  readonly context: string;
}

export interface PutRequest {
  readonly bucket: string;
  readonly key: string;
  readonly value: Uint8Array;
  readonly contentType: string;
  /** The context token from an earlier read; absent for a blind write. */
  readonly context?: string;
  /**
   * Ignore `context` and write with the coordinating replica's own context for the key: the new
   * version supersedes every version that replica holds (Redis SET semantics, one round trip).
   */
  readonly supersedeLocal?: boolean;
  readonly options?: RequestOptions;
}

export interface DeleteRequest {
  readonly bucket: string;
  readonly key: string;
  readonly context?: string;
  readonly options?: RequestOptions;
}

export type MemberState = 'up' | 'suspect' | 'down' | 'leaving' | 'joining';

export interface MemberStatus {
  readonly id: NodeId;
  /** Peer address, host:port (the same as `peer`). */
  readonly address: string;
  /** Liveness as this node sees it. */
  readonly state: MemberState;
  readonly partitions: number;
  /** SWIM incarnation this node holds for the member (decision 0014). */
  readonly incarnation?: number;
  /** Milliseconds since a liveness message from the member last arrived; absent for itself or before the first. */
  readonly lastHeardAgoMs?: number;
  /** From the cluster view (decision 0015), when the node runs with one. */
  readonly peer?: string;
  readonly http?: string | null;
  readonly resp?: string | null;
  readonly zone?: string | null;
  readonly weight?: number;
  /** The member's standing in the view ('valid'), as opposed to its liveness (`state`). */
  readonly membership?: string;
  /** Fraction of the ring's partitions it owns, 0..1. */
  readonly share?: number;
}

/** The cluster view this node holds, and how its peers' compare (decision 0015). */
export interface ViewStatus {
  readonly version: number;
  readonly partitionCount: number;
  readonly digest: string;
  /** Set while the node refuses to serve because its view conflicts with its peers'. */
  readonly conflict: {
    readonly reason: string;
    readonly conflictingPeers: readonly string[];
    readonly agreeingPeers: readonly string[];
  } | null;
  /** The view summary each peer last gossiped. */
  readonly peers: ReadonlyArray<{
    readonly id: string;
    readonly version: number;
    readonly partitionCount: number;
    readonly digest: string;
  }>;
}

export interface NodeStatus {
  readonly id: NodeId;
  readonly members: readonly MemberStatus[];
  readonly view?: ViewStatus;
  /** This node's part in the transition under way (decision 0017): its transfers in and out, and their progress. */
  readonly handoff?: HandoffStatus;
  /** The admission controller pacing handoff, hint delivery and anti-entropy (paper section 6.5): foreground p99, its baseline, the byte budget now. */
  readonly background?: BackgroundStatus;
}

/** How a key listing starts and pages (decision 0030). */
export interface KeyListOptions {
  /** A cursor from an earlier page: the listing resumes after it. */
  readonly cursor?: string;
  /** Keys per page, at most keyListLimits.pageKeysMax (the default). */
  readonly pageKeysMax?: number;
}

/** One page of a key listing. */
export interface KeyListPage {
  readonly keys: readonly string[];
  /** Partitions no live replica answered for: their keys are not in the listing (a partial result). */
  readonly missingPartitions: readonly number[];
  /** Where the next page starts; undefined when this page ends the listing. */
  readonly cursor: string | undefined;
}

/** A key listing pulled one page at a time: nothing is read ahead of the consumer. */
export interface KeyListing {
  /** The next page, or undefined once the listing is done. Call again only after the previous page arrived. */
  nextPage(): Promise<KeyListPage | undefined>;
}

/**
 * The cluster's users (decision 0025), as the front ends see them: looked up to check credentials,
 * changed through the admin routes. Stored entries hold only hashes.
 */
export interface UserDirectory {
  /** Whether any user exists: from then on the front ends refuse unauthenticated callers. */
  hasUsers(): boolean;
  user(name: string): UserEntry | undefined;
  /** The user whose token hashes (SHA-256, hex) to `tokenHash`. */
  userByTokenHash(tokenHash: string): UserEntry | undefined;
  users(): UserEntry[];
  /** Adds or replaces a user cluster-wide: EVERWRITE_BAD_USER, EVERWRITE_TOO_MANY_USERS. */
  setUser(user: NewUser): Promise<void>;
  /** Removes a user cluster-wide: EVERWRITE_UNKNOWN_USER when there is none. */
  deleteUser(name: string): Promise<void>;
}

/** Where a write started with KvService.putInto is answered: once, with either call. */
export interface WriteSink {
  written(): void;
  failed(error: EverwriteError): void;
}

export interface KvService {
  get(bucket: string, key: string, options?: RequestOptions): Promise<GetResult>;
  put(request: PutRequest): Promise<{ readonly context: string }>;
  /**
   * put() for a caller that needs no context back (a Redis SET): the answer goes to `sink`, with no
   * promise, closure or result object per write. It may be answered before this returns. Absent on
   * a service without it (a test double): the caller uses put().
   */
  putInto?(request: PutRequest, sink: WriteSink): void;
  delete(request: DeleteRequest): Promise<{ readonly context: string }>;
  getBucketProps(bucket: string): Promise<BucketProps>;
  /** Validates and stores a partial update; unknown properties are EVERWRITE_BAD_PROPS. */
  setBucketProps(bucket: string, patch: Readonly<Record<string, unknown>>): Promise<BucketProps>;
  /** Returns the bucket to the defaults cluster-wide (a versioned deletion marker); answers the defaults. */
  deleteBucketProps(bucket: string): Promise<BucketProps>;
  status(): NodeStatus;
  /** The ring as JSON: partition count, version, owner of each partition. */
  ring(): unknown;
  /** Anti-entropy per partition (decision 0016); absent on a service without it (a test double). */
  antiEntropy?(): AntiEntropyReport;
  /** Queues exchanges of `partition` (every held one when undefined) now; EVERWRITE_BAD_REQUEST for a partition out of range. */
  requestAntiEntropy?(partition: number | undefined): AntiEntropyReport;
  /** Where a key lives (GET /admin/placement); absent on a service without a ring (a test double). */
  placement?(bucket: string, key: string): KeyPlacementReport;
  /**
   * Lists a bucket's keys over a coverage plan (decision 0030): expensive, for operators and batch
   * jobs, never a request path. EVERWRITE_BAD_REQUEST for a malformed cursor. Absent on a test double.
   */
  listKeys?(bucket: string, options?: KeyListOptions): KeyListing;
  /** This node's own replica of a key, without any quorum; undefined when it holds no version. */
  localGet(bucket: string, key: string): Promise<GetResult | undefined>;
}

/** What GET /admin/placement answers: a key's partition, its N primaries, and the nodes a request would use now. */
export interface KeyPlacementReport {
  readonly bucket: string;
  readonly key: string;
  readonly partition: number;
  readonly primaries: readonly string[];
  readonly targets: ReadonlyArray<{
    readonly node: string;
    readonly role: 'primary' | 'fallback';
    readonly standsInFor?: string;
  }>;
}

/** What GET /admin/aae answers: trees held and ready, and per partition its exchanges. */
export interface AntiEntropyReport {
  readonly treesHeld: number;
  readonly treesReady: number;
  readonly exchangesRunning: number;
  readonly repairsQueued: number;
  readonly partitions: ReadonlyArray<{
    readonly partition: number;
    /** How long ago the last exchange of this partition finished, or null before the first. */
    readonly lastExchangeAgoMs: number | null;
    readonly lastPeer: string | null;
    readonly exchanges: number;
    readonly exchangesFailed: number;
    readonly keysRepaired: number;
    readonly bytesExchanged: number;
  }>;
  /** The change log and what catching peers up after outages did (decision 0020); absent on a test double. */
  readonly catchUp?: CatchUpStatus;
}

/** One staged change as the admin API shows it (decision 0017). */
export type PlanChangeJson =
  | {
      readonly kind: 'join';
      readonly id: string;
      readonly peer: string;
      readonly http: string | null;
      readonly zone: string | null;
      readonly weight: number;
    }
  | { readonly kind: 'leave' | 'remove'; readonly id: string };

/** What a plan or a transition moves: partitions changing owner and the transfers the handoff runs. */
export interface PlanPreviewJson {
  readonly members: ReadonlyArray<{
    readonly id: string;
    readonly state: string;
    readonly partitionsBefore: number;
    readonly partitionsAfter: number;
  }>;
  readonly partitionsMoved: number;
  readonly transfers: ReadonlyArray<{ readonly partition: number; readonly source: string; readonly target: string }>;
}

/** GET /admin/plan: the claimant's staged plan and what it would move, and the transition under way. */
export interface PlanReport {
  readonly claimant: string;
  readonly version: number;
  readonly replicaCount: number;
  readonly staged: { readonly baseVersion: number; readonly changes: readonly PlanChangeJson[] } | null;
  /** What committing the staged plan would do; null with nothing staged. */
  readonly preview: PlanPreviewJson | null;
  /** Why the staged plan no longer applies (it is stale), when it does not. */
  readonly previewError: { readonly code: string; readonly message: string } | null;
  /** The transition the current view is in (committed, partitions moving), or null. */
  readonly transition: PlanPreviewJson | null;
}

/** POST /admin/commit: the transition view made, and what it moves. */
export interface CommitReport {
  readonly version: number;
  readonly digest: string;
  readonly transition: PlanPreviewJson;
}

/** The admin half of elastic membership (decision 0017): staging and committing at the claimant, joining at a new node. */
export interface MembershipService {
  /** The HTTP address of the claimant when it is another node (plan calls go there), undefined when this node is it. */
  claimantRedirect(): string | undefined;
  planReport(): PlanReport;
  /** Stages the leave of `node` (default: this node). */
  leave(node: string | undefined): PlanReport;
  remove(node: string): PlanReport;
  /** Stages a join a new node asked for (POST /admin/plan/join): checks its proof, partition count and, with peer TLS, its certificate first. */
  stageJoin(request: Readonly<Record<string, unknown>>): Promise<PlanReport>;
  clearPlan(): PlanReport;
  commit(): CommitReport;
  /** This node's view, encoded (base64) and tagged with the cluster secret, for a joining node to fetch. */
  signedView(): { readonly version: number; readonly view: string; readonly tag: string };
  /**
   * On a new node: asks the cluster at `seed` (an HTTP host:port) to stage its join, then waits for
   * the commit in the background. `authorization` (the operator's Authorization header) is sent to
   * the seed with every request of the join, since a cluster with users admits only an admin's.
   */
  join(
    seed: string,
    authorization?: string,
  ): Promise<{ readonly seed: string; readonly staged: unknown; readonly waiting: boolean }>;
}
