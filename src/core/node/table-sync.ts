// Why: a table every node keeps whole (bucket props, users; versioned-table.ts) reaches every node
// by broadcast, and a node that missed a change (down, a dropped frame) is repaired by anti-entropy.
// Pushing the whole table to a peer every round would make a table an outsider can grow cost every
// node memory and CPU in proportion, and past the frame limit it could not be sent at all. So a
// round sends a digest (one hash per slot, a few hundred bytes whatever the table's size); the peer
// answers the entries of the slots that differ, bounded per message, and its own digest, so the
// first node can send what the peer lacks. What a peer may put in a table is checked by the table's
// owner (`isValidRemote`), never trusted.
import type { NodeId } from '../base/ids.ts';
import type { Message } from '../protocol/messages.ts';
import type { Effect } from './effects.ts';
import type { NodeKernel } from './kernel.ts';
import { digestSlotCount, type VersionedEntry, type VersionedTable } from './versioned-table.ts';

/** What one replicated table needs to be spread: its messages, its persistence, its checks. */
export interface SyncedTable<Entry extends VersionedEntry> {
  /** Names the table in logs, e.g. "bucket props". */
  readonly label: string;
  readonly table: VersionedTable<Entry>;
  /** Entries in one digest answer (delta) to a peer. */
  readonly deltaEntriesMax: number;
  entriesMessage(entries: readonly Entry[]): Message;
  digestMessage(slots: readonly number[], reply: boolean): Message;
  saveEffect(entries: readonly Entry[]): Effect;
  forgetEffect(names: readonly string[]): Effect;
  isValidRemote(entry: Entry): boolean;
}

export class TableSync<Entry extends VersionedEntry> {
  private nextRoundMs = 0;
  private peerIndex = 0;
  /** Advances with every delta, so a slot holding more than one delta's worth is sent in turns. */
  private deltaRotation = 0;

  constructor(
    private readonly kernel: NodeKernel,
    private readonly synced: SyncedTable<Entry>,
  ) {}

  /** A change made here: merged, saved and broadcast to every other member. */
  publish(entry: Entry): void {
    const kernel = this.kernel;
    this.synced.table.merge([entry], kernel.nowMs);
    kernel.emit(this.synced.saveEffect([entry]));
    for (const member of kernel.ring.members) {
      if (member.id !== kernel.self) kernel.send(member.id, this.synced.entriesMessage([entry]));
    }
  }

  /** Entries from a peer (a broadcast or a delta): the valid ones are merged and the changes saved. */
  onEntries(from: NodeId, entries: readonly Entry[]): void {
    const kernel = this.kernel;
    const valid = entries.filter((entry) => this.synced.isValidRemote(entry));
    const result = this.synced.table.merge(valid, kernel.nowMs);
    if (result.changed.length > 0) kernel.emit(this.synced.saveEffect(result.changed));
    const dropped = entries.length - valid.length;
    if (dropped > 0 || result.refused > 0) {
      kernel.emit({
        type: 'log',
        level: 'warn',
        message: `${this.synced.label} from a peer dropped`,
        fields: { from, invalid: dropped, refusedTableFull: result.refused },
      });
    }
  }

  /** A peer's digest: answer the entries of the slots that differ, and our digest if it asked. */
  onDigest(from: NodeId, slots: readonly number[], reply: boolean): void {
    const kernel = this.kernel;
    const table = this.synced.table;
    if (
      slots.length !== digestSlotCount ||
      !slots.every((hash) => Number.isInteger(hash) && hash >= 0 && hash <= 0xffffffff)
    ) {
      kernel.emit({
        type: 'log',
        level: 'warn',
        message: `ignored a malformed ${this.synced.label} digest`,
        fields: { from, slots: slots.length },
      });
      return;
    }
    const differing = table.differingSlots(slots);
    if (differing.length === 0) return;
    const entries = table.entriesIn(differing, this.synced.deltaEntriesMax, this.deltaRotation++);
    if (entries.length > 0) kernel.send(from, this.synced.entriesMessage(entries));
    if (reply) kernel.send(from, this.synced.digestMessage(table.digest(), false));
  }

  /** Every `intervalMs`: forget old deletion markers, and send our digest to the next peer. */
  onTick(intervalMs: number): void {
    const kernel = this.kernel;
    if (kernel.nowMs < this.nextRoundMs) return;
    this.nextRoundMs = kernel.nowMs + intervalMs;
    const forgotten = this.synced.table.sweep(kernel.nowMs);
    if (forgotten.length > 0) kernel.emit(this.synced.forgetEffect(forgotten));
    const peers = kernel.ring.members.filter((member) => member.id !== kernel.self);
    if (peers.length === 0) return;
    this.peerIndex = (this.peerIndex + 1) % peers.length;
    kernel.send(
      (peers[this.peerIndex] as (typeof peers)[number]).id,
      this.synced.digestMessage(this.synced.table.digest(), true),
    );
  }
}

/** UTF-8 length without encoding (the core has no Buffer). */
export function utf8Bytes(text: string): number {
  let bytes = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff) {
      bytes += 4;
      index += 1;
    } else bytes += 3;
  }
  return bytes;
}
