// Why: TCP is a byte stream; nodes exchange messages. Every frame on an inter-node connection is a
// u32 big-endian length followed by that many bytes (docs/ARCHITECTURE.md section 3). The reader turns chunks
// back into frames without quadratic copying and without ever allocating what a hostile or broken
// header announces: it refuses the length before a single body byte is buffered.

/** Bytes of the length prefix in front of every frame. */
export const frameHeaderBytes = 4;

/** Largest length a u32 header can carry. */
export const frameLengthLimit = 0xffff_ffff;

/** Where a FrameReader hands what it parsed. One object per connection: no closure per frame. */
export interface FrameSink {
  /** A complete frame. It may be a view into a received chunk: never overwritten, but shared. */
  onFrame(frame: Uint8Array): void;
  /** A header announced more than the reader's limit; the reader has stopped for good. */
  onOversizeFrame(announcedBytes: number): void;
}

/**
 * Writes the first `count` of `frames` as length-prefixed frames into one new buffer of exactly
 * `totalBytes` (the sum of every frame's length plus its header), so a whole turn's frames leave in
 * one socket write.
 */
export function encodeFrames(frames: readonly Uint8Array[], totalBytes: number, count = frames.length): Buffer {
  const out = Buffer.allocUnsafe(totalBytes);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const frame = frames[i] as Uint8Array;
    out.writeUInt32BE(frame.length, offset);
    out.set(frame, offset + frameHeaderBytes);
    offset += frameHeaderBytes + frame.length;
  }
  if (offset !== totalBytes) throw new RangeError(`encodeFrames: ${offset} bytes written, ${totalBytes} announced`);
  return out;
}

/** One frame with its header, for the few messages that are not coalesced (the handshake). */
export function encodeFrame(frame: Uint8Array): Buffer {
  return encodeFrames([frame], frameHeaderBytes + frame.length);
}

/** The header of one frame, for writers that hand header and body to the socket separately. */
export function encodeFrameHeader(frameBytes: number): Buffer {
  const header = Buffer.allocUnsafe(frameHeaderBytes);
  header.writeUInt32BE(frameBytes, 0);
  return header;
}

/**
 * Incremental parser of length-prefixed frames. A frame wholly inside one chunk is delivered as a
 * zero-copy view; a frame spread over chunks is assembled once, when its last byte arrives, so every
 * byte is copied at most once whatever the chunking.
 */
export class FrameReader {
  /** Frames announcing more bytes than this stop the reader (the owner closes the connection). */
  frameBytesMax: number;
  private readonly sink: FrameSink;
  private readonly partialHeader = Buffer.alloc(frameHeaderBytes);
  private partialHeaderBytes = 0;
  /** Length of the frame whose body is being collected across chunks; -1 between frames. */
  private pendingFrameBytes = -1;
  private pendingParts: Buffer[] = [];
  private pendingPartsBytes = 0;
  private stopped = false;

  constructor(sink: FrameSink, frameBytesMax: number) {
    this.sink = sink;
    this.frameBytesMax = frameBytesMax;
  }

  /** Stops parsing, even in the middle of a chunk: nothing more reaches the sink. */
  stop(): void {
    this.stopped = true;
    this.pendingParts = [];
    this.pendingPartsBytes = 0;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** Bytes held for an incomplete frame (header included); for tests and metrics. */
  get bufferedBytes(): number {
    return this.partialHeaderBytes + this.pendingPartsBytes;
  }

  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length && !this.stopped) {
      offset = this.pendingFrameBytes >= 0 ? this.continueBody(chunk, offset) : this.readFrameAt(chunk, offset);
    }
  }

  /** Reads a header at `offset` and, when the body is in the same chunk, delivers the frame. */
  private readFrameAt(chunk: Buffer, offset: number): number {
    let bodyStart: number;
    let announced: number;
    if (this.partialHeaderBytes === 0 && chunk.length - offset >= frameHeaderBytes) {
      announced = chunk.readUInt32BE(offset);
      bodyStart = offset + frameHeaderBytes;
    } else {
      bodyStart = offset;
      while (this.partialHeaderBytes < frameHeaderBytes && bodyStart < chunk.length) {
        this.partialHeader[this.partialHeaderBytes++] = chunk[bodyStart++] as number;
      }
      if (this.partialHeaderBytes < frameHeaderBytes) return bodyStart;
      this.partialHeaderBytes = 0;
      announced = this.partialHeader.readUInt32BE(0);
    }
    if (announced > this.frameBytesMax) {
      this.stop();
      this.sink.onOversizeFrame(announced);
      return chunk.length;
    }
    if (chunk.length - bodyStart >= announced) {
      this.sink.onFrame(chunk.subarray(bodyStart, bodyStart + announced));
      return bodyStart + announced;
    }
    this.pendingFrameBytes = announced;
    return bodyStart;
  }

  /** Adds bytes to the frame being collected across chunks; delivers it once complete. */
  private continueBody(chunk: Buffer, offset: number): number {
    const missing = this.pendingFrameBytes - this.pendingPartsBytes;
    const available = chunk.length - offset;
    if (available < missing) {
      this.pendingParts.push(offset === 0 ? chunk : chunk.subarray(offset));
      this.pendingPartsBytes += available;
      return chunk.length;
    }
    const tail = chunk.subarray(offset, offset + missing);
    const frame =
      this.pendingPartsBytes === 0 ? tail : Buffer.concat([...this.pendingParts, tail], this.pendingFrameBytes);
    this.pendingParts = [];
    this.pendingPartsBytes = 0;
    this.pendingFrameBytes = -1;
    this.sink.onFrame(frame);
    return offset + missing;
  }
}
