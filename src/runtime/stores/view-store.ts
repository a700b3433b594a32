// Why: a node boots from the cluster view it last held, not from its command line (decision 0015),
// so the view lives in the storage engine's metadata namespace beside the node's epoch, written
// durably whenever the node adopts a newer one. What is read back is checked like a view from a
// peer: a damaged or hand-edited entry stops the boot with EVERWRITE_BAD_VIEW instead of being
// half-used.
import { decodeView, type ClusterView } from '../../core/cluster-view/index.ts';
import { reservedNamespaces, type StorageEngine } from '../ports.ts';

const viewKey = new TextEncoder().encode('cluster-view');

/** The persisted view, or undefined when this storage never held one (a brand-new node). */
export async function loadView(engine: StorageEngine): Promise<ClusterView | undefined> {
  const bytes = await engine.get(reservedNamespaces.metadata, viewKey);
  return bytes === undefined ? undefined : decodeView(bytes);
}

/** Writes `view` durably; resolves once it would survive a crash. */
export async function saveView(engine: StorageEngine, view: ClusterView): Promise<void> {
  await engine.batch(reservedNamespaces.metadata, [{ type: 'put', key: viewKey, value: view.encoded }], {
    durable: true,
  });
}
