// Why: a replica stores each (bucket, key) under one byte string inside its partition's namespace.
// Length-prefixing the bucket keeps every pair distinct (no separator can collide) and lets scans
// (handoff, anti-entropy, /admin/local) recover both parts. Every request encodes one, so the
// common (ASCII) key is a view of the shared slab (base/slab.ts) rather than an array of its own:
// its `.buffer` is not the caller's, and whoever keeps a key for long should copy it.
import { utf8Decode, utf8Encode } from '../base/bytes.ts';
import { EverwriteError } from '../base/errors.ts';
import { allocateBytes } from '../base/slab.ts';

export function encodeStorageKey(bucket: string, key: string): Uint8Array {
  return encodeAsciiStorageKey(bucket, key) ?? encodeUtf8StorageKey(bucket, key);
}

/**
 * The common case, ASCII names, written straight into the key (no TextEncoder, no copies). A
 * non-ASCII name found half-way leaves its few slab bytes unused: rare, and cheaper than a
 * second pass over every key.
 */
function encodeAsciiStorageKey(bucket: string, key: string): Uint8Array | undefined {
  if (bucket.length > 0xffff) return undefined;
  const out = allocateBytes(2 + bucket.length + key.length);
  out[0] = bucket.length >> 8;
  out[1] = bucket.length & 0xff;
  if (!writeAscii(out, 2, bucket) || !writeAscii(out, 2 + bucket.length, key)) return undefined;
  return out;
}

function writeAscii(out: Uint8Array, offset: number, text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code > 0x7f) return false;
    out[offset + index] = code;
  }
  return true;
}

function encodeUtf8StorageKey(bucket: string, key: string): Uint8Array {
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

/** Scratch for placementInput: a bucket and a key within their limits fit; longer ones get their own array. */
const placementScratch = new Uint8Array(4096);
/**
 * Views of the scratch, one per length, each made the first time a key of that length comes:
 * a replica places every write it serves, and a fresh view (~100 bytes) per write was garbage.
 */
const placementViews: Array<Uint8Array | undefined> = [];
const slash = 0x2f;

/**
 * The bytes a key is placed by, utf8(bucket + "/" + key) (ring/position.ts), taken from a storage
 * key without decoding its names: a replica checks the placement of every request it serves. The
 * answer is a view of a reused buffer, valid until the next call. Malformed keys answer undefined.
 */
export function placementInput(storageKey: Uint8Array): Uint8Array | undefined {
  if (storageKey.length < 2) return undefined;
  const bucketLength = ((storageKey[0] as number) << 8) | (storageKey[1] as number);
  if (storageKey.length < 2 + bucketLength) return undefined;
  const length = storageKey.length - 1;
  let out: Uint8Array;
  if (length <= placementScratch.length) out = placementViews[length] ??= placementScratch.subarray(0, length);
  else out = new Uint8Array(length);
  // Copy loops rather than set(subarray()), which would make two views per call.
  for (let index = 0; index < bucketLength; index++) out[index] = storageKey[2 + index] as number;
  out[bucketLength] = slash;
  for (let index = bucketLength + 1; index < length; index++) out[index] = storageKey[index + 1] as number;
  return out;
}

export function decodeStorageKey(storageKey: Uint8Array): { bucket: string; key: string } {
  if (storageKey.length < 2) throw new EverwriteError('EVERWRITE_BAD_RECORD', 'storage key too short');
  const bucketLength = ((storageKey[0] as number) << 8) | (storageKey[1] as number);
  if (storageKey.length < 2 + bucketLength) throw new EverwriteError('EVERWRITE_BAD_RECORD', 'storage key truncated');
  try {
    return {
      bucket: decodeName(storageKey.subarray(2, 2 + bucketLength)),
      key: decodeName(storageKey.subarray(2 + bucketLength)),
    };
  } catch {
    throw new EverwriteError('EVERWRITE_BAD_RECORD', 'storage key is not UTF-8');
  }
}

/**
 * UTF-8 of a whole name (bucket or key): the shared decoder drops a leading byte order mark, but a
 * name may really start with one. Throws TypeError on malformed UTF-8, as utf8Decode.
 */
export function decodeName(bytes: Uint8Array): string {
  const text = utf8Decode(bytes);
  return bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? `\uFEFF${text}` : text;
}
