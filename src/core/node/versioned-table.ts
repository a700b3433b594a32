// Why: bucket properties and users are both small tables every node keeps whole, any node may
// change, and every node must converge on: an update or a delete (a versioned marker) wins by
// (version, origin) whatever order they arrive in, live entries are capped, markers are bounded and
// forgotten after a retention, and a digest of a fixed number of slot hashes lets two nodes find the
// entries that differ without sending the table. This class is that mechanism, once; the tables
// built on it add only what their entries mean (bucket-props.ts, users.ts).

/** What every entry carries: the version and origin that order it, and whether it is a deletion marker. */
export interface VersionedEntry {
  readonly version: number;
  readonly origin: string;
  readonly deleted?: boolean;
}

/** Digest slots: a fixed number, the same on every node (a digest of another length is ignored). */
export const digestSlotCount = 64;

export interface VersionedTableLimits {
  /** Live entries this table holds, from clients and peers together; a new one past it is refused. */
  readonly entriesCountMax: number;
  /** Deletion markers kept; past it the oldest (lowest version) are forgotten at the next sweep. */
  readonly deletedCountMax: number;
  /** How long a deletion marker is kept after this node learnt it, in ms. */
  readonly deletedRetentionMs: number;
}

export interface MergeResult<Entry> {
  /** Entries that changed this table (to persist). */
  readonly changed: Entry[];
  /** Entries refused because the table is full. */
  readonly refused: number;
}

export function newer(a: VersionedEntry, b: VersionedEntry): boolean {
  return a.version > b.version || (a.version === b.version && a.origin > b.origin);
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

export function slotOf(name: string): number {
  return fnv1a(name) % digestSlotCount;
}

export class VersionedTable<Entry extends VersionedEntry> {
  protected readonly entries = new Map<string, Entry>();
  /** The same entries by digest slot, for deltas. */
  private readonly slots: Map<string, Entry>[] = Array.from({ length: digestSlotCount }, () => new Map());
  /** Per slot, the XOR of its entries' hashes: maintained on every change, so a digest costs nothing. */
  private readonly slotHashes = new Uint32Array(digestSlotCount);
  /** When this node learnt each deletion marker (its monotonic ms). */
  private readonly deletedSinceMs = new Map<string, number>();
  private liveEntries = 0;

  constructor(
    /** The entry's name: its identity in the table. */
    private readonly nameOf: (entry: Entry) => string,
    private readonly limits: VersionedTableLimits,
  ) {}

  private entryHash(entry: Entry): number {
    return fnv1a(
      `${this.nameOf(entry)}\u0000${entry.version}\u0000${entry.origin}\u0000${entry.deleted === true ? 1 : 0}`,
    );
  }

  /** The entry named `name`, live or a deletion marker. */
  entry(name: string): Entry | undefined {
    return this.entries.get(name);
  }

  /** Whether `name` has a live entry (not a deletion marker). */
  isLive(name: string): boolean {
    const entry = this.entries.get(name);
    return entry !== undefined && entry.deleted !== true;
  }

  version(name: string): number {
    return this.entries.get(name)?.version ?? 0;
  }

  get liveCount(): number {
    return this.liveEntries;
  }

  get deletedCount(): number {
    return this.entries.size - this.liveEntries;
  }

  /** Every live entry. */
  live(): Entry[] {
    return [...this.entries.values()].filter((entry) => entry.deleted !== true);
  }

  /** Merges entries (from a peer, a client or the disk); `nowMs` dates new deletion markers. */
  merge(remote: readonly Entry[], nowMs: number): MergeResult<Entry> {
    const changed: Entry[] = [];
    let refused = 0;
    for (const entry of remote) {
      const mine = this.entries.get(this.nameOf(entry));
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

  private install(entry: Entry, mine: Entry | undefined, nowMs: number): void {
    const name = this.nameOf(entry);
    const slot = slotOf(name);
    if (mine !== undefined) {
      this.slotHashes[slot] = (this.slotHashes[slot] as number) ^ this.entryHash(mine);
      if (mine.deleted !== true) this.liveEntries -= 1;
    }
    this.entries.set(name, entry);
    (this.slots[slot] as Map<string, Entry>).set(name, entry);
    this.slotHashes[slot] = (this.slotHashes[slot] as number) ^ this.entryHash(entry);
    if (entry.deleted === true) this.deletedSinceMs.set(name, nowMs);
    else {
      this.liveEntries += 1;
      this.deletedSinceMs.delete(name);
    }
  }

  private forget(name: string): void {
    const entry = this.entries.get(name);
    if (entry === undefined) return;
    const slot = slotOf(name);
    this.slotHashes[slot] = (this.slotHashes[slot] as number) ^ this.entryHash(entry);
    this.entries.delete(name);
    (this.slots[slot] as Map<string, Entry>).delete(name);
    this.deletedSinceMs.delete(name);
    if (entry.deleted !== true) this.liveEntries -= 1;
  }

  /**
   * Forgets deletion markers older than the retention, then the oldest past the count limit;
   * returns the names forgotten (to remove from the disk). Forgetting is safe once every node
   * has the marker: a node that missed the delete for longer than the retention keeps its entry.
   */
  sweep(nowMs: number): string[] {
    const forgotten: string[] = [];
    for (const [name, sinceMs] of this.deletedSinceMs) {
      if (nowMs - sinceMs >= this.limits.deletedRetentionMs) forgotten.push(name);
    }
    for (const name of forgotten) this.forget(name);
    const excess = this.deletedSinceMs.size - this.limits.deletedCountMax;
    if (excess > 0) {
      const oldest = [...this.deletedSinceMs.keys()]
        .map((name) => this.entries.get(name) as Entry)
        .sort((a, b) => (newer(a, b) ? 1 : -1));
      for (const entry of oldest.slice(0, excess)) {
        const name = this.nameOf(entry);
        this.forget(name);
        forgotten.push(name);
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
    for (let slot = 0; slot < digestSlotCount; slot++) if (this.slotHashes[slot] !== remote[slot]) slots.push(slot);
    return slots;
  }

  /**
   * At most `countMax` entries of `slots`. When they hold more, the window starts at `rotation x
   * countMax`, so successive rounds reach every entry (a hostile name set may crowd one slot).
   */
  entriesIn(slots: readonly number[], countMax: number, rotation: number): Entry[] {
    let total = 0;
    for (const slot of slots) total += (this.slots[slot] as Map<string, Entry>).size;
    const start = total <= countMax ? 0 : (rotation * countMax) % total;
    const chosen: Entry[] = [];
    let index = 0;
    for (const slot of slots) {
      for (const entry of (this.slots[slot] as Map<string, Entry>).values()) {
        const position = (index - start + total) % total;
        index += 1;
        if (position < countMax) chosen.push(entry);
      }
    }
    return chosen;
  }
}
