// Why: the wire layout of the fast catch-up's messages (decision 0020), message type 11 of
// message-codec.ts, kept beside the tree exchange's (tree-exchange-codec.ts) rather than inside it:
// a small union of its own. A frame from an authenticated peer may still be malformed or hostile, so
// every count and length is bounded here before anything is allocated for it.
//
// Layout (integer = canonical LEB128 varint, bytes = integer length + bytes):
//   byte kind, integer ringVersion, catchUpId, partition, then by kind:
//   1 request    integer count, per entry: key bytes, record hash bytes (empty: nothing held)
//   2 response   integer count, count ascending positions
//   3 refused    byte reason
import { catchUpRefusalReasons, type CatchUpMessage } from '../../anti-entropy/index.ts';
import { asPartitionIndex } from '../../base/ids.ts';
import { varintSize, writeVarint } from '../../versioning/wire.ts';
import { bytesSize, writeBytes, type TreeExchangeReader } from './tree-exchange-codec.ts';

type CatchUpEnvelope = { readonly type: 'catchUp'; readonly ringVersion: number; readonly catchUp: CatchUpMessage };

/** Bounds of one message, above the answerer's own (catchUpLimits) so an over-large request reaches it and is refused with a reason. */
export const catchUpWireLimits = Object.freeze({
  entriesCountMax: 4096,
  hashBytesMax: 64,
  keyBytesMax: 70_000,
});

const kindCodes = { 'catch-up-request': 1, 'catch-up-response': 2, 'catch-up-refused': 3 } as const;

/** Bytes after the tag byte. */
export function catchUpSize(message: CatchUpEnvelope): number {
  const catchUp = message.catchUp;
  let size = 1 + varintSize(message.ringVersion) + varintSize(catchUp.catchUpId) + varintSize(catchUp.partition);
  switch (catchUp.kind) {
    case 'catch-up-request':
      size += varintSize(catchUp.entries.length);
      for (const entry of catchUp.entries) size += bytesSize(entry.key) + bytesSize(entry.recordHash);
      return size;
    case 'catch-up-response':
      size += varintSize(catchUp.differing.length);
      for (const position of catchUp.differing) size += varintSize(position);
      return size;
    case 'catch-up-refused':
      return size + 1;
  }
}

/** Writes the body (after the tag byte); returns the offset after it. */
export function writeCatchUp(frame: Uint8Array, offset: number, message: CatchUpEnvelope): number {
  const catchUp = message.catchUp;
  frame[offset++] = kindCodes[catchUp.kind];
  for (const value of [message.ringVersion, catchUp.catchUpId, catchUp.partition])
    offset = writeVarint(frame, offset, value);
  switch (catchUp.kind) {
    case 'catch-up-request':
      offset = writeVarint(frame, offset, catchUp.entries.length);
      for (const entry of catchUp.entries) {
        offset = writeBytes(frame, offset, entry.key);
        offset = writeBytes(frame, offset, entry.recordHash);
      }
      return offset;
    case 'catch-up-response':
      offset = writeVarint(frame, offset, catchUp.differing.length);
      for (const position of catchUp.differing) offset = writeVarint(frame, offset, position);
      return offset;
    case 'catch-up-refused':
      frame[offset] = catchUpRefusalReasons.indexOf(catchUp.reason);
      return offset + 1;
  }
}

function readBounded(reader: TreeExchangeReader, bytesMax: number, what: string): Uint8Array {
  const bytes = reader.view();
  if (bytes.length > bytesMax) reader.fail(`catch-up ${what} of ${bytes.length} bytes`);
  return bytes;
}

/** Reads the body after the tag byte. Copies nothing: byte fields are views of the frame. */
export function decodeCatchUp(reader: TreeExchangeReader): CatchUpEnvelope {
  const kind = reader.byte();
  const ringVersion = reader.integer();
  const address = { catchUpId: reader.integer(), partition: asPartitionIndex(reader.integer()) };
  const limits = catchUpWireLimits;
  switch (kind) {
    case 1: {
      // An entry takes at least two length bytes.
      const count = reader.count(2);
      if (count > limits.entriesCountMax) reader.fail(`catch-up request of ${count} entries`);
      const entries: Array<{ key: Uint8Array; recordHash: Uint8Array }> = [];
      for (let index = 0; index < count; index++) {
        const key = readBounded(reader, limits.keyBytesMax, 'key');
        entries.push({ key, recordHash: readBounded(reader, limits.hashBytesMax, 'hash') });
      }
      return { type: 'catchUp', ringVersion, catchUp: { kind: 'catch-up-request', ...address, entries } };
    }
    case 2: {
      const count = reader.count(1);
      if (count > limits.entriesCountMax) reader.fail(`catch-up response of ${count} positions`);
      const differing: number[] = [];
      for (let index = 0; index < count; index++) differing.push(reader.integer());
      return { type: 'catchUp', ringVersion, catchUp: { kind: 'catch-up-response', ...address, differing } };
    }
    case 3: {
      const reason = catchUpRefusalReasons[reader.byte()];
      if (reason === undefined) reader.fail('unknown catch-up refusal');
      return { type: 'catchUp', ringVersion, catchUp: { kind: 'catch-up-refused', ...address, reason } };
    }
    default:
      return reader.fail(`unknown catch-up kind ${kind}`);
  }
}
