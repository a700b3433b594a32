// Why: ring placement hashes every bucket/key with MD5, as the paper does (docs/ARCHITECTURE.md section 3), and
// the pure core may not import node:crypto. This is RFC 1321 tuned for short keys: the block loop
// reads words straight from the input, padding goes through one reused scratch buffer, and the only
// allocation per call is the 16-byte result. A property test checks it against node:crypto.
// MD5 is used for placement only (uniform spread), never for integrity or security.

/** The 64 additive constants of RFC 1321: floor(abs(sin(i + 1)) * 2^32), as signed 32-bit words. */
const additiveConstants = Int32Array.from([
  0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501, 0x698098d8,
  0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340,
  0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87,
  0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
  0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039,
  0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92,
  0xffeff47d, 0x85845dd1, 0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
  0xeb86d391,
]);

/** Left-rotation amounts, four per round (each round repeats its four amounts four times). */
const rotations = Int32Array.from([7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21]);

const blockBytes = 64;
/** Scratch space reused by every call; safe because md5() is synchronous and never re-entered. */
const words = new Int32Array(16);
const state = new Int32Array(4);
const paddingBlocks = new Uint8Array(blockBytes * 2);

function rotateLeft(value: number, amount: number): number {
  return (value << amount) | (value >>> (32 - amount));
}

function loadWords(source: Uint8Array, offset: number): void {
  for (let index = 0; index < 16; index++) {
    const at = offset + index * 4;
    words[index] = source[at]! | (source[at + 1]! << 8) | (source[at + 2]! << 16) | (source[at + 3]! << 24);
  }
}

/** Mixes one 64-byte block into `state`: the four rounds of 16 operations each. */
function compressBlock(source: Uint8Array, offset: number): void {
  loadWords(source, offset);
  let a = state[0]!;
  let b = state[1]!;
  let c = state[2]!;
  let d = state[3]!;
  // Four loops, one per round, so each loop body has one mixing function and no branches.
  for (let step = 0; step < 16; step++) {
    const sum = (a + ((b & c) | (~b & d)) + additiveConstants[step]! + words[step]!) | 0;
    a = d;
    d = c;
    c = b;
    b = (b + rotateLeft(sum, rotations[step & 3]!)) | 0;
  }
  for (let step = 16; step < 32; step++) {
    const sum = (a + ((b & d) | (c & ~d)) + additiveConstants[step]! + words[(5 * step + 1) & 15]!) | 0;
    a = d;
    d = c;
    c = b;
    b = (b + rotateLeft(sum, rotations[4 | (step & 3)]!)) | 0;
  }
  for (let step = 32; step < 48; step++) {
    const sum = (a + (b ^ c ^ d) + additiveConstants[step]! + words[(3 * step + 5) & 15]!) | 0;
    a = d;
    d = c;
    c = b;
    b = (b + rotateLeft(sum, rotations[8 | (step & 3)]!)) | 0;
  }
  for (let step = 48; step < 64; step++) {
    const sum = (a + (c ^ (b | ~d)) + additiveConstants[step]! + words[(7 * step) & 15]!) | 0;
    a = d;
    d = c;
    c = b;
    b = (b + rotateLeft(sum, rotations[12 | (step & 3)]!)) | 0;
  }
  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
}

/** Appends the 0x80 marker, zeros and the 64-bit little-endian bit length; compresses the last block(s). */
function compressTail(bytes: Uint8Array, tailStart: number): void {
  const tailLength = bytes.length - tailStart;
  const paddedLength = tailLength < blockBytes - 8 ? blockBytes : blockBytes * 2;
  // A copy loop rather than set(subarray()), which would allocate a view per call.
  for (let index = 0; index < tailLength; index++) paddingBlocks[index] = bytes[tailStart + index]!;
  paddingBlocks[tailLength] = 0x80;
  paddingBlocks.fill(0, tailLength + 1, paddedLength - 8);
  const bitLengthLow = (bytes.length << 3) >>> 0;
  const bitLengthHigh = Math.floor(bytes.length / 2 ** 29) >>> 0;
  for (let index = 0; index < 4; index++) {
    paddingBlocks[paddedLength - 8 + index] = (bitLengthLow >>> (index * 8)) & 0xff;
    paddingBlocks[paddedLength - 4 + index] = (bitLengthHigh >>> (index * 8)) & 0xff;
  }
  compressBlock(paddingBlocks, 0);
  if (paddedLength > blockBytes) compressBlock(paddingBlocks, blockBytes);
}

/** The 16-byte MD5 digest of `bytes` (RFC 1321), written into `out` when given (16 bytes). */
export function md5(bytes: Uint8Array, out?: Uint8Array): Uint8Array {
  state[0] = 0x67452301;
  state[1] = 0xefcdab89 | 0;
  state[2] = 0x98badcfe | 0;
  state[3] = 0x10325476;
  const fullBlocksEnd = bytes.length - (bytes.length % blockBytes);
  for (let offset = 0; offset < fullBlocksEnd; offset += blockBytes) compressBlock(bytes, offset);
  compressTail(bytes, fullBlocksEnd);
  if (out !== undefined && out.length !== 16) throw new RangeError('md5 writes into 16 bytes');
  const digest = out ?? new Uint8Array(16);
  for (let index = 0; index < 16; index++) digest[index] = (state[index >> 2]! >>> ((index & 3) * 8)) & 0xff;
  return digest;
}
