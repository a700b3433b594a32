// Why: the record and context codecs were rewritten to allocate less (reused entry arrays, text
// measured and written without temporary arrays, records in slab views). Their bytes must not
// change: Merkle leaves hash them and replicas on older code read them. A plain, obviously
// correct model of the layouts (TextEncoder, sort, number arrays) is the oracle, over records with
// long contexts in any insertion order and names with any UTF-16 (lone surrogates included).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { propertyOptions } from '../../../support/property.ts';
import {
  canonicalSiblings,
  decodeContext,
  dotCounterMax,
  decodeRecord,
  encodeContext,
  encodeRecord,
  type Sibling,
  type StoredValue,
  type VersionVector,
  type VersionedRecord,
} from '../../../../src/core/versioning/index.ts';
import { ByteReader, utf8ByteLength, writeUtf8 } from '../../../../src/core/versioning/wire.ts';

const encoder = new TextEncoder();

/** True when `text` survives UTF-8 (no lone surrogate): only then can decoding give back the same names. */
const wellFormed = (text: string): boolean => new TextDecoder().decode(encoder.encode(text)) === text;

function survivesUtf8(record: { context: VersionVector; siblings?: readonly Sibling[] }): boolean {
  return (
    [...record.context.keys()].every(wellFormed) &&
    (record.siblings ?? []).every((sibling) => wellFormed(sibling.stored.contentType))
  );
}

function pushVarint(out: number[], value: number): void {
  while (value >= 128) {
    out.push((value % 128) + 128);
    value = Math.floor(value / 128);
  }
  out.push(value);
}

function pushText(out: number[], text: string): void {
  const bytes = encoder.encode(text);
  pushVarint(out, bytes.length);
  out.push(...bytes);
}

/** Version vector entries as both layouts write them: sorted by actor (UTF-16 order). */
function pushEntries(out: number[], vector: VersionVector): string[] {
  const actors = [...vector.keys()].sort();
  pushVarint(out, actors.length);
  for (const actor of actors) {
    pushText(out, actor);
    pushVarint(out, vector.get(actor) as number);
  }
  return actors;
}

function referenceRecord(record: VersionedRecord): Uint8Array {
  const out = [2];
  const actors = pushEntries(out, record.context);
  const siblings = canonicalSiblings(record.siblings);
  pushVarint(out, siblings.length);
  for (const { dot, stored } of siblings) {
    const distance = stored.timestamp - stored.lastModifiedMs * 1024;
    pushVarint(out, actors.indexOf(dot.actor));
    pushVarint(out, dot.counter);
    out.push((stored.deleted ? 1 : 0) | (distance < 0 ? 2 : 0));
    pushVarint(out, stored.lastModifiedMs);
    pushVarint(out, Math.abs(distance));
    pushText(out, stored.contentType);
    pushVarint(out, stored.value.length);
    out.push(...stored.value);
  }
  return Uint8Array.from(out);
}

function referenceToken(vector: VersionVector): string {
  if (vector.size === 0) return '';
  const out = [1];
  pushEntries(out, vector);
  return Buffer.from(out).toString('base64url');
}

/** Any UTF-16: mostly plain text, sometimes raw code units, lone surrogates included. */
const anyUtf16 = (maxLength: number): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ maxLength }),
    fc.string({ unit: 'binary', maxLength }),
    fc
      .array(fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0xd800, max: 0xdfff })), { maxLength })
      .map((units) => String.fromCharCode(...units)),
  );

const actorName = anyUtf16(24).filter((name) => name.length > 0 && encoder.encode(name).length <= 255);

/** Up to 40 entries (past the encoder's insertion-sort bound of 16), inserted in any order. */
const anyContext: fc.Arbitrary<Map<string, number>> = fc
  .uniqueArray(
    fc.tuple(actorName, fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: dotCounterMax }))),
    { selector: (entry) => entry[0], maxLength: 40 },
  )
  .chain((entries) => fc.shuffledSubarray(entries, { minLength: entries.length, maxLength: entries.length }))
  .map((entries) => new Map(entries));

const anyStored: fc.Arbitrary<StoredValue> = fc
  .record({
    value: fc.uint8Array({ maxLength: 300 }),
    contentType: anyUtf16(30),
    lastModifiedMs: fc.integer({ min: 0, max: 2_000_000_000_000 }),
    deleted: fc.boolean(),
    drift: fc.integer({ min: -5000, max: 20_000_000 }),
  })
  .map(({ value, contentType, lastModifiedMs, deleted, drift }) => ({
    value: deleted ? new Uint8Array(0) : value,
    contentType,
    lastModifiedMs,
    deleted,
    timestamp: Math.max(0, lastModifiedMs * 1024 + drift),
  }));

const anyLongRecord: fc.Arbitrary<VersionedRecord> = anyContext.chain((context) => {
  const actors = [...context.keys()];
  if (actors.length === 0) return fc.constant<VersionedRecord>({ context, siblings: [] });
  const sibling = fc
    .tuple(fc.constantFrom(...actors), fc.double({ min: 0, max: 1, noNaN: true }), anyStored)
    .map(([actor, fraction, stored]): Sibling => ({
      dot: { actor, counter: Math.max(1, Math.ceil(fraction * (context.get(actor) as number))) },
      stored,
    }));
  // Siblings in any order: the encoder puts them in canonical order itself.
  return fc.array(sibling, { maxLength: 4 }).map((siblings) => ({ context, siblings }));
});

test('encodeRecord writes exactly the bytes of the reference layout, for long contexts in any order and any UTF-16', () => {
  fc.assert(
    fc.property(anyLongRecord, (record) => {
      const encoded = encodeRecord(record);
      assert.deepEqual(encoded, referenceRecord(record));
      if (survivesUtf8(record))
        assert.deepEqual(
          encodeRecord(decodeRecord(encoded)),
          encoded,
          'whatever it writes decodes and re-encodes to the same bytes',
        );
    }),
    propertyOptions(),
  );
});

test('encodeContext writes exactly the reference token, and decodeContext reads it back', () => {
  fc.assert(
    fc.property(anyContext, (context) => {
      const token = encodeContext(context);
      assert.equal(token, referenceToken(context));
      if (survivesUtf8({ context })) assert.equal(encodeContext(decodeContext(token)), token);
    }),
    propertyOptions(),
  );
});

test('utf8ByteLength and writeUtf8 agree with TextEncoder on any UTF-16, lone surrogates included', () => {
  fc.assert(
    fc.property(anyUtf16(60), fc.nat(8), (text, offset) => {
      const expected = encoder.encode(text);
      assert.equal(utf8ByteLength(text), expected.length);
      const buffer = new Uint8Array(offset + expected.length + 4).fill(0xaa);
      assert.equal(writeUtf8(buffer, offset, text), offset + expected.length);
      assert.deepEqual(buffer.subarray(offset, offset + expected.length), expected);
      assert.ok(
        buffer.subarray(0, offset).every((byte) => byte === 0xaa) &&
          buffer.subarray(offset + expected.length).every((byte) => byte === 0xaa),
        'nothing written outside',
      );
    }),
    propertyOptions(),
  );
});

test('ByteReader.string returns the right text whatever it decoded before (short strings are reused across calls)', () => {
  const pool = fc.array(fc.oneof(fc.string({ unit: 'binary-ascii', maxLength: 70 }), fc.string({ maxLength: 20 })), {
    minLength: 1,
    maxLength: 30,
  });
  fc.assert(
    fc.property(pool, fc.array(fc.nat(), { maxLength: 200 }), (texts, picks) => {
      for (const pick of picks) {
        const text = texts[pick % texts.length] as string;
        const bytes = encoder.encode(text);
        const framed = Uint8Array.from([
          ...(bytes.length < 128 ? [bytes.length] : [(bytes.length & 127) | 128, bytes.length >> 7]),
          ...bytes,
        ]);
        const reader = new ByteReader(framed, 'EVERWRITE_BAD_RECORD', 'test');
        assert.equal(reader.string(1024), text);
        reader.end();
      }
    }),
    propertyOptions(300),
  );
});
