// Why: a replica stores each (bucket, key) under one byte string inside its partition's namespace.
// Length-prefixing the bucket keeps every pair distinct (no separator can collide) and lets scans
// (handoff, anti-entropy, /admin/local) recover both parts.
import { utf8Decode, utf8Encode } from '../base/bytes.ts';
import { EverwriteError } from '../base/errors.ts';

export function encodeStorageKey(bucket: string, key: string): Uint8Array {
  const bucketBytes = utf8Encode(bucket);
  const keyBytes = utf8Encode(key);
  if (bucketBytes.length > 0xffff) throw new EverwriteError('EVERWRITE_BAD_REQUEST', 'bucket name too long');
  const out = new Uint8Array(2 + bucketBytes.length + keyBytes.length);
  out[0] = bucketBytes.length >> 8;
  out[1] = bucketBytes.length & 0xff;
  out.set(bucketBytes, 2);
  out.set(keyBytes, 2 + bucketBytes.length);
  return out;
}

export function decodeStorageKey(storageKey: Uint8Array): { bucket: string; key: string } {
  if (storageKey.length < 2) throw new EverwriteError('EVERWRITE_BAD_RECORD', 'storage key too short');
  const bucketLength = ((storageKey[0] as number) << 8) | (storageKey[1] as number);
  if (storageKey.length < 2 + bucketLength) throw new EverwriteError('EVERWRITE_BAD_RECORD', 'storage key truncated');
  try {
    return {
      bucket: utf8Decode(storageKey.subarray(2, 2 + bucketLength)),
      key: utf8Decode(storageKey.subarray(2 + bucketLength)),
    };
  } catch {
    throw new EverwriteError('EVERWRITE_BAD_RECORD', 'storage key is not UTF-8');
  }
}
