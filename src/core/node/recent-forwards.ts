// Why: a forwarded client request must run at most once. The network may deliver a frame twice
// (the core promises to tolerate duplication), and a second copy of a forwarded write arriving
// after later writes and deletes of the key would be coordinated again under a new dot that no later
// context has seen: the deleted value comes back as a sibling (the simulator's seed 472, a forward
// duplicated into a 1.9 s latency spike). The forwarder's request ids are unique across its boots
// (NodeKernel's idBase), so (sender, id) names one client request. The memory is bounded in time and
// in count, so a peer flooding forwards cannot grow it; a copy delayed past the window (or pushed out
// by more than `entriesMax` newer forwards) would run again.
import type { NodeId } from '../base/ids.ts';

/** How long a forward's (sender, id) is remembered: far beyond any transport queueing or network spike. */
export const forwardMemoryMs = 120_000;
/** At most this many remembered forwards (about 64 bytes each). */
export const forwardMemoryEntriesMax = 100_000;

export class RecentForwards {
  /** `${sender} ${id}` -> when it arrived; insertion order is arrival order. */
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly memoryMs = forwardMemoryMs,
    private readonly entriesMax = forwardMemoryEntriesMax,
  ) {}

  /** True the first time this (sender, id) arrives within the memory; false for a duplicate. */
  firstArrival(from: NodeId, id: number, nowMs: number): boolean {
    this.forgetOld(nowMs);
    const key = `${from} ${id}`;
    if (this.seen.has(key)) return false;
    this.seen.set(key, nowMs);
    if (this.seen.size > this.entriesMax) this.seen.delete(this.seen.keys().next().value as string);
    return true;
  }

  get size(): number {
    return this.seen.size;
  }

  private forgetOld(nowMs: number): void {
    for (const [key, arrivedMs] of this.seen) {
      if (nowMs - arrivedMs < this.memoryMs) return;
      this.seen.delete(key);
    }
  }
}
