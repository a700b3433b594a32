// Why: bucket properties live in the cluster, not in one node. Each node keeps the table (bounded:
// configured buckets, deletion markers and entries learnt from peers each have a limit); an update or
// a delete gets a higher version and is broadcast, and a periodic digest exchange with one peer
// repairs anyone who missed it by sending only the entries of slots that differ (props-gossip.ts).
// Entries are ordered by (version, origin), so every node converges on the same winner whatever
// order updates and deletes arrive in. A delete is a versioned marker, ordered like an update; it is
// forgotten after a retention period or when markers exceed their count (oldest first). That
// mechanism is versioned-table.ts, shared with the users table.
import { EverwriteError } from '../base/errors.ts';
import type { PropsEntry } from '../protocol/messages.ts';
import { durabilities, resolvers, type BucketProps } from '../protocol/contract.ts';
import { digestSlotCount, VersionedTable, type VersionedTableLimits } from './versioned-table.ts';

/** Digest slots: a fixed number, the same on every node (a digest of another length is ignored). */
export const propsDigestSlotCount = digestSlotCount;

const knownFields = new Set(['n', 'r', 'w', 'resolver', 'durability']);

function positiveInteger(patch: Readonly<Record<string, unknown>>, field: string, fallback: number): number {
  const value = patch[field];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new EverwriteError('EVERWRITE_BAD_PROPS', `bucket property ${field} must be a positive integer`);
  }
  return value;
}

function oneOf<T extends string>(
  patch: Readonly<Record<string, unknown>>,
  field: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const value = patch[field];
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new EverwriteError('EVERWRITE_BAD_PROPS', `bucket property ${field} must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}

/** Applies a client's partial update to `current`; every error is EVERWRITE_BAD_PROPS. */
export function applyPropsPatch(
  current: BucketProps,
  patch: Readonly<Record<string, unknown>>,
  clusterSize: number,
): BucketProps {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
    throw new EverwriteError('EVERWRITE_BAD_PROPS', 'bucket properties must be a JSON object');
  }
  for (const field of Object.keys(patch)) {
    if (!knownFields.has(field))
      throw new EverwriteError('EVERWRITE_BAD_PROPS', `unknown bucket property ${JSON.stringify(field)}`);
  }
  const next: BucketProps = {
    n: positiveInteger(patch, 'n', current.n),
    r: positiveInteger(patch, 'r', current.r),
    w: positiveInteger(patch, 'w', current.w),
    resolver: oneOf(patch, 'resolver', resolvers, current.resolver),
    durability: oneOf(patch, 'durability', durabilities, current.durability),
  };
  if (next.r > next.n || next.w > next.n)
    throw new EverwriteError('EVERWRITE_BAD_PROPS', `r (${next.r}) and w (${next.w}) must not exceed n (${next.n})`);
  if (next.n > clusterSize)
    throw new EverwriteError('EVERWRITE_BAD_PROPS', `n (${next.n}) exceeds the cluster size (${clusterSize})`);
  return Object.freeze(next);
}

export type PropsTableLimits = VersionedTableLimits;

export class BucketPropsTable extends VersionedTable<PropsEntry> {
  constructor(
    private readonly defaults: BucketProps,
    limits: PropsTableLimits,
    initial: readonly PropsEntry[] = [],
  ) {
    super((entry) => entry.bucket, limits);
    this.merge(initial, 0);
  }

  get(bucket: string): BucketProps {
    const entry = this.entries.get(bucket);
    return entry === undefined || entry.deleted === true ? this.defaults : entry.props;
  }

  /** The largest n of any live entry or of the defaults: how many replicas the widest bucket keeps (anti-entropy's trees cover those). */
  largestN(): number {
    let n = this.defaults.n;
    for (const entry of this.entries.values()) if (entry.deleted !== true) n = Math.max(n, entry.props.n);
    return n;
  }

  /** Whether a client has configured `bucket` (a live entry, not a deletion marker). */
  isConfigured(bucket: string): boolean {
    return this.isLive(bucket);
  }
}
