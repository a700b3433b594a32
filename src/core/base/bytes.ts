// Why: the core handles keys and values as bytes without Node's Buffer. TextEncoder/TextDecoder are
// WHATWG standards with no I/O or time, so the core may use them (declared in text-codec.d.ts).

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function utf8Encode(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Decodes UTF-8; throws TypeError on malformed input (callers turn that into a coded error). */
export function utf8Decode(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const difference = (a[i] as number) - (b[i] as number);
    if (difference !== 0) return difference;
  }
  return a.length - b.length;
}

const hexDigits = '0123456789abcdef';
export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i] as number;
    out += hexDigits[byte >> 4]! + hexDigits[byte & 15]!;
  }
  return out;
}
