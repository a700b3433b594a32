// Why: bucket, key and query parameters arrive as client-controlled text. They are decoded and
// checked here, before any service call, so the service only ever sees names within the limits
// and request options that are positive integers, and every refusal carries a precise code.
import { EverwriteError } from '../../core/base/errors.ts';
import type { Limits } from '../../core/base/limits.ts';
import type { RequestOptions } from '../../runtime/service.ts';

export interface KeyAddress {
  readonly bucket: string;
  readonly key: string;
}

function decodeSegment(raw: string, what: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new EverwriteError('EVERWRITE_BAD_REQUEST', `${what} is not valid percent-encoded UTF-8`);
  }
}

/** The decoded bucket name of a path, refused when empty or over `bucketBytesMax`. */
export function decodeBucket(raw: string, limits: Limits): string {
  const bucket = decodeSegment(raw, 'bucket');
  if (bucket === '') throw new EverwriteError('EVERWRITE_BAD_REQUEST', 'bucket must not be empty');
  const bytes = Buffer.byteLength(bucket);
  if (bytes > limits.bucketBytesMax) {
    throw new EverwriteError(
      'EVERWRITE_BAD_REQUEST',
      `bucket is ${bytes} bytes; at most ${limits.bucketBytesMax} allowed`,
      { bytesMax: limits.bucketBytesMax },
    );
  }
  return bucket;
}

/** The decoded bucket and key of a path, refused when empty or over their limits (key: 413). */
export function decodeKeyAddress(rawBucket: string, rawKey: string, limits: Limits): KeyAddress {
  const bucket = decodeBucket(rawBucket, limits);
  const key = decodeSegment(rawKey, 'key');
  if (key === '') throw new EverwriteError('EVERWRITE_BAD_REQUEST', 'key must not be empty');
  const bytes = Buffer.byteLength(key);
  if (bytes > limits.keyBytesMax) {
    throw new EverwriteError(
      'EVERWRITE_KEY_TOO_LARGE',
      `key is ${bytes} bytes; at most ${limits.keyBytesMax} allowed`,
      { bytesMax: limits.keyBytesMax },
    );
  }
  return { bucket, key };
}

const positiveInteger = /^[1-9][0-9]{0,14}$/;

function parsePositiveInteger(name: string, text: string): number {
  if (!positiveInteger.test(text)) {
    throw new EverwriteError(
      'EVERWRITE_BAD_REQUEST',
      `query parameter ${name} must be a positive integer, got ${JSON.stringify(text)}`,
    );
  }
  return Number(text);
}

/**
 * The per-request overrides `r`, `w` and `timeout_ms`, or undefined when there are none. Unknown or
 * repeated parameters are refused rather than ignored: a mistyped `W=3` silently ignored would
 * weaken the durability the client asked for.
 */
export function parseRequestOptions(rawQuery: string): RequestOptions | undefined {
  if (rawQuery === '') return undefined;
  const options: { r?: number; w?: number; timeoutMs?: number } = {};
  for (const [name, text] of new URLSearchParams(rawQuery)) {
    const field = name === 'r' ? 'r' : name === 'w' ? 'w' : name === 'timeout_ms' ? 'timeoutMs' : undefined;
    if (field === undefined) {
      throw new EverwriteError(
        'EVERWRITE_BAD_REQUEST',
        `unknown query parameter ${JSON.stringify(name)}; accepted: r, w, timeout_ms`,
      );
    }
    if (options[field] !== undefined)
      throw new EverwriteError('EVERWRITE_BAD_REQUEST', `query parameter ${name} given more than once`);
    options[field] = parsePositiveInteger(name, text);
  }
  return options;
}
