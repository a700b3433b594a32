// Why: bucket properties reach every node by broadcast, and a node that missed one (down, a dropped
// frame) is repaired by anti-entropy. Pushing the whole table to a peer every round made a table an
// outsider can grow cost every node memory and CPU in proportion, and past the frame limit it could
// not be sent at all. So a round sends a digest (one hash per slot, a few hundred bytes whatever the
// table's size); the peer answers the entries of the slots that differ, bounded per message, and its
// own digest, so the first node can send what the peer lacks. Client updates and deletes, and the
// checks on what a peer may put in the table, live here too: this file is the props table's one room.
import { EverwriteError, isEverwriteError } from '../base/errors.ts';
import type { NodeId } from '../base/ids.ts';
import { defaultLimits } from '../base/limits.ts';
import type { PropsEntry } from '../protocol/messages.ts';
import { applyPropsPatch, propsDigestSlotCount } from './bucket-props.ts';
import type { NodeKernel } from './kernel.ts';

/** A client's props change: a partial update, or a delete (back to the defaults). */
export type PropsChange = { readonly kind: 'set'; readonly patch: Readonly<Record<string, unknown>> } | { readonly kind: 'delete' };

export class PropsGossip {
  private nextRoundMs = 0;
  private peerIndex = 0;
  /** Advances with every delta, so a slot holding more than one delta's worth is sent in turns. */
  private deltaRotation = 0;

  constructor(private readonly kernel: NodeKernel) {}

  /** A client's update or delete: a new version above every one this node knows, saved and broadcast. */
  onClientChange(requestId: number, bucket: string, change: PropsChange, realtimeMs: number): void {
    const kernel = this.kernel;
    try {
      const entry = this.clientEntry(bucket, change, realtimeMs);
      if (entry !== undefined) {
        kernel.props.merge([entry], kernel.nowMs);
        kernel.emit({ type: 'propsSave', entries: [entry] });
        for (const member of kernel.ring.members) {
          if (member.id !== kernel.self) kernel.send(member.id, { type: 'props', entries: [entry] });
        }
      }
      kernel.emit({ type: 'reply', requestId, outcome: { ok: true, record: { context: new Map(), siblings: [] } } });
    } catch (error) {
      if (!isEverwriteError(error)) throw error;
      const details = Object.keys(error.details).length === 0 ? {} : { details: error.details };
      kernel.emit({ type: 'reply', requestId, outcome: { ok: false, error: { code: error.code, message: error.message, ...details } } });
    }
  }

  /** The entry a client change makes; undefined for deleting a bucket nobody configured (nothing to do). */
  private clientEntry(bucket: string, change: PropsChange, realtimeMs: number): PropsEntry | undefined {
    const kernel = this.kernel;
    const props = kernel.props;
    if (bucket.length === 0) throw new EverwriteError('EVERWRITE_BAD_REQUEST', 'bucket must not be empty');
    // Wall-clock versions: a bucket configured again after its deletion marker was forgotten must
    // still order above the marker on a node that kept it (clocks closer than the retention).
    const version = Math.max(props.version(bucket) + 1, Number.isSafeInteger(realtimeMs) ? realtimeMs : 0);
    if (change.kind === 'delete') {
      if (!props.isConfigured(bucket)) return undefined;
      return { bucket, props: kernel.settings.defaultProps, version, origin: kernel.self, deleted: true };
    }
    const countMax = kernel.settings.bucketPropsCountMax;
    if (!props.isConfigured(bucket) && props.liveCount >= countMax) {
      throw new EverwriteError('EVERWRITE_TOO_MANY_BUCKETS', `${props.liveCount} buckets have configured properties; the limit is ${countMax} (bucketPropsCountMax). Delete some with DELETE /buckets/{bucket}/props`, { bucketPropsCountMax: countMax });
    }
    return { bucket, props: applyPropsPatch(props.get(bucket), change.patch, kernel.ring.members.length), version, origin: kernel.self };
  }

  /** Entries from a peer (a broadcast or a delta): the valid ones are merged and the changes saved. */
  onEntries(from: NodeId, entries: readonly PropsEntry[]): void {
    const kernel = this.kernel;
    const valid = entries.filter((entry) => this.isValidRemote(entry));
    const result = kernel.props.merge(valid, kernel.nowMs);
    if (result.changed.length > 0) kernel.emit({ type: 'propsSave', entries: result.changed });
    const dropped = entries.length - valid.length;
    if (dropped > 0 || result.refused > 0) {
      kernel.emit({ type: 'log', level: 'warn', message: 'bucket props from a peer dropped', fields: { from, invalid: dropped, refusedTableFull: result.refused } });
    }
  }

  /** A peer's digest: answer the entries of the slots that differ, and our digest if it asked. */
  onDigest(from: NodeId, slots: readonly number[], reply: boolean): void {
    const kernel = this.kernel;
    if (slots.length !== propsDigestSlotCount || !slots.every((hash) => Number.isInteger(hash) && hash >= 0 && hash <= 0xffffffff)) {
      kernel.emit({ type: 'log', level: 'warn', message: 'ignored a malformed props digest', fields: { from, slots: slots.length } });
      return;
    }
    const differing = kernel.props.differingSlots(slots);
    if (differing.length === 0) return;
    const entries = kernel.props.entriesIn(differing, kernel.settings.propsDeltaEntriesMax, this.deltaRotation++);
    if (entries.length > 0) kernel.send(from, { type: 'props', entries });
    if (reply) kernel.send(from, { type: 'propsDigest', slots: kernel.props.digest(), reply: false });
  }

  /** Every propsSyncIntervalMs: forget old deletion markers, and send our digest to the next peer. */
  onTick(): void {
    const kernel = this.kernel;
    if (kernel.nowMs < this.nextRoundMs) return;
    this.nextRoundMs = kernel.nowMs + kernel.settings.propsSyncIntervalMs;
    const forgotten = kernel.props.sweep(kernel.nowMs);
    if (forgotten.length > 0) kernel.emit({ type: 'propsForget', buckets: forgotten });
    const peers = kernel.ring.members.filter((member) => member.id !== kernel.self);
    if (peers.length === 0) return;
    this.peerIndex = (this.peerIndex + 1) % peers.length;
    kernel.send((peers[this.peerIndex] as (typeof peers)[number]).id, { type: 'propsDigest', slots: kernel.props.digest(), reply: true });
  }

  /** What a peer may put in the table: checked like a client's update, never trusted. */
  private isValidRemote(entry: PropsEntry): boolean {
    const kernel = this.kernel;
    if (typeof entry.bucket !== 'string' || entry.bucket.length === 0 || utf8Bytes(entry.bucket) > defaultLimits.bucketBytesMax) return false;
    if (!Number.isSafeInteger(entry.version) || entry.version < 1) return false;
    if (!kernel.ring.members.some((member) => member.id === entry.origin)) return false;
    if (entry.deleted === true) return true;
    const { n, r, w } = entry.props;
    const positive = [n, r, w].every((value) => Number.isSafeInteger(value) && value >= 1);
    return positive && r <= n && w <= n && n <= kernel.ring.members.length;
  }
}

/** UTF-8 length without encoding (the core has no Buffer). */
function utf8Bytes(text: string): number {
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
