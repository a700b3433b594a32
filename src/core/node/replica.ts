// Why: what a node does as a replica when a coordinator talks to it: merge a record into its store
// (or hold it as a hint for a primary it stands in for), answer a read with what it holds, step a
// reapable record down when asked (reaping.ts). Replicas never mint versions; they only merge.
import type { NodeId } from '../base/ids.ts';
import type { Message } from '../protocol/messages.ts';
import { decodeOwnedRecord, encodeRecord, type VersionedRecord } from '../versioning/index.ts';
import type { NodeKernel } from './kernel.ts';
import { placementInput } from '../protocol/storage-key.ts';
import { partitionOf } from '../ring/index.ts';
import { onPeerReap } from './reaping.ts';

/** Where a replica's placement check writes its digest: read at once, so one buffer serves every write. */
const placementDigest = new Uint8Array(16);

/**
 * A peer whose ring differs from ours (another --partitions or member list) would file keys under
 * partitions this node never reads. Refusing such a request, loudly, turns a silent misplacement
 * into failed replicas and an error in the log.
 */
function misplaced(kernel: NodeKernel, from: NodeId, partition: number, storageKey: Uint8Array): boolean {
  const placement = placementInput(storageKey);
  const expected = placement === undefined ? -1 : partitionOf(kernel.ring, kernel.digest(placement, placementDigest));
  if (expected === partition) return false;
  kernel.emit({
    type: 'log',
    level: 'error',
    message:
      'refused a replica request placed by a different ring: do all nodes have the same --partitions and member list?',
    fields: { from, partition, expected },
  });
  return true;
}

type MessageOf<T extends Message['type']> = Extract<Message, { type: T }>;

/** The record lives only until it is merged or held as a hint (both encode it): its values may be views. */
function decodeOrUndefined(bytes: Uint8Array): VersionedRecord | undefined {
  try {
    return decodeOwnedRecord(bytes);
  } catch {
    return undefined;
  }
}

export function onReplicaPut(kernel: NodeKernel, from: NodeId, message: MessageOf<'replicaPut'>): void {
  const record = decodeOrUndefined(message.record);
  if (record === undefined) {
    kernel.emit({ type: 'log', level: 'warn', message: 'dropped an undecodable replica record', fields: { from } });
    acknowledgeReplicaPut(kernel, from, message.id, false);
    return;
  }
  const { id, partition, storageKey, durable } = message;
  if (misplaced(kernel, from, partition, storageKey)) {
    acknowledgeReplicaPut(kernel, from, id, false);
    return;
  }
  if (message.hintFor !== undefined && !kernel.ring.members.some((member) => member.id === message.hintFor)) {
    // The hint store is keyed by target: a name that is no member would hold space no delivery frees.
    kernel.emit({
      type: 'log',
      level: 'warn',
      message: 'refused a hint for a node that is not a member',
      fields: { from, hintFor: message.hintFor.slice(0, 64) },
    });
    acknowledgeReplicaPut(kernel, from, id, false);
    return;
  }
  if (message.hintFor !== undefined && message.hintFor !== kernel.self) {
    // A node handing its partitions away keeps no new hint: it would leave with it (Handoff.handsOff).
    if (kernel.handsOff?.() === true) return acknowledgeReplicaPut(kernel, from, id, false);
    kernel.addHint(
      { target: message.hintFor as NodeId, partition, storageKey, encoded: message.record, durable },
      (ok) => acknowledgeReplicaPut(kernel, from, id, ok),
    );
    return;
  }
  const token = kernel.storeToken((result) => acknowledgeReplicaPut(kernel, from, id, result.ok));
  kernel.emit({ type: 'storeMerge', token, partition, storageKey, record, durable, encoded: message.record });
  forwardToHandoffTargets(kernel, from, message);
}

/**
 * While this node streams the partition to new primaries (handoff.ts forwardTargets), the record
 * also goes to them, as a read repair does (id 0: no answer). Sent now, not once merged: the bytes
 * may be a view into the arriving frame, valid only while this turn's effects are carried out.
 */
function forwardToHandoffTargets(kernel: NodeKernel, from: NodeId, message: MessageOf<'replicaPut'>): void {
  const targets = kernel.handoffForwardTargets?.(message.partition);
  if (targets === undefined) return;
  for (const target of targets) {
    if (target === from || target === kernel.self) continue;
    kernel.send(target, {
      type: 'replicaPut',
      id: 0,
      partition: message.partition,
      storageKey: message.storageKey,
      record: message.record,
      durable: message.durable,
    });
  }
}

/** Id 0 is a request that wants no answer (read repair). */
function acknowledgeReplicaPut(kernel: NodeKernel, to: NodeId, id: number, ok: boolean): void {
  if (id !== 0) kernel.send(to, { type: 'replicaPutAck', id, ok });
}

export function onReplicaGet(kernel: NodeKernel, from: NodeId, message: MessageOf<'replicaGet'>): void {
  const id = message.id;
  if (misplaced(kernel, from, message.partition, message.storageKey)) {
    kernel.send(from, { type: 'replicaGetReply', id, ok: false });
    return;
  }
  const token = kernel.storeToken((result) => {
    if (!result.ok) {
      kernel.send(from, { type: 'replicaGetReply', id, ok: false });
    } else if (result.record.siblings.length === 0 && result.record.context.size === 0) {
      kernel.send(from, { type: 'replicaGetReply', id, ok: true });
    } else {
      kernel.send(from, {
        type: 'replicaGetReply',
        id,
        ok: true,
        record: result.encoded ?? encodeRecord(result.record),
      });
    }
  });
  kernel.emit({ type: 'storeRead', token, partition: message.partition, storageKey: message.storageKey });
}

export function onReap(kernel: NodeKernel, from: NodeId, message: MessageOf<'reap'>): void {
  const record = decodeOrUndefined(message.record);
  if (record === undefined) {
    kernel.emit({ type: 'log', level: 'warn', message: 'dropped an undecodable reap record', fields: { from } });
    return;
  }
  if (misplaced(kernel, from, message.partition, message.storageKey)) return;
  onPeerReap(kernel, from, message.partition, message.storageKey, record);
}
