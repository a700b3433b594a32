// Why: the write-ahead log's on-disk layout, kept apart from the engine that schedules the I/O so it
// can be tested byte by byte. A log file is an 8-byte magic followed by records; each record is
//   u32 LE payload length | u32 LE CRC-32 of the payload | payload
// and a payload is one atomic unit of replay:
//   u8 kind (1 batch, 2 drop) | u16 LE namespace | batch only: u32 LE operation count, then per
//   operation u8 type (1 put, 2 delete) | u32 LE key length | key | put only: u32 LE value length | value
// A crash can tear the last record; the CRC (and the length check) finds it, and replay stops there.
import zlib from 'node:zlib';
import { assert } from '../../core/base/assert.ts';
import { EverwriteError } from '../../core/base/errors.ts';
import type { BatchOperation } from '../../runtime/ports.ts';

/** First bytes of every log file: format name and version. */
export const logFileMagic: Buffer = Buffer.from('EWLOG001', 'latin1');
/** Bytes of the length + CRC header in front of every payload. */
export const recordHeaderBytes = 8;

const kindBatch = 1;
const kindDrop = 2;
const typePut = 1;
const typeDelete = 2;

export type LogRecord =
  | { readonly kind: 'batch'; readonly namespace: number; readonly operations: readonly BatchOperation[] }
  | { readonly kind: 'drop'; readonly namespace: number };

/** CRC-32 (IEEE, as zlib and gzip): native when Node has zlib.crc32 (>= 20.15), a table otherwise. */
export const crc32: (bytes: Uint8Array) => number =
  typeof zlib.crc32 === 'function' ? (bytes) => zlib.crc32(bytes) : tableCrc32;

let crcTable: Uint32Array | undefined;
function tableCrc32(bytes: Uint8Array): number {
  const table = (crcTable ??= buildCrcTable());
  let crc = 0xffffffff;
  for (let index = 0; index < bytes.length; index++)
    crc = (table[(crc ^ (bytes[index] as number)) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function buildCrcTable(): Uint32Array {
  const table = new Uint32Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let value = byte;
    for (let bit = 0; bit < 8; bit++) value = value & 1 ? 0xedb88320 ^ (value >>> 1) : value >>> 1;
    table[byte] = value >>> 0;
  }
  return table;
}

/** Bytes the framed record for this batch takes in the log. */
export function batchRecordBytes(operations: readonly BatchOperation[]): number {
  let bytes = recordHeaderBytes + 1 + 2 + 4;
  for (let index = 0; index < operations.length; index++) {
    const operation = operations[index] as BatchOperation;
    bytes += 1 + 4 + operation.key.length;
    if (operation.type === 'put') bytes += 4 + operation.value.length;
    else assert(operation.type === 'delete', 'unknown batch operation');
  }
  return bytes;
}

/** One framed record for a batch, ready to append. Throws when it exceeds `recordBytesMax`. */
export function encodeBatchRecord(
  namespace: number,
  operations: readonly BatchOperation[],
  recordBytesMax: number,
): Buffer {
  const total = batchRecordBytes(operations);
  if (total > recordBytesMax) {
    throw new EverwriteError(
      'EVERWRITE_VALUE_TOO_LARGE',
      `a batch of ${total} bytes exceeds the write-ahead log's record limit of ${recordBytesMax} bytes`,
      { batchBytes: total, recordBytesMax },
    );
  }
  const record = Buffer.allocUnsafe(total);
  let offset = recordHeaderBytes;
  record[offset++] = kindBatch;
  offset = record.writeUInt16LE(namespace, offset);
  offset = record.writeUInt32LE(operations.length, offset);
  for (let index = 0; index < operations.length; index++) {
    const operation = operations[index] as BatchOperation;
    record[offset++] = operation.type === 'put' ? typePut : typeDelete;
    offset = record.writeUInt32LE(operation.key.length, offset);
    record.set(operation.key, offset);
    offset += operation.key.length;
    if (operation.type === 'put') {
      offset = record.writeUInt32LE(operation.value.length, offset);
      record.set(operation.value, offset);
      offset += operation.value.length;
    }
  }
  return seal(record);
}

export function encodeDropRecord(namespace: number): Buffer {
  const record = Buffer.allocUnsafe(recordHeaderBytes + 1 + 2);
  record[recordHeaderBytes] = kindDrop;
  record.writeUInt16LE(namespace, recordHeaderBytes + 1);
  return seal(record);
}

function seal(record: Buffer): Buffer {
  const payload = record.subarray(recordHeaderBytes);
  record.writeUInt32LE(payload.length, 0);
  record.writeUInt32LE(crc32(payload), 4);
  return record;
}

export interface DecodedLog {
  /** Records in append order, up to the first torn or corrupt one. Keys and values are views into the input. */
  readonly records: LogRecord[];
  /** Bytes of the input covered by the magic and the intact records. */
  readonly intactBytes: number;
  /** True when bytes past `intactBytes` were ignored (a torn or corrupt tail, or a bad magic). */
  readonly tornTail: boolean;
}

/** Decodes a whole log file. Never throws on bad bytes: it stops at the first record that fails its checks. */
export function decodeLog(file: Uint8Array, recordBytesMax: number): DecodedLog {
  const bytes = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  const records: LogRecord[] = [];
  if (bytes.length < logFileMagic.length || !bytes.subarray(0, logFileMagic.length).equals(logFileMagic)) {
    return { records, intactBytes: 0, tornTail: bytes.length > 0 };
  }
  let offset = logFileMagic.length;
  while (offset + recordHeaderBytes <= bytes.length) {
    const length = bytes.readUInt32LE(offset);
    const end = offset + recordHeaderBytes + length;
    if (length < 3 || length > recordBytesMax || end > bytes.length) break;
    const payload = bytes.subarray(offset + recordHeaderBytes, end);
    if (crc32(payload) !== bytes.readUInt32LE(offset + 4)) break;
    const record = decodePayload(payload);
    if (record === undefined) break;
    records.push(record);
    offset = end;
  }
  return { records, intactBytes: offset, tornTail: offset < bytes.length };
}

/** Undefined when the payload's structure is inconsistent (a CRC collision or a bug in the writer). */
function decodePayload(payload: Buffer): LogRecord | undefined {
  const kind = payload[0];
  const namespace = payload.readUInt16LE(1);
  if (kind === kindDrop) return payload.length === 3 ? { kind: 'drop', namespace } : undefined;
  if (kind !== kindBatch || payload.length < 7) return undefined;
  const count = payload.readUInt32LE(3);
  const operations: BatchOperation[] = [];
  let offset = 7;
  for (let index = 0; index < count; index++) {
    if (offset + 5 > payload.length) return undefined;
    const type = payload[offset];
    const keyLength = payload.readUInt32LE(offset + 1);
    offset += 5;
    if (offset + keyLength > payload.length) return undefined;
    const key = payload.subarray(offset, offset + keyLength);
    offset += keyLength;
    if (type === typeDelete) {
      operations.push({ type: 'delete', key });
      continue;
    }
    if (type !== typePut || offset + 4 > payload.length) return undefined;
    const valueLength = payload.readUInt32LE(offset);
    offset += 4;
    if (offset + valueLength > payload.length) return undefined;
    operations.push({ type: 'put', key, value: payload.subarray(offset, offset + valueLength) });
    offset += valueLength;
  }
  return offset === payload.length ? { kind: 'batch', namespace, operations } : undefined;
}
