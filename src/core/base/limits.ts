// Why: every limit has a name, a unit and a default in one place (docs/ARCHITECTURE.md habit 3). Components
// take these through their options objects; the defaults here are the external contract's.

export const defaultLimits = Object.freeze({
  /** Largest key accepted from a client, in bytes of UTF-8. */
  keyBytesMax: 1024,
  /** Largest bucket name accepted, in bytes of UTF-8. */
  bucketBytesMax: 255,
  /** Largest value accepted from a client, in bytes. */
  valueBytesMax: 1024 * 1024,
  /** Siblings per key before a warning is logged. */
  siblingsWarnCount: 25,
  /** Siblings per key past which new concurrent client writes are refused. */
  siblingsCountMax: 100,
  /** Largest inter-node frame, in bytes (a value plus its siblings and overhead). */
  frameBytesMax: 64 * 1024 * 1024,
  /** Entries in a decoded causal context before it is refused as malformed. */
  contextEntriesMax: 1024,
  /** Coordinations in flight on one node before new requests are refused with 429. */
  inFlightCoordinationsMax: 10_000,
});

export type Limits = { readonly [K in keyof typeof defaultLimits]: number };

/**
 * The limits on what one client request may carry, which an operator may change (decision 0035):
 * the front ends refuse oversized input before the service, the runtime refuses an oversized value,
 * and the coordinating core refuses an oversized bucket or key, all from this one object, which
 * startNode resolves once and hands to each. Keys and buckets may only be made smaller: the peer and
 * storage codecs bound what they decode by the defaults, and lmdb by its key size. Values may grow up
 * to `valueBytesCeiling`, so a key's siblings still fit in frames.
 */
export interface RequestLimits {
  readonly keyBytesMax: number;
  readonly bucketBytesMax: number;
  readonly valueBytesMax: number;
}

/** The largest valueBytesMax an operator may set, in bytes: an eighth of the largest peer frame. */
export const valueBytesCeiling = defaultLimits.frameBytesMax / 8;

export const defaultRequestLimits: RequestLimits = Object.freeze({
  keyBytesMax: defaultLimits.keyBytesMax,
  bucketBytesMax: defaultLimits.bucketBytesMax,
  valueBytesMax: defaultLimits.valueBytesMax,
});

const requestLimitCeilings: Readonly<Record<keyof RequestLimits, number>> = Object.freeze({
  keyBytesMax: defaultLimits.keyBytesMax,
  bucketBytesMax: defaultLimits.bucketBytesMax,
  valueBytesMax: valueBytesCeiling,
});

/** The defaults with `overrides` applied; a value that is not a positive integer within its ceiling is a RangeError naming it. */
export function resolveRequestLimits(overrides: Partial<RequestLimits> = {}): RequestLimits {
  const resolved: Record<string, number> = { ...defaultRequestLimits };
  for (const [name, value] of Object.entries(overrides)) {
    const ceiling = requestLimitCeilings[name as keyof RequestLimits] as number | undefined;
    if (ceiling === undefined || !Object.hasOwn(requestLimitCeilings, name))
      throw new RangeError(`unknown request limit ${name}; known: ${Object.keys(requestLimitCeilings).join(', ')}`);
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value <= 0 || value > ceiling)
      throw new RangeError(`request limit ${name} must be an integer from 1 to ${ceiling}, got ${String(value)}`);
    resolved[name] = value;
  }
  return Object.freeze(resolved) as unknown as RequestLimits;
}
