// Why: the wire layout of key listing's request and reply (decision 0030), message type 10 of
// message-codec.ts with the 0x80 tag flag set: type 10 without it is the users table's (decision
// 0025), the last free code having gone to both at once, and every one of the sixteen codes being
// taken, the flag tells them apart. A peer is authenticated but its frame may be
// damaged or hostile, so every count and length is bounded here before anything is allocated for
// it; how much a request may make the replica read and answer is bounded again where it is served
// (key-listing.ts clamps keysMax to keyListLimits.pageKeysMax).
//
//   10 keyList  tag flags: 0x80 always (key listing, not users); reply 0x10; on a reply, ok 0x20 and next 0x40
//               request: id, bucket bytes (UTF-8), keysMax (>= 1), integer count (1..wirePartitionsMax),
//                        count strictly ascending partitions, after bytes (a key; empty: from the start)
//               reply:   id, integer count (<= wireKeysMax), count key bytes[, next partition, next after bytes]
import type { KeyListMessage } from '../messages.ts';
import { keyListLimits } from '../../key-listing/index.ts';
import { decodeName } from '../storage-key.ts';
import { utf8ByteLength, varintSize, writeUtf8, writeVarint } from '../../versioning/wire.ts';
import { bytesSize, writeBytes, type TreeExchangeReader } from './tree-exchange-codec.ts';

export const keyListMessageCode = 10;
/** Set on every key listing message: type 10 without it is the users table's. */
export const keyListFlag = 0x80;
const replyFlag = 0x10;
const okFlag = 0x20;
const nextFlag = 0x40;

/** Bytes of the message, its tag byte included. */
export function keyListMessageSize(message: KeyListMessage): number {
  if (message.type === 'keyListRequest') {
    const bucketBytes = utf8ByteLength(message.bucket);
    let size = 1 + varintSize(message.id) + varintSize(bucketBytes) + bucketBytes + varintSize(message.keysMax);
    size += varintSize(message.partitions.length) + bytesSize(message.after);
    for (const partition of message.partitions) size += varintSize(partition);
    return size;
  }
  let size = 1 + varintSize(message.id) + varintSize(message.keys.length);
  for (const key of message.keys) size += bytesSize(key);
  if (message.next !== undefined) size += varintSize(message.next.partition) + bytesSize(message.next.after);
  return size;
}

/** Writes the message, its tag byte first; returns the offset after it. */
export function writeKeyListMessage(frame: Uint8Array, offset: number, message: KeyListMessage): number {
  if (message.type === 'keyListRequest') {
    frame[offset] = keyListMessageCode | keyListFlag;
    offset = writeVarint(frame, offset + 1, message.id);
    offset = writeUtf8(frame, writeVarint(frame, offset, utf8ByteLength(message.bucket)), message.bucket);
    offset = writeVarint(frame, offset, message.keysMax);
    offset = writeVarint(frame, offset, message.partitions.length);
    for (const partition of message.partitions) offset = writeVarint(frame, offset, partition);
    return writeBytes(frame, offset, message.after);
  }
  frame[offset] =
    keyListMessageCode |
    keyListFlag |
    replyFlag |
    (message.ok ? okFlag : 0) |
    (message.next === undefined ? 0 : nextFlag);
  offset = writeVarint(frame, offset + 1, message.id);
  offset = writeVarint(frame, offset, message.keys.length);
  for (const key of message.keys) offset = writeBytes(frame, offset, key);
  if (message.next === undefined) return offset;
  offset = writeVarint(frame, offset, message.next.partition);
  return writeBytes(frame, offset, message.next.after);
}

function boundedBytes(reader: TreeExchangeReader, bytesMax: number, what: string): Uint8Array {
  const bytes = reader.view();
  if (bytes.length > bytesMax) reader.fail(`key list ${what} of ${bytes.length} bytes`);
  return bytes;
}

function partition(reader: TreeExchangeReader): number {
  const value = reader.integer();
  if (value >= keyListLimits.wirePartitionsMax) reader.fail(`key list partition ${value}`);
  return value;
}

function decodeRequest(reader: TreeExchangeReader): KeyListMessage {
  const id = reader.integer();
  const bucketBytes = boundedBytes(reader, keyListLimits.wireBucketBytesMax, 'bucket');
  let bucket: string;
  try {
    bucket = decodeName(bucketBytes);
  } catch {
    return reader.fail('key list bucket is not UTF-8');
  }
  if (bucket.length === 0) reader.fail('key list bucket is empty');
  const keysMax = reader.integer();
  if (keysMax === 0) reader.fail('key list request for no keys');
  const count = reader.count(1);
  if (count === 0 || count > keyListLimits.wirePartitionsMax) reader.fail(`key list request of ${count} partitions`);
  const partitions: number[] = [];
  for (let index = 0; index < count; index++) {
    const next = partition(reader);
    if (index > 0 && next <= (partitions[index - 1] as number))
      reader.fail('key list partitions not strictly ascending');
    partitions.push(next);
  }
  return {
    type: 'keyListRequest',
    id,
    bucket,
    partitions,
    keysMax,
    after: boundedBytes(reader, keyListLimits.wireKeyBytesMax, 'cursor'),
  };
}

function decodeReply(reader: TreeExchangeReader, flags: number): KeyListMessage {
  const id = reader.integer();
  // A key takes at least its length byte and one byte.
  const count = reader.count(2);
  if (count > keyListLimits.wireKeysMax) reader.fail(`key list reply of ${count} keys`);
  const keys: Uint8Array[] = [];
  for (let index = 0; index < count; index++) {
    const key = boundedBytes(reader, keyListLimits.wireKeyBytesMax, 'key');
    if (key.length === 0) reader.fail('key list reply with an empty key');
    keys.push(key);
  }
  const ok = (flags & okFlag) !== 0;
  if ((flags & nextFlag) === 0) return { type: 'keyListReply', id, ok, keys };
  const nextPartition = partition(reader);
  return {
    type: 'keyListReply',
    id,
    ok,
    keys,
    next: { partition: nextPartition, after: boundedBytes(reader, keyListLimits.wireKeyBytesMax, 'cursor') },
  };
}

/** Reads the message after its tag byte; byte fields are views of the frame. */
export function decodeKeyListMessage(reader: TreeExchangeReader, flags: number): KeyListMessage {
  if ((flags & replyFlag) === 0)
    return flags === 0 ? decodeRequest(reader) : reader.fail(`flags ${flags} not allowed on a key list request`);
  return decodeReply(reader, flags);
}
