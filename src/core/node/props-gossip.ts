// Why: bucket properties reach every node by broadcast, and a node that missed one (down, a dropped
// frame) is repaired by a digest exchange (table-sync.ts, shared with the users table). Client
// updates and deletes, and the checks on what a peer may put in the table, live here: this file is
// the props table's one room.
import { EverwriteError, isEverwriteError } from '../base/errors.ts';
import type { NodeId } from '../base/ids.ts';
import { defaultLimits } from '../base/limits.ts';
import type { PropsEntry } from '../protocol/messages.ts';
import { applyPropsPatch } from './bucket-props.ts';
import type { NodeKernel } from './kernel.ts';
import { TableSync, utf8Bytes } from './table-sync.ts';

/** A client's props change: a partial update, or a delete (back to the defaults). */
export type PropsChange =
  { readonly kind: 'set'; readonly patch: Readonly<Record<string, unknown>> } | { readonly kind: 'delete' };

export class PropsGossip {
  private readonly sync: TableSync<PropsEntry>;

  constructor(private readonly kernel: NodeKernel) {
    this.sync = new TableSync(kernel, {
      label: 'bucket props',
      table: kernel.props,
      deltaEntriesMax: kernel.settings.propsDeltaEntriesMax,
      entriesMessage: (entries) => ({ type: 'props', entries }),
      digestMessage: (slots, reply) => ({ type: 'propsDigest', slots, reply }),
      saveEffect: (entries) => ({ type: 'propsSave', entries }),
      forgetEffect: (buckets) => ({ type: 'propsForget', buckets }),
      isValidRemote: (entry) => this.isValidRemote(entry),
    });
  }

  /** A client's update or delete: a new version above every one this node knows, saved and broadcast. */
  onClientChange(requestId: number, bucket: string, change: PropsChange, realtimeMs: number): void {
    answerClientChange(this.kernel, requestId, () => {
      const entry = this.clientEntry(bucket, change, realtimeMs);
      if (entry !== undefined) this.sync.publish(entry);
    });
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
      throw new EverwriteError(
        'EVERWRITE_TOO_MANY_BUCKETS',
        `${props.liveCount} buckets have configured properties; the limit is ${countMax} (bucketPropsCountMax). Delete some with DELETE /buckets/{bucket}/props`,
        { bucketPropsCountMax: countMax },
      );
    }
    return {
      bucket,
      props: applyPropsPatch(props.get(bucket), change.patch, kernel.ring.members.length),
      version,
      origin: kernel.self,
    };
  }

  onEntries(from: NodeId, entries: readonly PropsEntry[]): void {
    this.sync.onEntries(from, entries);
  }

  onDigest(from: NodeId, slots: readonly number[], reply: boolean): void {
    this.sync.onDigest(from, slots, reply);
  }

  onTick(): void {
    this.sync.onTick(this.kernel.settings.propsSyncIntervalMs);
  }

  /** What a peer may put in the table: checked like a client's update, never trusted. */
  private isValidRemote(entry: PropsEntry): boolean {
    const kernel = this.kernel;
    if (
      typeof entry.bucket !== 'string' ||
      entry.bucket.length === 0 ||
      utf8Bytes(entry.bucket) > defaultLimits.bucketBytesMax
    )
      return false;
    if (!Number.isSafeInteger(entry.version) || entry.version < 1) return false;
    if (!kernel.ring.members.some((member) => member.id === entry.origin)) return false;
    if (entry.deleted === true) return true;
    const { n, r, w } = entry.props;
    const positive = [n, r, w].every((value) => Number.isSafeInteger(value) && value >= 1);
    return positive && r <= n && w <= n && n <= kernel.ring.members.length;
  }
}

/**
 * Runs a client's change to a replicated table and answers it: ok, or the coded error it threw
 * (anything else is a bug and is rethrown).
 */
export function answerClientChange(kernel: NodeKernel, requestId: number, change: () => void): void {
  try {
    change();
    kernel.emit({ type: 'reply', requestId, outcome: { ok: true, record: { context: new Map(), siblings: [] } } });
  } catch (error) {
    if (!isEverwriteError(error)) throw error;
    const details = Object.keys(error.details).length === 0 ? {} : { details: error.details };
    kernel.emit({
      type: 'reply',
      requestId,
      outcome: { ok: false, error: { code: error.code, message: error.message, ...details } },
    });
  }
}
