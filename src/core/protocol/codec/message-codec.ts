// Why: peers exchange batches of protocol messages as frames, and the coordinator of every client
// request encodes and decodes several of them on its single thread. A generic msgpack codec spent
// that thread building and walking maps (docs/BENCHMARKS.md, "Peer message codec"), so each message
// has a hand-laid layout: one tag byte, varints, and byte fields that decode as views of the frame
// (no copy; the transport never reuses a frame's memory, src/io/transport/framing.ts). A frame
// from an authenticated peer can still be malformed (a bug, a version skew), so decoding bounds
// every step and turns any damage into EverwriteError('EVERWRITE_BAD_FRAME'), never a crash or a
// half-built message. The codec is part of the pure core (decision 0037): bytes are Uint8Array and
// DataView only, and the two steps Node does faster (pooled allocation, decoding long ASCII texts)
// come in through the WireBytes port (wire-bytes.ts), which the runtime fills with Node's versions.
//
// Layout (integer = canonical LEB128 varint of a non-negative safe integer, wire.ts):
//   frame   = byte 0xC1, integer message count, the messages, nothing after. 0xC1 is the one byte
//             msgpack never uses, so a node still on the msgpack codec rejects these frames as
//             malformed, and this decoder rejects its frames (a mixed-version cluster drops frames,
//             it does not misread them).
//   message = tag byte (low 4 bits: type code; high 4 bits: flags of that type, unused ones 0), body
//   bytes   = integer length, the bytes;  text = integer length, UTF-8;  number = float64 LE
//   1 replicaPut       flags durable 0x10, hintFor 0x20: id, partition, storageKey bytes, record bytes[, hintFor text]
//   2 replicaPutAck    flags ok 0x10: id
//   3 replicaGet       id, partition, storageKey bytes
//   4 replicaGetReply  flags ok 0x10, record 0x20: id[, record bytes]
//   5 forward          flags put 0x10 (else get): id, integer field mask (forwardFields), bucket text,
//                      key text, then each present field in mask order (booleans live in the mask)
//   6 forwardReply     flags record 0x10, context 0x20, error 0x40, error details 0x80: id[, record
//                      bytes][, context text][, error code text, message text[, details text]]. Details
//                      are the JSON text of an object as JSON.stringify writes it, at most
//                      errorDetailsBytesMax bytes and errorDetailsDepthMax levels deep; before
//                      decision 0037 they were msgpack bytes, so a node of either kind refuses the
//                      other's frames that carry details (dropped, never misread).
//   7 reap             partition, storageKey bytes, record bytes
//   8 props            integer count, entries: bucket text, version number, origin text, n, r, w
//                      numbers, byte (resolver lww 0x01, durability buffered 0x02, deleted 0x04)
//   9 propsDigest      flags reply 0x10: integer count (<= propsDigestSlotsMax), that many integer
//                      hashes (each < 2^32)
//  10 users           flags digest 0x10, reply 0x20. A digest: as propsDigest. Else integer count,
//                      entries: name text, version number, origin text, byte (deleted 0x01, read
//                      0x02, write 0x04, admin 0x08), bucket text, passwordHash text, tokenHash text
//  15 liveness         flags ack 0x10, pingReq 0x20 (neither: ping), target 0x40: id, incarnation[,
//                      target update], integer count, updates; update = member text, incarnation,
//                      state byte (0 up, 1 suspect, 2 down). SWIM failure detection, decision 0014.
//  14 view             the cluster view's gossip: layout in view-message-codec.ts
//  13 treeExchange     anti-entropy's tree exchange (tree-exchange-codec.ts): ringVersion, the exchange message
//  11 catchUp          anti-entropy's fast catch-up after an outage (catch-up-codec.ts, decision 0020)
//  12 handoff          ownership handoff of a membership transition: layout in handoff-message-codec.ts
//  10 keyList          key listing's request and reply (key-list-codec.ts, decision 0030)
// Error details are free-form (rare: only failed forwarded requests), so they travel as bounded
// JSON text; details the sender cannot write within the bound are left out, never the reply.
import { assert } from '../../base/assert.ts';
import { utf8Decode } from '../../base/bytes.ts';
import { EverwriteError } from '../../base/errors.ts';
import type {
  ForwardedOperation,
  LivenessMessage,
  LivenessUpdate,
  Message,
  PropsEntry,
  UserEntry,
  UserRole,
  WireError,
} from '../messages.ts';
import { decodeTreeExchange, treeExchangeSize, writeTreeExchange } from './tree-exchange-codec.ts';
import { catchUpSize, decodeCatchUp, writeCatchUp } from './catch-up-codec.ts';
import { utf8ByteLength, varintSize, writeUtf8, writeVarint } from '../../versioning/wire.ts';
import { plainWireBytes, type WireBytes } from './wire-bytes.ts';
import { decodeViewMessage, viewMessageCode, viewMessageSize, writeViewMessage } from './view-message-codec.ts';
import {
  decodeHandoffMessage,
  handoffMessageCode,
  handoffMessageSize,
  writeHandoffMessage,
} from './handoff-message-codec.ts';
import {
  decodeKeyListMessage,
  keyListFlag,
  keyListMessageCode,
  keyListMessageSize,
  writeKeyListMessage,
} from './key-list-codec.ts';

const frameMarker = 0xc1;

const replicaPutCode = 1;
const replicaPutAckCode = 2;
const replicaGetCode = 3;
const replicaGetReplyCode = 4;
const forwardCode = 5;
const forwardReplyCode = 6;
const reapCode = 7;
const propsCode = 8;
const propsDigestCode = 9;
/** Users (decision 0025), entries and digests under one code: the codes between 9 and 11 ran out. Shared with key listing, which sets keyListFlag (key-list-codec.ts). */
const usersCode = 10;

/** A digest longer than this is malformed whatever its bytes (the core uses 64 slots). */
const propsDigestSlotsMax = 4096;
/** The last code, far from the others, so message types added meanwhile elsewhere do not collide with it. */
const livenessCode = 15;
const livenessStates = ['up', 'suspect', 'down'] as const;
/** An update takes at least a text length, an incarnation and a state byte. */
const livenessUpdateBytesMin = 3;
/** Below the view's and liveness's (14, 15), far from the request path's codes, which grow from the bottom. */
const treeExchangeCode = 13;
/** Below the codes taken from the top (13-15, and 12 for ownership handoff), above the request path's, which grow from the bottom. */
const catchUpCode = 11;

const firstFlag = 0x10;
const secondFlag = 0x20;
const thirdFlag = 0x40;
const fourthFlag = 0x80;
const typeMask = 0x0f;

/** Flags each type may carry; any other flag bit makes the frame malformed. */
const allowedFlags = [
  0,
  firstFlag | secondFlag,
  firstFlag,
  0,
  firstFlag | secondFlag,
  firstFlag,
  0xf0,
  0,
  0,
  firstFlag,
  firstFlag | secondFlag,
] as const;

/** Bits of a forward's field mask: presence of each optional field, and the optional booleans' values. */
const forwardFields = {
  value: 1,
  contentType: 2,
  deleted: 4,
  deletedTrue: 8,
  lastModifiedMs: 16,
  context: 32,
  supersedeLocal: 64,
  supersedeLocalTrue: 128,
  r: 256,
  w: 512,
  timeoutMs: 1024,
} as const;
const forwardFieldsAll = 2047;

const resolverLwwBit = 1;
const durabilityBufferedBit = 2;
const deletedBit = 4;

const numberBytes = 8;
const numberScratch = new DataView(new ArrayBuffer(numberBytes));

/** The bytes of a number written by writeNumber, in order (little-endian whatever the platform). */
const numberScratchBytes = new Uint8Array(numberScratch.buffer);

/**
 * ASCII texts this short are decoded by hand; longer ones by WireBytes.asciiSlice (in a node,
 * Buffer's latin1 decoder, which measured about twice as fast as a TextDecoder call).
 */
const asciiByHandBytesMax = 16;

/** Longest JSON text of a forwarded error's details; a node's own (quorum counts) take about 100 bytes. */
export const errorDetailsBytesMax = 4096;
/** Deepest nesting of those details (the object itself is 1); a node's own are flat, and code that walks them (logs, comparisons) may recurse. */
export const errorDetailsDepthMax = 16;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type MessageOf<Type extends Message['type']> = Extract<Message, { type: Type }>;

// ---------------------------------------------------------------------------------------------
// Encoding: one pass computes the exact size, a second writes into one WireBytes.allocate of it
// (in a node, Buffer.allocUnsafe: small frames come from Node's pool, no malloc per frame).

/** Details written as JSON by the size pass, in message order, for the write pass; undefined where left out (errors are rare). */
const detailsTexts: Array<string | undefined> = [];
let detailsTaken = 0;

/** One frame holding `messages`; `wire` says where its memory comes from (the plain default zeroes it). */
export function encodeMessages(
  messages: readonly Message[],
  wire: WireBytes = plainWireBytes,
  /** How many of `messages`, from the first, the frame carries (a reused list's backing array holds more slots). */
  count = messages.length,
): Uint8Array {
  assert(
    Number.isSafeInteger(count) && count >= 0 && count <= messages.length,
    'a frame carries at most the messages given',
  );
  if (detailsTexts.length !== 0) detailsTexts.length = 0;
  detailsTaken = 0;
  let size = 1 + varintSize(count);
  for (let index = 0; index < count; index++) size += messageSize(messages[index] as Message);
  const frame = wire.allocate(size);
  frame[0] = frameMarker;
  let offset = writeVarint(frame, 1, count);
  for (let index = 0; index < count; index++) offset = writeMessage(frame, offset, messages[index] as Message);
  if (detailsTexts.length !== 0) detailsTexts.length = 0;
  if (offset !== size) assert(false, `message frame: wrote ${offset} bytes, sized ${size}`);
  return frame;
}

function integerSize(value: number): number {
  assert(Number.isSafeInteger(value) && value >= 0, 'message ids and partitions are non-negative safe integers');
  return varintSize(value);
}

function bytesSize(bytes: Uint8Array): number {
  return varintSize(bytes.length) + bytes.length;
}

/** A text's size as writeText writes it (UTF-8; a lone surrogate becomes U+FFFD, 3 bytes). */
function textSize(text: string): number {
  const length = utf8ByteLength(text);
  return varintSize(length) + length;
}

function messageSize(message: Message): number {
  switch (message.type) {
    case 'replicaPut':
      return (
        1 +
        integerSize(message.id) +
        integerSize(message.partition) +
        bytesSize(message.storageKey) +
        bytesSize(message.record) +
        (message.hintFor === undefined ? 0 : textSize(message.hintFor))
      );
    case 'replicaPutAck':
      return 1 + integerSize(message.id);
    case 'replicaGet':
      return 1 + integerSize(message.id) + integerSize(message.partition) + bytesSize(message.storageKey);
    case 'replicaGetReply':
      return 1 + integerSize(message.id) + (message.record === undefined ? 0 : bytesSize(message.record));
    case 'forward':
      return 1 + integerSize(message.id) + operationSize(message.operation);
    case 'forwardReply':
      return forwardReplySize(message);
    case 'reap':
      return 1 + integerSize(message.partition) + bytesSize(message.storageKey) + bytesSize(message.record);
    case 'props':
      return propsSize(message.entries);
    case 'propsDigest':
    case 'usersDigest':
      return propsDigestSize(message.slots);
    case 'users':
      return usersSize(message.entries);
    case 'liveness':
      return livenessSize(message);
    case 'viewDigest':
    case 'viewPull':
    case 'viewFull':
      return viewMessageSize(message);
    case 'treeExchange':
      return 1 + treeExchangeSize(message);
    case 'handoffBatch':
    case 'handoffAck':
    case 'handoffDone':
      return handoffMessageSize(message);
    case 'catchUp':
      return 1 + catchUpSize(message);
    case 'keyListRequest':
    case 'keyListReply':
      return keyListMessageSize(message);
    default:
      return assertUnknownType(message);
  }
}

function assertUnknownType(message: never): never {
  assert(false, `cannot encode a message of type ${String((message as { type?: unknown }).type)}`);
}

function operationSize(operation: ForwardedOperation): number {
  assert(operation.kind === 'get' || operation.kind === 'put', 'a forwarded operation is a get or a put');
  let size = varintSize(forwardFieldMask(operation)) + textSize(operation.bucket) + textSize(operation.key);
  if (operation.value !== undefined) size += bytesSize(operation.value);
  if (operation.contentType !== undefined) size += textSize(operation.contentType);
  if (operation.lastModifiedMs !== undefined) size += numberBytes;
  if (operation.context !== undefined) size += textSize(operation.context);
  if (operation.r !== undefined) size += numberBytes;
  if (operation.w !== undefined) size += numberBytes;
  if (operation.timeoutMs !== undefined) size += numberBytes;
  return size;
}

function forwardFieldMask(operation: ForwardedOperation): number {
  let mask = 0;
  if (operation.value !== undefined) mask |= forwardFields.value;
  if (operation.contentType !== undefined) mask |= forwardFields.contentType;
  if (operation.deleted !== undefined)
    mask |= operation.deleted ? forwardFields.deleted | forwardFields.deletedTrue : forwardFields.deleted;
  if (operation.lastModifiedMs !== undefined) mask |= forwardFields.lastModifiedMs;
  if (operation.context !== undefined) mask |= forwardFields.context;
  if (operation.supersedeLocal !== undefined)
    mask |= operation.supersedeLocal
      ? forwardFields.supersedeLocal | forwardFields.supersedeLocalTrue
      : forwardFields.supersedeLocal;
  if (operation.r !== undefined) mask |= forwardFields.r;
  if (operation.w !== undefined) mask |= forwardFields.w;
  if (operation.timeoutMs !== undefined) mask |= forwardFields.timeoutMs;
  return mask;
}

function forwardReplySize(message: MessageOf<'forwardReply'>): number {
  let size = 1 + integerSize(message.id);
  if (message.record !== undefined) size += bytesSize(message.record);
  if (message.context !== undefined) size += textSize(message.context);
  const error = message.error;
  if (error !== undefined) {
    size += textSize(error.code) + textSize(error.message);
    if (error.details !== undefined) {
      const text = detailsText(error.details);
      detailsTexts.push(text);
      if (text !== undefined) size += textSize(text);
    }
  }
  return size;
}

/** The details as JSON text of an object within errorDetailsBytesMax, or undefined when they cannot be (then the reply goes without them). */
function detailsText(details: Readonly<Record<string, unknown>>): string | undefined {
  let text: string | undefined;
  try {
    text = JSON.stringify(details);
  } catch {
    return undefined;
  }
  if (
    text === undefined ||
    text.charCodeAt(0) !== 0x7b ||
    utf8ByteLength(text) > errorDetailsBytesMax ||
    jsonDepth(text) > errorDetailsDepthMax
  )
    return undefined;
  return text;
}

/** How deeply `text` (JSON) nests objects and arrays, found without parsing it. */
function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (inString) {
      if (code === 0x5c) index++;
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) {
      inString = true;
    } else if (code === 0x7b || code === 0x5b) {
      deepest = Math.max(deepest, ++depth);
    } else if (code === 0x7d || code === 0x5d) {
      depth--;
    }
  }
  return deepest;
}

function propsSize(entries: readonly PropsEntry[]): number {
  let size = 1 + varintSize(entries.length);
  for (const entry of entries) {
    const props = entry.props;
    assert(props.resolver === 'siblings' || props.resolver === 'lww', 'a resolver is siblings or lww');
    assert(props.durability === 'durable' || props.durability === 'buffered', 'a durability is durable or buffered');
    size += textSize(entry.bucket) + numberBytes + textSize(entry.origin) + 3 * numberBytes + 1;
  }
  return size;
}

function propsDigestSize(slots: readonly number[]): number {
  assert(slots.length <= propsDigestSlotsMax, 'a props digest has at most propsDigestSlotsMax slots');
  let size = 1 + varintSize(slots.length);
  for (const hash of slots) {
    assert(Number.isInteger(hash) && hash >= 0 && hash <= 0xffffffff, 'a props digest slot is a 32-bit hash');
    size += varintSize(hash);
  }
  return size;
}

function writeMessage(frame: Uint8Array, offset: number, message: Message): number {
  switch (message.type) {
    case 'replicaPut': {
      const flags = (message.durable ? firstFlag : 0) | (message.hintFor === undefined ? 0 : secondFlag);
      frame[offset] = replicaPutCode | flags;
      offset = writeVarint(frame, offset + 1, message.id);
      offset = writeVarint(frame, offset, message.partition);
      offset = writeBytes(frame, offset, message.storageKey);
      offset = writeBytes(frame, offset, message.record);
      return message.hintFor === undefined ? offset : writeText(frame, offset, message.hintFor);
    }
    case 'replicaPutAck':
      frame[offset] = replicaPutAckCode | (message.ok ? firstFlag : 0);
      return writeVarint(frame, offset + 1, message.id);
    case 'replicaGet':
      frame[offset] = replicaGetCode;
      offset = writeVarint(frame, offset + 1, message.id);
      offset = writeVarint(frame, offset, message.partition);
      return writeBytes(frame, offset, message.storageKey);
    case 'replicaGetReply':
      frame[offset] =
        replicaGetReplyCode | (message.ok ? firstFlag : 0) | (message.record === undefined ? 0 : secondFlag);
      offset = writeVarint(frame, offset + 1, message.id);
      return message.record === undefined ? offset : writeBytes(frame, offset, message.record);
    case 'forward':
      frame[offset] = forwardCode | (message.operation.kind === 'put' ? firstFlag : 0);
      return writeOperation(frame, writeVarint(frame, offset + 1, message.id), message.operation);
    case 'forwardReply':
      return writeForwardReply(frame, offset, message);
    case 'reap':
      frame[offset] = reapCode;
      offset = writeVarint(frame, offset + 1, message.partition);
      offset = writeBytes(frame, offset, message.storageKey);
      return writeBytes(frame, offset, message.record);
    case 'props':
      return writeProps(frame, offset, message.entries);
    case 'propsDigest':
      frame[offset] = propsDigestCode | (message.reply ? firstFlag : 0);
      return writeDigestSlots(frame, offset + 1, message.slots);
    case 'usersDigest':
      frame[offset] = usersCode | firstFlag | (message.reply ? secondFlag : 0);
      return writeDigestSlots(frame, offset + 1, message.slots);
    case 'users':
      return writeUsers(frame, offset, message.entries);
    case 'liveness':
      return writeLiveness(frame, offset, message);
    case 'viewDigest':
    case 'viewPull':
    case 'viewFull':
      return writeViewMessage(frame, offset, message);
    case 'treeExchange':
      frame[offset] = treeExchangeCode;
      return writeTreeExchange(frame, offset + 1, message);
    case 'handoffBatch':
    case 'handoffAck':
    case 'handoffDone':
      return writeHandoffMessage(frame, offset, message);
    case 'catchUp':
      frame[offset] = catchUpCode;
      return writeCatchUp(frame, offset + 1, message);
    case 'keyListRequest':
    case 'keyListReply':
      return writeKeyListMessage(frame, offset, message);
    default:
      return assertUnknownType(message);
  }
}

function livenessUpdateSize(update: LivenessUpdate): number {
  assert(livenessStates.includes(update.state), 'a liveness state is up, suspect or down');
  return textSize(update.member) + integerSize(update.incarnation) + 1;
}

function livenessSize(message: LivenessMessage): number {
  let size = 1 + integerSize(message.id) + integerSize(message.incarnation) + varintSize(message.updates.length);
  if (message.target !== undefined) size += livenessUpdateSize(message.target);
  for (const update of message.updates) size += livenessUpdateSize(update);
  return size;
}

function writeLivenessUpdate(frame: Uint8Array, offset: number, update: LivenessUpdate): number {
  offset = writeText(frame, offset, update.member);
  offset = writeVarint(frame, offset, update.incarnation);
  frame[offset] = livenessStates.indexOf(update.state);
  return offset + 1;
}

function writeLiveness(frame: Uint8Array, offset: number, message: LivenessMessage): number {
  const kindFlag = message.kind === 'ack' ? firstFlag : message.kind === 'pingReq' ? secondFlag : 0;
  frame[offset] = livenessCode | kindFlag | (message.target === undefined ? 0 : thirdFlag);
  offset = writeVarint(frame, offset + 1, message.id);
  offset = writeVarint(frame, offset, message.incarnation);
  if (message.target !== undefined) offset = writeLivenessUpdate(frame, offset, message.target);
  offset = writeVarint(frame, offset, message.updates.length);
  for (const update of message.updates) offset = writeLivenessUpdate(frame, offset, update);
  return offset;
}

/** TypedArray.set even for a 20-byte key: a byte loop measured twice as slow. */
function writeBytes(frame: Uint8Array, offset: number, bytes: Uint8Array): number {
  offset = writeVarint(frame, offset, bytes.length);
  frame.set(bytes, offset);
  return offset + bytes.length;
}

function writeText(frame: Uint8Array, offset: number, text: string): number {
  return writeUtf8(frame, writeVarint(frame, offset, utf8ByteLength(text)), text);
}

/** A float64, little-endian. */
function writeNumber(frame: Uint8Array, offset: number, value: number): number {
  numberScratch.setFloat64(0, value, true);
  for (let index = 0; index < numberBytes; index++) frame[offset + index] = numberScratchBytes[index] as number;
  return offset + numberBytes;
}

function writeOperation(frame: Uint8Array, offset: number, operation: ForwardedOperation): number {
  offset = writeVarint(frame, offset, forwardFieldMask(operation));
  offset = writeText(frame, offset, operation.bucket);
  offset = writeText(frame, offset, operation.key);
  if (operation.value !== undefined) offset = writeBytes(frame, offset, operation.value);
  if (operation.contentType !== undefined) offset = writeText(frame, offset, operation.contentType);
  if (operation.lastModifiedMs !== undefined) offset = writeNumber(frame, offset, operation.lastModifiedMs);
  if (operation.context !== undefined) offset = writeText(frame, offset, operation.context);
  if (operation.r !== undefined) offset = writeNumber(frame, offset, operation.r);
  if (operation.w !== undefined) offset = writeNumber(frame, offset, operation.w);
  if (operation.timeoutMs !== undefined) offset = writeNumber(frame, offset, operation.timeoutMs);
  return offset;
}

function writeForwardReply(frame: Uint8Array, offset: number, message: MessageOf<'forwardReply'>): number {
  const error = message.error;
  const details = error?.details === undefined ? undefined : detailsTexts[detailsTaken++];
  let flags = message.record === undefined ? 0 : firstFlag;
  if (message.context !== undefined) flags |= secondFlag;
  if (error !== undefined) flags |= details === undefined ? thirdFlag : thirdFlag | fourthFlag;
  frame[offset] = forwardReplyCode | flags;
  offset = writeVarint(frame, offset + 1, message.id);
  if (message.record !== undefined) offset = writeBytes(frame, offset, message.record);
  if (message.context !== undefined) offset = writeText(frame, offset, message.context);
  if (error === undefined) return offset;
  offset = writeText(frame, offset, error.code);
  offset = writeText(frame, offset, error.message);
  return details === undefined ? offset : writeText(frame, offset, details);
}

function writeDigestSlots(frame: Uint8Array, offset: number, slots: readonly number[]): number {
  offset = writeVarint(frame, offset, slots.length);
  for (const hash of slots) offset = writeVarint(frame, offset, hash);
  return offset;
}

const userDeletedBit = 1;
const userRoleBits: Readonly<Record<UserRole, number>> = { read: 2, write: 4, admin: 8 };
const userBitsAll = 15;

function userBits(entry: UserEntry): number {
  let bits = entry.deleted === true ? userDeletedBit : 0;
  for (const role of entry.roles) bits |= userRoleBits[role];
  return bits;
}

function usersSize(entries: readonly UserEntry[]): number {
  let size = 1 + varintSize(entries.length);
  for (const entry of entries) {
    assert(
      entry.roles.every((role) => role in userRoleBits),
      'a user role is read, write or admin',
    );
    size +=
      textSize(entry.name) +
      numberBytes +
      textSize(entry.origin) +
      1 +
      textSize(entry.bucket) +
      textSize(entry.passwordHash) +
      textSize(entry.tokenHash);
  }
  return size;
}

function writeUsers(frame: Uint8Array, offset: number, entries: readonly UserEntry[]): number {
  frame[offset] = usersCode;
  offset = writeVarint(frame, offset + 1, entries.length);
  for (const entry of entries) {
    offset = writeText(frame, offset, entry.name);
    offset = writeNumber(frame, offset, entry.version);
    offset = writeText(frame, offset, entry.origin);
    frame[offset++] = userBits(entry);
    offset = writeText(frame, offset, entry.bucket);
    offset = writeText(frame, offset, entry.passwordHash);
    offset = writeText(frame, offset, entry.tokenHash);
  }
  return offset;
}

function writeProps(frame: Uint8Array, offset: number, entries: readonly PropsEntry[]): number {
  frame[offset] = propsCode;
  offset = writeVarint(frame, offset + 1, entries.length);
  for (const entry of entries) {
    const props = entry.props;
    offset = writeText(frame, offset, entry.bucket);
    offset = writeNumber(frame, offset, entry.version);
    offset = writeText(frame, offset, entry.origin);
    offset = writeNumber(frame, offset, props.n);
    offset = writeNumber(frame, offset, props.r);
    offset = writeNumber(frame, offset, props.w);
    frame[offset++] =
      (props.resolver === 'lww' ? resolverLwwBit : 0) |
      (props.durability === 'buffered' ? durabilityBufferedBit : 0) |
      (entry.deleted === true ? deletedBit : 0);
  }
  return offset;
}

// ---------------------------------------------------------------------------------------------
// Decoding

/** Reads one frame front to back; every step is bounded, every violation is EVERWRITE_BAD_FRAME. */
export class FrameCursor {
  position = 0;
  readonly bytes: Uint8Array;
  readonly end: number;
  private readonly wire: WireBytes;

  constructor(bytes: Uint8Array, wire: WireBytes) {
    this.bytes = bytes;
    this.end = bytes.length;
    this.wire = wire;
  }

  fail(reason: string): never {
    throw new EverwriteError('EVERWRITE_BAD_FRAME', `message frame is malformed: ${reason}`, { offset: this.position });
  }

  byte(): number {
    if (this.position >= this.end) this.fail('truncated');
    return this.bytes[this.position++] as number;
  }

  /** A canonical varint holding a non-negative safe integer; one byte is the fast path. */
  integer(): number {
    const position = this.position;
    if (position >= this.end) this.fail('truncated');
    const first = this.bytes[position] as number;
    if (first < 128) {
      this.position = position + 1;
      return first;
    }
    return this.longInteger();
  }

  /** Up to 28 bits with integer operations, the rest (ids are past 2^32) by multiplication. */
  private longInteger(): number {
    const bytes = this.bytes;
    let position = this.position;
    let value = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (position >= this.end) this.fail('truncated');
      const byte = bytes[position++] as number;
      value |= (byte & 127) << shift;
      if (byte < 128) {
        if (byte === 0) this.fail('overlong varint');
        this.position = position;
        return value;
      }
    }
    let scale = 2 ** 28;
    for (let length = 5; length <= 8; length++) {
      if (position >= this.end) this.fail('truncated');
      const byte = bytes[position++] as number;
      value += (byte & 127) * scale;
      if (byte < 128) {
        if (byte === 0) this.fail('overlong varint');
        if (value > Number.MAX_SAFE_INTEGER) this.fail('integer beyond 2^53');
        this.position = position;
        return value;
      }
      scale *= 128;
    }
    return this.fail('varint longer than 8 bytes');
  }

  /** A count whose items take at least `bytesEachMin` each, so it cannot exceed what is left. */
  count(bytesEachMin: number): number {
    const count = this.integer();
    if (count * bytesEachMin > this.end - this.position) this.fail('count exceeds the bytes present');
    return count;
  }

  /** A length-prefixed byte field, as a view of the frame (no copy). */
  view(): Uint8Array {
    const length = this.integer();
    const start = this.position;
    if (length > this.end - start) this.fail('byte field runs past the frame');
    this.position = start + length;
    const bytes = this.bytes;
    return new Uint8Array(bytes.buffer, bytes.byteOffset + start, length);
  }

  /** Length-prefixed, well-formed UTF-8. */
  text(): string {
    const length = this.integer();
    const start = this.position;
    if (length > this.end - start) this.fail('text runs past the frame');
    const end = start + length;
    this.position = end;
    const bytes = this.bytes;
    if (length <= asciiByHandBytesMax) {
      let text = '';
      for (let index = start; index < end; index++) {
        const byte = bytes[index] as number;
        if (byte > 127) return this.decodeUtf8(bytes.subarray(start, end));
        text += String.fromCharCode(byte);
      }
      return text;
    }
    for (let index = start; index < end; index++)
      if ((bytes[index] as number) > 127) return this.decodeUtf8(bytes.subarray(start, end));
    return this.wire.asciiSlice(bytes, start, end);
  }

  /** As text(), refused before anything is decoded when longer than `bytesMax` bytes. */
  boundedText(bytesMax: number, what: string): string {
    const start = this.position;
    const length = this.integer();
    if (length > bytesMax) this.fail(`${what} of ${length} bytes; the limit is ${bytesMax}`);
    this.position = start;
    return this.text();
  }

  private decodeUtf8(bytes: Uint8Array): string {
    let text: string;
    try {
      text = utf8Decode(bytes);
    } catch {
      return this.fail('invalid UTF-8');
    }
    // The shared decoder drops a leading byte order mark; a string may really start with one.
    return bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? `\uFEFF${text}` : text;
  }

  number(): number {
    const position = this.position;
    if (numberBytes > this.end - position) this.fail('truncated');
    const bytes = this.bytes;
    for (let index = 0; index < numberBytes; index++) numberScratch.setUint8(index, bytes[position + index] as number);
    this.position = position + numberBytes;
    return numberScratch.getFloat64(0, true);
  }
}

/** The frame's messages, or EVERWRITE_BAD_FRAME; `wire` decodes long ASCII texts (both ports give the same strings). */
export function decodeMessages(frame: Uint8Array, wire: WireBytes = plainWireBytes): Message[] {
  if (!(frame instanceof Uint8Array)) throw new EverwriteError('EVERWRITE_BAD_FRAME', 'a message frame is bytes');
  try {
    return decodeFrame(new FrameCursor(frame, wire));
  } catch (error) {
    if (error instanceof EverwriteError && error.code === 'EVERWRITE_BAD_FRAME') throw error;
    // Nothing above should throw anything else; if it does, the frame is still just dropped.
    throw new EverwriteError('EVERWRITE_BAD_FRAME', `message frame could not be decoded: ${String(error)}`);
  }
}

/** Every message takes at least two bytes (a tag and one more). */
const messageBytesMin = 2;

function decodeFrame(cursor: FrameCursor): Message[] {
  if (cursor.byte() !== frameMarker) cursor.fail('not a message frame (first byte)');
  const count = cursor.count(messageBytesMin);
  // Sized once: an empty array's first push reserves 17 slots, most frames carry one or two messages.
  const messages = new Array<Message>(count);
  for (let index = 0; index < count; index++) messages[index] = decodeMessage(cursor);
  if (cursor.position !== cursor.end) cursor.fail('trailing bytes');
  return messages;
}

function decodeMessage(cursor: FrameCursor): Message {
  const tag = cursor.byte();
  const code = tag & typeMask;
  const flags = tag & ~typeMask;
  if (code === livenessCode) return decodeLiveness(cursor, flags);
  if (code === viewMessageCode) return decodeViewMessage(cursor, flags);
  if (code === handoffMessageCode) return decodeHandoffMessage(cursor, flags);
  if (code === treeExchangeCode)
    return flags === 0 ? decodeTreeExchange(cursor) : cursor.fail(`flags ${flags} not allowed on message type ${code}`);
  if (code === catchUpCode)
    return flags === 0 ? decodeCatchUp(cursor) : cursor.fail(`flags ${flags} not allowed on message type ${code}`);
  // Type 10 is shared: with keyListFlag a key listing message (decision 0030), without it users (decision 0025).
  if (code === keyListMessageCode && (flags & keyListFlag) !== 0)
    return decodeKeyListMessage(cursor, flags & ~keyListFlag);
  const allowed = allowedFlags[code];
  if (allowed === undefined || code === 0) return cursor.fail(`unknown message type ${code}`);
  if ((flags & ~allowed) !== 0) cursor.fail(`flags ${flags} not allowed on message type ${code}`);
  switch (code) {
    case replicaPutCode:
      return decodeReplicaPut(cursor, flags);
    case replicaPutAckCode:
      return { type: 'replicaPutAck', id: cursor.integer(), ok: (flags & firstFlag) !== 0 };
    case replicaGetCode: {
      const id = cursor.integer();
      const partition = cursor.integer();
      return { type: 'replicaGet', id, partition, storageKey: cursor.view() };
    }
    case replicaGetReplyCode: {
      const id = cursor.integer();
      const ok = (flags & firstFlag) !== 0;
      return (flags & secondFlag) === 0
        ? { type: 'replicaGetReply', id, ok }
        : { type: 'replicaGetReply', id, ok, record: cursor.view() };
    }
    case forwardCode: {
      const id = cursor.integer();
      return { type: 'forward', id, operation: decodeOperation(cursor, (flags & firstFlag) === 0 ? 'get' : 'put') };
    }
    case forwardReplyCode:
      return decodeForwardReply(cursor, flags);
    case reapCode: {
      const partition = cursor.integer();
      const storageKey = cursor.view();
      return { type: 'reap', partition, storageKey, record: cursor.view() };
    }
    case propsCode:
      return { type: 'props', entries: decodeProps(cursor) };
    case usersCode:
      if ((flags & firstFlag) === 0)
        return (flags & secondFlag) === 0
          ? { type: 'users', entries: decodeUsers(cursor) }
          : cursor.fail('reply flag on users entries');
      return { type: 'usersDigest', slots: decodePropsDigest(cursor), reply: (flags & secondFlag) !== 0 };
    default:
      return { type: 'propsDigest', slots: decodePropsDigest(cursor), reply: (flags & firstFlag) !== 0 };
  }
}

function decodeReplicaPut(cursor: FrameCursor, flags: number): MessageOf<'replicaPut'> {
  const id = cursor.integer();
  const partition = cursor.integer();
  const storageKey = cursor.view();
  const record = cursor.view();
  const durable = (flags & firstFlag) !== 0;
  if ((flags & secondFlag) === 0) return { type: 'replicaPut', id, partition, storageKey, record, durable };
  return { type: 'replicaPut', id, partition, storageKey, record, durable, hintFor: cursor.text() };
}

function decodeOperation(cursor: FrameCursor, kind: ForwardedOperation['kind']): ForwardedOperation {
  const mask = cursor.integer();
  if (mask > forwardFieldsAll) cursor.fail('unknown forwarded operation fields');
  if ((mask & forwardFields.deletedTrue) !== 0 && (mask & forwardFields.deleted) === 0)
    cursor.fail('deleted value without deleted');
  if ((mask & forwardFields.supersedeLocalTrue) !== 0 && (mask & forwardFields.supersedeLocal) === 0)
    cursor.fail('supersedeLocal value without supersedeLocal');
  const bucket = cursor.text();
  const key = cursor.text();
  const operation: Mutable<ForwardedOperation> = { kind, bucket, key };
  if ((mask & forwardFields.value) !== 0) operation.value = cursor.view();
  if ((mask & forwardFields.contentType) !== 0) operation.contentType = cursor.text();
  if ((mask & forwardFields.deleted) !== 0) operation.deleted = (mask & forwardFields.deletedTrue) !== 0;
  if ((mask & forwardFields.lastModifiedMs) !== 0) operation.lastModifiedMs = cursor.number();
  if ((mask & forwardFields.context) !== 0) operation.context = cursor.text();
  if ((mask & forwardFields.supersedeLocal) !== 0)
    operation.supersedeLocal = (mask & forwardFields.supersedeLocalTrue) !== 0;
  if ((mask & forwardFields.r) !== 0) operation.r = cursor.number();
  if ((mask & forwardFields.w) !== 0) operation.w = cursor.number();
  if ((mask & forwardFields.timeoutMs) !== 0) operation.timeoutMs = cursor.number();
  return operation;
}

function decodeForwardReply(cursor: FrameCursor, flags: number): MessageOf<'forwardReply'> {
  if ((flags & fourthFlag) !== 0 && (flags & thirdFlag) === 0) cursor.fail('error details without an error');
  const message: Mutable<MessageOf<'forwardReply'>> = { type: 'forwardReply', id: cursor.integer() };
  if ((flags & firstFlag) !== 0) message.record = cursor.view();
  if ((flags & secondFlag) !== 0) message.context = cursor.text();
  if ((flags & thirdFlag) === 0) return message;
  const code = cursor.text();
  const text = cursor.text();
  const error: WireError =
    (flags & fourthFlag) === 0 ? { code, message: text } : { code, message: text, details: decodeDetails(cursor) };
  message.error = error;
  return message;
}

/**
 * JSON text of an object, at most errorDetailsBytesMax bytes, exactly as JSON.stringify writes it
 * (so what is accepted re-encodes to the same bytes: no 1e400 turning into null, no duplicate keys).
 * Parsing is bounded by the text, and JSON.parse makes `__proto__` an own key, never a prototype.
 */
function decodeDetails(cursor: FrameCursor): Readonly<Record<string, unknown>> {
  const text = cursor.boundedText(errorDetailsBytesMax, 'error details');
  if (jsonDepth(text) > errorDetailsDepthMax) cursor.fail(`error details nested deeper than ${errorDetailsDepthMax}`);
  let details: unknown;
  let canonical: string | undefined;
  try {
    details = JSON.parse(text);
    canonical = JSON.stringify(details);
  } catch {
    return cursor.fail('error details are not JSON');
  }
  if (typeof details !== 'object' || details === null || Array.isArray(details))
    cursor.fail('error details are not a JSON object');
  if (canonical !== text) cursor.fail('error details are not JSON as a node writes it');
  return details as Readonly<Record<string, unknown>>;
}

function isQuorumNumber(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 1;
}

/** An entry takes at least 2 text lengths, 4 numbers and the flags byte. */
const propsEntryBytesMin = 2 + 4 * numberBytes + 1;

function decodeProps(cursor: FrameCursor): PropsEntry[] {
  const count = cursor.count(propsEntryBytesMin);
  const entries: PropsEntry[] = [];
  for (let index = 0; index < count; index++) {
    const bucket = cursor.text();
    const version = cursor.number();
    const origin = cursor.text();
    const n = cursor.number();
    const r = cursor.number();
    const w = cursor.number();
    const bits = cursor.byte();
    if ((bits & ~(resolverLwwBit | durabilityBufferedBit | deletedBit)) !== 0) cursor.fail('unknown bucket props bits');
    // The core merges entries as they come and orders them by version: a NaN n or an infinite
    // version would be kept (and gossiped) for good, so only numbers a node could have set pass.
    // A deletion marker carries the defaults, which pass too.
    if (!(Number.isSafeInteger(version) && version >= 0))
      cursor.fail('bucket props version is not a non-negative integer');
    if (!isQuorumNumber(n) || !isQuorumNumber(r) || !isQuorumNumber(w))
      cursor.fail('bucket props n, r, w are not positive integers');
    const resolver = (bits & resolverLwwBit) === 0 ? 'siblings' : 'lww';
    const durability = (bits & durabilityBufferedBit) === 0 ? 'durable' : 'buffered';
    const props = { n, r, w, resolver, durability } as const;
    entries.push(
      (bits & deletedBit) === 0
        ? { bucket, props, version, origin }
        : { bucket, props, version, origin, deleted: true },
    );
  }
  return entries;
}

/** An entry takes at least 5 text lengths, a number and the bits byte. */
const userEntryBytesMin = 5 + numberBytes + 1;

function decodeUsers(cursor: FrameCursor): UserEntry[] {
  const count = cursor.count(userEntryBytesMin);
  const entries: UserEntry[] = [];
  for (let index = 0; index < count; index++) {
    const name = cursor.text();
    const version = cursor.number();
    const origin = cursor.text();
    const bits = cursor.byte();
    if ((bits & ~userBitsAll) !== 0) cursor.fail('unknown user bits');
    if (!(Number.isSafeInteger(version) && version >= 0)) cursor.fail('user version is not a non-negative integer');
    const roles = (Object.keys(userRoleBits) as UserRole[]).filter((role) => (bits & userRoleBits[role]) !== 0);
    const bucket = cursor.text();
    const passwordHash = cursor.text();
    const tokenHash = cursor.text();
    const entry: UserEntry = { name, roles, bucket, passwordHash, tokenHash, version, origin };
    entries.push((bits & userDeletedBit) === 0 ? entry : { ...entry, deleted: true });
  }
  return entries;
}

function decodePropsDigest(cursor: FrameCursor): number[] {
  const count = cursor.count(1);
  if (count > propsDigestSlotsMax) cursor.fail(`props digest of ${count} slots; the limit is ${propsDigestSlotsMax}`);
  const slots: number[] = [];
  for (let index = 0; index < count; index++) {
    const hash = cursor.integer();
    if (hash > 0xffffffff) cursor.fail('props digest slot beyond 32 bits');
    slots.push(hash);
  }
  return slots;
}

function decodeLivenessUpdate(cursor: FrameCursor): LivenessUpdate {
  const member = cursor.text();
  const incarnation = cursor.integer();
  const state = livenessStates[cursor.byte()];
  if (state === undefined) cursor.fail('unknown liveness state');
  return { member, incarnation, state };
}

/** Well-formed bytes only: whether the sender, target and updates are members is the core's check (it drops, with a log line). */
function decodeLiveness(cursor: FrameCursor, flags: number): LivenessMessage {
  if ((flags & ~(firstFlag | secondFlag | thirdFlag)) !== 0)
    cursor.fail(`flags ${flags} not allowed on message type ${livenessCode}`);
  if ((flags & firstFlag) !== 0 && (flags & secondFlag) !== 0) cursor.fail('a liveness message is one kind');
  const kind = (flags & firstFlag) !== 0 ? 'ack' : (flags & secondFlag) !== 0 ? 'pingReq' : 'ping';
  const id = cursor.integer();
  const incarnation = cursor.integer();
  const target = (flags & thirdFlag) === 0 ? undefined : decodeLivenessUpdate(cursor);
  const count = cursor.count(livenessUpdateBytesMin);
  const updates: LivenessUpdate[] = [];
  for (let index = 0; index < count; index++) updates.push(decodeLivenessUpdate(cursor));
  return target === undefined
    ? { type: 'liveness', kind, id, incarnation, updates }
    : { type: 'liveness', kind, id, incarnation, target, updates };
}
