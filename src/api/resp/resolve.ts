// Why: Redis GET answers one value, while an Everwrite read may answer several concurrent
// siblings. The front end picks one deterministically so every node, and every retry, answers the
// same value for the same sibling set: the live sibling last in the last-writer-wins order of the
// core (versioning compareWriteOrder: hybrid logical clock timestamp, then actor, then counter), the
// very one a bucket with the `lww` resolver keeps. Not the wall clock: a node with a slow clock
// that writes after having seen another write must still win over it. A tombstone sibling never
// wins over a live one: a concurrent write and delete keep the data (Dynamo's "never lose a
// write"), and only a key whose every sibling is a tombstone reads as absent. The siblings
// themselves stay stored until a write supersedes them.
import { compareTimestamps } from '../../core/versioning/index.ts';
import type { SiblingView } from '../../runtime/service.ts';

/**
 * The value GET answers, or undefined when the key is absent or deleted. A view carries no dot, but
 * GetResult lists siblings in canonical (actor, counter) order, so on equal timestamps the later one
 * in the list is the one compareWriteOrder puts last.
 */
export function chooseSibling(siblings: readonly SiblingView[]): SiblingView | undefined {
  let chosen: SiblingView | undefined;
  for (const sibling of siblings) {
    if (sibling.deleted) continue;
    if (chosen === undefined || compareTimestamps(sibling.timestamp, chosen.timestamp) >= 0) chosen = sibling;
  }
  return chosen;
}
