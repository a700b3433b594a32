// Why: what the end of a write leaves behind is decided here, as a value, like a read's final action
// (read-repair.ts): a hint for every primary that neither acknowledged the version nor had a fallback
// acknowledge it in its place (sloppy quorum, the paper's section 4.6), and whether the version is a
// tombstone every primary acknowledged, so that its reap may be scheduled (decision 0002). The
// coordination only carries the plan out. It allocates only when a hint is due.
import type { NodeId } from '../base/ids.ts';
import { isLive, type VersionedRecord } from '../versioning/index.ts';

export interface WriteFinishPlan {
  /** Primaries that get a hint of the version. */
  readonly hintFor: readonly NodeId[];
  /** Every primary acknowledged a tombstone: reap it. */
  readonly reap: boolean;
}

/** What a finished write knows of its primaries. */
export interface WriteAnswers {
  /** The primary acknowledged the version itself. */
  hasAcknowledged(node: NodeId): boolean;
  /** The version reached the primary, or a fallback acknowledged it in its place (holding a hint). */
  isCovered(node: NodeId): boolean;
}

const noHints: readonly NodeId[] = Object.freeze([]);

export function planWriteFinish(
  primaries: readonly NodeId[],
  self: NodeId,
  answers: WriteAnswers,
  record: VersionedRecord,
): WriteFinishPlan {
  let everyPrimaryHoldsIt = true;
  let hintFor: NodeId[] | undefined;
  // Indexed, not for-of: every write ends here, and an iterator that is not optimised away allocates a result per step.
  for (let index = 0; index < primaries.length; index++) {
    const primary = primaries[index] as NodeId;
    if (!answers.hasAcknowledged(primary)) everyPrimaryHoldsIt = false;
    if (primary !== self && !answers.isCovered(primary)) (hintFor ??= []).push(primary);
  }
  return { hintFor: hintFor ?? noHints, reap: everyPrimaryHoldsIt && record.siblings.length > 0 && !isLive(record) };
}
