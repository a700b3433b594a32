// Why: the core needs MD5 (ring placement) and SHA-256 (Merkle leaves) but may not import
// node:crypto. Hash functions are injected through this type; the runtime passes Node's.

/** A cryptographic digest function: bytes in, digest out. Must be pure and deterministic. */
export type DigestFunction = (input: Uint8Array) => Uint8Array;
