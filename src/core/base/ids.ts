// Why: branded ids keep a NodeId from being passed where a bucket or request id is expected.
// They are plain strings/numbers at run time; the brand exists only for the type checker.

declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

/** A physical node's stable name, e.g. "n1". */
export type NodeId = Brand<string, 'NodeId'>;
/** Index of one of the Q equal partitions of the ring (strategy 3), 0..Q-1. */
export type PartitionIndex = Brand<number, 'PartitionIndex'>;
/** A coordinator-local request number; unique per node per run. */
export type RequestId = Brand<number, 'RequestId'>;

export const asNodeId = (value: string): NodeId => value as NodeId;
export const asPartitionIndex = (value: number): PartitionIndex => value as PartitionIndex;
export const asRequestId = (value: number): RequestId => value as RequestId;
