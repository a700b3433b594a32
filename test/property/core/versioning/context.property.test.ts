// Why: context tokens come from clients, so the decoder faces anything: every vector must
// round-trip, and any string at all must either decode to a valid vector or fail with
// EVERWRITE_BAD_CONTEXT, never with another error (fuzzing from raw strings, raw bytes and
// mutations of valid tokens).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { propertyOptions } from '../../../support/property.ts';
import { EverwriteError } from '../../../../src/core/base/errors.ts';
import {
  base64UrlEncode,
  decodeContext,
  encodeContext,
  type VersionVector,
} from '../../../../src/core/versioning/index.ts';
import { anyVersionVector } from './arbitraries.ts';

const limits = { entriesMax: 8, tokenBytesMax: 512 };

function decodesOrRejects(token: string): void {
  let vector: VersionVector;
  try {
    vector = decodeContext(token, limits);
  } catch (error) {
    assert.ok(error instanceof EverwriteError, `threw ${String(error)}`);
    assert.equal(error.code, 'EVERWRITE_BAD_CONTEXT');
    return;
  }
  assert.ok(vector instanceof Map);
  assert.ok(vector.size <= limits.entriesMax);
  for (const [actor, counter] of vector) {
    assert.ok(typeof actor === 'string' && actor.length > 0);
    assert.ok(Number.isSafeInteger(counter) && counter >= 1);
  }
  assert.deepEqual(decodeContext(encodeContext(vector)), vector);
}

test('every version vector round-trips through a context token', () => {
  fc.assert(
    fc.property(anyVersionVector, (vector) => {
      const token = encodeContext(vector);
      assert.match(token, /^[A-Za-z0-9_-]*$/);
      assert.deepEqual(decodeContext(token), vector);
    }),
    propertyOptions(),
  );
});

test('fuzz: arbitrary strings decode or fail with EVERWRITE_BAD_CONTEXT only', () => {
  const base64UrlText = fc.string({
    unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/'),
    maxLength: 120,
  });
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), base64UrlText), decodesOrRejects),
    propertyOptions(3000),
  );
});

test('fuzz: arbitrary bytes decode or fail with EVERWRITE_BAD_CONTEXT only', () => {
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 120 }),
    fc.uint8Array({ maxLength: 40 }).map((tail) => Uint8Array.of(1, ...tail)),
  );
  fc.assert(
    fc.property(bytes, (raw) => decodesOrRejects(base64UrlEncode(raw))),
    propertyOptions(3000),
  );
});

test('fuzz: mutated valid tokens decode or fail with EVERWRITE_BAD_CONTEXT only', () => {
  const mutation = fc.tuple(fc.nat(), fc.nat(255), fc.constantFrom('flip', 'truncate', 'insert'));
  fc.assert(
    fc.property(anyVersionVector, fc.array(mutation, { minLength: 1, maxLength: 3 }), (vector, mutations) => {
      const raw = [...Buffer.from(encodeContext(vector) || 'AQA', 'base64url')];
      for (const [position, byte, kind] of mutations) {
        const at = raw.length === 0 ? 0 : position % raw.length;
        if (kind === 'flip') raw[at] = (raw[at] ?? 0) ^ (1 << (byte % 8));
        else if (kind === 'truncate') raw.length = at;
        else raw.splice(at, 0, byte);
      }
      decodesOrRejects(base64UrlEncode(Uint8Array.from(raw)));
    }),
    propertyOptions(),
  );
});
