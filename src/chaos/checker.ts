// Why: the verdict on a chaos run, from what the client saw (Jepsen's set checker). An element is
// 'ok' when its write was acknowledged (204): it must then be in the final read of its key (else
// lost), in every one when the key is finally read through several nodes. A write that failed or timed out may or may not have landed, so its element is 'may':
// neither lost if absent nor unexpected if present. Any read showing an element nobody had tried
// to write to that key by then, or a value that is not a list of elements, is unexpected.
// (src/sim has a richer checker for the simulator; it was not committed when this was written, so
// the chaos run keeps this small one of its own rather than import uncommitted code.)

export type WriteStatus = 'pending' | 'ok' | 'indeterminate';

export interface ElementWrite {
  readonly element: number;
  readonly key: string;
  readonly invokedMs: number;
  status: WriteStatus;
}

export interface ReadRecord {
  readonly key: string;
  readonly completedMs: number;
  readonly elements: ReadonlySet<number>;
  /** Sibling values that were not lists of element ids. */
  readonly garbage: number;
  readonly siblings: number;
  readonly final: boolean;
}

export class ChaosHistory {
  readonly elements = new Map<number, ElementWrite>();
  readonly reads: ReadRecord[] = [];
  readonly keys = new Set<string>();
  private lastElement = 0;

  invoke(key: string, nowMs: number): ElementWrite {
    this.lastElement += 1;
    this.keys.add(key);
    const write: ElementWrite = { element: this.lastElement, key, invokedMs: nowMs, status: 'pending' };
    this.elements.set(write.element, write);
    return write;
  }
}

export interface SetVerdict {
  attempted: number;
  acknowledged: number;
  indeterminate: number;
  lost: number;
  unexpected: number;
  /** Keys written to whose final read never succeeded (their acknowledged elements are counted lost). */
  unreadKeys: number;
  siblingsMax: number;
  lostSample: string[];
  unexpectedSample: string[];
}


export function checkChaosHistory(history: ChaosHistory): SetVerdict {
  const writes = [...history.elements.values()];
  const verdict: SetVerdict = {
    attempted: writes.length,
    acknowledged: writes.filter((write) => write.status === 'ok').length,
    indeterminate: writes.filter((write) => write.status !== 'ok').length,
    lost: 0,
    unexpected: 0,
    unreadKeys: 0,
    siblingsMax: 0,
    lostSample: [],
    unexpectedSample: [],
  };
  const unexpected = new Set<string>();
  const finalReads = new Map<string, ReadRecord[]>();
  for (const read of history.reads) {
    verdict.siblingsMax = Math.max(verdict.siblingsMax, read.siblings);
    if (read.final) finalReads.set(read.key, [...(finalReads.get(read.key) ?? []), read]);
    if (read.garbage > 0) unexpected.add(`${read.key}:garbage`);
    for (const element of read.elements) {
      const write = history.elements.get(element);
      if (write === undefined || write.key !== read.key || write.invokedMs > read.completedMs) unexpected.add(`${read.key}:${element}`);
    }
  }
  verdict.unexpected = unexpected.size;
  verdict.unexpectedSample = [...unexpected].slice(0, 10);
  for (const key of history.keys) if (!finalReads.has(key)) verdict.unreadKeys += 1;
  for (const write of writes) {
    const reads = finalReads.get(write.key) ?? [];
    if (write.status !== 'ok' || (reads.length > 0 && reads.every((read) => read.elements.has(write.element)))) continue;
    verdict.lost += 1;
    if (verdict.lostSample.length < 10) verdict.lostSample.push(`${write.key}:${write.element}`);
  }
  return verdict;
}

/** The q-quantile (0..1) of a list of numbers, 0 when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}
