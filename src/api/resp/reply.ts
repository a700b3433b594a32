// Why: every answer goes through one encoder, so the wire shapes of RESP2 and RESP3 are written in
// one place and a command handler only says what it answers (a value, a map, an error), never how
// it is framed. The same reply value encodes per connection protocol: a null is `$-1` in RESP2 and
// `_` in RESP3, a map is a flat array in RESP2 and `%` in RESP3. Encoding is two passes (measure,
// then write into one buffer) so each reply is one allocation whatever its shape. The replies of
// nearly every command (OK, nil, a small count, one value) take a shorter road: a shared,
// precomputed buffer for the constant ones, and a bulk string written byte by byte into one pooled
// allocation, since the encoder runs once per command on a CPU-bound event loop.
import { assert } from '../../core/base/assert.ts';

export type ProtocolVersion = 2 | 3;

/** A status reply (`+OK`). Plain JS strings are bulk strings. */
export class SimpleString {
  constructor(readonly text: string) {}
}

/** An error reply; `text` starts with its prefix ("ERR ...", "TRYAGAIN ..."). */
export class ErrorReply {
  constructor(readonly text: string) {}
}

/** RESP3 map `%`; a flat [key, value, ...] array in RESP2. */
export class MapReply {
  constructor(readonly entries: ReadonlyArray<readonly [Reply, Reply]>) {}
}

/** RESP3 set `~`; an array in RESP2. */
export class SetReply {
  constructor(readonly items: readonly Reply[]) {}
}

/** RESP3 verbatim string `=` (INFO's text); a bulk string in RESP2. */
export class VerbatimReply {
  constructor(readonly text: string) {}
}

/**
 * What a command answers. `string` and `Uint8Array` are bulk strings (text is UTF-8), `number` an
 * integer, `bigint` a 64-bit integer beyond the safe range of `number` (INCR's counters), `null` the null (bulk) reply, an array an array.
 */
export type Reply =
  | null
  | number
  | bigint
  | string
  | Uint8Array
  | SimpleString
  | ErrorReply
  | MapReply
  | SetReply
  | VerbatimReply
  | readonly Reply[];

const crlfBytes = 2;

/** Removes what would break the framing of a one-line reply. */
function oneLine(text: string): string {
  return /[\r\n]/.test(text) ? text.replace(/[\r\n]+/g, ' ') : text;
}

function decimalLength(value: number): number {
  if (value >= 0 && value < 100_000)
    return value < 10 ? 1 : value < 100 ? 2 : value < 1000 ? 3 : value < 10_000 ? 4 : 5;
  return String(value).length;
}

function headerLength(count: number): number {
  return 1 + decimalLength(count) + crlfBytes;
}

function aggregateLength(items: readonly Reply[], protocol: ProtocolVersion): number {
  let total = headerLength(items.length);
  for (const item of items) total += encodedLength(item, protocol);
  return total;
}

/** Bytes `reply` takes on the wire under `protocol`. */
export function encodedLength(reply: Reply, protocol: ProtocolVersion): number {
  if (reply === null) return protocol === 3 ? 3 : 5;
  if (typeof reply === 'number') {
    assert(Number.isSafeInteger(reply), `resp integer reply must be a safe integer, got ${reply}`);
    return 1 + decimalLength(reply) + crlfBytes;
  }
  if (typeof reply === 'bigint') return 1 + String(reply).length + crlfBytes;
  if (typeof reply === 'string') {
    const bytes = Buffer.byteLength(reply);
    return headerLength(bytes) + bytes + crlfBytes;
  }
  if (reply instanceof Uint8Array) return headerLength(reply.byteLength) + reply.byteLength + crlfBytes;
  if (reply instanceof SimpleString || reply instanceof ErrorReply)
    return 1 + Buffer.byteLength(oneLine(reply.text)) + crlfBytes;
  if (reply instanceof MapReply) {
    let total = headerLength(protocol === 3 ? reply.entries.length : reply.entries.length * 2);
    for (const [key, value] of reply.entries) total += encodedLength(key, protocol) + encodedLength(value, protocol);
    return total;
  }
  if (reply instanceof SetReply) return aggregateLength(reply.items, protocol);
  if (reply instanceof VerbatimReply) {
    const bytes = Buffer.byteLength(reply.text) + (protocol === 3 ? 4 : 0);
    return headerLength(bytes) + bytes + crlfBytes;
  }
  return aggregateLength(reply, protocol);
}

/** Writes a non-negative integer's decimal digits at `offset`; returns the offset after them. */
function writeDigits(target: Buffer, offset: number, value: number): number {
  const end = offset + decimalLength(value);
  let rest = value;
  for (let position = end - 1; position >= offset; position -= 1) {
    target[position] = 48 + (rest % 10);
    rest = Math.floor(rest / 10);
  }
  return end;
}

function writeHeader(target: Buffer, offset: number, marker: string, count: number): number {
  target[offset] = marker.charCodeAt(0);
  const end = writeDigits(target, offset + 1, count);
  target[end] = 13;
  target[end + 1] = 10;
  return end + crlfBytes;
}

function writeBulk(target: Buffer, offset: number, marker: string, prefix: string, text: string | Uint8Array): number {
  const bytes = typeof text === 'string' ? Buffer.byteLength(text) : text.byteLength;
  let position = writeHeader(target, offset, marker, prefix.length + bytes);
  if (prefix !== '') position += target.write(prefix, position, 'latin1');
  if (typeof text === 'string') position += target.write(text, position, 'utf8');
  else {
    target.set(text, position);
    position += bytes;
  }
  target[position] = 13;
  target[position + 1] = 10;
  return position + crlfBytes;
}

function writeItems(
  target: Buffer,
  offset: number,
  marker: string,
  items: readonly Reply[],
  protocol: ProtocolVersion,
): number {
  let position = writeHeader(target, offset, marker, items.length);
  for (const item of items) position = writeReply(target, position, item, protocol);
  return position;
}

/** Writes `reply` at `offset`; returns the offset after it. `target` must have encodedLength bytes free. */
export function writeReply(target: Buffer, offset: number, reply: Reply, protocol: ProtocolVersion): number {
  if (reply === null) return offset + target.write(protocol === 3 ? '_\r\n' : '$-1\r\n', offset, 'latin1');
  if (typeof reply === 'number' || typeof reply === 'bigint')
    return offset + target.write(`:${reply}\r\n`, offset, 'latin1');
  if (typeof reply === 'string' || reply instanceof Uint8Array) return writeBulk(target, offset, '$', '', reply);
  if (reply instanceof SimpleString) return offset + target.write(`+${oneLine(reply.text)}\r\n`, offset, 'utf8');
  if (reply instanceof ErrorReply) return offset + target.write(`-${oneLine(reply.text)}\r\n`, offset, 'utf8');
  if (reply instanceof MapReply) {
    let position = writeHeader(
      target,
      offset,
      protocol === 3 ? '%' : '*',
      protocol === 3 ? reply.entries.length : reply.entries.length * 2,
    );
    for (const [key, value] of reply.entries) {
      position = writeReply(target, position, key, protocol);
      position = writeReply(target, position, value, protocol);
    }
    return position;
  }
  if (reply instanceof SetReply) return writeItems(target, offset, protocol === 3 ? '~' : '*', reply.items, protocol);
  if (reply instanceof VerbatimReply)
    return protocol === 3
      ? writeBulk(target, offset, '=', 'txt:', reply.text)
      : writeBulk(target, offset, '$', '', reply.text);
  return writeItems(target, offset, '*', reply, protocol);
}

export const okReply = new SimpleString('OK');
export const pongReply = new SimpleString('PONG');

/** Precomputed wire bytes, shared by every connection: nothing may write into them. */
const okBytes = Buffer.from('+OK\r\n', 'latin1');
const nullBytes2 = Buffer.from('$-1\r\n', 'latin1');
const nullBytes3 = Buffer.from('_\r\n', 'latin1');
/** Integer replies 0 .. smallIntegersCount - 1 (DEL and EXISTS counts, CLIENT ID, ...). */
const smallIntegersCount = 256;
const smallIntegerBytes: readonly Buffer[] = Array.from({ length: smallIntegersCount }, (_, value) =>
  Buffer.from(`:${value}\r\n`, 'latin1'),
);

/** A bulk string reply from bytes: one (pooled, for small ones) allocation, no intermediate string. */
function encodeBulkBytes(value: Uint8Array): Buffer {
  const bytes = value.byteLength;
  const target = Buffer.allocUnsafe(headerLength(bytes) + bytes + crlfBytes);
  const start = writeHeader(target, 0, '$', bytes);
  target.set(value, start);
  target[start + bytes] = 13;
  target[start + bytes + 1] = 10;
  return target;
}

/** The reply as one buffer, ready for the socket. The buffer may be shared: do not modify it. */
export function encodeReply(reply: Reply, protocol: ProtocolVersion): Buffer {
  if (reply === okReply) return okBytes;
  if (reply === null) return protocol === 3 ? nullBytes3 : nullBytes2;
  if (reply instanceof Uint8Array) return encodeBulkBytes(reply);
  if (typeof reply === 'number' && reply >= 0 && reply < smallIntegersCount && Number.isInteger(reply))
    return smallIntegerBytes[reply] as Buffer;
  const target = Buffer.allocUnsafe(encodedLength(reply, protocol));
  const end = writeReply(target, 0, reply, protocol);
  assert(end === target.length, `resp encoder wrote ${end} bytes, measured ${target.length}`);
  return target;
}
