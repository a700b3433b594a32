// Why: causal contexts travel in HTTP headers and RESP replies as text. The core may not use
// Node's Buffer, so base64url (RFC 4648 section 5, no padding) is implemented here, strictly:
// exactly one spelling per byte string is accepted, so a token cannot be smuggled in two forms.

import { EverwriteError } from '../base/errors.ts';

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Char code -> 6-bit value, or -1 for characters outside the alphabet. */
const sextets = new Int16Array(128).fill(-1);
for (let i = 0; i < alphabet.length; i++) sextets[alphabet.charCodeAt(i)] = i;

export function base64UrlEncode(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const triple = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    out +=
      alphabet[triple >> 18]! + alphabet[(triple >> 12) & 63]! + alphabet[(triple >> 6) & 63]! + alphabet[triple & 63]!;
  }
  const left = bytes.length - i;
  if (left === 1) {
    const single = bytes[i] as number;
    out += alphabet[single >> 2]! + alphabet[(single & 3) << 4]!;
  } else if (left === 2) {
    const pair = ((bytes[i] as number) << 8) | (bytes[i + 1] as number);
    out += alphabet[pair >> 10]! + alphabet[(pair >> 4) & 63]! + alphabet[(pair & 15) << 2]!;
  }
  return out;
}

function sextetAt(text: string, index: number): number {
  const code = text.charCodeAt(index);
  const value = code < 128 ? (sextets[code] as number) : -1;
  if (value < 0) throw new EverwriteError('EVERWRITE_BAD_CONTEXT', 'context is not base64url', { offset: index });
  return value;
}

/** Strict decoding: alphabet only, no padding, and unused trailing bits must be zero. */
export function base64UrlDecode(text: string): Uint8Array {
  const tail = text.length % 4;
  if (tail === 1) throw new EverwriteError('EVERWRITE_BAD_CONTEXT', 'context has an impossible base64url length');
  const bytes = new Uint8Array(Math.floor(text.length / 4) * 3 + (tail === 0 ? 0 : tail - 1));
  let offset = 0;
  let i = 0;
  for (; i + 3 < text.length; i += 4) {
    const quad =
      (sextetAt(text, i) << 18) | (sextetAt(text, i + 1) << 12) | (sextetAt(text, i + 2) << 6) | sextetAt(text, i + 3);
    bytes[offset++] = quad >> 16;
    bytes[offset++] = (quad >> 8) & 255;
    bytes[offset++] = quad & 255;
  }
  if (tail === 0) return bytes;
  const first = sextetAt(text, i);
  const second = sextetAt(text, i + 1);
  if (tail === 2) {
    if ((second & 15) !== 0) throw new EverwriteError('EVERWRITE_BAD_CONTEXT', 'context has non-zero padding bits');
    bytes[offset] = (first << 2) | (second >> 4);
    return bytes;
  }
  const third = sextetAt(text, i + 2);
  if ((third & 3) !== 0) throw new EverwriteError('EVERWRITE_BAD_CONTEXT', 'context has non-zero padding bits');
  bytes[offset++] = (first << 2) | (second >> 4);
  bytes[offset] = ((second & 15) << 4) | (third >> 2);
  return bytes;
}
