// Why: the handoff's messages (decision 0017) cross the wire from peers that are authenticated but
// may be damaged or hostile; each must round-trip exactly, and every out-of-range field, unknown kind
// or flag, oversized count or key and truncation must be EVERWRITE_BAD_FRAME before anything is
// allocated for it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EverwriteError } from '../../../../../src/core/base/errors.ts';
import type { Message } from '../../../../../src/core/protocol/messages.ts';
import { decodeMessages, encodeMessages } from '../../../../../src/core/protocol/codec/message-codec.ts';
import { handoffWireLimits } from '../../../../../src/core/protocol/codec/handoff-message-codec.ts';

function assertBadFrame(frame: Uint8Array, what: string): void {
  assert.throws(
    () => decodeMessages(frame),
    (error: unknown) => error instanceof EverwriteError && error.code === 'EVERWRITE_BAD_FRAME',
    what,
  );
}

/** A frame holding one message made of `tag` and `body` bytes. */
function frameOf(tag: number, ...body: number[]): Uint8Array {
  return Uint8Array.from([0xc1, 1, tag, ...body]);
}

const plain = (messages: readonly Message[]): unknown =>
  messages.map((message) =>
    message.type === 'handoffBatch'
      ? {
          ...message,
          records: message.records.map((record) => ({
            storageKey: [...record.storageKey],
            record: [...record.record],
          })),
        }
      : message,
  );

test('handoff messages round-trip beside the data-path messages', () => {
  const messages: Message[] = [
    {
      type: 'handoffBatch',
      id: 2 ** 40 + 3,
      viewVersion: 7,
      partition: 65_279,
      records: [
        { storageKey: Uint8Array.from([0, 1, 98, 107]), record: Uint8Array.from([1, 2, 3]) },
        { storageKey: Uint8Array.from([0, 1, 98, 108]), record: new Uint8Array(0) },
      ],
      final: false,
    },
    { type: 'handoffBatch', id: 1, viewVersion: 2 ** 31 - 1, partition: 0, records: [], final: true },
    { type: 'replicaPutAck', id: 7, ok: true },
    { type: 'handoffAck', id: 9, viewVersion: 2, partition: 3, ok: true },
    { type: 'handoffAck', id: 9, viewVersion: 2, partition: 3, ok: false },
    { type: 'handoffDone', viewVersion: 4, transfers: [0, 1, 300, 70_000] },
    { type: 'handoffDone', viewVersion: 4, transfers: [] },
  ];
  assert.deepEqual(plain(decodeMessages(encodeMessages(messages))), plain(messages));
});

test('malformed handoff messages are EVERWRITE_BAD_FRAME', () => {
  // batch: tag 0x1c (kind 1, code 12), id 1, version 1, partition 2, one record: key [0,1,98], record [5]
  const good = frameOf(0x1c, 1, 1, 2, 1, 3, 0, 1, 98, 1, 5);
  assert.equal(decodeMessages(good).length, 1, 'the hand-built frame is valid');
  assertBadFrame(frameOf(0x0c, 1, 1, 2), 'kind 0');
  assertBadFrame(frameOf(0x9c, 1, 1, 2, 0), 'unused flag 0x80');
  assertBadFrame(frameOf(0x3c | 0x40, 1, 0), 'final/ok flag on a done message');
  assertBadFrame(frameOf(0x1c, 1, 0, 2, 0), 'view version 0');
  assertBadFrame(frameOf(0x2c, 1, 0x80, 0x80, 0x80, 0x80, 0x08, 2), 'view version past 2^31 - 1');
  assertBadFrame(frameOf(0x2c, 1, 1, 0x80, 0xfe, 0x03), 'partition 65280 (reserved namespaces)');
  assertBadFrame(frameOf(0x1c, 1, 1, 2, 1, 1, 0, 1, 5), 'a storage key of one byte');
  assertBadFrame(frameOf(0x1c, 1, 1, 2, 5, 3, 0, 1, 98, 1, 5), 'a record count past the bytes present');
  assertBadFrame(frameOf(0x1c, 1, 1, 2, 1, 3, 0, 1, 98, 4, 5), 'a record running past the frame');
  assertBadFrame(frameOf(0x3c, 1, 3, 0, 1), 'done indices truncated');
  assertBadFrame(frameOf(0x2c, 1, 1), 'ack truncated');
  const longKey = handoffWireLimits.storageKeyBytesMax + 1;
  const frame = Buffer.alloc(12 + longKey);
  frame.set([0xc1, 1, 0x1c, 1, 1, 2, 1, (longKey & 0x7f) | 0x80, longKey >> 7]);
  assertBadFrame(frame, 'a storage key past storageKeyBytesMax');
  const manyRecords = handoffWireLimits.batchRecordsMax + 1;
  const big = Buffer.alloc(10 + manyRecords * 4);
  const header = [
    0xc1,
    1,
    0x1c,
    1,
    1,
    2,
    (manyRecords & 0x7f) | 0x80,
    ((manyRecords >> 7) & 0x7f) | 0x80,
    manyRecords >> 14,
  ];
  big.set(header);
  for (let index = 0; index < manyRecords; index++) big.set([2, 0, 0, 0], header.length + index * 4);
  assertBadFrame(big.subarray(0, header.length + manyRecords * 4), 'more records than batchRecordsMax');
});
