// Why: the wire codec lives in the pure core, where Node's Buffer is not visible, yet two of its
// steps are measurably faster with it: taking a frame's memory from Node's pooled allocator, and
// turning a long ASCII text of a frame into a string (Buffer's latin1 decoder, about twice as fast
// as a TextDecoder call; docs/BENCHMARKS.md, "Peer message codec"). This port names those two steps
// so the runtime can pass Node's versions in (src/runtime/wire-bytes.ts) while the core's tests and
// the simulator use the plain ones below. Both must give the same bytes and strings (decision 0037).

/** What the codec asks of the platform for speed; nothing here may change what a frame holds. */
export interface WireBytes {
  /** A writable array of exactly `size` bytes; its contents may be anything, the encoder writes every byte. */
  allocate(size: number): Uint8Array;
  /** `bytes[start, end)` as a string of one char per byte; every byte there is below 128 (the caller checked). */
  asciiSlice(bytes: Uint8Array, start: number, end: number): string;
}

const asciiDecoder = new TextDecoder('utf-8');

/** The standard-library versions: zeroed memory, and ASCII decoded as the UTF-8 it also is. */
export const plainWireBytes: WireBytes = Object.freeze({
  allocate: (size: number): Uint8Array => new Uint8Array(size),
  asciiSlice: (bytes: Uint8Array, start: number, end: number): string =>
    asciiDecoder.decode(bytes.subarray(start, end)),
});
