// Why: bucket properties live in the cluster, not in one node. Each node keeps the whole (small)
// table; an update gets a higher version and is broadcast, and a periodic push to one peer repairs
// anyone who missed it. Entries are ordered by (version, origin), so every node converges on the
// same winner whatever order updates arrive in.
import { EverwriteError } from '../base/errors.ts';
import type { PropsEntry } from '../protocol/messages.ts';
import type { BucketPropsValue } from './options.ts';

const knownFields = new Set(['n', 'r', 'w', 'resolver', 'durability']);

function newer(a: PropsEntry, b: PropsEntry): boolean {
  return a.version > b.version || (a.version === b.version && a.origin > b.origin);
}

function positiveInteger(patch: Readonly<Record<string, unknown>>, field: string, fallback: number): number {
  const value = patch[field];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new EverwriteError('EVERWRITE_BAD_PROPS', `bucket property ${field} must be a positive integer`);
  }
  return value;
}

function oneOf<T extends string>(patch: Readonly<Record<string, unknown>>, field: string, allowed: readonly T[], fallback: T): T {
  const value = patch[field];
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new EverwriteError('EVERWRITE_BAD_PROPS', `bucket property ${field} must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}

/** Applies a client's partial update to `current`; every error is EVERWRITE_BAD_PROPS. */
export function applyPropsPatch(current: BucketPropsValue, patch: Readonly<Record<string, unknown>>, clusterSize: number): BucketPropsValue {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
    throw new EverwriteError('EVERWRITE_BAD_PROPS', 'bucket properties must be a JSON object');
  }
  for (const field of Object.keys(patch)) {
    if (!knownFields.has(field)) throw new EverwriteError('EVERWRITE_BAD_PROPS', `unknown bucket property ${JSON.stringify(field)}`);
  }
  const next: BucketPropsValue = {
    n: positiveInteger(patch, 'n', current.n),
    r: positiveInteger(patch, 'r', current.r),
    w: positiveInteger(patch, 'w', current.w),
    resolver: oneOf(patch, 'resolver', ['siblings', 'lww'] as const, current.resolver),
    durability: oneOf(patch, 'durability', ['durable', 'buffered'] as const, current.durability),
  };
  if (next.r > next.n || next.w > next.n) throw new EverwriteError('EVERWRITE_BAD_PROPS', `r (${next.r}) and w (${next.w}) must not exceed n (${next.n})`);
  if (next.n > clusterSize) throw new EverwriteError('EVERWRITE_BAD_PROPS', `n (${next.n}) exceeds the cluster size (${clusterSize})`);
  return Object.freeze(next);
}

export class BucketPropsTable {
  private readonly entries = new Map<string, PropsEntry>();

  constructor(
    private readonly defaults: BucketPropsValue,
    initial: readonly PropsEntry[] = [],
  ) {
    this.merge(initial);
  }

  get(bucket: string): BucketPropsValue {
    return this.entries.get(bucket)?.props ?? this.defaults;
  }

  version(bucket: string): number {
    return this.entries.get(bucket)?.version ?? 0;
  }

  /** Merges remote entries; returns the ones that changed this table (to persist). */
  merge(remote: readonly PropsEntry[]): PropsEntry[] {
    const changed: PropsEntry[] = [];
    for (const entry of remote) {
      const mine = this.entries.get(entry.bucket);
      if (mine === undefined || newer(entry, mine)) {
        this.entries.set(entry.bucket, entry);
        changed.push(entry);
      }
    }
    return changed;
  }

  all(): PropsEntry[] {
    return [...this.entries.values()];
  }
}
