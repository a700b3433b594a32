// Why: every message between nodes goes through this codec. It must round-trip each message type
// exactly (optional fields absent stay absent, ids past 2^32 stay exact, bytes come back as views
// of the frame), and a malformed frame from a peer, however damaged, must be rejected as
// EVERWRITE_BAD_FRAME: never another error, never a crash, never a half-built message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { propertyOptions } from '../../../../support/property.ts';
import { EverwriteError } from '../../../../../src/core/base/errors.ts';
import type { ForwardedOperation, Message, PropsEntry } from '../../../../../src/core/protocol/messages.ts';
import {
  decodeMessages,
  encodeMessages,
  errorDetailsBytesMax,
  errorDetailsDepthMax,
} from '../../../../../src/core/protocol/codec/message-codec.ts';
import { plainWireBytes, type WireBytes } from '../../../../../src/core/protocol/codec/wire-bytes.ts';
import { nodeWireBytes } from '../../../../../src/runtime/wire-bytes.ts';

const bytes = (length: number, fill: number): Uint8Array => new Uint8Array(length).fill(fill);
const highId = 7 * 2 ** 32 + 12_345;

/** One example of every message type, each optional field both absent and present. */
const examples: readonly Message[] = [
  { type: 'replicaPut', id: highId, partition: 17, storageKey: bytes(20, 1), record: bytes(152, 2), durable: true },
  {
    type: 'replicaPut',
    id: 0,
    partition: 0,
    storageKey: bytes(0, 0),
    record: bytes(0, 0),
    durable: false,
    hintFor: 'node-3',
  },
  {
    type: 'replicaPut',
    id: Number.MAX_SAFE_INTEGER,
    partition: 2 ** 40,
    storageKey: bytes(300, 3),
    record: bytes(70_000, 4),
    durable: true,
    hintFor: 'nœud-ü-\u{1F600}',
  },
  { type: 'replicaPutAck', id: highId + 1, ok: true },
  { type: 'replicaPutAck', id: 127, ok: false },
  { type: 'replicaGet', id: 2 ** 32, partition: 255, storageKey: bytes(21, 5) },
  { type: 'replicaGetReply', id: 2 ** 32 - 1, ok: true, record: bytes(152, 6) },
  { type: 'replicaGetReply', id: 128, ok: true },
  { type: 'replicaGetReply', id: highId, ok: false },
  { type: 'forward', id: highId, operation: { kind: 'get', bucket: 'b', key: 'k' } },
  { type: 'forward', id: 5, operation: { kind: 'get', bucket: 'bucket', key: 'ключ', r: 1, timeoutMs: 250 } },
  {
    type: 'forward',
    id: 6,
    operation: {
      kind: 'get',
      bucket: 'a-bucket-with-a-long-name',
      key: 'a-longer-key-ключ-\u{FEFF}',
      contentType: '\u{FEFF}starts with a byte order mark',
    },
  },
  {
    type: 'forward',
    id: highId,
    operation: {
      kind: 'put',
      bucket: 'b',
      key: 'k',
      value: bytes(1024, 7),
      contentType: 'text/plain',
      deleted: false,
      lastModifiedMs: 1_790_000_000_123,
      context: 'ctx',
      supersedeLocal: true,
      r: 2,
      w: 3,
      timeoutMs: 1.5,
    },
  },
  {
    type: 'forward',
    id: 9,
    operation: { kind: 'put', bucket: '', key: '', value: bytes(0, 0), deleted: true, supersedeLocal: false },
  },
  { type: 'forwardReply', id: highId },
  {
    type: 'forwardReply',
    id: 1,
    record: bytes(152, 8),
    context: 'g2wAAAABaAJtAAAABm5vZGUtMWEDag-a-context-token-longer-than-sixty-four-bytes',
  },
  { type: 'forwardReply', id: 6, context: 'a-context' },
  { type: 'forwardReply', id: 2, error: { code: 'EVERWRITE_TIMEOUT', message: 'no quorum' } },
  {
    type: 'forwardReply',
    id: 3,
    error: {
      code: 'EVERWRITE_QUORUM_NOT_MET',
      message: 'r=2',
      details: { needed: 2, got: 1, nodes: ['a', 'b'], nested: { deep: true } },
    },
  },
  { type: 'forwardReply', id: 4, record: bytes(3, 9), error: { code: 'X', message: 'y', details: {} } },
  { type: 'reap', partition: 1023, storageKey: bytes(22, 10), record: bytes(40, 11) },
  { type: 'props', entries: [] },
  {
    type: 'props',
    entries: [
      {
        bucket: 'users',
        props: { n: 3, r: 2, w: 2, resolver: 'siblings', durability: 'durable' },
        version: 17,
        origin: 'node-1',
      },
      {
        bucket: 'cache',
        props: { n: 2, r: 1, w: 1, resolver: 'lww', durability: 'buffered' },
        version: 1_790_000_000_000,
        origin: 'node-2',
      },
      {
        bucket: 'gone',
        props: { n: 3, r: 2, w: 2, resolver: 'siblings', durability: 'durable' },
        version: 18,
        origin: 'node-3',
        deleted: true,
      },
    ],
  },
  { type: 'propsDigest', slots: [], reply: false },
  { type: 'propsDigest', slots: [0, 1, 127, 128, 0xffffffff, 0x80000000], reply: true },
  { type: 'liveness', kind: 'ping', id: highId, incarnation: 0, updates: [] },
  {
    type: 'liveness',
    kind: 'ping',
    id: 1,
    incarnation: 3,
    updates: [
      { member: 'n2', incarnation: 0, state: 'up' },
      { member: 'nœud-3', incarnation: 2 ** 31, state: 'down' },
    ],
  },
  {
    type: 'liveness',
    kind: 'pingReq',
    id: 2,
    incarnation: 128,
    target: { member: 'n4', incarnation: 7, state: 'suspect' },
    updates: [{ member: 'n1', incarnation: 1, state: 'suspect' }],
  },
  {
    type: 'liveness',
    kind: 'ack',
    id: 3,
    incarnation: 9,
    target: { member: 'n5', incarnation: 9, state: 'up' },
    updates: [],
  },
];

function expectBadFrame(frame: Uint8Array, reason?: string): void {
  assert.throws(
    () => decodeMessages(frame),
    (error: unknown) => error instanceof EverwriteError && error.code === 'EVERWRITE_BAD_FRAME',
    reason,
  );
}

test('every message type round-trips, optional fields absent and present, ids past 2^32 exact', () => {
  for (const message of examples) {
    assert.deepEqual(decodeMessages(encodeMessages([message])), [message], message.type);
  }
  assert.deepEqual(decodeMessages(encodeMessages(examples)), examples);
  assert.deepEqual(decodeMessages(encodeMessages([])), []);
});

test('a count encodes only the first messages of the array (a reused list passes its backing array)', () => {
  const some = examples.slice(0, 3);
  assert.deepEqual(decodeMessages(encodeMessages(examples, plainWireBytes, 3)), some);
  assert.deepEqual(decodeMessages(encodeMessages(examples, plainWireBytes, 0)), []);
  assert.throws(() => encodeMessages(some, plainWireBytes, 4));
});

test('byte fields decode as views of the frame, wherever the frame sits in its buffer', () => {
  const encoded = encodeMessages(examples);
  const chunk = new Uint8Array(encoded.length + 13);
  chunk.set(encoded, 7);
  const frame = chunk.subarray(7, 7 + encoded.length);
  const decoded = decodeMessages(frame);
  assert.deepEqual(decoded, examples);
  const put = decoded[0] as Extract<Message, { type: 'replicaPut' }>;
  assert.equal(put.record.buffer, chunk.buffer, 'the record is a view, not a copy');
  assert.equal(put.storageKey.buffer, chunk.buffer, 'the storage key is a view, not a copy');
  assert.ok(put.record.byteOffset > 7 && put.record.byteOffset + put.record.length <= 7 + encoded.length);
});

test("a node's WireBytes (Buffer) and the plain one (core, simulator) write the same frames and read them the same", () => {
  const frame = encodeMessages(examples, nodeWireBytes);
  const plainFrame = encodeMessages(examples, plainWireBytes);
  assert.ok(Buffer.isBuffer(frame), 'a node allocates from Buffer');
  assert.ok(!Buffer.isBuffer(plainFrame), 'the core allocates a plain Uint8Array');
  assert.deepEqual(new Uint8Array(frame), plainFrame, 'the same bytes');
  for (const wire of [nodeWireBytes, plainWireBytes]) {
    assert.deepEqual(decodeMessages(frame, wire), examples);
    assert.deepEqual(decodeMessages(plainFrame, wire), examples);
  }
});

/** A WireBytes that records what the codec asks of it. */
function recordingWireBytes(): WireBytes & { readonly sizes: number[]; readonly slices: string[] } {
  const sizes: number[] = [];
  const slices: string[] = [];
  return {
    sizes,
    slices,
    allocate: (size) => (sizes.push(size), new Uint8Array(size).fill(0xee)),
    asciiSlice: (bytes, start, end) => {
      const text = plainWireBytes.asciiSlice(bytes, start, end);
      slices.push(text);
      return text;
    },
  };
}

test('the codec takes one allocation of the exact frame size from its WireBytes, writes every byte, and decodes long ASCII texts through it', () => {
  const wire = recordingWireBytes();
  const frame = encodeMessages(examples, wire);
  assert.deepEqual(wire.sizes, [frame.length], 'one allocation, of exactly the frame');
  assert.deepEqual(decodeMessages(frame), examples, 'memory handed out dirty is overwritten everywhere');
  const decoded = decodeMessages(frame, wire);
  assert.deepEqual(decoded, examples);
  const longAscii = 'g2wAAAABaAJtAAAABm5vZGUtMWEDag-a-context-token-longer-than-sixty-four-bytes';
  assert.ok(wire.slices.includes(longAscii), 'a long ASCII text is decoded by the port');
  assert.ok(!wire.slices.includes('a-context'), 'short texts are decoded by hand');
  assert.ok(
    wire.slices.every((text) => text.length > 16 && [...text].every((char) => char.charCodeAt(0) < 128)),
    'only ASCII texts past 16 bytes reach the port',
  );
});

test('a frame is written into one buffer of exactly its size, and encoding leaves the messages alone', () => {
  const acks: Message[] = Array.from({ length: 8 }, (_, index) => ({
    type: 'replicaPutAck',
    id: highId + index,
    ok: true,
  }));
  assert.equal(encodeMessages(acks).length, 1 + 1 + 8 * (1 + 5), 'marker, count, then a tag and a 5-byte id each');
  const frame = encodeMessages(examples.slice(0, 9));
  const again = encodeMessages(examples.slice(0, 9));
  assert.deepEqual(again, frame, 'encoding is deterministic');
  assert.deepEqual(decodeMessages(frame), examples.slice(0, 9), 'a later encode does not overwrite an earlier frame');
  assert.equal(frame[0], 0xc1);
});

test('malformed frames are EVERWRITE_BAD_FRAME: marker, tags, flags, lengths, counts, varints, trailing bytes', () => {
  const ack = encodeMessages([{ type: 'replicaPutAck', id: 5, ok: true }]); // c1 01 12 05
  assert.deepEqual([...ack], [0xc1, 1, 0x12, 5]);
  expectBadFrame(new Uint8Array(0), 'empty');
  expectBadFrame(Uint8Array.of(0x91, 0x80), 'a msgpack frame of the old codec');
  expectBadFrame(
    new Packr({ useRecords: false, moreTypes: false }).pack([{ type: 'replicaPutAck', id: 5, ok: true }]),
    'the old codec',
  );
  expectBadFrame(Uint8Array.of(0xc1), 'no count');
  expectBadFrame(Uint8Array.of(0xc1, 1, 0x00, 5), 'type 0');
  expectBadFrame(Uint8Array.of(0xc1, 1, 0x0a, 5), 'type 10');
  expectBadFrame(Uint8Array.of(0xc1, 1, 0x0e, 5), 'type 14');
  expectBadFrame(Uint8Array.of(0xc1, 1, 0x22, 5), 'a flag acks do not have');
  expectBadFrame(Uint8Array.of(0xc1, 1, 0x13, 5, 1, 0), 'a flag gets do not have');
  expectBadFrame(Uint8Array.of(0xc1, 2, 0x12, 5), 'count larger than the messages present');
  expectBadFrame(Uint8Array.of(0xc1, 0xff, 0xff, 0xff, 0x0f, 0x12, 5), 'count beyond the bytes present');
  expectBadFrame(Uint8Array.of(0xc1, 1, 0x12, 5, 0), 'trailing byte');
  expectBadFrame(Uint8Array.of(0xc1, 1, 0x12, 0x85, 0x00), 'overlong varint');
  expectBadFrame(Uint8Array.of(0xc1, 1, 0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x10), 'id of 2^53');
  expectBadFrame(
    Uint8Array.of(0xc1, 1, 0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
    'varint of 9 bytes',
  );
  expectBadFrame(Uint8Array.of(0xc1, 1, 0x03, 5, 1, 4, 1, 2, 3), 'storage key runs past the frame');
  expectBadFrame(Uint8Array.of(0xc1, 1, 0x21, 5, 1, 0, 0, 2, 0xc3, 0x28), 'hintFor not UTF-8');
  expectBadFrame(Uint8Array.of(0xc1, 1, 0x86, 1, 1, 0x41, 1, 0x42), 'details without an error');
  const withDetails = (text: string): Uint8Array => {
    const json = Buffer.from(text);
    return Uint8Array.from([0xc1, 1, 0xc6, 1, 1, 0x41, 1, 0x42, ...leb128(json.length), ...json]);
  };
  assert.deepEqual(
    decodeMessages(withDetails('{"n":1}')),
    [{ type: 'forwardReply', id: 1, error: { code: 'A', message: 'B', details: { n: 1 } } }],
    'the hand-built frame is valid',
  );
  expectBadFrame(withDetails('[1,2]'), 'details that are a JSON array');
  expectBadFrame(withDetails('null'), 'details that are JSON null');
  expectBadFrame(withDetails('{"n":'), 'details that are not JSON');
  expectBadFrame(withDetails('{"n":1e400}'), 'details with a number JSON cannot write back (Infinity)');
  expectBadFrame(withDetails('{"n":1,"n":2}'), 'details with a duplicate key');
  expectBadFrame(withDetails('{ "n":1}'), 'details not as JSON.stringify writes them');
  const nested = (depth: number): string => `{"a":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;
  assert.equal(
    decodeMessages(withDetails(nested(errorDetailsDepthMax))).length,
    1,
    'details nested errorDetailsDepthMax deep decode',
  );
  expectBadFrame(
    withDetails(nested(errorDetailsDepthMax + 1)),
    'details nested one level deeper than errorDetailsDepthMax',
  );
  assert.equal(
    decodeMessages(withDetails(JSON.stringify({ a: `${'['.repeat(50)}\\"{` }))).length,
    1,
    'brackets, escapes and quotes inside strings do not nest',
  );
  expectBadFrame(
    Uint8Array.of(0xc1, 1, 0xc6, 1, 1, 0x41, 1, 0x42, 4, 0x81, 0xa1, 0x6e, 0x01),
    'details as msgpack, from a node before decision 0037',
  );
  expectBadFrame(
    withDetails(`{"pad":"${'x'.repeat(errorDetailsBytesMax - 9)}"}`),
    'details one byte past errorDetailsBytesMax, bytes present',
  );
  expectBadFrame(
    Uint8Array.of(0xc1, 1, 0xc6, 1, 1, 0x41, 1, 0x42, 0xff, 0xff, 0xff, 0xff, 0x0f),
    'details of 2^32 bytes',
  );
  expectBadFrame(Uint8Array.of(0xc1, 1, 0x05, 1, 0x90, 0x10, 0, 0), 'forward field mask beyond the known fields');
  expectBadFrame(Uint8Array.of(0xc1, 1, 0x05, 1, 8, 0, 0), 'deleted value without deleted');
  const props = [
    ...encodeMessages([
      {
        type: 'props',
        entries: [
          { bucket: 'b', props: { n: 3, r: 2, w: 2, resolver: 'lww', durability: 'durable' }, version: 1, origin: 'o' },
        ],
      },
    ]),
  ];
  props[props.length - 1] = 8;
  expectBadFrame(Uint8Array.from(props), 'unknown bucket props bit');
  expectBadFrame(Uint8Array.of(0xc1, 1, 0x29, 0), 'a flag digests do not have');
  expectBadFrame(Uint8Array.of(0xc1, 1, 0x09, 0xff, 0xff, 0xff, 0x0f), 'digest count beyond the bytes present');
  expectBadFrame(
    Uint8Array.from([0xc1, 1, 0x09, 0x81, 0x20, ...new Array<number>(4097).fill(0)]),
    'digest of 4097 slots, past the limit',
  );
  expectBadFrame(Uint8Array.of(0xc1, 1, 0x09, 1, 0x80, 0x80, 0x80, 0x80, 0x10), 'digest slot of 2^32');
  assert.deepEqual(decodeMessages(Uint8Array.of(0xc1, 1, 0x19, 1, 0x7f)), [
    { type: 'propsDigest', slots: [127], reply: true },
  ]);
  const entry = {
    bucket: 'b',
    props: { n: 3, r: 2, w: 2, resolver: 'lww', durability: 'durable' },
    version: 1,
    origin: 'o',
  } as const;
  for (const [field, value] of [
    ['n', Number.NaN],
    ['r', 0],
    ['w', 1.5],
    ['n', Number.POSITIVE_INFINITY],
    ['r', -1],
  ] as const) {
    expectBadFrame(
      encodeMessages([{ type: 'props', entries: [{ ...entry, props: { ...entry.props, [field]: value } }] }]),
      `props ${field} ${value}`,
    );
  }
  for (const version of [Number.NaN, Number.POSITIVE_INFINITY, -1, 0.5, 2 ** 53])
    expectBadFrame(encodeMessages([{ type: 'props', entries: [{ ...entry, version }] }]), `props version ${version}`);
  expectBadFrame('not bytes' as unknown as Uint8Array, 'not bytes');
});

/** LEB128 of a small non-negative integer. */
function leb128(value: number): number[] {
  const out: number[] = [];
  while (value > 127) {
    out.push((value & 127) | 128);
    value >>>= 7;
  }
  out.push(value);
  return out;
}

test('error details travel as JSON text within errorDetailsBytesMax; details that cannot are left out, the error itself kept', () => {
  const reply = (details: Record<string, unknown>): Message => ({
    type: 'forwardReply',
    id: 9,
    error: { code: 'EVERWRITE_QUORUM_NOT_MET', message: 'm', details },
  });
  const quorum = { answered: 1, required: 2, refused: 0, unanswered: 1, down: 0, tried: 2, replicas: 3 };
  const frame = encodeMessages([reply(quorum)]);
  assert.ok(Buffer.from(frame).includes(Buffer.from(JSON.stringify(quorum))), 'the details are their JSON text');
  assert.deepEqual(decodeMessages(frame), [reply(quorum)]);
  const atTheBound = { pad: 'x'.repeat(errorDetailsBytesMax - 10) };
  assert.equal(JSON.stringify(atTheBound).length, errorDetailsBytesMax);
  assert.deepEqual(
    decodeMessages(encodeMessages([reply(atTheBound)])),
    [reply(atTheBound)],
    'details of exactly the bound travel',
  );
  const bare: Message = { type: 'forwardReply', id: 9, error: { code: 'EVERWRITE_QUORUM_NOT_MET', message: 'm' } };
  const tooLarge = { pad: 'x'.repeat(errorDetailsBytesMax) };
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  const tooDeep = JSON.parse(`{"a":${'['.repeat(errorDetailsDepthMax)}${']'.repeat(errorDetailsDepthMax)}}`) as Record<
    string,
    unknown
  >;
  for (const [what, details] of [
    ['too large', tooLarge],
    ['too deep', tooDeep],
    ['cyclic', cyclic],
    ['a bigint', { n: 1n }],
    ['toJSON that is not an object', { toJSON: () => 5 }],
  ] as const) {
    const batch: Message[] = [reply(details), reply(quorum)];
    assert.deepEqual(
      decodeMessages(encodeMessages(batch)),
      [bare, reply(quorum)],
      `details ${what}: left out, and the next reply keeps its own`,
    );
  }
});

test('every truncation of a valid frame is EVERWRITE_BAD_FRAME', () => {
  const frame = encodeMessages(
    examples.filter((message) => message.type !== 'replicaPut' || message.record.length < 1000),
  );
  for (let length = 0; length < frame.length; length++)
    expectBadFrame(frame.subarray(0, length), `truncated to ${length}`);
});

// ---------------------------------------------------------------------------------------------
// Properties

/** Decoded messages are ordinary objects; fast-check's records otherwise have no prototype. */
const plainObject = { noNullPrototype: true } as const;

const anyId = fc.oneof(fc.nat(300), fc.nat(), fc.integer({ min: 2 ** 32, max: 2 ** 40 }), fc.maxSafeNat());
const anyBytes = fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ minLength: 100, maxLength: 400 }));
const anyText = fc.string({ unit: 'binary', maxLength: 30 });
const anyNumber = fc.oneof(fc.nat(), fc.double());
/** Bucket props numbers: the decoder refuses any other (a NaN n would be merged and gossiped for good). */
const anyQuorum = fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }));

const anyOperation: fc.Arbitrary<ForwardedOperation> = fc.record(
  {
    kind: fc.constantFrom('get' as const, 'put' as const),
    bucket: anyText,
    key: anyText,
    value: anyBytes,
    contentType: anyText,
    deleted: fc.boolean(),
    lastModifiedMs: anyNumber,
    context: anyText,
    supersedeLocal: fc.boolean(),
    r: anyNumber,
    w: anyNumber,
    timeoutMs: anyNumber,
  },
  { noNullPrototype: true, requiredKeys: ['kind', 'bucket', 'key'] },
);

const anyDetails = fc.dictionary(
  fc.string({ maxLength: 8 }).filter((key) => key !== '__proto__'),
  fc.oneof(fc.string({ maxLength: 10 }), fc.integer(), fc.boolean()),
  { maxKeys: 4, noNullPrototype: true },
);

const anyPropsEntry: fc.Arbitrary<PropsEntry> = fc.record(
  {
    bucket: anyText,
    props: fc.record(
      {
        n: anyQuorum,
        r: anyQuorum,
        w: anyQuorum,
        resolver: fc.constantFrom('siblings' as const, 'lww' as const),
        durability: fc.constantFrom('durable' as const, 'buffered' as const),
      },
      plainObject,
    ),
    version: fc.nat(),
    origin: anyText,
    deleted: fc.constant(true),
  },
  { noNullPrototype: true, requiredKeys: ['bucket', 'props', 'version', 'origin'] },
);

const anyMessage: fc.Arbitrary<Message> = fc.oneof(
  fc.record(
    {
      type: fc.constant('replicaPut' as const),
      id: anyId,
      partition: anyId,
      storageKey: anyBytes,
      record: anyBytes,
      durable: fc.boolean(),
      hintFor: anyText,
    },
    { noNullPrototype: true, requiredKeys: ['type', 'id', 'partition', 'storageKey', 'record', 'durable'] },
  ),
  fc.record({ type: fc.constant('replicaPutAck' as const), id: anyId, ok: fc.boolean() }, plainObject),
  fc.record(
    { type: fc.constant('replicaGet' as const), id: anyId, partition: anyId, storageKey: anyBytes },
    plainObject,
  ),
  fc.record(
    { type: fc.constant('replicaGetReply' as const), id: anyId, ok: fc.boolean(), record: anyBytes },
    { noNullPrototype: true, requiredKeys: ['type', 'id', 'ok'] },
  ),
  fc.record({ type: fc.constant('forward' as const), id: anyId, operation: anyOperation }, plainObject),
  fc.record(
    {
      type: fc.constant('forwardReply' as const),
      id: anyId,
      record: anyBytes,
      context: anyText,
      error: fc.record(
        { code: anyText, message: anyText, details: anyDetails },
        { noNullPrototype: true, requiredKeys: ['code', 'message'] },
      ),
    },
    { noNullPrototype: true, requiredKeys: ['type', 'id'] },
  ),
  fc.record(
    { type: fc.constant('reap' as const), partition: anyId, storageKey: anyBytes, record: anyBytes },
    plainObject,
  ),
  fc.record({ type: fc.constant('props' as const), entries: fc.array(anyPropsEntry, { maxLength: 3 }) }, plainObject),
  fc.record(
    {
      type: fc.constant('propsDigest' as const),
      slots: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 70 }),
      reply: fc.boolean(),
    },
    plainObject,
  ),
);

const anyBatch = fc.array(anyMessage, { maxLength: 12 });

test('property: random batches round-trip exactly, and re-encode to the same bytes', () => {
  fc.assert(
    fc.property(anyBatch, (messages) => {
      const frame = encodeMessages(messages);
      const decoded = decodeMessages(frame);
      assert.deepEqual(decoded, messages);
      assert.deepEqual(encodeMessages(decoded), frame);
    }),
    propertyOptions(1000),
  );
});

/** Types laid out entirely by hand: whatever of them decodes is canonical (no msgpack, no float). */
const exactTypes = new Set<Message['type']>(['replicaPut', 'replicaPutAck', 'replicaGet', 'replicaGetReply', 'reap']);

/** The fuzz contract: a frame decodes to well-formed messages or throws EVERWRITE_BAD_FRAME, nothing else. */
function decodesOrRejects(frame: Uint8Array): void {
  let decoded: Message[];
  try {
    decoded = decodeMessages(frame);
  } catch (error) {
    assert.ok(error instanceof EverwriteError, `threw ${String(error)}`);
    assert.equal(error.code, 'EVERWRITE_BAD_FRAME');
    return;
  }
  // Well-formed: the encoder (which asserts its invariants) accepts it, and it survives a round trip.
  const encoded = encodeMessages(decoded);
  assert.deepEqual(decodeMessages(encoded), decoded);
  if (decoded.every((message) => exactTypes.has(message.type)))
    assert.deepEqual(encoded, Uint8Array.from(frame), 'canonical');
}

const mutation = fc.tuple(fc.nat(), fc.nat(255), fc.constantFrom('flip', 'truncate', 'insert', 'delete', 'set'));

test('fuzz: mutated frames decode to valid messages or throw EVERWRITE_BAD_FRAME', () => {
  fc.assert(
    fc.property(anyBatch, fc.array(mutation, { minLength: 1, maxLength: 4 }), (messages, mutations) => {
      const frame = [...encodeMessages(messages)];
      for (const [position, byte, kind] of mutations) {
        const at = frame.length === 0 ? 0 : position % frame.length;
        if (kind === 'flip') frame[at] = (frame[at] ?? 0) ^ (1 << (byte % 8));
        else if (kind === 'truncate') frame.length = at;
        else if (kind === 'insert') frame.splice(at, 0, byte);
        else if (kind === 'delete') frame.splice(at, 1);
        else frame[at] = byte;
      }
      decodesOrRejects(Uint8Array.from(frame));
    }),
    propertyOptions(3000),
  );
});

test('fuzz: random bytes decode to valid messages or throw EVERWRITE_BAD_FRAME', () => {
  const tagged = fc.uint8Array({ maxLength: 80 }).map((tail) => Uint8Array.of(0xc1, ...tail));
  const oneMessage = fc
    .tuple(fc.nat(255), fc.uint8Array({ maxLength: 60 }))
    .map(([tag, tail]) => Uint8Array.of(0xc1, 1, tag, ...tail));
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 80 }), tagged, oneMessage), decodesOrRejects),
    propertyOptions(3000),
  );
});

/** A copy of `frame` with the byte at `index` replaced. */
function patched(frame: readonly number[], index: number, value: number): number[] {
  const copy = [...frame];
  copy[index] = value;
  return copy;
}

test('malformed liveness messages are EVERWRITE_BAD_FRAME: kind, flags, state, counts, truncation', () => {
  const ping = [
    ...encodeMessages([
      {
        type: 'liveness',
        kind: 'ping',
        id: 5,
        incarnation: 1,
        updates: [{ member: 'n2', incarnation: 0, state: 'suspect' }],
      },
    ]),
  ];
  assert.deepEqual(ping, [0xc1, 1, 0x0f, 5, 1, 1, 2, 0x6e, 0x32, 0, 1]);
  assert.deepEqual(decodeMessages(Uint8Array.from(ping)), [
    {
      type: 'liveness',
      kind: 'ping',
      id: 5,
      incarnation: 1,
      updates: [{ member: 'n2', incarnation: 0, state: 'suspect' }],
    },
  ]);
  expectBadFrame(Uint8Array.from(patched(ping, 2, 0x3f)), 'ack and pingReq at once');
  expectBadFrame(Uint8Array.from(patched(ping, 2, 0x8f)), 'a flag liveness messages do not have');
  expectBadFrame(Uint8Array.from(patched(ping, 10, 3)), 'an unknown state');
  expectBadFrame(Uint8Array.from(patched(ping, 5, 2)), 'more updates than present');
  expectBadFrame(
    Uint8Array.from([0xc1, 1, 0x0f, 5, 1, 0xff, 0xff, 0xff, 0xff, 0x0f]),
    'an update count beyond the bytes present',
  );
  expectBadFrame(Uint8Array.from(patched(ping, 2, 0x4f)), 'a target flag without a target');
  expectBadFrame(Uint8Array.from(patched(ping, 7, 0xc3)), 'a member name that is not UTF-8');
  for (let length = 1; length < ping.length; length++)
    expectBadFrame(Uint8Array.from(ping.slice(0, length)), `truncated to ${length}`);
});
