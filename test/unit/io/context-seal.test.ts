// Why: the seal is what makes a client's context a claim the cluster itself made (decision 0011).
// Whatever a client sends that this cluster did not hand out, tampered, cut, made up or sealed by
// another cluster, must be refused with EVERWRITE_BAD_CONTEXT before the core reads a byte of it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { propertyOptions } from '../../support/property.ts';
import { EverwriteError } from '../../../src/core/base/errors.ts';
import {
  contextHeaderBytesMax,
  contextSealBytes,
  decodeContext,
  encodeContext,
} from '../../../src/core/versioning/index.ts';
import { HmacContextSeal } from '../../../src/io/context-seal.ts';
import { anyVersionVector } from '../../property/core/versioning/arbitraries.ts';

const secret = new TextEncoder().encode('a cluster secret of 32 bytes....');
const seal = new HmacContextSeal(secret);
const otherCluster = new HmacContextSeal(new TextEncoder().encode('another cluster secret, 32 bytes'));

function refused(sealed: string, reason: RegExp = /./): void {
  assert.throws(
    () => seal.open(sealed),
    (error: unknown) =>
      error instanceof EverwriteError && error.code === 'EVERWRITE_BAD_CONTEXT' && reason.test(error.message),
    `accepted ${JSON.stringify(sealed.slice(0, 80))}`,
  );
}

const token = encodeContext(
  new Map([
    ['n1.1234567890', 7],
    ['n2.42', 3],
  ]),
);

test('a sealed token opens to the plain token, and the seal adds exactly contextSealBytes characters of base64url', () => {
  const sealed = seal.seal(token);
  assert.equal(sealed.length, token.length + contextSealBytes);
  assert.match(sealed, /^[A-Za-z0-9_-]+$/);
  assert.equal(seal.open(sealed), token);
  assert.equal(new HmacContextSeal(secret).open(sealed), token, 'another node of the same cluster opens it');
});

test('the empty context stays empty both ways', () => {
  assert.equal(seal.seal(''), '');
  assert.equal(seal.open(''), '');
});

test('a made-up token (a well-formed plain one, or plain text) is refused', () => {
  refused(token, /seal does not match/);
  refused(encodeContext(new Map([['n1.1', 2 ** 52]])) + 'A'.repeat(contextSealBytes), /seal does not match/);
  refused('A'.repeat(contextSealBytes), /too short/);
  refused('x', /too short/);
  refused(`${seal.seal(token).slice(0, -1)}=`, /base64url/);
  refused(`${seal.seal(token)} `, /base64url/);
  refused('é'.repeat(40), /base64url/);
});

test('a truncated or extended seal is refused', () => {
  const sealed = seal.seal(token);
  for (let cut = 1; cut <= contextSealBytes; cut++) refused(sealed.slice(0, -cut));
  refused(sealed.slice(1));
  refused(`${sealed}A`);
});

test('a token sealed by a cluster with another secret is refused', () => {
  refused(otherCluster.seal(token), /seal does not match/);
  assert.equal(otherCluster.open(otherCluster.seal(token)), token);
});

test('a token longer than the header bound is refused before any hashing', () => {
  refused('A'.repeat(contextHeaderBytesMax + 1), /longer than 8192 bytes/);
});

test('changing any one character of a sealed token, in the plain part or the seal, is refused', () => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  fc.assert(
    fc.property(anyVersionVector, fc.nat(), fc.nat(63), (vector, position, replacement) => {
      const sealed = seal.seal(encodeContext(vector));
      if (sealed.length === 0) return;
      const index = position % sealed.length;
      const character = alphabet[replacement] as string;
      if (sealed[index] === character) return;
      refused(sealed.slice(0, index) + character + sealed.slice(index + 1));
    }),
    propertyOptions(),
  );
});

test('every vector survives seal and open unchanged', () => {
  fc.assert(
    fc.property(anyVersionVector, (vector) => {
      assert.deepEqual(decodeContext(seal.open(seal.seal(encodeContext(vector)))), vector);
    }),
    propertyOptions(),
  );
});

test('any string at all either is refused with EVERWRITE_BAD_CONTEXT or was sealed here (fuzzed: raw text, and handed-out tokens cut or extended)', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string({ maxLength: 200 }),
        fc.stringMatching(/^[A-Za-z0-9_-]{0,120}$/),
        anyVersionVector.chain((vector) =>
          fc
            .tuple(
              fc.constant(seal.seal(encodeContext(vector))),
              fc.integer({ min: -30, max: 30 }),
              fc.string({ maxLength: 4 }),
            )
            .map(([sealed, cut, extra]) => (cut < 0 ? sealed.slice(0, cut) : sealed + extra.slice(0, cut))),
        ),
      ),
      (text) => {
        let opened: string;
        try {
          opened = seal.open(text);
        } catch (error) {
          assert.ok(
            error instanceof EverwriteError && error.code === 'EVERWRITE_BAD_CONTEXT',
            `threw ${String(error)}`,
          );
          return;
        }
        assert.equal(seal.seal(opened), text, 'only a token this seal made opens');
      },
    ),
    propertyOptions(),
  );
});
