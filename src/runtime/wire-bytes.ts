// Why: the wire codec is pure (src/core/protocol/codec/, decision 0037) but a node encodes and
// decodes a frame per peer per dispatch, and two of the codec's steps are faster with Node's
// Buffer: Buffer.allocUnsafe takes small frames from Node's pooled slab (no zeroing, no malloc
// per frame), and Buffer's latin1Slice turns a long ASCII text into a string about twice as fast as a
// TextDecoder call (docs/BENCHMARKS.md, "Peer message codec"). NodeRuntime passes these in.
import type { WireBytes } from '../core/protocol/codec/wire-bytes.ts';

/** Buffer's own latin1 decoder, callable on any Uint8Array (a Buffer from a socket or not). */
const latin1Slice = (
  Buffer.prototype as unknown as { latin1Slice(this: Uint8Array, start: number, end: number): string }
).latin1Slice;

export const nodeWireBytes: WireBytes = Object.freeze({
  allocate: (size: number): Uint8Array => Buffer.allocUnsafe(size),
  asciiSlice: (bytes: Uint8Array, start: number, end: number): string => latin1Slice.call(bytes, start, end),
});
