// Why: the inter-node protocol as one discriminated union. Messages are plain data (records travel
// as bytes from the record codec), so any codec can carry them and the simulator can inspect them.
// Every request carries an id chosen by its sender; replies echo it; unknown ids are ignored, which
// makes duplicated, late or reordered frames harmless.
import type { ViewMessage } from '../cluster-view/messages.ts';
import type { BucketProps } from './contract.ts';
import type { CatchUpMessage, TreeExchangeMessage } from '../anti-entropy/index.ts';

/** The error part of an outcome, as it crosses the wire. */
export interface WireError {
  readonly code: string;
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

/** A client operation forwarded by a non-primary node to a primary coordinator. */
export interface ForwardedOperation {
  readonly kind: 'get' | 'put';
  readonly bucket: string;
  readonly key: string;
  /** put only: the value and its metadata; a delete is a put with `deleted`. */
  readonly value?: Uint8Array;
  readonly contentType?: string;
  readonly deleted?: boolean;
  readonly lastModifiedMs?: number;
  readonly context?: string;
  /** put only: write with the coordinator's stored context (ClientWrite.supersedeLocal). */
  readonly supersedeLocal?: boolean;
  readonly r?: number;
  readonly w?: number;
  readonly timeoutMs?: number;
}

/** A bucket's stored properties with the version that orders concurrent updates. */
export interface PropsEntry {
  readonly bucket: string;
  readonly props: BucketProps;
  readonly version: number;
  readonly origin: string;
  /** A deletion marker: the bucket is back to the defaults (`props` then holds them and means nothing). */
  readonly deleted?: boolean;
}

/** A role a user holds (decision 0025): read and write apply to the user's bucket (or every bucket); admin to everything. */
export type UserRole = 'read' | 'write' | 'admin';

/**
 * A user as every node stores it (decision 0025). The core never sees a password or a token: only
 * the password's scrypt hash (an opaque text the API layer writes and checks) and the SHA-256 of
 * the token, in hex ('' when the user has none).
 */
export interface UserEntry {
  readonly name: string;
  readonly roles: readonly UserRole[];
  /** The one bucket `read` and `write` apply to; '' for every bucket. */
  readonly bucket: string;
  readonly passwordHash: string;
  readonly tokenHash: string;
  readonly version: number;
  readonly origin: string;
  /** A deletion marker: the user is gone (its hashes are then ''). */
  readonly deleted?: boolean;
}

/** What one node believes of a member's liveness (src/core/membership): its incarnation and state. */
export interface LivenessUpdate {
  readonly member: string;
  readonly incarnation: number;
  readonly state: 'up' | 'suspect' | 'down';
}

/**
 * SWIM failure detection (decision 0014). `incarnation` is the sender's own; `updates` are piggybacked
 * liveness updates, the first one the sender's view of the recipient. `target`: on a pingReq, the
 * member to probe; on an ack, the member that answered (as up at its incarnation).
 */
export interface LivenessMessage {
  readonly type: 'liveness';
  readonly kind: 'ping' | 'pingReq' | 'ack';
  readonly id: number;
  readonly incarnation: number;
  readonly target?: LivenessUpdate;
  readonly updates: readonly LivenessUpdate[];
}

/** One stored record a handoff batch carries: its storage key and its record encoding, as stored. */
export interface HandoffRecord {
  readonly storageKey: Uint8Array;
  readonly record: Uint8Array;
}

/**
 * Ownership handoff of a membership transition (decision 0017, node/handoff.ts). A batch carries
 * records of one partition in storage-key order from the transfer's source to its target, which
 * merges them durably and acknowledges; `final` marks the last batch. `handoffDone` names, by their
 * index in transfersOf(view), the transfers of view `viewVersion` the sender finished (as source or
 * target); it is repeated every view-gossip interval while the transition lasts.
 */
export type HandoffMessage =
  | {
      readonly type: 'handoffBatch';
      readonly id: number;
      readonly viewVersion: number;
      readonly partition: number;
      readonly records: readonly HandoffRecord[];
      readonly final: boolean;
    }
  | {
      readonly type: 'handoffAck';
      readonly id: number;
      readonly viewVersion: number;
      readonly partition: number;
      readonly ok: boolean;
    }
  | { readonly type: 'handoffDone'; readonly viewVersion: number; readonly transfers: readonly number[] };

/**
 * Key listing over a coverage plan (decision 0030). A request asks one replica for a page of the
 * bucket's listable keys (key-listing/listing.ts) in the named partitions, ascending, each partition
 * in storage-key order, starting strictly after `after` in the first one (empty: from its start;
 * keys are never empty). The reply carries at most the replica's page bounds and, when more remain,
 * `next`: where the following request starts. Partitions before `next.partition` are complete.
 */
export type KeyListMessage =
  | {
      readonly type: 'keyListRequest';
      readonly id: number;
      readonly bucket: string;
      readonly partitions: readonly number[];
      readonly after: Uint8Array;
      readonly keysMax: number;
    }
  | {
      readonly type: 'keyListReply';
      readonly id: number;
      readonly ok: boolean;
      readonly keys: readonly Uint8Array[];
      readonly next?: { readonly partition: number; readonly after: Uint8Array };
    };

export type Message =
  /** Store this record (merge with what you have). With `hintFor`, hold it for that primary instead. */
  | {
      readonly type: 'replicaPut';
      readonly id: number;
      readonly partition: number;
      readonly storageKey: Uint8Array;
      readonly record: Uint8Array;
      readonly durable: boolean;
      readonly hintFor?: string;
    }
  | { readonly type: 'replicaPutAck'; readonly id: number; readonly ok: boolean }
  | { readonly type: 'replicaGet'; readonly id: number; readonly partition: number; readonly storageKey: Uint8Array }
  /** `record` absent: this replica holds nothing for the key. `ok: false`: it could not read. */
  | { readonly type: 'replicaGetReply'; readonly id: number; readonly ok: boolean; readonly record?: Uint8Array }
  | { readonly type: 'forward'; readonly id: number; readonly operation: ForwardedOperation }
  | {
      readonly type: 'forwardReply';
      readonly id: number;
      readonly record?: Uint8Array;
      readonly context?: string;
      readonly error?: WireError;
    }
  /** Drop the key if what you hold is exactly this tombstone-only record. */
  | { readonly type: 'reap'; readonly partition: number; readonly storageKey: Uint8Array; readonly record: Uint8Array }
  | { readonly type: 'props'; readonly entries: readonly PropsEntry[] }
  /** One hash per slot of the sender's props table; the receiver answers the entries of slots that differ (and, with `reply`, its own digest). */
  | { readonly type: 'propsDigest'; readonly slots: readonly number[]; readonly reply: boolean }
  /** Users, spread like bucket props: a broadcast of changes, and entries answering a digest. */
  | { readonly type: 'users'; readonly entries: readonly UserEntry[] }
  | { readonly type: 'usersDigest'; readonly slots: readonly number[]; readonly reply: boolean }
  | LivenessMessage
  /** The cluster view's gossip (src/core/cluster-view, decision 0015). */
  | ViewMessage
  /** One message of a Merkle tree exchange (anti-entropy, decision 0016), for trees of this ring version. */
  | { readonly type: 'treeExchange'; readonly ringVersion: number; readonly exchange: TreeExchangeMessage }
  /** Ownership handoff during a membership transition (decision 0017). */
  | HandoffMessage
  /** One message of the fast catch-up after an outage (decision 0020), for keys placed by this ring version. */
  | { readonly type: 'catchUp'; readonly ringVersion: number; readonly catchUp: CatchUpMessage }
  /** A page of a key listing (decision 0030); served by the runtime's key listing, not the core. */
  | KeyListMessage;

export type MessageType = Message['type'];
