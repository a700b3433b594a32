// Why: context tokens and stored records share one small binary vocabulary: LEB128 varints for
// safe integers and length-prefixed UTF-8. Both decoders face untrusted or corrupted bytes, so the
// reader bounds every step and reports damage as one coded error, never as a crash. Encodings are
// canonical (no overlong varints) so equal values always have equal bytes (Merkle leaves hash them).
// Both run on every replicated write, so text is measured and written without a temporary byte
// array, and the short names every record repeats (actors, content types) decode without
// allocating a new string each time.

import { EverwriteError, type ErrorCode } from '../base/errors.ts';
import { utf8Decode, utf8Encode } from '../base/bytes.ts';

/** Bytes a varint of `value` occupies (1 per 7 bits); comparisons only, no division. */
export function varintSize(value: number): number {
  if (value < 2 ** 7) return 1;
  if (value < 2 ** 14) return 2;
  if (value < 2 ** 21) return 3;
  if (value < 2 ** 28) return 4;
  if (value < 2 ** 35) return 5;
  if (value < 2 ** 42) return 6;
  if (value < 2 ** 49) return 7;
  return 8;
}

const twoTo32 = 2 ** 32;

/**
 * Writes `value` (a non-negative safe integer) at `offset`; returns the offset after it. Values
 * past 31 bits (timestamps in ms) are split into two 32-bit halves so every step stays a cheap
 * integer operation instead of floating-point division.
 */
export function writeVarint(buffer: Uint8Array, offset: number, value: number): number {
  if (value < 2 ** 31) {
    while (value > 127) {
      buffer[offset++] = (value & 127) | 128;
      value >>>= 7;
    }
    buffer[offset++] = value;
    return offset;
  }
  let low = value >>> 0;
  const high = (value - low) / twoTo32;
  // value >= 2^31 needs at least five bytes: the first four carry 28 bits of the low half.
  for (let group = 0; group < 4; group++) {
    buffer[offset++] = (low & 127) | 128;
    low >>>= 7;
  }
  let rest = (high << 4) | low;
  while (rest > 127) {
    buffer[offset++] = (rest & 127) | 128;
    rest >>>= 7;
  }
  buffer[offset++] = rest;
  return offset;
}

/** A string's UTF-8 form: the string itself when it is ASCII (one byte per char), else its bytes. */
export type Utf8Text = string | Uint8Array;

export function toUtf8Text(text: string): Utf8Text {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 127) return utf8Encode(text);
  return text;
}

export function writeUtf8Text(buffer: Uint8Array, offset: number, text: Utf8Text): number {
  if (typeof text !== 'string') {
    buffer.set(text, offset);
    return offset + text.length;
  }
  for (let i = 0; i < text.length; i++) buffer[offset++] = text.charCodeAt(i);
  return offset;
}

/** Bytes of `text` in UTF-8 exactly as TextEncoder writes it (a lone surrogate becomes U+FFFD, 3 bytes). */
export function utf8ByteLength(text: string): number {
  let length = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) {
      length += 1;
    } else if (isSurrogatePair(text, i, code)) {
      // Two UTF-16 units, four bytes.
      length += 2;
      i++;
    } else {
      length += 2;
    }
  }
  return length;
}

function isSurrogatePair(text: string, index: number, code: number): boolean {
  if (code < 0xd800 || code > 0xdbff || index + 1 >= text.length) return false;
  const next = text.charCodeAt(index + 1);
  return next >= 0xdc00 && next <= 0xdfff;
}

/**
 * Writes `text` as UTF-8 at `offset` (the bytes TextEncoder would give, utf8ByteLength of them);
 * returns the offset after it. Unlike toUtf8Text it never builds a temporary array, ASCII or not.
 */
export function writeUtf8(buffer: Uint8Array, offset: number, text: string): number {
  for (let i = 0; i < text.length; i++) {
    let code = text.charCodeAt(i);
    if (code < 0x80) {
      buffer[offset++] = code;
      continue;
    }
    if (code < 0x800) {
      buffer[offset++] = 0xc0 | (code >> 6);
      buffer[offset++] = 0x80 | (code & 63);
      continue;
    }
    if (isSurrogatePair(text, i, code)) {
      const point = 0x10000 + ((code - 0xd800) << 10) + (text.charCodeAt(++i) - 0xdc00);
      buffer[offset++] = 0xf0 | (point >> 18);
      buffer[offset++] = 0x80 | ((point >> 12) & 63);
      buffer[offset++] = 0x80 | ((point >> 6) & 63);
      buffer[offset++] = 0x80 | (point & 63);
      continue;
    }
    if (code >= 0xd800 && code <= 0xdfff) code = 0xfffd;
    buffer[offset++] = 0xe0 | (code >> 12);
    buffer[offset++] = 0x80 | ((code >> 6) & 63);
    buffer[offset++] = 0x80 | (code & 63);
  }
  return offset;
}

/** Strings this short are decoded by hand when ASCII: cheaper than a TextDecoder call. */
const asciiFastPathBytesMax = 64;

/**
 * The short ASCII strings decoded last, by a hash of their bytes (two-way set-associative, so
 * bounded: at most 256 strings of at most 64 chars). Records repeat the same few actor names and content
 * types; a string found here is returned as is instead of being built again. A hit is checked
 * char by char, so a collision only costs the build it would have cost anyway.
 */
const recentTextSlots = 256;
const recentTexts: string[] = new Array<string>(recentTextSlots).fill('');

/** The ASCII string of bytes[start, end), or undefined when a byte is not ASCII. */
function recentAsciiText(bytes: Uint8Array, start: number, end: number): string | undefined {
  // A tombstone's content type: not worth a slot.
  if (start === end) return '';
  let hash = 0x811c9dc5;
  for (let i = start; i < end; i++) {
    const byte = bytes[i] as number;
    if (byte > 127) return undefined;
    hash = Math.imul(hash ^ byte, 0x01000193);
  }
  const slot = (hash ^ (hash >>> 16)) & (recentTextSlots - 1);
  const known = recentTexts[slot] as string;
  if (known.length === end - start && sameAscii(known, bytes, start)) return known;
  // Two ways per set (slots 2k and 2k+1): a node's actor name is `id.epoch` with a drawn epoch, so
  // in one run in a few hundred it lands on the content type's slot, and a direct-mapped table then
  // rebuilt both strings on every record (~1.2 KB per replicated SET, bench/alloc-per-set.ts).
  const partner = slot ^ 1;
  const other = recentTexts[partner] as string;
  if (other.length === end - start && sameAscii(other, bytes, start)) return other;
  let text = '';
  for (let i = start; i < end; i++) text += String.fromCharCode(bytes[i] as number);
  recentTexts[partner] = known;
  recentTexts[slot] = text;
  return text;
}

function sameAscii(text: string, bytes: Uint8Array, start: number): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) !== bytes[start + i]) return false;
  return true;
}

/** Reads untrusted bytes front to back; any violation throws EverwriteError(`code`). */
export class ByteReader {
  private position = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly code: ErrorCode,
    private readonly subject: string,
  ) {}

  fail(reason: string): never {
    throw new EverwriteError(this.code, `${this.subject} is malformed: ${reason}`, { offset: this.position });
  }

  byte(): number {
    const value = this.bytes[this.position];
    if (value === undefined) this.fail('truncated');
    this.position++;
    return value;
  }

  /** A canonical varint holding a safe integer (at most 8 bytes, no redundant high zero byte). */
  varint(): number {
    let value = 0;
    let scale = 1;
    for (let length = 1; length <= 8; length++) {
      const byte = this.byte();
      value += (byte & 127) * scale;
      if (byte < 128) {
        if (byte === 0 && length > 1) this.fail('overlong varint');
        if (value > Number.MAX_SAFE_INTEGER) this.fail('integer beyond 2^53');
        return value;
      }
      scale *= 128;
    }
    return this.fail('varint longer than 8 bytes');
  }

  /** A varint that also fits within the bytes left, each counted item taking `bytesEachMin`. */
  count(bytesEachMin: number): number {
    const count = this.varint();
    if (count * bytesEachMin > this.bytes.length - this.position) this.fail('count exceeds the bytes present');
    return count;
  }

  /** A copy of the next `length` bytes, so the result never pins the input buffer. */
  /** The next `length` bytes as a view of the input (no copy): it keeps the input alive. */
  view(length: number): Uint8Array {
    if (length > this.bytes.length - this.position) this.fail('truncated');
    const start = this.position;
    this.position += length;
    return this.bytes.subarray(start, start + length);
  }

  copy(length: number): Uint8Array {
    if (length > this.bytes.length - this.position) this.fail('truncated');
    const start = this.position;
    this.position += length;
    return this.bytes.slice(start, start + length);
  }

  /** A varint length then that many bytes of well-formed UTF-8, at most `bytesMax` of them. */
  string(bytesMax: number): string {
    const length = this.varint();
    if (length > bytesMax) this.fail('string too long');
    const start = this.position;
    const end = start + length;
    if (end > this.bytes.length) this.fail('truncated');
    this.position = end;
    const text = length > asciiFastPathBytesMax ? undefined : recentAsciiText(this.bytes, start, end);
    return text ?? this.decodeUtf8(this.bytes.subarray(start, end));
  }

  private decodeUtf8(bytes: Uint8Array): string {
    try {
      // The shared decoder strips one leading byte order mark; a name may really start with one.
      const text = utf8Decode(bytes);
      return bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? `\uFEFF${text}` : text;
    } catch {
      return this.fail('invalid UTF-8');
    }
  }

  end(): void {
    if (this.position !== this.bytes.length) this.fail('trailing bytes');
  }
}
