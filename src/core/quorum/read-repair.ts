// Why: what a finished read does to the replicas is decided here, as a value (Riak's get FSM calls
// it the final action; raft's Ready is the same idea): which primaries answered with less than the
// reconciled record and get it, and whether every primary holds the same tombstone so its reap may
// be scheduled. The coordination only carries the plan out, so the rule is testable on its own.
// It reads the replies straight from the tally and allocates only when there is something to
// repair: it runs at the end of every read.
import type { NodeId } from '../base/ids.ts';
import { descends, isLive, recordsEqual, type VersionedRecord } from '../versioning/index.ts';

export interface ReadRepairPlan {
  /** Primaries whose reply the reconciled record strictly adds to: they get it. */
  readonly stale: readonly NodeId[];
  /** Every primary answered with exactly the reconciled record, and it is a tombstone: reap it (decision 0002). */
  readonly reap: boolean;
}

/** The replies of a read, in reply order (a GetTally of records). */
export interface ReadReplies {
  readonly replyCount: number;
  nodeAt(index: number): NodeId;
  valueAt(index: number): VersionedRecord;
  replyOf(node: NodeId): VersionedRecord | undefined;
}

const noneStale: readonly NodeId[] = Object.freeze([]);
const nothingToDo: ReadRepairPlan = Object.freeze({ stale: noneStale, reap: false });

/** The plan for `reconciled`, the merge of the `replies` to a read of a key whose primaries are `primaries`. */
export function planReadRepair(
  replies: ReadReplies,
  primaries: readonly NodeId[],
  reconciled: VersionedRecord,
): ReadRepairPlan {
  if (reconciled.siblings.length === 0 && reconciled.context.size === 0) return nothingToDo;
  let stale: NodeId[] | undefined;
  for (let index = 0; index < replies.replyCount; index++) {
    const node = replies.nodeAt(index);
    if (primaries.includes(node) && !descends(replies.valueAt(index), reconciled)) (stale ??= []).push(node);
  }
  const reap =
    !isLive(reconciled) &&
    reconciled.siblings.length > 0 &&
    primaries.every((primary) => {
      const record = replies.replyOf(primary);
      return record !== undefined && recordsEqual(record, reconciled);
    });
  return stale === undefined && !reap ? nothingToDo : { stale: stale ?? noneStale, reap };
}
