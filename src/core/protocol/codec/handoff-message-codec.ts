// Why: the ownership handoff's three messages (decision 0017; protocol/messages.ts HandoffMessage)
// in the peer frame format of message-codec.ts, in a file of their own like the view's. A tag's
// type code is its low four bits, so the codes are 1..15 and 16 does not exist; the handoff takes
// 12, below anti-entropy's 13 (decision 0018). The kind lives in the tag's high bits. A peer is
// authenticated but its frame may be damaged or hostile: counts and lengths are bounded before
// anything is allocated for them, and whether the batch is for a transfer this node takes part in
// is the core's check (node/handoff.ts).
//
//   12 handoff  tag flags: kind in bits 0x30 (1 batch, 2 ack, 3 done), final 0x40 (batch), ok 0x40 (ack), 0x80 unused
//               batch: id, viewVersion, partition, integer count (<= handoffWireLimits.batchRecordsMax),
//                      count x (storageKey bytes, record bytes)
//               ack:   id, viewVersion, partition
//               done:  viewVersion, integer count (<= handoffWireLimits.doneTransfersMax), count transfer indices
import type { HandoffMessage, HandoffRecord } from '../messages.ts';
import { viewLimits } from '../../cluster-view/index.ts';
import { defaultLimits } from '../../base/limits.ts';
import { varintSize, writeVarint } from '../../versioning/wire.ts';
import type { FrameCursor } from './message-codec.ts';

export const handoffMessageCode = 12;
const kindShift = 4;
const kindMask = 0x30;
const batchKind = 1;
const ackKind = 2;
const doneKind = 3;
const flagBit = 0x40;

export const handoffWireLimits = Object.freeze({
  /** Records in one batch; above any batch size a node sends (NodeCoreSettings.handoffBatchKeysMax). */
  batchRecordsMax: 65_536,
  /** Transfer indices in one done message: at most every (partition, new primary) pair of the largest ring. */
  doneTransfersMax: 65_536 * 8,
  /** Largest storage key: a bucket and a key within their limits, and their two length bytes. */
  storageKeyBytesMax: defaultLimits.bucketBytesMax + defaultLimits.keyBytesMax + 2,
});

function bytesSize(bytes: Uint8Array): number {
  return varintSize(bytes.length) + bytes.length;
}

export function handoffMessageSize(message: HandoffMessage): number {
  switch (message.type) {
    case 'handoffBatch': {
      let size =
        1 +
        varintSize(message.id) +
        varintSize(message.viewVersion) +
        varintSize(message.partition) +
        varintSize(message.records.length);
      for (const record of message.records) size += bytesSize(record.storageKey) + bytesSize(record.record);
      return size;
    }
    case 'handoffAck':
      return 1 + varintSize(message.id) + varintSize(message.viewVersion) + varintSize(message.partition);
    case 'handoffDone': {
      let size = 1 + varintSize(message.viewVersion) + varintSize(message.transfers.length);
      for (const index of message.transfers) size += varintSize(index);
      return size;
    }
  }
}

function writeBytes(frame: Uint8Array, offset: number, bytes: Uint8Array): number {
  offset = writeVarint(frame, offset, bytes.length);
  frame.set(bytes, offset);
  return offset + bytes.length;
}

export function writeHandoffMessage(frame: Uint8Array, offset: number, message: HandoffMessage): number {
  switch (message.type) {
    case 'handoffBatch':
      frame[offset] = handoffMessageCode | (batchKind << kindShift) | (message.final ? flagBit : 0);
      offset = writeVarint(frame, offset + 1, message.id);
      offset = writeVarint(frame, offset, message.viewVersion);
      offset = writeVarint(frame, offset, message.partition);
      offset = writeVarint(frame, offset, message.records.length);
      for (const record of message.records)
        offset = writeBytes(frame, writeBytes(frame, offset, record.storageKey), record.record);
      return offset;
    case 'handoffAck':
      frame[offset] = handoffMessageCode | (ackKind << kindShift) | (message.ok ? flagBit : 0);
      offset = writeVarint(frame, offset + 1, message.id);
      offset = writeVarint(frame, offset, message.viewVersion);
      return writeVarint(frame, offset, message.partition);
    case 'handoffDone':
      frame[offset] = handoffMessageCode | (doneKind << kindShift);
      offset = writeVarint(frame, offset + 1, message.viewVersion);
      offset = writeVarint(frame, offset, message.transfers.length);
      for (const index of message.transfers) offset = writeVarint(frame, offset, index);
      return offset;
  }
}

function viewVersion(cursor: FrameCursor): number {
  const value = cursor.integer();
  if (value < 1 || value > viewLimits.versionMax) cursor.fail(`view version ${value} out of range`);
  return value;
}

function partition(cursor: FrameCursor): number {
  const value = cursor.integer();
  // Partitions are below the reserved namespaces (runtime/ports.ts), at most 65279.
  if (value >= 65_280) cursor.fail(`partition ${value} out of range`);
  return value;
}

function decodeBatchRecords(cursor: FrameCursor): HandoffRecord[] {
  // A record takes at least its two length bytes and a storage key of two bytes.
  const count = cursor.count(4);
  if (count > handoffWireLimits.batchRecordsMax)
    cursor.fail(`a handoff batch of ${count} records exceeds ${handoffWireLimits.batchRecordsMax}`);
  const records: HandoffRecord[] = [];
  for (let index = 0; index < count; index++) {
    const storageKey = cursor.view();
    if (storageKey.length < 2 || storageKey.length > handoffWireLimits.storageKeyBytesMax)
      cursor.fail(`a handoff storage key of ${storageKey.length} bytes`);
    records.push({ storageKey, record: cursor.view() });
  }
  return records;
}

export function decodeHandoffMessage(cursor: FrameCursor, flags: number): HandoffMessage {
  const kind = (flags & kindMask) >> kindShift;
  if ((flags & 0x80) !== 0 || ((flags & flagBit) !== 0 && kind === doneKind))
    cursor.fail(`flags ${flags} not allowed on a handoff message`);
  if (kind === batchKind) {
    const id = cursor.integer();
    const version = viewVersion(cursor);
    const partitionIndex = partition(cursor);
    return {
      type: 'handoffBatch',
      id,
      viewVersion: version,
      partition: partitionIndex,
      records: decodeBatchRecords(cursor),
      final: (flags & flagBit) !== 0,
    };
  }
  if (kind === ackKind) {
    const id = cursor.integer();
    const version = viewVersion(cursor);
    return { type: 'handoffAck', id, viewVersion: version, partition: partition(cursor), ok: (flags & flagBit) !== 0 };
  }
  if (kind === doneKind) {
    const version = viewVersion(cursor);
    const count = cursor.count(1);
    if (count > handoffWireLimits.doneTransfersMax)
      cursor.fail(`a handoff done message of ${count} transfers exceeds ${handoffWireLimits.doneTransfersMax}`);
    const transfers: number[] = [];
    for (let index = 0; index < count; index++) transfers.push(cursor.integer());
    return { type: 'handoffDone', viewVersion: version, transfers };
  }
  return cursor.fail('handoff message of kind 0');
}
