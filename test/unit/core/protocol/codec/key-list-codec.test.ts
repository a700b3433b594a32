// Why: key listing's request and reply cross the wire as message type 10 (key-list-codec.ts,
// decision 0030). Both must survive a round trip unchanged, and a hostile or damaged frame (absurd
// counts, oversized keys, buckets or cursors, unordered partitions, flags) must be refused as
// EVERWRITE_BAD_FRAME before anything is allocated for it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessages, encodeMessages } from '../../../../../src/core/protocol/codec/message-codec.ts';
import type { Message } from '../../../../../src/core/protocol/messages.ts';
import { keyListLimits } from '../../../../../src/core/key-listing/index.ts';
import { writeVarint, varintSize } from '../../../../../src/core/versioning/wire.ts';

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);
const messages: Message[] = [
  {
    type: 'keyListRequest',
    id: 2 ** 40 + 1,
    bucket: 'carts',
    partitions: [0, 7, 255],
    after: new Uint8Array(0),
    keysMax: 1000,
  },
  { type: 'keyListRequest', id: 3, bucket: 'ünïcode', partitions: [16_383], after: ascii('alice'), keysMax: 1 },
  {
    type: 'keyListReply',
    id: 3,
    ok: true,
    keys: [ascii('a'), ascii('bé')],
    next: { partition: 9, after: ascii('bé') },
  },
  { type: 'keyListReply', id: 4, ok: true, keys: [] },
  { type: 'keyListReply', id: 5, ok: false, keys: [] },
];

function plain(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (_key, inner: unknown) => (inner instanceof Uint8Array ? [...inner] : inner)),
  );
}

test('key list requests and replies survive a round trip, alone and batched with other messages', () => {
  for (const message of messages) assert.deepEqual(plain(decodeMessages(encodeMessages([message]))), plain([message]));
  const batch: Message[] = [{ type: 'replicaPutAck', id: 5, ok: true }, ...messages];
  assert.deepEqual(plain(decodeMessages(encodeMessages(batch))), plain(batch));
});

function varint(value: number): number[] {
  const bytes = new Uint8Array(varintSize(value));
  writeVarint(bytes, 0, value);
  return [...bytes];
}

function frameOf(tag: number, body: number[]): Uint8Array {
  return new Uint8Array([0xc1, 1, tag, ...body]);
}

/** Type 10 with 0x80: key listing (without 0x80, type 10 is the users table's). */
const request = (body: number[]): Uint8Array => frameOf(10 | 0x80, body);
const reply = (flags: number, body: number[]): Uint8Array => frameOf(10 | 0x80 | 0x10 | flags, body);
const bucket = [5, ...ascii('carts')];

test('hostile key list frames are EVERWRITE_BAD_FRAME', () => {
  const cases: Array<{ what: string; frame: Uint8Array }> = [
    { what: 'an empty bucket', frame: request([1, 0, 10, 1, 0, 0]) },
    { what: 'a bucket that is not UTF-8', frame: request([1, 2, 0xff, 0xfe, 10, 1, 0, 0]) },
    { what: 'a bucket past the frame', frame: request([1, ...varint(1_000_000), 1, 2]) },
    { what: 'a request for no keys', frame: request([1, ...bucket, 0, 1, 0, 0]) },
    { what: 'no partitions', frame: request([1, ...bucket, 10, 0, 0]) },
    { what: 'a partition count past the frame', frame: request([1, ...bucket, 10, ...varint(1_000_000), 0]) },
    {
      what: 'more partitions than any ring has',
      frame: request([
        1,
        ...bucket,
        10,
        ...varint(keyListLimits.wirePartitionsMax + 1),
        ...Array.from({ length: keyListLimits.wirePartitionsMax + 1 }, (_, index) => varint(index)).flat(),
        0,
      ]),
    },
    {
      what: 'a partition beyond the largest ring',
      frame: request([1, ...bucket, 10, 1, ...varint(keyListLimits.wirePartitionsMax), 0]),
    },
    { what: 'partitions out of order', frame: request([1, ...bucket, 10, 2, 5, 3, 0]) },
    { what: 'a repeated partition', frame: request([1, ...bucket, 10, 2, 5, 5, 0]) },
    {
      what: 'a cursor longer than any key',
      frame: request([
        1,
        ...bucket,
        10,
        1,
        0,
        ...varint(keyListLimits.wireKeyBytesMax + 1),
        ...new Array<number>(keyListLimits.wireKeyBytesMax + 1).fill(97),
      ]),
    },
    { what: 'a truncated request', frame: request([1, ...bucket, 10, 1]) },
    { what: 'flags on a request', frame: frameOf(10 | 0x80 | 0x20, [1, ...bucket, 10, 1, 0, 0]) },
    { what: 'a key count past the frame', frame: reply(0x20, [1, ...varint(1_000_000), 1, 97]) },
    {
      what: 'more keys than any page carries',
      frame: reply(0x20, [
        1,
        ...varint(keyListLimits.wireKeysMax + 1),
        ...Array.from({ length: keyListLimits.wireKeysMax + 1 }, () => [1, 97]).flat(),
      ]),
    },
    { what: 'an empty key', frame: reply(0x20, [1, 1, 0, 0]) },
    {
      what: 'a key longer than any key',
      frame: reply(0x20, [
        1,
        1,
        ...varint(keyListLimits.wireKeyBytesMax + 1),
        ...new Array<number>(keyListLimits.wireKeyBytesMax + 1).fill(97),
      ]),
    },
    {
      what: 'a next partition beyond the largest ring',
      frame: reply(0x60, [1, 0, ...varint(keyListLimits.wirePartitionsMax), 0]),
    },
    { what: 'a missing next cursor', frame: reply(0x60, [1, 0, 3]) },
    {
      what: 'a key list request without the key list flag (read as users entries)',
      frame: frameOf(10, [1, ...bucket, 10, 1, 0, 0]),
    },
  ];
  for (const { what, frame } of cases) {
    assert.throws(
      () => decodeMessages(frame),
      (error: unknown) => (error as { code?: string }).code === 'EVERWRITE_BAD_FRAME',
      what,
    );
  }
});

test('a frame of the largest count the codec allows decodes: the bounds refuse only what is past them', () => {
  const keys = Array.from({ length: keyListLimits.wireKeysMax }, (_, index) => ascii(`k${index}`));
  const decoded = decodeMessages(encodeMessages([{ type: 'keyListReply', id: 1, ok: true, keys }]))[0];
  assert.equal(decoded?.type === 'keyListReply' ? decoded.keys.length : -1, keyListLimits.wireKeysMax);
});

test('key listing and the users table share type 10 apart by the 0x80 flag: batched together, each decodes as itself', () => {
  const user = {
    name: 'ada',
    roles: ['read'],
    bucket: '',
    passwordHash: 'h',
    tokenHash: '',
    version: 1,
    origin: 'n1',
  } as const;
  const messages: Message[] = [
    { type: 'users', entries: [user] },
    { type: 'keyListRequest', id: 3, bucket: 'carts', keysMax: 10, partitions: [1], after: new Uint8Array() },
    { type: 'usersDigest', slots: [7], reply: true },
    { type: 'keyListReply', id: 3, ok: true, keys: [ascii('k')] },
  ];
  const decoded = decodeMessages(encodeMessages(messages));
  assert.deepEqual(
    decoded.map((message) => message.type),
    ['users', 'keyListRequest', 'usersDigest', 'keyListReply'],
  );
  assert.equal(decoded[0]?.type === 'users' ? decoded[0].entries[0]?.name : undefined, 'ada');
});
