// Why: Redis keys and values are arbitrary bytes; Everwrite names a key by a bucket and a UTF-8
// string. This is where a Redis key becomes an Everwrite address (one bucket, or "bucket:key"
// when configured) and where the size limits are applied, before the service is asked anything.
// Keys that are not valid UTF-8 are refused rather than decoded lossily: two different byte keys
// must never land on the same Everwrite key.
import { isUtf8 } from 'node:buffer';
import { EverwriteError } from '../../core/base/errors.ts';
import type { ResolvedRespServerOptions } from './options.ts';

export interface KeyAddress {
  readonly bucket: string;
  readonly key: string;
}

const colon = 58;

/** Where a prefixed key splits, or -1 when it has no "bucket:" prefix of its own. */
function prefixEnd(raw: Uint8Array): number {
  const index = raw.indexOf(colon);
  return index > 0 && index < raw.length - 1 ? index : -1;
}

/**
 * Decoding replaces every invalid sequence with U+FFFD, so only a key whose text holds one can be
 * invalid: the full check (a call into C++) runs for those alone, not once per command.
 */
function decodeUtf8(raw: Buffer, what: string): string {
  const text = raw.toString('utf8');
  if (text.includes('\ufffd') && !isUtf8(raw))
    throw new EverwriteError('EVERWRITE_BAD_REQUEST', `${what} is not valid UTF-8`);
  return text;
}

/** The Everwrite address of a Redis key; throws a coded error for an empty, oversized or non-UTF-8 one. */
export function mapKey(raw: Buffer, options: ResolvedRespServerOptions): KeyAddress {
  let bucket = options.bucket;
  let keyBytes = raw;
  if (options.keyMapping === 'prefixed') {
    const end = prefixEnd(raw);
    if (end > 0) {
      if (end > options.limits.bucketBytesMax) {
        throw new EverwriteError(
          'EVERWRITE_BAD_REQUEST',
          `bucket is ${end} bytes; at most ${options.limits.bucketBytesMax} allowed`,
          { bytesMax: options.limits.bucketBytesMax },
        );
      }
      bucket = decodeUtf8(raw.subarray(0, end), 'bucket');
      keyBytes = raw.subarray(end + 1);
    }
  }
  if (keyBytes.length === 0) throw new EverwriteError('EVERWRITE_BAD_REQUEST', 'key must not be empty');
  if (keyBytes.length > options.limits.keyBytesMax) {
    throw new EverwriteError(
      'EVERWRITE_KEY_TOO_LARGE',
      `key is ${keyBytes.length} bytes; at most ${options.limits.keyBytesMax} allowed`,
      { bytesMax: options.limits.keyBytesMax },
    );
  }
  return { bucket, key: decodeUtf8(keyBytes, 'key') };
}

/**
 * A cheap identity for ordering commands of one connection on the same key: equal exactly when
 * mapKey would give equal addresses (for keys it accepts), without validating or decoding.
 */
export function orderingKey(raw: Buffer, options: ResolvedRespServerOptions): string {
  const text = raw.toString('latin1');
  if (options.keyMapping === 'prefixed' && prefixEnd(raw) > 0) return text;
  return options.keyMapping === 'prefixed' ? `${options.bucket}:${text}` : text;
}

/** A value as the service stores it: its own copy, so it does not pin the socket chunk it came in. */
export function takeValue(raw: Buffer, options: ResolvedRespServerOptions): Uint8Array {
  if (raw.length > options.limits.valueBytesMax) {
    throw new EverwriteError(
      'EVERWRITE_VALUE_TOO_LARGE',
      `value is ${raw.length} bytes; at most ${options.limits.valueBytesMax} allowed`,
      { bytesMax: options.limits.valueBytesMax },
    );
  }
  // Buffer.from copies into Node's shared pool for small values: a Uint8Array of its own over 64
  // bytes would cost a malloc'd backing store per SET.
  return Buffer.from(raw);
}

/** A causal context token given as an argument: empty means none (a blind write). */
export function takeContext(raw: Buffer): string | undefined {
  if (raw.length === 0) return undefined;
  if (!isUtf8(raw)) throw new EverwriteError('EVERWRITE_BAD_CONTEXT', 'context token is not valid UTF-8');
  return raw.toString('utf8');
}
