// Why: the wire layout of anti-entropy's tree-exchange messages (decision 0016), kept apart from the
// request path's codec (message-codec.ts, which calls these for message type 13) because it carries
// a small union of its own. A frame comes from an authenticated peer but may still be malformed or
// hostile: every count and length is bounded here, before anything is allocated for it, so a
// message can ask for or carry no more than the exchange's limits allow.
//
// Layout (integer = canonical LEB128 varint, bytes = integer length + bytes):
//   byte kind, integer ringVersion, exchangeId, partition, requestId, then by kind:
//   1 hashes request      fanOut, depth, level, integer count, count indices
//   2 leaf request        fanOut, depth, integer count, count leaf indices
//   3 hashes response     integer count, count hashes (bytes)
//   4 leaf response       integer leaf count, per leaf: integer entry count, per entry: key bytes, hash bytes
//   5 refused             byte reason
import type { TreeExchangeMessage, TreeExchangeRefusalReason } from '../../anti-entropy/index.ts';
import { asPartitionIndex } from '../../base/ids.ts';
import { varintSize, writeVarint } from '../../versioning/wire.ts';

/** The parts of the frame reader this layout uses (message-codec.ts's FrameCursor). */
export interface TreeExchangeReader {
  byte(): number;
  integer(): number;
  count(bytesEachMin: number): number;
  view(): Uint8Array;
  fail(reason: string): never;
}

type TreeExchangeEnvelope = {
  readonly type: 'treeExchange';
  readonly ringVersion: number;
  readonly exchange: TreeExchangeMessage;
};

/** Bounds of one message, above the exchange's own limits (anti-entropy/limits.ts) so a valid one always fits. */
export const treeExchangeWireLimits = Object.freeze({
  /** Indices or hashes in one message: the largest nodesPerRequestMax. */
  itemsCountMax: 65_536,
  /** Leaves in one leaf request or response: the largest leavesPerRequestMax. */
  leavesCountMax: 4096,
  /** Longest digest: 64 bytes (SHA-512); the cluster uses MD5's 16. */
  hashBytesMax: 64,
  /** Longest storage key: a 2-byte length, a bucket and a key within their limits. */
  keyBytesMax: 70_000,
});

const kindCodes = {
  'tree-hashes-request': 1,
  'tree-leaf-entries-request': 2,
  'tree-hashes-response': 3,
  'tree-leaf-entries-response': 4,
  'tree-exchange-refused': 5,
} as const;
const refusalReasons: readonly TreeExchangeRefusalReason[] = [
  'shape-mismatch',
  'request-too-large',
  'malformed-request',
  'unknown-partition',
  'not-ready',
  'ring-mismatch',
];

/** A byte field's size: its varint length and its bytes (catch-up-codec.ts shares it). */
export function bytesSize(bytes: Uint8Array): number {
  return varintSize(bytes.length) + bytes.length;
}

function integersSize(values: readonly number[]): number {
  let size = varintSize(values.length);
  for (const value of values) size += varintSize(value);
  return size;
}

/** Bytes after the tag byte. */
export function treeExchangeSize(message: TreeExchangeEnvelope): number {
  const exchange = message.exchange;
  let size =
    1 +
    varintSize(message.ringVersion) +
    varintSize(exchange.exchangeId) +
    varintSize(exchange.partition) +
    varintSize(exchange.requestId);
  switch (exchange.kind) {
    case 'tree-hashes-request':
      return (
        size +
        varintSize(exchange.shape.fanOut) +
        varintSize(exchange.shape.depth) +
        varintSize(exchange.level) +
        integersSize(exchange.indices)
      );
    case 'tree-leaf-entries-request':
      return (
        size + varintSize(exchange.shape.fanOut) + varintSize(exchange.shape.depth) + integersSize(exchange.leafIndices)
      );
    case 'tree-hashes-response':
      size += varintSize(exchange.hashes.length);
      for (const hash of exchange.hashes) size += bytesSize(hash);
      return size;
    case 'tree-leaf-entries-response':
      size += varintSize(exchange.leafEntries.length);
      for (const leaf of exchange.leafEntries) {
        size += varintSize(leaf.length);
        for (const entry of leaf) size += bytesSize(entry.key) + bytesSize(entry.recordHash);
      }
      return size;
    case 'tree-exchange-refused':
      return size + 1;
  }
}

/** Writes a byte field; returns the offset after it (catch-up-codec.ts shares it). */
export function writeBytes(frame: Uint8Array, offset: number, bytes: Uint8Array): number {
  offset = writeVarint(frame, offset, bytes.length);
  frame.set(bytes, offset);
  return offset + bytes.length;
}

function writeIntegers(frame: Uint8Array, offset: number, values: readonly number[]): number {
  offset = writeVarint(frame, offset, values.length);
  for (const value of values) offset = writeVarint(frame, offset, value);
  return offset;
}

/** Writes the body (after the tag byte); returns the offset after it. */
export function writeTreeExchange(frame: Uint8Array, offset: number, message: TreeExchangeEnvelope): number {
  const exchange = message.exchange;
  frame[offset++] = kindCodes[exchange.kind];
  for (const value of [message.ringVersion, exchange.exchangeId, exchange.partition, exchange.requestId])
    offset = writeVarint(frame, offset, value);
  switch (exchange.kind) {
    case 'tree-hashes-request':
      for (const value of [exchange.shape.fanOut, exchange.shape.depth, exchange.level])
        offset = writeVarint(frame, offset, value);
      return writeIntegers(frame, offset, exchange.indices);
    case 'tree-leaf-entries-request':
      for (const value of [exchange.shape.fanOut, exchange.shape.depth]) offset = writeVarint(frame, offset, value);
      return writeIntegers(frame, offset, exchange.leafIndices);
    case 'tree-hashes-response':
      offset = writeVarint(frame, offset, exchange.hashes.length);
      for (const hash of exchange.hashes) offset = writeBytes(frame, offset, hash);
      return offset;
    case 'tree-leaf-entries-response':
      offset = writeVarint(frame, offset, exchange.leafEntries.length);
      for (const leaf of exchange.leafEntries) {
        offset = writeVarint(frame, offset, leaf.length);
        for (const entry of leaf) {
          offset = writeBytes(frame, offset, entry.key);
          offset = writeBytes(frame, offset, entry.recordHash);
        }
      }
      return offset;
    case 'tree-exchange-refused':
      frame[offset] = refusalReasons.indexOf(exchange.reason);
      return offset + 1;
  }
}

function readIntegers(reader: TreeExchangeReader, countMax: number): number[] {
  const count = reader.count(1);
  if (count > countMax) reader.fail(`tree exchange lists ${count} items, more than ${countMax}`);
  const values: number[] = [];
  for (let index = 0; index < count; index++) values.push(reader.integer());
  return values;
}

function readBounded(reader: TreeExchangeReader, bytesMax: number, what: string): Uint8Array {
  const bytes = reader.view();
  if (bytes.length > bytesMax) reader.fail(`tree exchange ${what} of ${bytes.length} bytes`);
  return bytes;
}

/** Reads the body after the tag byte. Copies nothing: byte fields are views of the frame. */
export function decodeTreeExchange(reader: TreeExchangeReader): TreeExchangeEnvelope {
  const kind = reader.byte();
  const ringVersion = reader.integer();
  const address = {
    exchangeId: reader.integer(),
    partition: asPartitionIndex(reader.integer()),
    requestId: reader.integer(),
  };
  const limits = treeExchangeWireLimits;
  switch (kind) {
    case 1: {
      const shape = { fanOut: reader.integer(), depth: reader.integer() };
      const level = reader.integer();
      return {
        type: 'treeExchange',
        ringVersion,
        exchange: {
          kind: 'tree-hashes-request',
          ...address,
          shape,
          level,
          indices: readIntegers(reader, limits.itemsCountMax),
        },
      };
    }
    case 2: {
      const shape = { fanOut: reader.integer(), depth: reader.integer() };
      return {
        type: 'treeExchange',
        ringVersion,
        exchange: {
          kind: 'tree-leaf-entries-request',
          ...address,
          shape,
          leafIndices: readIntegers(reader, limits.leavesCountMax),
        },
      };
    }
    case 3: {
      const count = reader.count(1);
      if (count > limits.itemsCountMax) reader.fail(`tree exchange carries ${count} hashes`);
      const hashes: Uint8Array[] = [];
      for (let index = 0; index < count; index++) hashes.push(readBounded(reader, limits.hashBytesMax, 'hash'));
      return { type: 'treeExchange', ringVersion, exchange: { kind: 'tree-hashes-response', ...address, hashes } };
    }
    case 4:
      return {
        type: 'treeExchange',
        ringVersion,
        exchange: { kind: 'tree-leaf-entries-response', ...address, leafEntries: readLeaves(reader) },
      };
    case 5: {
      const reason = refusalReasons[reader.byte()];
      if (reason === undefined) reader.fail('unknown tree exchange refusal');
      return { type: 'treeExchange', ringVersion, exchange: { kind: 'tree-exchange-refused', ...address, reason } };
    }
    default:
      return reader.fail(`unknown tree exchange kind ${kind}`);
  }
}

function readLeaves(reader: TreeExchangeReader): Array<Array<{ key: Uint8Array; recordHash: Uint8Array }>> {
  const limits = treeExchangeWireLimits;
  const leafCount = reader.count(1);
  if (leafCount > limits.leavesCountMax) reader.fail(`tree exchange carries ${leafCount} leaves`);
  const leaves: Array<Array<{ key: Uint8Array; recordHash: Uint8Array }>> = [];
  for (let leaf = 0; leaf < leafCount; leaf++) {
    // An entry takes at least two length bytes.
    const entryCount = reader.count(2);
    const entries: Array<{ key: Uint8Array; recordHash: Uint8Array }> = [];
    for (let index = 0; index < entryCount; index++) {
      const key = readBounded(reader, limits.keyBytesMax, 'key');
      entries.push({ key, recordHash: readBounded(reader, limits.hashBytesMax, 'hash') });
    }
    leaves.push(entries);
  }
  return leaves;
}
