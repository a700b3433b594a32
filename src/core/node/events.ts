// Why: everything that happens to a node, as values: client requests, peer messages, storage and
// timer completions. Every event carries `nowMs` so the core never reads a clock.
import type { NodeId } from '../base/ids.ts';
import type { RequestOptions } from '../protocol/contract.ts';
import type { Message } from '../protocol/messages.ts';
import type { NewUser } from './users.ts';
import type { VersionedRecord } from '../versioning/index.ts';
import type { WireError } from '../protocol/messages.ts';
import type { ClusterView } from '../cluster-view/index.ts';

export interface ClientWrite {
  readonly value: Uint8Array;
  readonly contentType: string;
  readonly deleted: boolean;
  /**
   * Write with the coordinating replica's own causal context for the key instead of a client's:
   * the new version supersedes every version that replica holds when it mints it (a Redis SET,
   * which carries no context). Versions other replicas hold and it has not seen stay siblings.
   */
  readonly supersedeLocal?: boolean;
}

export interface ScannedRecord {
  readonly storageKey: Uint8Array;
  readonly encoded: Uint8Array;
}

export interface LoadedHint {
  readonly id: string;
  readonly partition: number;
  readonly storageKey: Uint8Array;
  /** The hinted record's bytes, as stored (checked decodable when loaded); sent to the primary as they are. */
  readonly encoded: Uint8Array;
}

/**
 * A store answer. `encoded`, when present, is an encoding of `record` that decodes to it (the bytes
 * the store wrote or holds): a node sends it to its peers instead of encoding the record again.
 */
export type StoreResult =
  | { readonly ok: true; readonly record: VersionedRecord; readonly encoded?: Uint8Array | undefined }
  | { readonly ok: false; readonly error: WireError };

export type Event =
  | {
      readonly type: 'clientGet';
      readonly nowMs: number;
      readonly requestId: number;
      readonly bucket: string;
      readonly key: string;
      readonly options: RequestOptions;
    }
  | {
      readonly type: 'clientPut';
      readonly nowMs: number;
      readonly requestId: number;
      readonly bucket: string;
      readonly key: string;
      readonly context: string | undefined;
      readonly write: ClientWrite;
      readonly realtimeMs: number;
      readonly options: RequestOptions;
    }
  /** `realtimeMs` (wall clock) orders the new version above a forgotten deletion marker; absent: the next version. */
  | {
      readonly type: 'clientSetProps';
      readonly nowMs: number;
      readonly requestId: number;
      readonly bucket: string;
      readonly patch: Readonly<Record<string, unknown>>;
      readonly realtimeMs?: number;
    }
  /** Back to the defaults, cluster-wide: a versioned deletion marker. */
  | {
      readonly type: 'clientDeleteProps';
      readonly nowMs: number;
      readonly requestId: number;
      readonly bucket: string;
      readonly realtimeMs: number;
    }
  /** Adds or replaces a user cluster-wide (decision 0025); `realtimeMs` orders it as for props. */
  | {
      readonly type: 'clientSetUser';
      readonly nowMs: number;
      readonly requestId: number;
      readonly user: NewUser;
      readonly realtimeMs: number;
    }
  | {
      readonly type: 'clientDeleteUser';
      readonly nowMs: number;
      readonly requestId: number;
      readonly name: string;
      readonly realtimeMs: number;
    }
  | { readonly type: 'message'; readonly nowMs: number; readonly from: NodeId; readonly message: Message }
  | { readonly type: 'timerFired'; readonly nowMs: number; readonly timerId: number }
  | { readonly type: 'storeDone'; readonly nowMs: number; readonly token: number; readonly result: StoreResult }
  /**
   * A `storeUpdate`'s version, minted and handed to the disk but not yet durable. Its dot may be sent
   * to other replicas now: no dot that left a node is ever minted again (an unclean stop draws a new
   * epoch, decision 0008; a write that fails is kept and folded into the key's next mint). The
   * `storeDone` with the same token follows. A store that answers at once sends only `storeDone`.
   */
  | {
      readonly type: 'storeMinted';
      readonly nowMs: number;
      readonly token: number;
      readonly record: VersionedRecord;
      readonly encoded: Uint8Array;
    }
  | { readonly type: 'hintAdded'; readonly nowMs: number; readonly token: number; readonly ok: boolean }
  | {
      readonly type: 'hintsLoaded';
      readonly nowMs: number;
      readonly target: NodeId;
      readonly hints: readonly LoadedHint[];
    }
  | { readonly type: 'tick'; readonly nowMs: number }
  /** A `storeScan`'s slice: stored (key, record bytes) pairs in key order; `ok: false` when the scan failed. */
  /** An operator asks for an exchange now (`everwrite cluster repair`): of one partition, or of every partition held. */
  | { readonly type: 'antiEntropyRequested'; readonly nowMs: number; readonly partition: number | undefined }
  /** A view this node made (a committed plan, or the cluster's first view that includes a joining node): adopted through ViewGossip.adoptLocal (decision 0017). */
  | {
      readonly type: 'viewMade';
      readonly nowMs: number;
      readonly view: ClusterView;
      readonly kind: 'commit' | 'joining';
    }
  | {
      readonly type: 'storeScanned';
      readonly nowMs: number;
      readonly scanId: number;
      readonly ok: boolean;
      readonly entries: readonly ScannedRecord[];
    };
