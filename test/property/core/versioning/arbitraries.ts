// Why: the versioning property tests share generators. Records for the sync laws draw dots from a
// few actors and derive each sibling's value from its dot, because in the real system a dot names
// exactly one write; records for the codec draw everything (any UTF-8 name, any safe counter).
import fc from 'fast-check';
import {
  canonicalSiblings,
  dotCounterMax,
  physicalMsMax,
  type Actor,
  type Sibling,
  type StoredValue,
  type VersionVector,
  type VersionedRecord,
} from '../../../../src/core/versioning/index.ts';

const encoder = new TextEncoder();

/** Small pool of actors so generated records overlap and interact. */
export const actorPool: readonly Actor[] = ['a.1', 'b.1', 'b.2', 'c.7'];

function storedForDot(actor: Actor, counter: number): StoredValue {
  const deleted = counter % 5 === 0;
  // Timestamps of different actors interleave and may tie, as they do across nodes.
  const timestamp = counter * 10 * 1024 + (actor.charCodeAt(0) % 3) * 4096;
  return {
    value: deleted ? new Uint8Array(0) : encoder.encode(`${actor}:${counter}`),
    contentType: 'text/plain',
    lastModifiedMs: counter * 10,
    deleted,
    timestamp,
  };
}

/** A valid record over `actorPool` with counters up to 6 and any subset of covered dots as siblings. */
export const poolRecord: fc.Arbitrary<VersionedRecord> = fc
  .tuple(
    fc.array(fc.integer({ min: 0, max: 6 }), { minLength: actorPool.length, maxLength: actorPool.length }),
    fc.array(fc.tuple(fc.nat(actorPool.length - 1), fc.integer({ min: 1, max: 6 })), { maxLength: 6 }),
  )
  .map(([counters, picks]) => {
    const context = new Map<Actor, number>();
    actorPool.forEach((actor, index) => {
      const counter = counters[index] ?? 0;
      if (counter > 0) context.set(actor, counter);
    });
    const siblings: Sibling[] = [];
    for (const [index, counter] of picks) {
      const actor = actorPool[index] as Actor;
      if (counter <= (context.get(actor) ?? 0))
        siblings.push({ dot: { actor, counter }, stored: storedForDot(actor, counter) });
    }
    return { context, siblings: canonicalSiblings(siblings) };
  });

/** Any actor name the layouts accept: 1..255 bytes of UTF-8. */
export const anyActor: fc.Arbitrary<Actor> = fc
  .string({ unit: 'binary', minLength: 1, maxLength: 40 })
  .filter((name) => encoder.encode(name).length <= 255);

/** Any counter a dot may have: 1..dotCounterMax (decoders refuse more, decision 0011). */
export const anyCounter: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: 1, max: 1000 }),
  fc.integer({ min: 1, max: dotCounterMax }),
);

export const anyVersionVector: fc.Arbitrary<VersionVector> = fc
  .uniqueArray(fc.tuple(anyActor, anyCounter), { selector: (entry) => entry[0], maxLength: 12 })
  .map((entries) => new Map(entries));

/**
 * A hybrid logical clock timestamp relative to the wall clock `lastModifiedMs`: mostly equal to it
 * or a little ahead (the coordinator had seen a faster clock), sometimes anywhere in the range.
 */
function timestampNear(lastModifiedMs: number): fc.Arbitrary<number> {
  const base = lastModifiedMs * 1024;
  return fc.oneof(
    fc.constant(base),
    fc.integer({ min: base, max: Math.min(base + 20_000 * 1024, Number.MAX_SAFE_INTEGER) }),
    fc.integer({ min: Math.max(0, base - 5000), max: base }),
    fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  );
}

const anyStored: fc.Arbitrary<StoredValue> = fc
  .record({
    value: fc.uint8Array({ maxLength: 80 }),
    contentType: fc.string({ unit: 'binary', maxLength: 30 }).filter((type) => encoder.encode(type).length <= 1024),
    lastModifiedMs: fc.oneof(
      fc.integer({ min: 0, max: 2_000_000_000_000 }),
      fc.integer({ min: 0, max: physicalMsMax }),
    ),
    deleted: fc.boolean(),
  })
  .chain((fields) => timestampNear(fields.lastModifiedMs).map((timestamp) => ({ ...fields, timestamp })))
  // Rebuilt as a plain object: fc.record's objects have no prototype, unlike decoded ones.
  .map(({ value, contentType, lastModifiedMs, deleted, timestamp }) => ({
    value: deleted ? new Uint8Array(0) : value,
    contentType,
    lastModifiedMs,
    deleted,
    timestamp,
  }));

/** A valid record with arbitrary names, counters and values (siblings only at covered dots). */
export const anyRecord: fc.Arbitrary<VersionedRecord> = anyVersionVector.chain((context) => {
  const actors = [...context.keys()];
  if (actors.length === 0) return fc.constant<VersionedRecord>({ context, siblings: [] });
  const sibling = fc
    .tuple(fc.constantFrom(...actors), fc.double({ min: 0, max: 1, noNaN: true }), anyStored)
    .map(([actor, fraction, stored]): Sibling => {
      const counter = Math.max(1, Math.ceil(fraction * (context.get(actor) as number)));
      return { dot: { actor, counter }, stored };
    });
  return fc.array(sibling, { maxLength: 5 }).map((siblings) => ({ context, siblings: canonicalSiblings(siblings) }));
});
