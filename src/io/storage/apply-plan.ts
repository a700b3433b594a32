// Why: the log is applied to the inner engine in runs, not batch by batch: every batch acknowledged
// since the last run, merged into one inner batch per namespace. That turns thousands of small
// batches into a few large transactions (one lmdb commit, one LevelDB write) and needs one promise
// per namespace instead of one per request. Used both behind live writes and when replaying the log.
import type { BatchOperation, StorageEngine } from '../../runtime/ports.ts';

interface NamespacePlan {
  /** True when the run drops the namespace: operations before the drop are moot and left out. */
  dropFirst: boolean;
  operations: readonly BatchOperation[];
  /** False while `operations` is still a caller's array (one batch so far): copy before appending. */
  owned: boolean;
}

export class ApplyPlan {
  private readonly namespaces = new Map<number, NamespacePlan>();
  private operationCount = 0;

  /** Operations gathered so far (replay uses it to bound a run). */
  get size(): number {
    return this.operationCount;
  }

  addBatch(namespace: number, operations: readonly BatchOperation[]): void {
    if (operations.length === 0) return;
    this.operationCount += operations.length;
    const plan = this.namespaces.get(namespace);
    if (plan === undefined) {
      this.namespaces.set(namespace, { dropFirst: false, operations, owned: false });
      return;
    }
    const merged = plan.owned ? (plan.operations as BatchOperation[]) : [...plan.operations];
    // A loop, not push(...operations): spreading a huge batch would overflow the call stack.
    for (let index = 0; index < operations.length; index++) merged.push(operations[index] as BatchOperation);
    plan.operations = merged;
    plan.owned = true;
  }

  addDrop(namespace: number): void {
    this.namespaces.set(namespace, { dropFirst: true, operations: [], owned: true });
  }

  /**
   * Applies the run: namespaces in parallel (they are disjoint), within one namespace the drop
   * first. Inner writes are buffered: the log already made them durable.
   */
  execute(inner: StorageEngine): Promise<unknown> {
    const work: Promise<void>[] = [];
    for (const [namespace, plan] of this.namespaces) {
      if (!plan.dropFirst) {
        work.push(inner.batch(namespace, plan.operations, { durable: false }));
      } else if (plan.operations.length === 0) {
        work.push(inner.drop(namespace));
      } else {
        work.push(inner.drop(namespace).then(() => inner.batch(namespace, plan.operations, { durable: false })));
      }
    }
    return work.length === 1 ? (work[0] as Promise<void>) : Promise.all(work);
  }
}
