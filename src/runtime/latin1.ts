// Why: byte strings (storage keys, stored values) are turned into JavaScript strings of one char per
// byte wherever a Map key or a compact copy is wanted: the memory engine, the log's overlay, the
// per-key queue. Buffer's own latin1Slice does it for any Uint8Array, without the Buffer view per
// call that `Buffer.from(bytes.buffer, …).toString('latin1')` makes; JavaScript's string order of
// the result is the bytes' order.

const latin1Slice = (
  Buffer.prototype as unknown as { latin1Slice(this: Uint8Array, start: number, end: number): string }
).latin1Slice;

/** The bytes as a string of one char per byte. */
export function latin1(bytes: Uint8Array): string {
  return latin1Slice.call(bytes, 0, bytes.byteLength);
}
