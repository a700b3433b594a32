// Why: decoded values hold byte fields as views (Buffer or Uint8Array) and numbers that may be NaN
// or -0; a round trip compares them by content, with Object.is for numbers.
import { isDeepStrictEqual } from 'node:util';

/** `value` with every byte array replaced by its hex and every Map by its sorted entries. */
export function comparable(value: unknown): unknown {
  if (value instanceof Uint8Array)
    return `bytes:${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`;
  if (value instanceof Map)
    return {
      map: [...value.entries()]
        .map(([key, entry]) => [comparable(key), comparable(entry)])
        .sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1)),
    };
  if (Array.isArray(value)) return value.map(comparable);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    // defineProperty, not assignment: a decoded own `__proto__` key stays a key instead of becoming out's prototype.
    for (const key of Object.keys(value))
      if ((value as Record<string, unknown>)[key] !== undefined)
        Object.defineProperty(out, key, {
          value: comparable((value as Record<string, unknown>)[key]),
          enumerable: true,
          writable: true,
          configurable: true,
        });
    return out;
  }
  return value;
}

export function sameValue(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(comparable(a), comparable(b));
}
