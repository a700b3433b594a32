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

export type Limits = typeof defaultLimits;
