// Why: lmdb and LevelDB each hold one flat, ordered key space per data directory, while the port
// speaks of 65536 namespaces. Prefixing every key with its namespace as a u16 big-endian keeps each
// namespace one contiguous, byte-ordered range, so scan and drop are range operations and ordering
// inside a namespace is the order of the caller's keys. Shared here so both engines agree exactly.
import { assert } from '../../core/base/assert.ts';
import type { ScanOptions } from '../../runtime/ports.ts';

/** Bytes taken by the namespace prefix in front of every stored key. */
export const namespacePrefixBytes = 2;
/** Largest namespace number the port allows (u16). */
export const namespaceMax = 0xffff;

/**
 * A key no namespace can produce (one byte, shorter than any prefix): it sorts before every
 * namespace's range. The LevelDB engine's durability barrier compacts exactly this key's range,
 * which no data ever falls in.
 */
export const privateEngineKey: Uint8Array = new Uint8Array([0]);

export function assertNamespace(namespace: number): void {
  assert(
    Number.isInteger(namespace) && namespace >= 0 && namespace <= namespaceMax,
    `namespace must be an integer in 0..${namespaceMax}, got ${namespace}`,
  );
}

export function assertScanOptions(options: ScanOptions | undefined): void {
  if (options?.limit === undefined) return;
  assert(
    Number.isInteger(options.limit) && options.limit >= 0,
    `scan limit must be a non-negative integer, got ${options.limit}`,
  );
}

/** The namespace's prefix followed by `key`, in one new buffer (lmdb and LevelDB copy it anyway). */
export function prefixedKey(namespace: number, key: Uint8Array): Buffer {
  const bytes = Buffer.allocUnsafe(namespacePrefixBytes + key.length);
  bytes[0] = namespace >>> 8;
  bytes[1] = namespace & 0xff;
  bytes.set(key, namespacePrefixBytes);
  return bytes;
}

/** The caller's key: the stored key without its prefix (a view, no copy). */
export function unprefixedKey(storedKey: Uint8Array): Uint8Array {
  return storedKey.subarray(namespacePrefixBytes);
}

export interface PrefixedRange {
  /** Inclusive lower bound in the prefixed key space. */
  readonly start: Buffer;
  /** Exclusive upper bound, or undefined for "to the end of the key space" (namespace 65535). */
  readonly end: Buffer | undefined;
}

/** The prefixed key range that holds exactly the namespace's keys within the scan bounds. */
export function prefixedRange(namespace: number, options: ScanOptions | undefined): PrefixedRange {
  const start = prefixedKey(namespace, options?.start ?? new Uint8Array(0));
  if (options?.end !== undefined) return { start, end: prefixedKey(namespace, options.end) };
  // The first key of the next namespace bounds this one; the last namespace runs to the end.
  if (namespace === namespaceMax) return { start, end: undefined };
  return { start, end: prefixedKey(namespace + 1, new Uint8Array(0)) };
}

/** The bytes as a string of one char per byte (runtime/latin1.ts), for the engines that key Maps by it. */
export { latin1 } from '../../runtime/latin1.ts';
