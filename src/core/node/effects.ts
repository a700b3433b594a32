// Why: everything the node core wants done in the world, as values. The runtime executes effects
// against its ports and feeds results back as events; the simulator does the same with virtual ports.
import type { NodeId } from '../base/ids.ts';
import type { Message, PropsEntry, UserEntry, WireError } from '../protocol/messages.ts';
import type { Actor, StoredValue, VersionVector, VersionedRecord } from '../versioning/index.ts';
import type { ClusterView } from '../cluster-view/index.ts';

/**
 * What a handoff source keeps per transfer across restarts (decision 0017): the last storage key
 * its target acknowledged, and whether the transfer is done. Keyed by (viewVersion, partition, target).
 */
export interface HandoffProgress {
  readonly viewVersion: number;
  readonly partition: number;
  readonly target: NodeId;
  /** Absent: nothing acknowledged yet (the stream starts at the partition's first key). */
  readonly lastKey?: Uint8Array;
  readonly done: boolean;
}

/** The answer to a client request: the record it produced or read, or a coded error. */
/** How a replica is asked to mint a new version of a key (the coordinator's half of a put). */
export interface VersionRequest {
  readonly context: VersionVector;
  /** Use the stored record's own context instead of `context` (ClientWrite.supersedeLocal). */
  readonly useStoredContext: boolean;
  readonly actor: Actor;
  readonly stored: StoredValue;
  readonly durable: boolean;
  readonly lastWriterWins: boolean;
  readonly siblingsCountMax: number;
}

/** `context`, on writes: what the writing client may claim to have seen (never siblings it did not see). */
export type Outcome =
  | { readonly ok: true; readonly record: VersionedRecord; readonly context?: VersionVector }
  | { readonly ok: false; readonly error: WireError };

export type Effect =
  | { readonly type: 'send'; readonly to: NodeId; readonly message: Message }
  | { readonly type: 'reply'; readonly requestId: number; readonly outcome: Outcome }
  | { readonly type: 'setTimer'; readonly timerId: number; readonly delayMs: number }
  /** Read this replica's record; answer with `storeDone`. */
  | { readonly type: 'storeRead'; readonly token: number; readonly partition: number; readonly storageKey: Uint8Array }
  /** Mint a new version on this replica (read, `update`, write, atomically per key); answer with `storeDone`, after `storeMinted` when the write waits for the disk. */
  | ({
      readonly type: 'storeUpdate';
      readonly token: number;
      readonly partition: number;
      readonly storageKey: Uint8Array;
    } & VersionRequest)
  /** Merge a record into this replica (read, `sync`, write, atomically per key); answer with `storeDone`. */
  | {
      readonly type: 'storeMerge';
      readonly token: number;
      readonly partition: number;
      readonly storageKey: Uint8Array;
      readonly record: VersionedRecord;
      readonly durable: boolean;
      /** `record` as it arrived, when it did (stored as is when it supersedes the replica's). */ readonly encoded?: Uint8Array;
    }
  /**
   * Step the key one level down if this replica holds exactly `record` (decision 0019): a
   * tombstone-only record loses its tombstone (the context stays), a context-only record is removed.
   * Answer with `storeDone` carrying what the replica holds afterwards (reported to the trees).
   */
  | {
      readonly type: 'storeReap';
      readonly token: number;
      readonly partition: number;
      readonly storageKey: Uint8Array;
      readonly record: VersionedRecord;
    }
  /**
   * Hold a hint for `target`; answer with `hintAdded`. The record travels as its encoded bytes: the
   * core decides nothing from a hint's content, so it is neither decoded nor encoded again on its way
   * to the store and back out to the primary. The bytes may be a view of an arriving frame: the
   * store copies them.
   */
  | {
      readonly type: 'hintAdd';
      readonly token: number;
      readonly target: NodeId;
      readonly partition: number;
      readonly storageKey: Uint8Array;
      readonly encoded: Uint8Array;
      readonly durable: boolean;
    }
  /** Load up to `limit` hints for every target that has some; answer with one `hintsLoaded` per target. */
  | { readonly type: 'hintLoad'; readonly targets: readonly NodeId[] | 'all'; readonly limit: number }
  | { readonly type: 'hintRemove'; readonly ids: readonly string[] }
  | { readonly type: 'propsSave'; readonly entries: readonly PropsEntry[] }
  /** Remove these buckets' saved props (deletion markers forgotten). */
  | { readonly type: 'propsForget'; readonly buckets: readonly string[] }
  /** Persist these users (metadata namespace); no answer. */
  | { readonly type: 'usersSave'; readonly entries: readonly UserEntry[] }
  /** Remove these users' saved entries (deletion markers forgotten). */
  | { readonly type: 'usersForget'; readonly names: readonly string[] }
  /** The node adopted a newer cluster view: persist it, and let the transport follow its members (decision 0015). */
  | { readonly type: 'viewAdopted'; readonly view: ClusterView }
  /** Read up to `limit` records of the partition from `start` (inclusive) in key order; answer with `storeScanned`. */
  | {
      readonly type: 'storeScan';
      readonly scanId: number;
      readonly partition: number;
      readonly start: Uint8Array | undefined;
      readonly limit: number;
    }
  /** Persist a handoff transfer's progress durably (metadata namespace); no answer. */
  | { readonly type: 'handoffProgressSave'; readonly progress: HandoffProgress }
  /** Forget the saved progress of every transition up to this view version (it ended); no answer. */
  | { readonly type: 'handoffProgressClear'; readonly viewVersionMax: number }
  /**
   * Remove the records of a partition this node no longer replicates (after a completed transition),
   * except those its own actor versioned, kept whole so it never mints their dots again (decision 0018); no answer.
   */
  | { readonly type: 'storeDropPartition'; readonly partition: number }
  /** This node left the cluster: its transfers are done and the completed view excludes it. The process may exit. */
  | { readonly type: 'leftCluster'; readonly viewVersion: number }
  | {
      readonly type: 'log';
      readonly level: 'debug' | 'info' | 'warn' | 'error';
      readonly message: string;
      readonly fields?: Readonly<Record<string, unknown>>;
    };
