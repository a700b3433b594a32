// Why: the checker judges what clients saw, so the workload records every operation as it happened:
// when each element's write was invoked and how it ended, what every read returned and when, and
// what every delete saw (the elements it may legitimately remove) and when it ended, and which
// elements every write carried (a set-add writes back what its read saw). A write that was not
// acknowledged may still land, so its element is 'indeterminate': neither lost nor unexpected.

/** `failed`: refused before it was sent, so it cannot land. `indeterminate`: it may have landed. */
export type WriteStatus = 'pending' | 'ok' | 'failed' | 'indeterminate';

export interface ElementWrite {
  readonly element: number;
  readonly key: string;
  /** Every element of the value written: the new one and those its read saw. */
  readonly carried: ReadonlySet<number>;
  readonly invokedMs: number;
  completedMs: number | undefined;
  status: WriteStatus;
}

export interface ReadObservation {
  readonly key: string;
  readonly invokedMs: number;
  readonly completedMs: number;
  /** Elements of every live sibling. */
  readonly elements: ReadonlySet<number>;
  /** Siblings in the answer, tombstones included. */
  readonly siblings: number;
  /** Sibling values that are not a list of element ids (always a bug). */
  readonly garbage: number;
  /** The liveness phase's read of every key (the one `lost` is judged on). */
  readonly final: boolean;
}

export interface DeleteRecord {
  readonly key: string;
  readonly invokedMs: number;
  /** Elements the delete's read returned: a delete with that context may remove them. */
  readonly seen: ReadonlySet<number>;
  completedMs: number | undefined;
  status: WriteStatus;
}

export class History {
  readonly elements = new Map<number, ElementWrite>();
  readonly reads: ReadObservation[] = [];
  readonly deletes: DeleteRecord[] = [];
  /** Every key a write was attempted on, in first-attempt order. */
  readonly keys: string[] = [];
  private readonly keySet = new Set<string>();
  private lastElement = 0;

  nextElement(): number {
    this.lastElement += 1;
    return this.lastElement;
  }

  touchKey(key: string): void {
    if (this.keySet.has(key)) return;
    this.keySet.add(key);
    this.keys.push(key);
  }

  invokeWrite(
    element: number,
    key: string,
    nowMs: number,
    carried: ReadonlySet<number> = new Set([element]),
  ): ElementWrite {
    this.touchKey(key);
    const write: ElementWrite = { element, key, carried, invokedMs: nowMs, completedMs: undefined, status: 'pending' };
    this.elements.set(element, write);
    return write;
  }

  invokeDelete(key: string, seen: ReadonlySet<number>, nowMs: number): DeleteRecord {
    this.touchKey(key);
    const record: DeleteRecord = { key, invokedMs: nowMs, seen, completedMs: undefined, status: 'pending' };
    this.deletes.push(record);
    return record;
  }
}
