// Why: Redis GET answers one value, while an Everwrite read may answer several concurrent
// siblings. The front end picks one deterministically so every node, and every retry, answers the
// same value for the same sibling set: the live sibling written last (lastModifiedMs), ties broken
// by the larger value bytes. A tombstone sibling never wins over a live one: a concurrent write
// and delete keep the data (Dynamo's "never lose a write"), and only a key whose every sibling is
// a tombstone reads as absent. The siblings themselves stay stored until a write supersedes them.
import type { SiblingView } from '../../runtime/service.ts';

function compareBytes(left: Uint8Array, right: Uint8Array): number {
  return Buffer.compare(left, right);
}

/** The value GET answers, or undefined when the key is absent or deleted. */
export function chooseSibling(siblings: readonly SiblingView[]): SiblingView | undefined {
  let chosen: SiblingView | undefined;
  for (const sibling of siblings) {
    if (sibling.deleted) continue;
    if (
      chosen === undefined ||
      sibling.lastModifiedMs > chosen.lastModifiedMs ||
      (sibling.lastModifiedMs === chosen.lastModifiedMs && compareBytes(sibling.value, chosen.value) > 0)
    ) {
      chosen = sibling;
    }
  }
  return chosen;
}
