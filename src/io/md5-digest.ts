// Why: a running node hashes with MD5 in two sizes. Ring placement hashes a bucket/key of a few
// dozen bytes, where the core's pure MD5 (src/core/base/md5.ts) beats node:crypto's fixed call
// cost about 3x; every stored version's anti-entropy leaf hashes its whole encoded record, over a
// kilobyte with 1 KiB values, where the native MD5 is about 1.6x faster (3.4 µs against 5.5
// at 1150 bytes, 2026-12-07, decision 0038). Both compute RFC 1321, so the digests, and every tree
// and placement built from them, are the same bytes whichever one ran.
import * as crypto from 'node:crypto';
import { md5 } from '../core/base/md5.ts';

type OneShotHash = (algorithm: string, data: Uint8Array, outputEncoding: 'buffer') => Buffer;
/** crypto.hash, one call and no Hash object, exists from Node 20.12; package.json allows any 20. */
const oneShotHash = (crypto as unknown as { hash?: OneShotHash }).hash;

function nativeMd5(bytes: Uint8Array): Buffer {
  return oneShotHash === undefined
    ? crypto.createHash('md5').update(bytes).digest()
    : oneShotHash('md5', bytes, 'buffer');
}

/** From this many bytes on, node:crypto's MD5 is the faster one (measured crossover 300-400 bytes). */
export const nativeMd5FromBytes = 384;

/** The 16-byte MD5 digest of `bytes`, by whichever implementation is faster for its length; into `out` when given (DigestFunction). */
export function nodeMd5(bytes: Uint8Array, out?: Uint8Array): Uint8Array {
  if (bytes.byteLength < nativeMd5FromBytes) return md5(bytes, out);
  const digest = nativeMd5(bytes);
  if (out === undefined) return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength);
  out.set(digest);
  return out;
}
