// Why: a dot (actor, counter) names one version of one key. If a node ever mints the same dot for two
// different writes, every replica holding the first takes the second for a version it already has and
// drops it, and the client that was told "written" loses its write without any check seeing a
// conflict. The simulator's lost-element check can only see that when the loss reaches a read, and
// not at all where losses are allowed (buffered buckets after a crash). The ledger checks the
// invariant itself: every record any simulated disk makes visible is decoded, and each sibling's
// dot must always carry the same write. Shared by every disk of a cluster.
import { decodeRecord, type StoredValue } from '../core/versioning/index.ts';

/** How many violations keep their description (the count goes on). */
const samplesMax = 5;

export class DotLedger {
  private readonly writes = new Map<string, string>();
  /** Each (key, dot) minted twice, once (every replica that stores it would report it again). */
  private readonly reused = new Set<string>();
  readonly samples: string[] = [];

  /** How many (key, dot) pairs were minted for more than one write. */
  get violations(): number {
    return this.reused.size;
  }

  /** Notes the versions of a stored record; `slot` names the key (the same on every node). */
  observe(slot: string, recordBytes: Uint8Array): void {
    let siblings;
    try {
      siblings = decodeRecord(recordBytes).siblings;
    } catch {
      return; // Not a record: the partitions hold nothing else, and a torn write is never made visible.
    }
    for (const sibling of siblings) {
      const dot = `${sibling.dot.actor}:${sibling.dot.counter}`;
      const name = `${slot} ${dot}`;
      const write = fingerprint(sibling.stored);
      const known = this.writes.get(name);
      if (known === undefined) this.writes.set(name, write);
      else if (known !== write)
        this.violation(name, `dot ${dot} of ${JSON.stringify(slot)} was minted for two different writes`);
    }
  }

  private violation(name: string, description: string): void {
    if (this.reused.has(name)) return;
    this.reused.add(name);
    if (this.samples.length < samplesMax) this.samples.push(description);
  }
}

/** Everything a write carries: two mints of one dot for the same client write cannot differ in any of it. */
function fingerprint(stored: StoredValue): string {
  return `${stored.deleted ? 'D' : 'P'}|${stored.timestamp}|${stored.lastModifiedMs}|${stored.contentType}|${Buffer.from(stored.value.buffer, stored.value.byteOffset, stored.value.byteLength).toString('base64')}`;
}
