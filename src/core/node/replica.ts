// Why: what a node does as a replica when a coordinator talks to it: merge a record into its store
// (or hold it as a hint for a primary it stands in for), answer a read with what it holds, drop a
// tombstone that every primary confirmed. Replicas never mint versions; they only merge.
import type { NodeId } from '../base/ids.ts';
import type { Message } from '../protocol/messages.ts';
import { decodeRecord, encodeRecord, type VersionedRecord } from '../versioning/index.ts';
import type { NodeKernel } from './kernel.ts';
import { placementInput } from '../protocol/storage-key.ts';
import { partitionOf } from '../ring/index.ts';

/**
 * A peer whose ring differs from ours (another --partitions or member list) would file keys under
 * partitions this node never reads. Refusing such a request, loudly, turns a silent misplacement
 * into failed replicas and an error in the log.
 */
function misplaced(kernel: NodeKernel, from: NodeId, partition: number, storageKey: Uint8Array): boolean {
  const placement = placementInput(storageKey);
  const expected = placement === undefined ? -1 : partitionOf(kernel.ring, kernel.digest(placement));
  if (expected === partition) return false;
  kernel.emit({ type: 'log', level: 'error', message: 'refused a replica request placed by a different ring: do all nodes have the same --partitions and member list?', fields: { from, partition, expected } });
  return true;
}

type MessageOf<T extends Message['type']> = Extract<Message, { type: T }>;

function decodeOrUndefined(bytes: Uint8Array): VersionedRecord | undefined {
  try {
    return decodeRecord(bytes);
  } catch {
    return undefined;
  }
}

export function onReplicaPut(kernel: NodeKernel, from: NodeId, message: MessageOf<'replicaPut'>): void {
  const record = decodeOrUndefined(message.record);
  const acknowledge = (ok: boolean): void => {
    if (message.id !== 0) kernel.send(from, { type: 'replicaPutAck', id: message.id, ok });
  };
  if (record === undefined) {
    kernel.emit({ type: 'log', level: 'warn', message: 'dropped an undecodable replica record', fields: { from } });
    acknowledge(false);
    return;
  }
  const { partition, storageKey, durable } = message;
  if (misplaced(kernel, from, partition, storageKey)) {
    acknowledge(false);
    return;
  }
  if (message.hintFor !== undefined && message.hintFor !== kernel.self) {
    kernel.addHint({ target: message.hintFor as NodeId, partition, storageKey, record, durable }, acknowledge);
    return;
  }
  kernel.store({ type: 'storeMerge', partition, storageKey, record, durable }, (result) => acknowledge(result.ok));
}

export function onReplicaGet(kernel: NodeKernel, from: NodeId, message: MessageOf<'replicaGet'>): void {
  if (misplaced(kernel, from, message.partition, message.storageKey)) {
    kernel.send(from, { type: 'replicaGetReply', id: message.id, ok: false });
    return;
  }
  kernel.store({ type: 'storeRead', partition: message.partition, storageKey: message.storageKey }, (result) => {
    if (!result.ok) {
      kernel.send(from, { type: 'replicaGetReply', id: message.id, ok: false });
    } else if (result.record.siblings.length === 0 && result.record.context.size === 0) {
      kernel.send(from, { type: 'replicaGetReply', id: message.id, ok: true });
    } else {
      kernel.send(from, { type: 'replicaGetReply', id: message.id, ok: true, record: encodeRecord(result.record) });
    }
  });
}

export function onReap(kernel: NodeKernel, message: MessageOf<'reap'>): void {
  const record = decodeOrUndefined(message.record);
  if (record !== undefined) kernel.emit({ type: 'storeReap', partition: message.partition, storageKey: message.storageKey, record });
}
