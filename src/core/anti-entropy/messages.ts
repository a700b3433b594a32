// Why: two replicas compare Merkle trees over the network, each holding only its own tree. These are
// the messages of that exchange as plain data (numbers, arrays, Uint8Array), so the protocol codec can
// carry them without knowing anything about trees. Every message names its exchange and partition, and
// every response echoes the request id it answers: that is how duplicates and stale answers are told apart.
import type { PartitionIndex } from '../base/ids.ts';
import type { LeafEntry, TreeShape } from './merkle-tree.ts';

interface ExchangeAddress {
  /** Chosen by the initiating node, unique among its exchanges in one run. */
  readonly exchangeId: number;
  readonly partition: PartitionIndex;
  /** Unique within the exchange; a response carries the id of the request it answers. */
  readonly requestId: number;
}

/** "Send me the hashes of these nodes of this level." Carries the asker's shape, checked by the answerer. */
export interface TreeHashesRequest extends ExchangeAddress {
  readonly kind: 'tree-hashes-request';
  readonly shape: TreeShape;
  /** 0 is the root, shape.depth the leaves. */
  readonly level: number;
  readonly indices: readonly number[];
}

/** The hashes asked for, in the order of the request's indices. */
export interface TreeHashesResponse extends ExchangeAddress {
  readonly kind: 'tree-hashes-response';
  readonly hashes: readonly Uint8Array[];
}

/** "Send me the (key, record hash) pairs of these leaves." */
export interface TreeLeafEntriesRequest extends ExchangeAddress {
  readonly kind: 'tree-leaf-entries-request';
  readonly shape: TreeShape;
  readonly leafIndices: readonly number[];
}

/** Each asked leaf's entries sorted by key, in the order of the request's leaf indices. */
export interface TreeLeafEntriesResponse extends ExchangeAddress {
  readonly kind: 'tree-leaf-entries-response';
  readonly leafEntries: ReadonlyArray<readonly LeafEntry[]>;
}

export type TreeExchangeRefusalReason =
  /** The trees have different fan-out or depth: their hashes cannot be compared. */
  | 'shape-mismatch'
  /** More nodes or leaves than the answerer's limits allow in one request. */
  | 'request-too-large'
  /** A level or index out of range, or an empty request. */
  | 'malformed-request'
  /** The answerer holds no tree for this partition (not one of its primaries, or out of range). */
  | 'unknown-partition'
  /** The answerer's tree for this partition is still being rebuilt from storage. */
  | 'not-ready'
  /** The asker placed keys by a ring version the answerer does not have: the trees cover different keys. */
  | 'ring-mismatch';

/** The answerer will not answer this request; the exchange cannot go on. */
export interface TreeExchangeRefused extends ExchangeAddress {
  readonly kind: 'tree-exchange-refused';
  readonly reason: TreeExchangeRefusalReason;
}

export type TreeExchangeRequest = TreeHashesRequest | TreeLeafEntriesRequest;
export type TreeExchangeResponse = TreeHashesResponse | TreeLeafEntriesResponse | TreeExchangeRefused;
export type TreeExchangeMessage = TreeExchangeRequest | TreeExchangeResponse;
