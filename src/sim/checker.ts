// Why: the verdict on a run, from the client history alone (Jepsen's set checker, plus must/may
// checks of every read):
//   lost        an acknowledged element missing from a final read of its key (the simulator reads
//               each key once at the end; the chaos run reads it through every final member, and
//               each of those reads must hold it), unless a delete whose read saw it may have
//               removed it. Must be 0 with siblings.
//   unexpected  an element a read returned that no write could have put there: never written,
//               refused before it was sent, or first written after the read returned. Must be 0.
//   resurrected an element an acknowledged delete removed for good that the final read (after the
//               heal, hint drain and read repair) returns again. "For good": the delete's read saw
//               the element and every write that carried it, so the delete's context covers every
//               version holding it. A write the delete did not see may carry the element back
//               legitimately (concurrent with the delete, or it read a replica the delete had not
//               reached), so that is not counted. Must be 0: a deleted value must not come back.
//               An earlier read that returns such an element missed an acknowledged delete: a
//               stale read (below), legitimate under sloppy quorums.
//   stale       a read that missed an element acknowledged before the read began (and not
//               removable by then). Dynamo promises this only with strict quorums (R + W > N) and
//               no faults (a sloppy quorum may write to fallbacks the read does not ask), so it is
//               a failure only in such runs and a figure otherwise.
// Elements of writes that were not acknowledged are 'may': neither lost nor unexpected.
import type { DeleteRecord, ElementWrite, History, ReadObservation } from './history.ts';

export interface Verdict {
  attempted: number;
  acknowledged: number;
  /** Refused before being sent. */
  failed: number;
  /** Not acknowledged but possibly applied. */
  indeterminate: number;
  lost: number;
  unexpected: number;
  /** Elements removed for good by an acknowledged delete that the final read returns again. */
  resurrected: number;
  staleReads: number;
  readsChecked: number;
  siblingsMax: number;
  /** Keys whose final read never succeeded (their elements cannot be judged). */
  unreadKeys: number;
  /** Up to 10 lost elements, for the failure message. */
  lostSample: number[];
  unexpectedSample: string[];
  /** Up to 10 resurrections as `key:element`, for the failure message. */
  resurrectedSample: string[];
}

/** Deletes per key, for the "may it have been removed?" question. */
function deletesByKey(deletes: readonly DeleteRecord[]): Map<string, DeleteRecord[]> {
  const byKey = new Map<string, DeleteRecord[]>();
  for (const record of deletes) {
    if (record.status === 'failed') continue;
    const list = byKey.get(record.key);
    if (list === undefined) byKey.set(record.key, [record]);
    else list.push(record);
  }
  return byKey;
}

function removableBy(deletes: readonly DeleteRecord[] | undefined, element: number, beforeMs: number): boolean {
  return deletes?.some((record) => record.invokedMs < beforeMs && record.seen.has(element)) ?? false;
}

/** Element -> every write whose value held it and that may have landed. */
function carriersByElement(writes: readonly ElementWrite[]): Map<number, ElementWrite[]> {
  const carriers = new Map<number, ElementWrite[]>();
  for (const write of writes) {
    if (write.status === 'failed') continue;
    for (const element of write.carried) {
      const list = carriers.get(element);
      if (list === undefined) carriers.set(element, [write]);
      else list.push(write);
    }
  }
  return carriers;
}

/** The delete covers `element` for good: its read saw the element and every write that carried it. */
function deleteCoversForGood(record: DeleteRecord, element: number, carriers: readonly ElementWrite[]): boolean {
  return record.seen.has(element) && carriers.every((write) => record.seen.has(write.element));
}

/** Elements `read` returns that an acknowledged delete, ended before the read began, removed for good. */
function removedForGoodIn(
  read: ReadObservation,
  deletes: readonly DeleteRecord[] | undefined,
  carriers: ReadonlyMap<number, readonly ElementWrite[]>,
): number[] {
  const done =
    deletes?.filter(
      (record) => record.status === 'ok' && record.completedMs !== undefined && record.completedMs < read.invokedMs,
    ) ?? [];
  if (done.length === 0) return [];
  return [...read.elements].filter((element) =>
    done.some((record) => deleteCoversForGood(record, element, carriers.get(element) ?? [])),
  );
}

function unexpectedIn(read: ReadObservation, elements: ReadonlyMap<number, ElementWrite>): number[] {
  const wrong: number[] = [];
  for (const element of read.elements) {
    const write = elements.get(element);
    if (
      write === undefined ||
      write.status === 'failed' ||
      write.invokedMs > read.completedMs ||
      write.key !== read.key
    )
      wrong.push(element);
  }
  return wrong;
}

export function checkHistory(history: History): Verdict {
  const writes = [...history.elements.values()];
  const deletes = deletesByKey(history.deletes);
  const verdict: Verdict = {
    attempted: writes.length,
    acknowledged: writes.filter((write) => write.status === 'ok').length,
    failed: writes.filter((write) => write.status === 'failed').length,
    indeterminate: writes.filter((write) => write.status === 'indeterminate' || write.status === 'pending').length,
    lost: 0,
    unexpected: 0,
    resurrected: 0,
    staleReads: 0,
    readsChecked: history.reads.length,
    siblingsMax: 0,
    unreadKeys: 0,
    lostSample: [],
    unexpectedSample: [],
    resurrectedSample: [],
  };
  const carriers = carriersByElement(writes);
  const resurrected = new Set<string>();
  const unexpected = new Set<string>();
  const finalReads = new Map<string, ReadObservation[]>();
  const acknowledgedByKey = new Map<string, ElementWrite[]>();
  for (const write of writes) {
    if (write.status !== 'ok') continue;
    const list = acknowledgedByKey.get(write.key);
    if (list === undefined) acknowledgedByKey.set(write.key, [write]);
    else list.push(write);
  }
  for (const read of history.reads) {
    verdict.siblingsMax = Math.max(verdict.siblingsMax, read.siblings);
    if (read.final) finalReads.set(read.key, [...(finalReads.get(read.key) ?? []), read]);
    for (const element of unexpectedIn(read, history.elements)) unexpected.add(`${read.key}:${element}`);
    const deletedSeen = removedForGoodIn(read, deletes.get(read.key), carriers);
    if (read.final) for (const element of deletedSeen) resurrected.add(`${read.key}:${element}`);
    if (read.garbage > 0) unexpected.add(`${read.key}:garbage@${read.completedMs.toFixed(3)}`);
    if (
      !read.final &&
      (deletedSeen.length > 0 || staleRead(read, acknowledgedByKey.get(read.key) ?? [], deletes.get(read.key)))
    )
      verdict.staleReads += 1;
  }
  verdict.unexpected = unexpected.size;
  verdict.unexpectedSample = [...unexpected].slice(0, 10);
  verdict.resurrected = resurrected.size;
  verdict.resurrectedSample = [...resurrected].slice(0, 10);
  for (const key of history.keys) {
    if (!finalReads.has(key)) verdict.unreadKeys += 1;
  }
  for (const write of writes) {
    if (write.status !== 'ok') continue;
    const finals = finalReads.get(write.key);
    if (
      finals === undefined ||
      finals.every((final) => final.elements.has(write.element)) ||
      removableBy(deletes.get(write.key), write.element, Infinity)
    )
      continue;
    verdict.lost += 1;
    if (verdict.lostSample.length < 10) verdict.lostSample.push(write.element);
  }
  return verdict;
}

/** The read began after the write was acknowledged, yet does not show it (and no delete explains it). */
function staleRead(
  read: ReadObservation,
  acknowledged: readonly ElementWrite[],
  deletes: readonly DeleteRecord[] | undefined,
): boolean {
  for (const write of acknowledged) {
    if (write.completedMs === undefined || write.completedMs >= read.invokedMs) continue;
    if (read.elements.has(write.element) || removableBy(deletes, write.element, read.completedMs)) continue;
    return true;
  }
  return false;
}
