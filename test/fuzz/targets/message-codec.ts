// Why: inter-node message frames (src/core/protocol/codec/message-codec.ts). A frame from an authenticated peer
// can still be malformed (a bug, a version skew), so decoding may only ever refuse with
// EVERWRITE_BAD_FRAME. The decoder wraps anything unexpected in that code too, as a last line of
// defence; the fuzzer counts such a wrapped error ("could not be decoded") as a crash, since it
// means a check is missing. A frame that decodes must re-encode to a frame that decodes the same.
// Frames are decoded as a node does (Node's WireBytes, src/runtime/wire-bytes.ts) and again with
// the core's plain WireBytes (the simulator's), which must agree on every frame (decision 0037).
import fc from 'fast-check';
import { EverwriteError } from '../../../src/core/base/errors.ts';
import type {
  ForwardedOperation,
  Message,
  PropsEntry,
  UserEntry,
  UserRole,
} from '../../../src/core/protocol/messages.ts';
import {
  decodeMessages,
  encodeMessages,
  errorDetailsBytesMax,
} from '../../../src/core/protocol/codec/message-codec.ts';
import { plainWireBytes, type WireBytes } from '../../../src/core/protocol/codec/wire-bytes.ts';
import { nodeWireBytes } from '../../../src/runtime/wire-bytes.ts';
import { type FuzzTarget, violation } from '../harness.ts';
import { hexPreview, leb128, mutatedBytes } from '../mutate.ts';
import { sameValue } from './compare.ts';

const id = fc.oneof(fc.nat(1000), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));
const bytes = fc.uint8Array({ maxLength: 24 });
const text = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 6 }),
  fc.constantFrom('__proto__', 'constructor', '\uFEFFx'),
);
const number = fc.oneof(fc.integer({ min: 1, max: 5 }), fc.double());
const quorum = fc.integer({ min: 1, max: 7 });
/** fc.record options: plain objects (as decoded ones are) with only `keys` always present. */
const withRequired = <Key extends string>(...keys: Key[]) => ({ requiredKeys: keys, noNullPrototype: true }) as const;

const operation: fc.Arbitrary<ForwardedOperation> = fc.record(
  {
    kind: fc.constantFrom('get' as const, 'put' as const),
    bucket: text,
    key: text,
    value: bytes,
    contentType: text,
    deleted: fc.boolean(),
    lastModifiedMs: number,
    context: text,
    supersedeLocal: fc.boolean(),
    r: number,
    w: number,
    timeoutMs: number,
  },
  withRequired('kind', 'bucket', 'key'),
);

const propsEntry: fc.Arbitrary<PropsEntry> = fc.record(
  {
    bucket: text,
    props: fc.record(
      {
        n: quorum,
        r: quorum,
        w: quorum,
        resolver: fc.constantFrom('siblings' as const, 'lww' as const),
        durability: fc.constantFrom('durable' as const, 'buffered' as const),
      },
      { noNullPrototype: true },
    ),
    version: fc.nat(),
    origin: text,
    deleted: fc.constant(true as const),
  },
  withRequired('bucket', 'props', 'version', 'origin'),
);

const userEntry: fc.Arbitrary<UserEntry> = fc.record(
  {
    name: text,
    roles: fc.subarray(['read', 'write', 'admin'] as UserRole[]),
    bucket: text,
    passwordHash: text,
    tokenHash: text,
    version: fc.nat(),
    origin: text,
    deleted: fc.constant(true as const),
  },
  withRequired('name', 'roles', 'bucket', 'passwordHash', 'tokenHash', 'version', 'origin'),
);

const details = fc.dictionary(
  fc.string({ maxLength: 6 }).filter((key) => key !== '__proto__'),
  fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.boolean()),
  { maxKeys: 3, noNullPrototype: true },
);

const livenessUpdate = fc.record(
  { member: text, incarnation: id, state: fc.constantFrom('up' as const, 'suspect' as const, 'down' as const) },
  { noNullPrototype: true },
);

const viewVersionArbitrary = fc.integer({ min: 1, max: 2 ** 31 - 1 });

const message: fc.Arbitrary<Message> = fc.oneof(
  fc.record(
    {
      type: fc.constant('replicaPut' as const),
      id,
      partition: id,
      storageKey: bytes,
      record: bytes,
      durable: fc.boolean(),
      hintFor: text,
    },
    withRequired('type', 'id', 'partition', 'storageKey', 'record', 'durable'),
  ),
  fc.record({ type: fc.constant('replicaPutAck' as const), id, ok: fc.boolean() }, { noNullPrototype: true }),
  fc.record(
    { type: fc.constant('replicaGet' as const), id, partition: id, storageKey: bytes },
    { noNullPrototype: true },
  ),
  fc.record(
    { type: fc.constant('replicaGetReply' as const), id, ok: fc.boolean(), record: bytes },
    withRequired('type', 'id', 'ok'),
  ),
  fc.record({ type: fc.constant('forward' as const), id, operation }, { noNullPrototype: true }),
  fc.record(
    {
      type: fc.constant('forwardReply' as const),
      id,
      record: bytes,
      context: text,
      error: fc.record({ code: text, message: text, details }, withRequired('code', 'message')),
    },
    withRequired('type', 'id'),
  ),
  fc.record(
    { type: fc.constant('reap' as const), partition: id, storageKey: bytes, record: bytes },
    { noNullPrototype: true },
  ),
  fc.record(
    { type: fc.constant('props' as const), entries: fc.array(propsEntry, { maxLength: 3 }) },
    { noNullPrototype: true },
  ),
  fc.record(
    {
      type: fc.constant('propsDigest' as const),
      slots: fc.array(fc.oneof(fc.nat(300), fc.nat(0xffff_ffff)), { maxLength: 6 }),
      reply: fc.boolean(),
    },
    { noNullPrototype: true },
  ),
  fc.record(
    { type: fc.constant('users' as const), entries: fc.array(userEntry, { maxLength: 3 }) },
    { noNullPrototype: true },
  ),
  fc.record(
    {
      type: fc.constant('usersDigest' as const),
      slots: fc.array(fc.oneof(fc.nat(300), fc.nat(0xffff_ffff)), { maxLength: 6 }),
      reply: fc.boolean(),
    },
    { noNullPrototype: true },
  ),
  fc.record(
    {
      type: fc.constant('liveness' as const),
      kind: fc.constantFrom('ping' as const, 'pingReq' as const, 'ack' as const),
      id,
      incarnation: id,
      target: livenessUpdate,
      updates: fc.array(livenessUpdate, { maxLength: 3 }),
    },
    withRequired('type', 'kind', 'id', 'incarnation', 'updates'),
  ),
  fc.record(
    {
      type: fc.constant('viewDigest' as const),
      version: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      partitionCount: fc.integer({ min: 0, max: 14 }).map((bits) => 2 ** bits),
      digest: fc.stringMatching(/^[0-9a-f]{32}$/),
      reply: fc.boolean(),
    },
    { noNullPrototype: true },
  ),
  fc.record(
    { type: fc.constant('viewPull' as const), version: fc.integer({ min: 1, max: 2 ** 31 - 1 }) },
    { noNullPrototype: true },
  ),
  fc.record({ type: fc.constant('viewFull' as const), view: bytes }, { noNullPrototype: true }),
  // Ownership handoff (decision 0017, handoff-message-codec.ts): only fields a node could send decode.
  fc.record(
    {
      type: fc.constant('handoffBatch' as const),
      id,
      viewVersion: viewVersionArbitrary,
      partition: fc.nat(65_279),
      records: fc.array(
        fc.record(
          { storageKey: fc.uint8Array({ minLength: 2, maxLength: 24 }), record: bytes },
          { noNullPrototype: true },
        ),
        { maxLength: 3 },
      ),
      final: fc.boolean(),
    },
    { noNullPrototype: true },
  ),
  fc.record(
    {
      type: fc.constant('handoffAck' as const),
      id,
      viewVersion: viewVersionArbitrary,
      partition: fc.nat(65_279),
      ok: fc.boolean(),
    },
    { noNullPrototype: true },
  ),
  fc.record(
    {
      type: fc.constant('handoffDone' as const),
      viewVersion: viewVersionArbitrary,
      transfers: fc.array(id, { maxLength: 5 }),
    },
    { noNullPrototype: true },
  ),
  // Key listing (decision 0030, key-list-codec.ts): partitions strictly ascending, keys never empty.
  fc.record(
    {
      type: fc.constant('keyListRequest' as const),
      id,
      bucket: text.filter((name) => name !== ''),
      partitions: fc
        .uniqueArray(fc.nat(16_383), { minLength: 1, maxLength: 4 })
        .map((list) => list.sort((a, b) => a - b)),
      after: bytes,
      keysMax: fc.integer({ min: 1, max: 2 ** 31 }),
    },
    { noNullPrototype: true },
  ),
  fc.record(
    {
      type: fc.constant('keyListReply' as const),
      id,
      ok: fc.boolean(),
      keys: fc.array(fc.uint8Array({ minLength: 1, maxLength: 24 }), { maxLength: 4 }),
      next: fc.record({ partition: fc.nat(16_383), after: bytes }, { noNullPrototype: true }),
    },
    withRequired('type', 'id', 'ok', 'keys'),
  ),
);

export const validMessages = fc.array(message, { maxLength: 4 });
const validFrame = validMessages.map((messages) => Uint8Array.from(encodeMessages(messages)));

/** The frame's messages, or undefined when refused the documented way (EVERWRITE_BAD_FRAME); anything else escapes. */
export function decodeOrRefuse(frame: Uint8Array, wire: WireBytes = nodeWireBytes): Message[] | undefined {
  try {
    return decodeMessages(frame, wire);
  } catch (error) {
    if (
      error instanceof EverwriteError &&
      error.code === 'EVERWRITE_BAD_FRAME' &&
      !error.message.includes('could not be decoded')
    )
      return undefined;
    throw error;
  }
}

export type Input = { readonly frame: Uint8Array; readonly original: Message[] | undefined };

/** A frame: `count` messages announced, then `body`. */
function frame(count: number, ...body: Uint8Array[]): Uint8Array {
  return Buffer.concat([Uint8Array.of(0xc1), leb128(count), ...body]);
}

function forwardReplyWithDetails(details: Uint8Array | string): Uint8Array {
  const bytes = typeof details === 'string' ? Buffer.from(details) : details;
  return frame(1, Uint8Array.of(0x06 | 0x40 | 0x80, 1, 1, 0x41, 1, 0x42), leb128(bytes.length), bytes);
}

const crafted = [
  { name: 'count 2^32', input: frame(2 ** 32) },
  { name: 'count 2^53 - 1', input: frame(Number.MAX_SAFE_INTEGER) },
  { name: 'count 2^53 (beyond safe)', input: frame(2 ** 53) },
  { name: 'byte field of 2^31 bytes', input: frame(1, Uint8Array.of(0x03, 1, 1), leb128(2 ** 31)) },
  { name: 'byte field of 2^53 - 1 bytes', input: frame(1, Uint8Array.of(0x03, 1, 1), leb128(Number.MAX_SAFE_INTEGER)) },
  { name: 'text of 2^32 bytes', input: frame(1, Uint8Array.of(0x21, 1, 1, 0, 0), leb128(2 ** 32)) },
  { name: 'props count 2^32', input: frame(1, Uint8Array.of(0x08), leb128(2 ** 32)) },
  { name: 'props digest count 2^32', input: frame(1, Uint8Array.of(0x09), leb128(2 ** 32)) },
  {
    name: 'props digest of 4097 slots, bytes present',
    input: frame(1, Uint8Array.of(0x09), leb128(4097), new Uint8Array(4097)),
  },
  { name: 'overlong varint', input: frame(1, Uint8Array.of(0x02, 0x80, 0x00)) },
  {
    name: 'ten-byte varint',
    input: frame(1, Uint8Array.of(0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)),
  },
  {
    name: 'details with __proto__',
    input: forwardReplyWithDetails('{"__proto__":{"polluted":1},"n":{"__proto__":null}}'),
  },
  { name: 'details with constructor', input: forwardReplyWithDetails('{"constructor":{"prototype":{"polluted":1}}}') },
  {
    name: 'details nested 10k deep (past the bound)',
    input: forwardReplyWithDetails(`{"a":${'['.repeat(10_000)}${']'.repeat(10_000)}}`),
  },
  {
    name: 'details nested 2k deep (within the byte bound, past the depth bound)',
    input: forwardReplyWithDetails(`{"a":${'['.repeat(2000)}${']'.repeat(2000)}}`),
  },
  {
    name: 'details one byte past the bound',
    input: forwardReplyWithDetails(`{"a":"${'x'.repeat(errorDetailsBytesMax - 7)}"}`),
  },
  {
    name: 'details of 2^32 announced bytes',
    input: frame(1, Uint8Array.of(0x06 | 0x40 | 0x80, 1, 1, 0x41, 1, 0x42), leb128(2 ** 32)),
  },
  {
    name: 'details as msgpack (a node before decision 0037)',
    input: forwardReplyWithDetails(Uint8Array.of(0x81, 0xa1, 0x6e, 0x01)),
  },
  { name: 'details that are a JSON string', input: forwardReplyWithDetails('"text"') },
  { name: 'details with a huge number', input: forwardReplyWithDetails('{"n":1e400,"m":-0}') },
  {
    name: 'props with NaN n',
    input: Uint8Array.from(
      encodeMessages([
        {
          type: 'props',
          entries: [
            {
              bucket: 'b',
              props: { n: Number.NaN, r: 1, w: 1, resolver: 'siblings', durability: 'durable' },
              version: 1,
              origin: 'o',
            },
          ],
        },
      ]),
    ),
  },
  {
    name: 'props with version Infinity',
    input: Uint8Array.from(
      encodeMessages([
        {
          type: 'props',
          entries: [
            {
              bucket: 'b',
              props: { n: 3, r: 2, w: 2, resolver: 'siblings', durability: 'durable' },
              version: Number.POSITIVE_INFINITY,
              origin: 'o',
            },
          ],
        },
      ]),
    ),
  },
].map(({ name, input }) => ({ name, input: { frame: input, original: undefined } }));

export const messageCodecTarget: FuzzTarget<Input> = {
  name: 'message-codec',
  subject: 'inter-node message frames (decodeMessages)',
  arbitrary: fc.oneof(
    validMessages.map((messages) => ({ frame: Uint8Array.from(encodeMessages(messages)), original: messages })),
    mutatedBytes(validFrame).map((frame) => ({ frame, original: undefined })),
  ),
  check({ frame, original }) {
    const decoded = decodeOrRefuse(frame);
    const plain = decodeOrRefuse(frame, plainWireBytes);
    if ((plain === undefined) !== (decoded === undefined) || (decoded !== undefined && !sameValue(plain, decoded)))
      violation("the node's and the plain WireBytes decode the frame differently");
    if (original !== undefined) {
      if (decoded === undefined) violation('a valid frame was refused');
      if (!sameValue(decoded, original)) violation('a valid frame decoded to other messages');
    }
    if (decoded === undefined) return;
    for (const entry of decoded.flatMap((decodedMessage) =>
      decodedMessage.type === 'props' ? decodedMessage.entries : [],
    )) {
      const { n, r, w } = entry.props;
      if (
        ![n, r, w].every((value) => Number.isSafeInteger(value) && value >= 1) ||
        !Number.isSafeInteger(entry.version) ||
        entry.version < 0
      )
        violation('a props entry with numbers the core cannot use was accepted');
    }
    const again = decodeOrRefuse(encodeMessages(decoded));
    if (again === undefined || !sameValue(again, decoded)) violation('an accepted frame does not survive re-encoding');
  },
  crafted,
  describe: ({ frame }) => hexPreview(frame),
  ciRuns: 3000,
};
