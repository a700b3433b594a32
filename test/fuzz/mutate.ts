// Why: random bytes rarely get past a decoder's first check, and valid encodings never reach its
// error paths. Fuzz inputs here are mostly valid encodings put through a few structure-blind edits
// (bit flips, truncations, splices, duplicated ranges) and "length-prefix inflation": an integer
// the decoder will read as a length or a count (2^31, 2^32, 2^53 ...) written over the bytes in
// every width the project's layouts use. The rest is raw bytes, so no assumption of the generator
// hides a path. Strings and JSON get their own hazard lists (JavaScript's, not the layout's).
import fc from 'fast-check';

/** Lengths and counts a hostile peer would pick: at the edges of every integer width and of 2^53. */
export const hazardIntegers: readonly number[] = [
  0,
  1,
  2,
  127,
  128,
  255,
  256,
  0x7fff,
  0xffff,
  0x10000,
  2 ** 24,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32 - 1,
  2 ** 32,
  2 ** 32 + 1,
  2 ** 48,
  Number.MAX_SAFE_INTEGER,
  2 ** 53,
  2 ** 53 + 2,
  2 ** 63,
  2 ** 64,
];

/** LEB128 of `value`, also past 2^53 (exact for the powers above), with `padding` redundant high bytes. */
export function leb128(value: number, padding = 0): Uint8Array {
  const out: number[] = [];
  let rest = BigInt(Math.floor(value));
  do {
    const low = Number(rest & 127n);
    rest >>= 7n;
    out.push(rest > 0n || padding > 0 ? low | 128 : low);
  } while (rest > 0n);
  for (let index = 0; index < padding; index++) out.push(index === padding - 1 ? 0 : 128);
  return Uint8Array.from(out);
}

/** Every encoding of an integer a layout of this project may read: LEB128 (canonical, overlong), u8, u16, u32, u64 in both byte orders, float64 LE. */
function integerEncodings(value: number): Uint8Array[] {
  const u16 = Buffer.alloc(2);
  const u32 = Buffer.alloc(4);
  const u64 = Buffer.alloc(8);
  const float = Buffer.alloc(8);
  const clamped16 = Math.min(value, 0xffff);
  const clamped32 = Math.min(value, 0xffff_ffff);
  const big = BigInt.asUintN(64, BigInt(Math.floor(Math.min(value, 2 ** 64 - 1))));
  const encodings: Uint8Array[] = [leb128(value), leb128(value, 1), Uint8Array.of(value & 255)];
  u16.writeUInt16BE(clamped16);
  encodings.push(Uint8Array.from(u16));
  u16.writeUInt16LE(clamped16);
  encodings.push(Uint8Array.from(u16));
  u32.writeUInt32BE(clamped32);
  encodings.push(Uint8Array.from(u32));
  u32.writeUInt32LE(clamped32);
  encodings.push(Uint8Array.from(u32));
  u64.writeBigUInt64BE(big);
  encodings.push(Uint8Array.from(u64));
  float.writeDoubleLE(value);
  encodings.push(Uint8Array.from(float));
  return encodings;
}

/** Float64 LE of the IEEE values JavaScript mishandles most easily. */
const hazardFloats = [
  Number.NaN,
  -0,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  0.5,
  -1,
  2 ** 53 + 2,
  Number.MIN_VALUE,
].map((value) => {
  const bytes = Buffer.alloc(8);
  bytes.writeDoubleLE(value);
  return Uint8Array.from(bytes);
});

export const hazardEncodings: readonly Uint8Array[] = [
  ...hazardIntegers.flatMap(integerEncodings),
  ...hazardFloats,
  Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f),
];

type Mutation =
  | { readonly kind: 'flip'; readonly at: number; readonly bit: number }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'delete'; readonly at: number; readonly length: number }
  | { readonly kind: 'insert'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: 'overwrite'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: 'duplicate'; readonly at: number; readonly length: number };

const insertedBytes = fc.oneof(fc.constantFrom(...hazardEncodings), fc.uint8Array({ minLength: 1, maxLength: 16 }));

const mutationArbitrary: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('delete' as const),
      at: fc.nat(),
      length: fc.integer({ min: 1, max: 16 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: insertedBytes }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('overwrite' as const), at: fc.nat(), bytes: insertedBytes }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('duplicate' as const),
      at: fc.nat(),
      length: fc.integer({ min: 1, max: 32 }),
    }),
  },
);

function applyMutation(input: Uint8Array, mutation: Mutation): Uint8Array {
  const at = input.length === 0 ? 0 : mutation.at % (input.length + 1);
  switch (mutation.kind) {
    case 'flip': {
      if (input.length === 0) return input;
      const out = input.slice();
      out[at % input.length] = (out[at % input.length] as number) ^ (1 << mutation.bit);
      return out;
    }
    case 'truncate':
      return input.slice(0, at);
    case 'delete':
      return Buffer.concat([input.subarray(0, at), input.subarray(at + mutation.length)]);
    case 'insert':
      return Buffer.concat([input.subarray(0, at), mutation.bytes, input.subarray(at)]);
    case 'overwrite': {
      const out = Buffer.from(input);
      Buffer.from(mutation.bytes).copy(out, at, 0, Math.max(0, Math.min(mutation.bytes.length, out.length - at)));
      return Buffer.from(out.length > 0 ? out : mutation.bytes);
    }
    case 'duplicate':
      return Buffer.concat([input.subarray(0, at + mutation.length), input.subarray(at)]);
  }
}

/** Applies `mutations` in order; the result is a fresh Buffer that shares nothing with `input`. */
export function mutate(input: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let out = input;
  for (const mutation of mutations) out = applyMutation(out, mutation);
  return Buffer.from(out);
}

/**
 * Bytes for a binary decoder: valid encodings as they are (the round trip), valid encodings
 * mutated (1..4 edits), two valid encodings spliced, and raw bytes.
 */
export function mutatedBytes(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { weight: 2, arbitrary: valid },
    {
      weight: 6,
      arbitrary: fc
        .tuple(valid, fc.array(mutationArbitrary, { minLength: 1, maxLength: 4 }))
        .map(([bytes, mutations]) => mutate(bytes, mutations)),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(valid, valid, fc.nat(), fc.nat())
        .map(([a, b, cutA, cutB]) =>
          Buffer.concat([a.subarray(0, cutA % (a.length + 1)), b.subarray(cutB % (b.length + 1))]),
        ),
    },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  );
}

/** Text pieces that break naive JavaScript handling of strings and names. */
export const hazardTexts: readonly string[] = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '\uD800',
  '\uDFFF',
  'a\uD800b',
  '\uDC00\uD800',
  '\uFEFF',
  '\u0000',
  '\r\n',
  '%',
  '%zz',
  '%ED%A0%80',
  '%C0%80',
  '%00',
  '%2F',
  '..',
  '/',
  '?',
  '#',
  '&',
  '=',
  '-0',
  'NaN',
  '1e400',
  '9007199254740993',
  ' ',
  'é',
  '😀',
];

/** Strings: hazards spliced into valid text, any UTF-16 (lone surrogates included), and long runs. */
export function mutatedText(valid: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const hazard = fc.constantFrom(...hazardTexts);
  return fc.oneof(
    { weight: 2, arbitrary: valid },
    {
      weight: 5,
      arbitrary: fc
        .tuple(
          valid,
          fc.array(fc.tuple(fc.nat(), fc.nat(3), fc.oneof(hazard, fc.string({ unit: 'binary', maxLength: 4 }))), {
            minLength: 1,
            maxLength: 3,
          }),
        )
        .map(([text, edits]) => {
          let out = text;
          for (const [at, mode, piece] of edits) {
            const position = at % (out.length + 1);
            if (mode === 0) out = out.slice(0, position);
            else if (mode === 1) out = out.slice(0, position) + piece + out.slice(position + 1);
            else out = out.slice(0, position) + piece + out.slice(position);
          }
          return out;
        }),
    },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 64 }) },
    { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom('\uD800', '\uDC00', 'a', '%', '0'), maxLength: 64 }) },
  );
}

/** JSON text that is hard on parsers and on the code after them. */
export const hazardJsonTexts: readonly string[] = [
  '{"__proto__":{"n":1}}',
  '{"constructor":{"prototype":{"n":1}}}',
  '{"n":1,"n":2}',
  '{"n":-0}',
  '{"n":1e400}',
  '{"n":9007199254740993}',
  '{"n":1.5}',
  '{"n":"3"}',
  '{"n":null}',
  '[]',
  'null',
  '"x"',
  '0',
  '{"n":{"valueOf":1}}',
  '{"\\ud800":1}',
  '"\\udc00"',
  `${'['.repeat(10_000)}${']'.repeat(10_000)}`,
  `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`,
  `{"n":${'9'.repeat(400)}}`,
];

/** JSON texts: fc's JSON values, hazards, and both put through text edits (mostly invalid). */
export function mutatedJson(valid: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return mutatedText(fc.oneof(valid, fc.json({ maxDepth: 3 }), fc.constantFrom(...hazardJsonTexts)));
}

/** Cuts `bytes` into chunks at the given cut points (a socket delivers a stream in any pieces). */
export function chunked(bytes: Uint8Array, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    if (point > start) chunks.push(Buffer.from(bytes.subarray(start, point)));
    start = Math.max(start, point);
  }
  return chunks;
}

/** Hex of at most `bytesMax` bytes, for crash reports. */
export function hexPreview(bytes: Uint8Array, bytesMax = 256): string {
  const hex = Buffer.from(bytes.subarray(0, bytesMax)).toString('hex');
  return bytes.length > bytesMax ? `${hex}... (${bytes.length} bytes)` : hex;
}
