// Why: client context tokens (src/core/versioning/context.ts) arrive in every write's header, and
// stored records (record-codec.ts) arrive from peers in replicaPut frames and from disk. Tokens may
// only be refused with EVERWRITE_BAD_CONTEXT, records with EVERWRITE_BAD_RECORD. A record layout is
// canonical, so any version-2 record that decodes must re-encode to exactly its input bytes.
import fc from 'fast-check';
import {
  base64UrlEncode,
  decodeContext,
  decodeOwnedRecord,
  decodeRecord,
  encodeContext,
  encodeRecord,
  type VersionVector,
} from '../../../src/core/versioning/index.ts';
import { HmacContextSeal } from '../../../src/io/context-seal.ts';
import { anyRecord, anyVersionVector } from '../../property/core/versioning/arbitraries.ts';
import { type FuzzTarget, refusedWith, violation } from '../harness.ts';
import { hexPreview, leb128, mutatedBytes, mutatedText } from '../mutate.ts';
import { sameValue } from './compare.ts';

/** How a context token is made and read: the core token now; the sealed (HMAC) token at the runtime seam takes the same shape. */
export interface ContextTokenCodec {
  readonly name: string;
  readonly subject: string;
  encode(vector: VersionVector): string;
  /** Decodes or throws the documented refusal. */
  decode(token: string): VersionVector;
}

/** The core token: base64url of version byte, count, entries. */
export const coreContextCodec: ContextTokenCodec = {
  name: 'context',
  subject: 'client context tokens (decodeContext)',
  encode: encodeContext,
  decode: (token) => decodeContext(token),
};

const seal = new HmacContextSeal(new Uint8Array(32).fill(5));

/** The token a client holds: the core token sealed (src/io/context-seal.ts), opened at the runtime seam, then decoded by the core. */
export const sealedContextCodec: ContextTokenCodec = {
  name: 'context-sealed',
  subject: 'sealed client context tokens (HmacContextSeal.open, then decodeContext)',
  encode: (vector) => seal.seal(encodeContext(vector)),
  decode: (token) => decodeContext(seal.open(token)),
};

interface TokenInput {
  readonly token: string;
  /** The vector the token was made from, when it is valid. */
  readonly vector: VersionVector | undefined;
}

/** Token bytes (before base64url) of a version-1 token with `count` entries and `body`. */
function tokenOf(count: number, ...body: Uint8Array[]): string {
  return base64UrlEncode(Buffer.concat([Uint8Array.of(1), leb128(count), ...body]));
}

const entry = (name: string, counter: number) =>
  Buffer.concat([leb128(Buffer.byteLength(name)), Buffer.from(name), leb128(counter)]);

/**
 * A fuzz target for a context token codec: the core token, and the sealed one clients hold (an
 * HMAC around the core token, opened at the runtime seam). Mutations of the sealed text reach the
 * seal check; those of the core token's bytes reach the core decoder.
 */
export function contextTokenTarget(codec: ContextTokenCodec): FuzzTarget<TokenInput> {
  const validBytes = anyVersionVector.map((vector) => Buffer.from(codec.encode(vector), 'base64url'));
  return {
    name: codec.name,
    subject: codec.subject,
    arbitrary: fc.oneof(
      anyVersionVector.map((vector) => ({ token: codec.encode(vector), vector })),
      mutatedBytes(validBytes).map((bytes) => ({ token: base64UrlEncode(bytes), vector: undefined })),
      mutatedText(anyVersionVector.map(codec.encode)).map((token) => ({ token, vector: undefined })),
    ),
    check({ token, vector }) {
      const decoded = refusedWith(['EVERWRITE_BAD_CONTEXT'], () => codec.decode(token));
      if (vector !== undefined && (decoded === undefined || !sameValue(decoded, vector)))
        violation('a valid token did not decode to its vector');
      if (decoded === undefined) return;
      const again = refusedWith(['EVERWRITE_BAD_CONTEXT'], () => codec.decode(codec.encode(decoded)));
      if (again === undefined || !sameValue(again, decoded))
        violation('an accepted token does not survive re-encoding');
    },
    crafted: [
      { name: 'count 2^32', input: { token: tokenOf(2 ** 32), vector: undefined } },
      { name: 'count 2^53 - 1', input: { token: tokenOf(Number.MAX_SAFE_INTEGER, entry('a', 1)), vector: undefined } },
      { name: 'actor of 2^31 bytes', input: { token: tokenOf(1, leb128(2 ** 31)), vector: undefined } },
      {
        name: 'counter of 2^53',
        input: { token: tokenOf(1, Buffer.from([1, 0x61]), leb128(2 ** 53)), vector: undefined },
      },
      {
        name: '__proto__ actor',
        input: { token: tokenOf(2, entry('__proto__', 1), entry('constructor', 2)), vector: undefined },
      },
      {
        name: 'lone surrogate bytes as an actor',
        input: { token: tokenOf(1, Buffer.from([3, 0xed, 0xa0, 0x80, 1])), vector: undefined },
      },
      { name: 'a token of 10 MB', input: { token: 'A'.repeat(10_000_000), vector: undefined } },
      { name: 'lone surrogates', input: { token: '\uD800\uDC00\uD800', vector: undefined } },
      {
        name: '1024 entries',
        input: {
          token: tokenOf(
            1024,
            ...Array.from({ length: 1024 }, (_, index) => entry(`actor-${String(index).padStart(5, '0')}`, index + 1)),
          ),
          vector: undefined,
        },
      },
    ],
    describe: ({ token }) =>
      JSON.stringify(token.length > 300 ? `${token.slice(0, 300)}... (${token.length} chars)` : token),
    ciRuns: 3000,
  };
}

interface RecordInput {
  readonly bytes: Uint8Array;
  readonly valid: boolean;
}

/** Record bytes: version 2, `count` context entries, then `body`. */
function recordOf(count: number, ...body: Uint8Array[]): Uint8Array {
  return Buffer.concat([Uint8Array.of(2), leb128(count), ...body]);
}

export const recordTarget: FuzzTarget<RecordInput> = {
  name: 'record',
  subject: 'stored records (decodeRecord, decodeOwnedRecord)',
  arbitrary: fc.oneof(
    anyRecord.map((record) => ({ bytes: Uint8Array.from(encodeRecord(record)), valid: true })),
    mutatedBytes(anyRecord.map((record) => Uint8Array.from(encodeRecord(record)))).map((bytes) => ({
      bytes,
      valid: false,
    })),
  ),
  check({ bytes, valid }) {
    const decoded = refusedWith(['EVERWRITE_BAD_RECORD'], () => decodeRecord(bytes));
    const owned = refusedWith(['EVERWRITE_BAD_RECORD'], () => decodeOwnedRecord(bytes));
    if (valid && decoded === undefined) violation('a valid record was refused');
    if ((decoded === undefined) !== (owned === undefined) || !sameValue(decoded, owned))
      violation('decodeRecord and decodeOwnedRecord disagree');
    if (decoded === undefined) return;
    const encoded = encodeRecord(decoded);
    if (bytes[0] === 2 && !Buffer.from(encoded).equals(bytes))
      violation('an accepted record does not re-encode to its own bytes (not canonical)');
    if (!sameValue(decodeRecord(encoded), decoded)) violation('an accepted record does not survive re-encoding');
  },
  crafted: [
    { name: 'context count 2^32', input: { bytes: recordOf(2 ** 32), valid: false } },
    {
      name: 'context count 2^53 - 1',
      input: { bytes: recordOf(Number.MAX_SAFE_INTEGER, Buffer.alloc(64)), valid: false },
    },
    { name: 'sibling count 2^32', input: { bytes: recordOf(1, entry('a', 1), leb128(2 ** 32)), valid: false } },
    {
      name: 'sibling count 2^31 with bytes for a few',
      input: { bytes: recordOf(1, entry('a', 1), leb128(2 ** 31), Buffer.alloc(64)), valid: false },
    },
    {
      name: 'value of 2^53 - 1 bytes',
      input: {
        bytes: recordOf(1, entry('a', 1), leb128(1), Uint8Array.of(0, 1, 0, 0, 0, 0), leb128(Number.MAX_SAFE_INTEGER)),
        valid: false,
      },
    },
    {
      name: 'content type of 2^31 bytes',
      input: {
        bytes: recordOf(1, entry('a', 1), leb128(1), Uint8Array.of(0, 1, 0, 0, 0), leb128(2 ** 31)),
        valid: false,
      },
    },
    {
      name: 'lastModifiedMs 2^53 - 1',
      input: {
        bytes: recordOf(
          1,
          entry('a', 1),
          leb128(1),
          Uint8Array.of(0, 1, 0),
          leb128(Number.MAX_SAFE_INTEGER),
          Uint8Array.of(0, 0, 0),
        ),
        valid: false,
      },
    },
    {
      name: 'timestamp offset 2^53 - 1',
      input: {
        bytes: recordOf(
          1,
          entry('a', 1),
          leb128(1),
          Uint8Array.of(0, 1, 0, 1),
          leb128(Number.MAX_SAFE_INTEGER),
          Uint8Array.of(0, 0),
        ),
        valid: false,
      },
    },
    {
      name: '__proto__ actors',
      input: { bytes: recordOf(2, entry('__proto__', 1), entry('constructor', 1), leb128(0)), valid: false },
    },
  ],
  describe: ({ bytes }) => hexPreview(bytes),
  ciRuns: 3000,
};
