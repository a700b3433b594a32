// Why: what a key listing shows and how much one page of it may cost, decided once for the replica
// that scans, the coordinator that merges and the codec that carries pages (decision 0030).
import type { VersionedRecord } from '../versioning/index.ts';
import { ringLimits } from '../ring/index.ts';

/**
 * A key is listed when its record holds at least one live value. A tombstone alone (a delete) and a
 * reaped key's context-only record (decision 0019) are not: reading them answers 404.
 */
export function isListable(record: VersionedRecord): boolean {
  for (const sibling of record.siblings) if (!sibling.stored.deleted) return true;
  return false;
}

export const keyListLimits = Object.freeze({
  /** Keys one replica answers per page, whatever the request asks. */
  pageKeysMax: 1000,
  /** Key bytes (UTF-8) one replica answers per page; the page ends early when the next key would pass it. */
  pageBytesMax: 256 * 1024,
  /** Records a replica reads for one page: a partition of tombstones costs a bounded scan per request, then a continuation. */
  pageScannedMax: 4096,
  /** Keys the codec accepts in one page: above pageKeysMax so a peer with a larger configured page still decodes. */
  wireKeysMax: 8192,
  /** Largest key the codec accepts, in bytes: above any configured key limit (as the catch-up codec's). */
  wireKeyBytesMax: 70_000,
  /** Largest bucket name the codec accepts, in bytes (a storage key holds its length in two bytes). */
  wireBucketBytesMax: 0xffff,
  /** Partitions one request may name: every partition of the largest ring. */
  wirePartitionsMax: ringLimits.partitionCountMax,
});
