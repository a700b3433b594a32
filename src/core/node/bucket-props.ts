// Why: bucket properties live in the cluster, not in one node. Each node keeps the table (bounded:
// configured buckets, deletion markers and entries learnt from peers each have a limit); an update or
// a delete gets a higher version and is broadcast, and a periodic digest exchange with one peer
// repairs anyone who missed it by sending only the entries of slots that differ (props-gossip.ts).
// Entries are ordered by (version, origin), so every node converges on the same winner whatever
// order updates and deletes arrive in. A delete is a versioned marker, ordered like an update; it is
// forgotten after a retention period or when markers exceed their count (oldest first).
import { EverwriteError } from '../base/errors.ts';
import type { PropsEntry } from '../protocol/messages.ts';
import type { BucketPropsValue } from './options.ts';

/** Digest slots: a fixed number, the same on every node (a digest of another length is ignored). */
export const propsDigestSlotCount = 64;

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

export interface PropsTableLimits {
  /** Live (configured) entries this table holds, from clients and peers together; a new bucket past it is refused. */
  readonly entriesCountMax: number;
  /** Deletion markers kept; past it the oldest (lowest version) are forgotten at the next sweep. */
  readonly deletedCountMax: number;
  /** How long a deletion marker is kept after this node learnt it, in ms. */
  readonly deletedRetentionMs: number;
}

/** 32-bit FNV-1a over UTF-16 code units: pure, fast, the same on every node. Not a defence against chosen names. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export function propsSlotOf(bucket: string): number {
  return fnv1a(bucket) % propsDigestSlotCount;
}

function entryHash(entry: PropsEntry): number {
  return fnv1a(`${entry.bucket}\u0000${entry.version}\u0000${entry.origin}\u0000${entry.deleted === true ? 1 : 0}`);
}

export interface PropsMergeResult {
  /** Entries that changed this table (to persist). */
  readonly changed: PropsEntry[];
  /** Entries refused because the table is full. */
  readonly refused: number;
}

export class BucketPropsTable {
  private readonly entries = new Map<string, PropsEntry>();
  /** The same entries by digest slot, for deltas. */
  private readonly slots: Map<string, PropsEntry>[] = Array.from({ length: propsDigestSlotCount }, () => new Map());
  /** Per slot, the XOR of its entries' hashes: maintained on every change, so a digest costs nothing. */
  private readonly slotHashes = new Uint32Array(propsDigestSlotCount);
  /** When this node learnt each deletion marker (its monotonic ms). */
  private readonly deletedSinceMs = new Map<string, number>();
  private liveEntries = 0;

  constructor(
    private readonly defaults: BucketPropsValue,
    private readonly limits: PropsTableLimits,
    initial: readonly PropsEntry[] = [],
  ) {
    this.merge(initial, 0);
  }

  get(bucket: string): BucketPropsValue {
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
    const entry = this.entries.get(bucket);
    return entry !== undefined && entry.deleted !== true;
  }

  version(bucket: string): number {
    return this.entries.get(bucket)?.version ?? 0;
  }

  get liveCount(): number {
    return this.liveEntries;
  }

  get deletedCount(): number {
    return this.entries.size - this.liveEntries;
  }

  /** Merges entries (from a peer, a client or the disk); `nowMs` dates new deletion markers. */
  merge(remote: readonly PropsEntry[], nowMs: number): PropsMergeResult {
    const changed: PropsEntry[] = [];
    let refused = 0;
    for (const entry of remote) {
      const mine = this.entries.get(entry.bucket);
      if (mine !== undefined && !newer(entry, mine)) continue;
      const addsLive = entry.deleted !== true && (mine === undefined || mine.deleted === true);
      if (addsLive && this.liveEntries >= this.limits.entriesCountMax) {
        refused += 1;
        continue;
      }
      this.install(entry, mine, nowMs);
      changed.push(entry);
    }
    return { changed, refused };
  }

  private install(entry: PropsEntry, mine: PropsEntry | undefined, nowMs: number): void {
    const slot = propsSlotOf(entry.bucket);
    if (mine !== undefined) {
      this.slotHashes[slot] = (this.slotHashes[slot] as number) ^ entryHash(mine);
      if (mine.deleted !== true) this.liveEntries -= 1;
    }
    this.entries.set(entry.bucket, entry);
    (this.slots[slot] as Map<string, PropsEntry>).set(entry.bucket, entry);
    this.slotHashes[slot] = (this.slotHashes[slot] as number) ^ entryHash(entry);
    if (entry.deleted === true) this.deletedSinceMs.set(entry.bucket, nowMs);
    else {
      this.liveEntries += 1;
      this.deletedSinceMs.delete(entry.bucket);
    }
  }

  private forget(bucket: string): void {
    const entry = this.entries.get(bucket);
    if (entry === undefined) return;
    const slot = propsSlotOf(bucket);
    this.slotHashes[slot] = (this.slotHashes[slot] as number) ^ entryHash(entry);
    this.entries.delete(bucket);
    (this.slots[slot] as Map<string, PropsEntry>).delete(bucket);
    this.deletedSinceMs.delete(bucket);
    if (entry.deleted !== true) this.liveEntries -= 1;
  }

  /**
   * Forgets deletion markers older than the retention, then the oldest past the count limit;
   * returns the buckets forgotten (to remove from the disk). Forgetting is safe once every node
   * has the marker: a node that missed the delete for longer than the retention keeps its entry.
   */
  sweep(nowMs: number): string[] {
    const forgotten: string[] = [];
    for (const [bucket, sinceMs] of this.deletedSinceMs) {
      if (nowMs - sinceMs >= this.limits.deletedRetentionMs) forgotten.push(bucket);
    }
    for (const bucket of forgotten) this.forget(bucket);
    const excess = this.deletedSinceMs.size - this.limits.deletedCountMax;
    if (excess > 0) {
      const oldest = [...this.deletedSinceMs.keys()].map((bucket) => this.entries.get(bucket) as PropsEntry).sort((a, b) => (newer(a, b) ? 1 : -1));
      for (const entry of oldest.slice(0, excess)) {
        this.forget(entry.bucket);
        forgotten.push(entry.bucket);
      }
    }
    return forgotten;
  }

  /** One 32-bit hash per slot. */
  digest(): number[] {
    return Array.from(this.slotHashes);
  }

  /** Slots whose hash differs from `remote`'s (a digest of the same length). */
  differingSlots(remote: readonly number[]): number[] {
    const slots: number[] = [];
    for (let slot = 0; slot < propsDigestSlotCount; slot++) if (this.slotHashes[slot] !== remote[slot]) slots.push(slot);
    return slots;
  }

  /**
   * At most `countMax` entries of `slots`. When they hold more, the window starts at `rotation x
   * countMax`, so successive rounds reach every entry (a hostile name set may crowd one slot).
   */
  entriesIn(slots: readonly number[], countMax: number, rotation: number): PropsEntry[] {
    let total = 0;
    for (const slot of slots) total += (this.slots[slot] as Map<string, PropsEntry>).size;
    const start = total <= countMax ? 0 : (rotation * countMax) % total;
    const chosen: PropsEntry[] = [];
    let index = 0;
    for (const slot of slots) {
      for (const entry of (this.slots[slot] as Map<string, PropsEntry>).values()) {
        const position = (index - start + total) % total;
        index += 1;
        if (position < countMax) chosen.push(entry);
      }
    }
    return chosen;
  }
}
