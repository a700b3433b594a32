// Why: every gossip exchange ends in one of four answers, and every node must reach the same one
// from the same two summaries: the same view; the peer's is newer (pull it); ours is newer (let
// the peer pull it); or the two cannot both be right (a conflict, decision 0015). A view only ever
// changes by an operator's versioned change, so two different views of one version, or of two
// partition counts, mean two clusters (or a hand-edited node), and neither may overwrite the other.
import type { ClusterView, ViewSummary } from './view.ts';

export type ViewRelation =
  | { readonly kind: 'same' }
  | { readonly kind: 'newer' }
  | { readonly kind: 'older' }
  | { readonly kind: 'conflict'; readonly reason: string };

const same: ViewRelation = Object.freeze({ kind: 'same' });
const newer: ViewRelation = Object.freeze({ kind: 'newer' });
const older: ViewRelation = Object.freeze({ kind: 'older' });

/** How the `remote` view stands against the `local` one. */
export function relateViews(local: ViewSummary, remote: ViewSummary, peer = 'the peer'): ViewRelation {
  if (local.partitionCount !== remote.partitionCount) {
    return {
      kind: 'conflict',
      reason: `partition count ${local.partitionCount} here, ${remote.partitionCount} at ${peer}`,
    };
  }
  if (local.version === remote.version) {
    return local.digest === remote.digest
      ? same
      : {
          kind: 'conflict',
          reason: `view version ${local.version} differs: digest ${local.digest} here, ${remote.digest} at ${peer}`,
        };
  }
  return remote.version > local.version ? newer : older;
}

/**
 * The deterministic merge of two views: the higher version wins; a tie goes to the lower digest.
 * Any order of merges over the same views ends at the same one. A node never adopts a tie (that is
 * a conflict, relateViews), but the rule is total so that convergence holds however views meet.
 */
export function chooseView(a: ClusterView, b: ClusterView): ClusterView {
  if (a.version !== b.version) return a.version > b.version ? a : b;
  return a.digest <= b.digest ? a : b;
}
