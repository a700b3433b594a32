// Why: anti-entropy's tree-exchange messages cross the wire as message type 13 (tree-exchange-codec.ts).
// Every kind must survive a round trip unchanged, and a hostile or damaged frame (absurd counts,
// oversized hashes, unknown kinds or refusal codes) must be refused as EVERWRITE_BAD_FRAME before
// anything is allocated for it, never decoded into something the core would act on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessages, encodeMessages } from '../../../../../src/core/protocol/codec/message-codec.ts';
import type { Message } from '../../../../../src/core/protocol/messages.ts';
import { asPartitionIndex } from '../../../../../src/core/base/ids.ts';
import { writeVarint, varintSize } from '../../../../../src/core/versioning/wire.ts';

const address = { exchangeId: 2 ** 40 + 3, partition: asPartitionIndex(255), requestId: 9 };
const shape = { fanOut: 16, depth: 2 };
const messages: Message[] = [
  {
    type: 'treeExchange',
    ringVersion: 4,
    exchange: { kind: 'tree-hashes-request', ...address, shape, level: 1, indices: [0, 3, 15] },
  },
  {
    type: 'treeExchange',
    ringVersion: 4,
    exchange: { kind: 'tree-leaf-entries-request', ...address, shape, leafIndices: [255, 7] },
  },
  {
    type: 'treeExchange',
    ringVersion: 4,
    exchange: {
      kind: 'tree-hashes-response',
      ...address,
      hashes: [new Uint8Array(16).fill(1), new Uint8Array(16).fill(2)],
    },
  },
  {
    type: 'treeExchange',
    ringVersion: 4,
    exchange: {
      kind: 'tree-leaf-entries-response',
      ...address,
      leafEntries: [[{ key: new Uint8Array([0, 1, 97, 98]), recordHash: new Uint8Array(16).fill(5) }], []],
    },
  },
  {
    type: 'treeExchange',
    ringVersion: 4,
    exchange: { kind: 'tree-exchange-refused', ...address, reason: 'ring-mismatch' },
  },
];

function plain(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (_key, inner: unknown) => (inner instanceof Uint8Array ? [...inner] : inner)),
  );
}

test('every tree-exchange kind survives a round trip, alone and batched with other messages', () => {
  for (const message of messages) assert.deepEqual(plain(decodeMessages(encodeMessages([message]))), plain([message]));
  const batch: Message[] = [{ type: 'replicaPutAck', id: 5, ok: true }, ...messages];
  assert.deepEqual(plain(decodeMessages(encodeMessages(batch))), plain(batch));
});

/** A frame of one type-13 message whose body is `body`. */
function frameOf(body: number[]): Uint8Array {
  return new Uint8Array([0xc1, 1, 13, ...body]);
}

function varint(value: number): number[] {
  const bytes = new Uint8Array(varintSize(value));
  writeVarint(bytes, 0, value);
  return [...bytes];
}

test('hostile tree-exchange frames are EVERWRITE_BAD_FRAME', () => {
  const header = [...varint(4), ...varint(1), ...varint(0), ...varint(1)];
  const cases: Array<{ what: string; frame: Uint8Array }> = [
    { what: 'an unknown kind', frame: frameOf([9, ...header]) },
    { what: 'an unknown refusal', frame: frameOf([5, ...header, 200]) },
    { what: 'a count past the frame', frame: frameOf([1, ...header, 16, 2, 1, ...varint(1_000_000)]) },
    {
      what: 'more leaves than any request may ask',
      frame: frameOf([2, ...header, 16, 2, ...varint(5000), ...new Array<number>(5000).fill(0)]),
    },
    { what: 'a 65-byte hash', frame: frameOf([3, ...header, 1, 65, ...new Array<number>(65).fill(0)]) },
    { what: 'a truncated leaf entry', frame: frameOf([4, ...header, 1, 1, 4, 0, 1]) },
    { what: 'flags on the tag', frame: new Uint8Array([0xc1, 1, 13 | 0x10, 5, ...header, 0]) },
  ];
  for (const { what, frame } of cases) {
    assert.throws(
      () => decodeMessages(frame),
      (error: unknown) => (error as { code?: string }).code === 'EVERWRITE_BAD_FRAME',
      what,
    );
  }
});
