// Why: the core needs MD5 (ring placement) and SHA-256 (Merkle leaves) but may not import
// node:crypto. Hash functions are injected through this type; the runtime passes Node's.

/**
 * A cryptographic digest function: bytes in, digest out. Must be pure and deterministic. Given
 * `out` (exactly the digest's length), it may write the digest there and return `out`, so a caller
 * that needs the digest only until its next call allocates nothing; callers read the returned
 * array either way (an implementation may ignore `out`).
 */
export type DigestFunction = (input: Uint8Array, out?: Uint8Array) => Uint8Array;
