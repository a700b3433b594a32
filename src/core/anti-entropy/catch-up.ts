// Why: the fast catch-up after a known outage (decision 0020). The replica that stayed up lists, from
// its change log (change-log.ts), the keys it stored since the peer went down, with their record
// hashes; the peer answers which of them it holds differently (or not at all). Only those are then
// repaired. These are the messages of that exchange as plain data, the peer's stateless answer, and
// the check of that answer; all of them face input from another machine and bound what it can ask.
import { bytesEqual } from '../base/bytes.ts';
import type { PartitionIndex } from '../base/ids.ts';
import type { LeafEntry, MerkleTree } from './merkle-tree.ts';

export const catchUpLimits = Object.freeze({
  /** Entries in one request; the answerer refuses more. */
  entriesPerRequestMax: 256,
  /** Longest record hash (MD5's 16 in the cluster; 64 for SHA-512). */
  hashBytesMax: 64,
  /** Longest storage key: a 2-byte length, a bucket and a key within their limits. */
  keyBytesMax: 70_000,
});

interface CatchUpAddress {
  /** Chosen by the asking node, unique among its requests; the answer echoes it. */
  readonly catchUpId: number;
  readonly partition: PartitionIndex;
}

/** "These keys changed here since you went down; which do you hold differently?" An empty record hash: the key holds nothing here. */
export interface CatchUpRequest extends CatchUpAddress {
  readonly kind: 'catch-up-request';
  readonly entries: readonly LeafEntry[];
}

/** Positions, ascending, of the request's entries the answerer holds differently or lacks. */
export interface CatchUpResponse extends CatchUpAddress {
  readonly kind: 'catch-up-response';
  readonly differing: readonly number[];
}

export type CatchUpRefusalReason = 'ring-mismatch' | 'unknown-partition' | 'request-too-large' | 'malformed-request';
export const catchUpRefusalReasons: readonly CatchUpRefusalReason[] = [
  'ring-mismatch',
  'unknown-partition',
  'request-too-large',
  'malformed-request',
];

export interface CatchUpRefused extends CatchUpAddress {
  readonly kind: 'catch-up-refused';
  readonly reason: CatchUpRefusalReason;
}

export type CatchUpMessage = CatchUpRequest | CatchUpResponse | CatchUpRefused;

/**
 * The answer from this replica's tree of the partition. The tree may still be rebuilding: a key
 * with an equal hash is equal whatever the rebuild's progress (a written key's hash is current and
 * a scanned one is what the store holds), and a key not yet scanned reads as differing, which costs
 * one redundant repair, never a missed one.
 */
export function answerCatchUpRequest(tree: MerkleTree, request: CatchUpRequest): CatchUpResponse | CatchUpRefused {
  const address = { catchUpId: request.catchUpId, partition: request.partition };
  if (request.entries.length > catchUpLimits.entriesPerRequestMax)
    return { kind: 'catch-up-refused', ...address, reason: 'request-too-large' };
  if (!entriesWellFormed(request.entries)) return { kind: 'catch-up-refused', ...address, reason: 'malformed-request' };
  const differing: number[] = [];
  request.entries.forEach((entry, position) => {
    const held = tree.get(entry.key);
    const same = held === undefined ? entry.recordHash.length === 0 : bytesEqual(held, entry.recordHash);
    if (!same) differing.push(position);
  });
  return { kind: 'catch-up-response', ...address, differing };
}

function entriesWellFormed(entries: readonly LeafEntry[]): boolean {
  if (entries.length === 0) return false;
  return entries.every(
    (entry) =>
      entry.key.length > 0 &&
      entry.key.length <= catchUpLimits.keyBytesMax &&
      entry.recordHash.length <= catchUpLimits.hashBytesMax,
  );
}

/** Whether an answer's positions fit the request of `entriesSent` entries: ascending, distinct, in range. */
export function differingPositionsValid(differing: readonly number[], entriesSent: number): boolean {
  for (let index = 0; index < differing.length; index++) {
    const position = differing[index] as number;
    if (!Number.isInteger(position) || position < 0 || position >= entriesSent) return false;
    if (index > 0 && position <= (differing[index - 1] as number)) return false;
  }
  return true;
}
