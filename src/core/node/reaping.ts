// Why: tombstones and the causal contexts they leave may only disappear when no replica can bring the
// deleted value back (decisions 0002 and 0019). A reap steps a key one level down on every primary:
// a tombstone-only record becomes a context-only record (always safe: the context still dominates
// every older version), and a context-only record is removed (safe only once every primary was
// confirmed by anti-entropy to hold it and a grace period passed, confirmed-reaping.ts). Each replica
// steps down only if what it holds still equals the record exactly: any newer write or missed sibling
// keeps it. Never by wall-clock guesswork alone (docs/ARCHITECTURE.md section 1).
import type { NodeId } from '../base/ids.ts';
import { asPartitionIndex } from '../base/ids.ts';
import { decodeStorageKey } from '../protocol/storage-key.ts';
import { primaryNodes } from '../ring/index.ts';
import { encodeRecord, isLive, type VersionedRecord } from '../versioning/index.ts';
import type { NodeKernel } from './kernel.ts';
import type { RequestPlan } from './request-plan.ts';

type ReapTarget = Pick<RequestPlan, 'partition' | 'storageKey' | 'primaries'>;

/** A record a reap may take a step down: no live sibling (tombstones only, or none at all: a context-only record). */
export function isReapable(record: VersionedRecord): boolean {
  return record.context.size > 0 && !isLive(record);
}

export function isContextOnly(record: VersionedRecord): boolean {
  return record.siblings.length === 0 && record.context.size > 0;
}

/** After `reapDelayMs`, asks every primary (this node through its store) to step the key down from `record`. */
export function scheduleReap(kernel: NodeKernel, target: ReapTarget, record: VersionedRecord): void {
  kernel.setTimer(kernel.settings.reapDelayMs, () => sendReap(kernel, target, record));
}

export function sendReap(kernel: NodeKernel, target: ReapTarget, record: VersionedRecord): void {
  const encoded = encodeRecord(record);
  for (const primary of target.primaries) {
    if (primary === kernel.self) {
      reapHere(kernel, target.partition, target.storageKey, record);
    } else {
      kernel.send(primary, {
        type: 'reap',
        partition: target.partition,
        storageKey: target.storageKey,
        record: encoded,
      });
    }
  }
}

/** Asks this replica's store to step the key down from `record`, and counts the step if it happened. */
function reapHere(kernel: NodeKernel, partition: number, storageKey: Uint8Array, record: VersionedRecord): void {
  kernel.store({ type: 'storeReap', partition, storageKey, record }, (result) => {
    if (!result.ok) return;
    const after = result.record;
    if (after.siblings.length === 0 && after.context.size === 0) kernel.reapCounts.contextsRemoved++;
    else if (isContextOnly(after) && !isContextOnly(record)) kernel.reapCounts.tombstonesReaped++;
  });
}

/** The key's primaries (its bucket's n, capped by the cluster size), or undefined for a malformed key. */
export function keyPrimaries(
  kernel: NodeKernel,
  partition: number,
  storageKey: Uint8Array,
): readonly NodeId[] | undefined {
  let bucket: string;
  try {
    bucket = decodeStorageKey(storageKey).bucket;
  } catch {
    return undefined;
  }
  const n = Math.min(kernel.props.get(bucket).n, kernel.ring.members.length);
  return primaryNodes(kernel.ring, asPartitionIndex(partition), n);
}

/**
 * The node that decides when a key's context-only record is removed: the lowest id among its
 * primaries, the one that starts anti-entropy exchanges with every other primary (anti-entropy.ts),
 * so it alone learns from its own exchanges that all of them hold the same record.
 */
export function reapDecider(primaries: readonly NodeId[]): NodeId | undefined {
  let lowest: NodeId | undefined;
  for (const primary of primaries) if (lowest === undefined || primary < lowest) lowest = primary;
  return lowest;
}

/** Handles a peer's `reap`: a live record is never reaped, and only the key's decider may remove a context-only one. */
export function onPeerReap(
  kernel: NodeKernel,
  from: NodeId,
  partition: number,
  storageKey: Uint8Array,
  record: VersionedRecord,
): void {
  if (!isReapable(record)) {
    kernel.emit({
      type: 'log',
      level: 'warn',
      message: 'refused a reap of a record that is live or empty',
      fields: { from, partition },
    });
    return;
  }
  if (isContextOnly(record)) {
    const primaries = keyPrimaries(kernel, partition, storageKey);
    if (primaries === undefined || !primaries.includes(kernel.self) || reapDecider(primaries) !== from) {
      kernel.emit({
        type: 'log',
        level: 'warn',
        message: 'refused the removal of a context-only record from a node that does not decide it',
        fields: { from, partition },
      });
      return;
    }
  }
  reapHere(kernel, partition, storageKey, record);
}
