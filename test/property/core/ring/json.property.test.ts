// Why: rings arrive from other nodes and operators as JSON; a node must rebuild exactly the ring that
// was sent, and refuse anything malformed with a coded error rather than act on half a ring.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { propertyOptions } from '../../../support/property.ts';
import { EverwriteError } from '../../../../src/core/base/errors.ts';
import { ringFromJSON, ringToJSON } from '../../../../src/core/ring/index.ts';
import { ringArbitrary } from './arbitraries.ts';

function assertBadRequest(action: () => unknown): void {
  assert.throws(action, (error: unknown) => error instanceof EverwriteError && error.code === 'EVERWRITE_BAD_REQUEST');
}

test('ringFromJSON(ringToJSON(ring)) deep-equals the ring, through a JSON text too', () => {
  fc.assert(
    fc.property(ringArbitrary, ({ ring }) => {
      assert.deepEqual(ringFromJSON(ringToJSON(ring)), ring);
      assert.deepEqual(ringFromJSON(JSON.parse(JSON.stringify(ringToJSON(ring)))), ring);
    }),
    propertyOptions(),
  );
});

/** One way to break a valid ring JSON, each of which must be refused. */
const corruptions: ReadonlyArray<(json: Record<string, unknown>, pick: number) => void> = [
  (json) => delete json.version,
  (json) => (json.version = -1),
  (json) => (json.version = 1.5),
  (json) => (json.partitionCount = (json.partitionCount as number) * 3),
  (json) => (json.partitionCount = 'many'),
  (json) => (json.owners = (json.owners as number[]).slice(1)),
  (json, pick) =>
    ((json.owners as number[])[pick % (json.owners as number[]).length] = (json.members as unknown[]).length),
  (json, pick) => ((json.owners as unknown[])[pick % (json.owners as number[]).length] = 'x'),
  (json) => (json.members = []),
  (json) => (json.members = 'a,b'),
  (json, pick) => ((json.members as unknown[])[pick % (json.members as unknown[]).length] = { id: '' }),
  (json, pick) =>
    ((json.members as Array<Record<string, unknown>>)[pick % (json.members as unknown[]).length]!.weight = 0),
  (json, pick) =>
    ((json.members as Array<Record<string, unknown>>)[pick % (json.members as unknown[]).length]!.zone = 7),
  (json) => (json.members as unknown[]).push({ ...(json.members as Array<Record<string, unknown>>)[0] }),
];

test('a corrupted ring JSON is refused with EVERWRITE_BAD_REQUEST', () => {
  fc.assert(
    fc.property(ringArbitrary, fc.nat(corruptions.length - 1), fc.nat(), ({ ring }, which, pick) => {
      const json = JSON.parse(JSON.stringify(ringToJSON(ring))) as Record<string, unknown>;
      corruptions[which]!(json, pick);
      assertBadRequest(() => ringFromJSON(json));
    }),
    propertyOptions(),
  );
});

test('any other value is refused with EVERWRITE_BAD_REQUEST, never another kind of error', () => {
  fc.assert(
    fc.property(fc.anything(), (value) => assertBadRequest(() => ringFromJSON(value))),
    propertyOptions(),
  );
});
