// Why: the fast catch-up's messages cross the wire as message type 11 (catch-up-codec.ts, decision
// 0020). Every kind must survive a round trip unchanged, and a hostile or damaged frame (absurd
// counts, oversized keys or hashes, unknown kinds or refusals, flags) must be refused as
// EVERWRITE_BAD_FRAME before anything is allocated for it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessages, encodeMessages } from '../../../../../src/core/protocol/codec/message-codec.ts';
import type { Message } from '../../../../../src/core/protocol/messages.ts';
import { asPartitionIndex } from '../../../../../src/core/base/ids.ts';
import { writeVarint, varintSize } from '../../../../../src/core/versioning/wire.ts';

const address = { catchUpId: 2 ** 40 + 3, partition: asPartitionIndex(255) };
const messages: Message[] = [
  {
    type: 'catchUp',
    ringVersion: 4,
    catchUp: {
      kind: 'catch-up-request',
      ...address,
      entries: [
        { key: new Uint8Array([0, 1, 97, 98]), recordHash: new Uint8Array(16).fill(5) },
        { key: new Uint8Array([7]), recordHash: new Uint8Array(0) },
      ],
    },
  },
  { type: 'catchUp', ringVersion: 4, catchUp: { kind: 'catch-up-response', ...address, differing: [0, 3, 255] } },
  { type: 'catchUp', ringVersion: 4, catchUp: { kind: 'catch-up-response', ...address, differing: [] } },
  { type: 'catchUp', ringVersion: 4, catchUp: { kind: 'catch-up-refused', ...address, reason: 'request-too-large' } },
];

function plain(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (_key, inner: unknown) => (inner instanceof Uint8Array ? [...inner] : inner)),
  );
}

test('every catch-up kind survives a round trip, alone and batched with other messages', () => {
  for (const message of messages) assert.deepEqual(plain(decodeMessages(encodeMessages([message]))), plain([message]));
  const batch: Message[] = [{ type: 'replicaPutAck', id: 5, ok: true }, ...messages];
  assert.deepEqual(plain(decodeMessages(encodeMessages(batch))), plain(batch));
});

function frameOf(body: number[]): Uint8Array {
  return new Uint8Array([0xc1, 1, 11, ...body]);
}

function varint(value: number): number[] {
  const bytes = new Uint8Array(varintSize(value));
  writeVarint(bytes, 0, value);
  return [...bytes];
}

test('hostile catch-up frames are EVERWRITE_BAD_FRAME', () => {
  const header = [...varint(4), ...varint(1), ...varint(0)];
  const cases: Array<{ what: string; frame: Uint8Array }> = [
    { what: 'an unknown kind', frame: frameOf([9, ...header]) },
    { what: 'an unknown refusal', frame: frameOf([3, ...header, 200]) },
    { what: 'an entry count past the frame', frame: frameOf([1, ...header, ...varint(1_000_000)]) },
    {
      what: 'more entries than any request may carry',
      frame: frameOf([1, ...header, ...varint(5000), ...new Array<number>(10_000).fill(1)]),
    },
    {
      what: 'more positions than any request may ask',
      frame: frameOf([2, ...header, ...varint(5000), ...new Array<number>(5000).fill(0)]),
    },
    { what: 'a 65-byte hash', frame: frameOf([1, ...header, 1, 1, 7, 65, ...new Array<number>(65).fill(0)]) },
    { what: 'a truncated entry', frame: frameOf([1, ...header, 1, 4, 0, 1]) },
    { what: 'a position past the frame', frame: frameOf([2, ...header, 2, 1]) },
    { what: 'flags on the tag', frame: new Uint8Array([0xc1, 1, 11 | 0x10, 3, ...header, 0]) },
  ];
  for (const { what, frame } of cases) {
    assert.throws(
      () => decodeMessages(frame),
      (error: unknown) => (error as { code?: string }).code === 'EVERWRITE_BAD_FRAME',
      what,
    );
  }
});
