// Why: every node must place a key at the same point of the ring, so placement is defined once here:
// MD5 of utf8(bucket + "/" + key), read big-endian from its first bytes. Positions on the ring are
// the top 52 bits of the digest held in a plain number: a double holds every integer below 2^53
// exactly, so positions sort, subtract and sum without rounding (range sizes add up to exactly
// 2^52), with no BigInt on the hot path. 52 bits still make token collisions negligible (about
// 1e-4 for a million tokens) and are far finer than any range. The partition of a key among Q = 2^k
// equal partitions is the top k bits, i.e. the same answer whichever representation is used.
import type { DigestFunction } from '../base/hash.ts';
import { utf8Encode } from '../base/bytes.ts';
import { assert } from '../base/assert.ts';

/** Bits of a ring position (see the file comment for why 52). */
export const ringPositionBits = 52;
/** Number of distinct ring positions, 2^52; positions are integers in [0, ringSize). */
export const ringSize = 2 ** ringPositionBits;

/** A point of the ring: an integer in [0, 2^52), the top 52 bits of a key's digest. */
export type RingPosition = number;

/** Scratch for ASCII keys: a bucket (<= 255 bytes), "/", and a key (<= 1 KiB) fit with room to spare. */
const asciiScratch = new Uint8Array(2048);
const slash = 0x2f;

/** Writes `text` at `offset` if it is all ASCII and fits; returns the end offset, or -1. */
function writeAscii(text: string, offset: number): number {
  if (offset + text.length > asciiScratch.length) return -1;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code > 0x7f) return -1;
    asciiScratch[offset + index] = code;
  }
  return offset + text.length;
}

/**
 * The placement digest of a key: MD5 (or the injected digest) of utf8(bucket + "/" + key).
 * ASCII names (the common case) skip TextEncoder and its allocation, which halves the cost for
 * short keys; the digest then reads a view of a reused buffer, so it must not keep its input
 * (DigestFunction is pure). Note "a/b" + "c" and "a" + "b/c" share a placement, which is harmless:
 * placement only spreads keys, storage keys stay distinct. With `out`, the digest may be written
 * there (DigestFunction): a caller that reads it at once allocates nothing.
 */
export function keyHash(digest: DigestFunction, bucket: string, key: string, out?: Uint8Array): Uint8Array {
  const bucketEnd = writeAscii(bucket, 0);
  if (bucketEnd >= 0 && bucketEnd < asciiScratch.length) {
    asciiScratch[bucketEnd] = slash;
    const end = writeAscii(key, bucketEnd + 1);
    if (end >= 0) return digest((asciiViews[end] ??= asciiScratch.subarray(0, end)), out);
  }
  return digest(utf8Encode(`${bucket}/${key}`), out);
}

/** Views of the ASCII scratch, one per length, made once each: keyHash places every request. */
const asciiViews: Array<Uint8Array | undefined> = [];

/** The top 32 bits of a digest as an unsigned integer. */
export function top32Bits(hash: Uint8Array): number {
  assert(hash.length >= 8, 'a ring hash needs at least 8 bytes');
  return ((hash[0]! << 24) | (hash[1]! << 16) | (hash[2]! << 8) | hash[3]!) >>> 0;
}

/** The ring position of a digest: its top 52 bits as an exact integer. */
export function ringPosition(hash: Uint8Array): RingPosition {
  const low20Bits = (hash[4]! << 12) | (hash[5]! << 4) | (hash[6]! >>> 4);
  return top32Bits(hash) * 2 ** 20 + low20Bits;
}

/** log2 of a partition count that is a power of two. */
export function partitionBits(partitionCount: number): number {
  return 31 - Math.clz32(partitionCount);
}

export function isPowerOfTwo(value: number): boolean {
  return Number.isInteger(value) && value >= 1 && value <= 2 ** 30 && (value & (value - 1)) === 0;
}

/** The index, among `partitionCount` = 2^k equal partitions, holding a ring position: its top k bits. */
export function partitionOfPosition(position: RingPosition, partitionCount: number): number {
  return Math.floor(position / (ringSize / partitionCount));
}
