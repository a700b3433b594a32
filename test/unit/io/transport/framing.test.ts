// Why: the frame parser sits between every socket and the node. Whatever the chunking, it must
// yield exactly the frames that were encoded, and a hostile header must stop it before anything the
// header announces is buffered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Prng } from '../../../../src/core/base/prng.ts';
import {
  encodeFrame,
  encodeFrames,
  FrameReader,
  frameHeaderBytes,
  type FrameSink,
} from '../../../../src/io/transport/framing.ts';

class CollectingSink implements FrameSink {
  readonly frames: Buffer[] = [];
  oversize: number | undefined;
  onFrame(frame: Uint8Array): void {
    this.frames.push(Buffer.from(frame));
  }
  onOversizeFrame(announcedBytes: number): void {
    this.oversize = announcedBytes;
  }
}

function sampleFrames(prng: Prng, count: number): Buffer[] {
  return Array.from({ length: count }, () => {
    const size = prng.chance(0.1) ? prng.nextInt(100_000) : prng.nextInt(300);
    return Buffer.from(Array.from({ length: size }, () => prng.nextInt(256)));
  });
}

const totalBytes = (frames: readonly Uint8Array[]): number =>
  frames.reduce((sum, frame) => sum + frameHeaderBytes + frame.length, 0);

test('FrameReader yields the encoded frames whatever the chunk boundaries', { timeout: 20_000 }, () => {
  for (let seed = 1; seed <= 100; seed++) {
    const prng = new Prng(seed);
    const frames = sampleFrames(prng, 1 + prng.nextInt(40));
    const stream = encodeFrames(frames, totalBytes(frames));
    const sink = new CollectingSink();
    const reader = new FrameReader(sink, 1_000_000);
    for (let offset = 0; offset < stream.length;) {
      const chunkBytes = prng.chance(0.3) ? 1 + prng.nextInt(5) : 1 + prng.nextInt(70_000);
      reader.push(stream.subarray(offset, offset + chunkBytes));
      offset += chunkBytes;
    }
    assert.deepEqual(sink.frames, frames, `seed ${seed}`);
    assert.equal(reader.bufferedBytes, 0);
    assert.equal(sink.oversize, undefined);
  }
});

test('FrameReader handles a stream fed one byte at a time, including empty frames', () => {
  const frames = [Buffer.alloc(0), Buffer.from('a'), Buffer.alloc(0), Buffer.from('hello world')];
  const stream = encodeFrames(frames, totalBytes(frames));
  const sink = new CollectingSink();
  const reader = new FrameReader(sink, 100);
  for (const byte of stream) reader.push(Buffer.of(byte));
  assert.deepEqual(sink.frames, frames);
});

test('FrameReader stops at a header over its limit without buffering the announced body', () => {
  const sink = new CollectingSink();
  const reader = new FrameReader(sink, 1024);
  const good = encodeFrame(Buffer.from('ok'));
  const hostile = Buffer.alloc(frameHeaderBytes);
  hostile.writeUInt32BE(0xffff_fff0, 0);
  const after = encodeFrame(Buffer.from('never'));
  reader.push(Buffer.concat([good, hostile.subarray(0, 2)]));
  reader.push(Buffer.concat([hostile.subarray(2), Buffer.alloc(100), after]));
  assert.deepEqual(sink.frames, [Buffer.from('ok')]);
  assert.equal(sink.oversize, 0xffff_fff0);
  assert.equal(reader.isStopped, true);
  assert.equal(reader.bufferedBytes, 0);
  reader.push(after);
  assert.equal(sink.frames.length, 1, 'a stopped reader delivers nothing more');
});

test('FrameReader accepts a frame of exactly its limit', () => {
  const sink = new CollectingSink();
  const reader = new FrameReader(sink, 10);
  reader.push(encodeFrame(Buffer.alloc(10, 3)));
  assert.equal(sink.frames.length, 1);
  assert.equal(sink.oversize, undefined);
});

test('FrameReader delivers a frame inside one chunk as a view, without copying', () => {
  const frames: Uint8Array[] = [];
  const reader = new FrameReader(
    { onFrame: (frame) => frames.push(frame), onOversizeFrame: () => assert.fail('oversize') },
    100,
  );
  const chunk = encodeFrames([Buffer.from('abc'), Buffer.from('de')], 13);
  reader.push(chunk);
  assert.equal(frames[0]?.buffer, chunk.buffer);
  assert.equal(frames[1]?.byteOffset, chunk.byteOffset + 11);
});

test('stop() in the middle of a chunk prevents every later frame', () => {
  const frames: Buffer[] = [];
  const reader: FrameReader = new FrameReader(
    {
      onFrame(frame) {
        frames.push(Buffer.from(frame));
        reader.stop();
      },
      onOversizeFrame: () => assert.fail('oversize'),
    },
    100,
  );
  const parts = [Buffer.from('one'), Buffer.from('two'), Buffer.from('three')];
  reader.push(encodeFrames(parts, totalBytes(parts)));
  assert.deepEqual(frames, [Buffer.from('one')]);
});

test('encodeFrames refuses a wrong total (a bug in the caller)', () => {
  assert.throws(() => encodeFrames([Buffer.from('abc')], 8), RangeError);
});
