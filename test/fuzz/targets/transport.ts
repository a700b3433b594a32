// Why: the first bytes a node reads from a TCP connection, before any trust: the u32 length-prefixed
// framing (src/io/transport/framing.ts) and the handshake (src/io/transport/handshake.ts). The
// framing must deliver exactly the frames that were sent whatever the chunking, never hold more
// than the frame limit, and refuse an oversized header before buffering a byte of its body. The
// handshake must answer any message with a step (never a throw), failing with a coded error.
import fc from 'fast-check';
import { asNodeId } from '../../../src/core/base/ids.ts';
import { EverwriteError } from '../../../src/core/base/errors.ts';
import { encodeFrames, FrameReader, frameHeaderBytes, type FrameSink } from '../../../src/io/transport/framing.ts';
import { Handshake, nonceBytes, type HandshakeStep } from '../../../src/io/transport/handshake.ts';
import { type FuzzTarget, violation } from '../harness.ts';
import { chunked, hexPreview, mutate, mutatedBytes } from '../mutate.ts';

const frameBytesMax = 64;

interface FramingInput {
  /** Frames sent (all within the limit) when the stream is valid; undefined for a hostile stream. */
  readonly frames: Uint8Array[] | undefined;
  readonly stream: Uint8Array;
  readonly cuts: number[];
}

function encodeAll(frames: readonly Uint8Array[]): Uint8Array {
  return encodeFrames(
    frames,
    frames.reduce((total, frame) => total + frameHeaderBytes + frame.length, 0),
  );
}

class CollectingSink implements FrameSink {
  readonly frames: Uint8Array[] = [];
  oversize: number | undefined;
  onFrame(frame: Uint8Array): void {
    this.frames.push(Uint8Array.from(frame));
  }
  onOversizeFrame(announcedBytes: number): void {
    this.oversize = announcedBytes;
  }
}

/** What a correct reader delivers for `stream`: the frames up to the first oversized header. */
function modelFrames(stream: Uint8Array): { frames: Uint8Array[]; oversize: number | undefined } {
  const frames: Uint8Array[] = [];
  const view = Buffer.from(stream.buffer, stream.byteOffset, stream.byteLength);
  let offset = 0;
  while (offset + frameHeaderBytes <= view.length) {
    const length = view.readUInt32BE(offset);
    if (length > frameBytesMax) return { frames, oversize: length };
    if (offset + frameHeaderBytes + length > view.length) break;
    frames.push(Uint8Array.from(view.subarray(offset + frameHeaderBytes, offset + frameHeaderBytes + length)));
    offset += frameHeaderBytes + length;
  }
  return { frames, oversize: undefined };
}

const validFrames = fc.array(fc.uint8Array({ maxLength: frameBytesMax }), { maxLength: 6 });

export const framingTarget: FuzzTarget<FramingInput> = {
  name: 'framing',
  subject: 'u32 length-prefixed frames on a TCP stream (FrameReader)',
  arbitrary: fc.oneof(
    fc
      .tuple(validFrames, fc.array(fc.nat(), { maxLength: 8 }))
      .map(([frames, cuts]) => ({ frames, stream: encodeAll(frames), cuts })),
    fc
      .tuple(mutatedBytes(validFrames.map(encodeAll)), fc.array(fc.nat(), { maxLength: 8 }))
      .map(([stream, cuts]) => ({ frames: undefined, stream, cuts })),
  ),
  check({ frames, stream, cuts }) {
    const sink = new CollectingSink();
    const reader = new FrameReader(sink, frameBytesMax);
    for (const chunk of chunked(stream, cuts)) {
      reader.push(chunk);
      if (reader.bufferedBytes > frameHeaderBytes + frameBytesMax)
        violation(`reader holds ${reader.bufferedBytes} bytes, over the frame limit`);
    }
    const expected = modelFrames(stream);
    if (frames !== undefined && expected.frames.length !== frames.length)
      violation('model disagrees with the frames sent');
    if (sink.oversize !== expected.oversize)
      violation(`oversize report ${sink.oversize}, expected ${expected.oversize}`);
    if (
      sink.frames.length !== expected.frames.length ||
      sink.frames.some((frame, index) => !Buffer.from(frame).equals(expected.frames[index] as Uint8Array))
    ) {
      violation('the reader delivered other frames than the stream holds');
    }
  },
  crafted: [0xffff_ffff, 2 ** 31, frameBytesMax + 1, 2 ** 24].flatMap((length) => {
    const header = Buffer.alloc(frameHeaderBytes);
    header.writeUInt32BE(length);
    const stream = Buffer.concat([header, Buffer.alloc(32, 7)]);
    return [
      { name: `header announcing ${length} bytes`, input: { frames: undefined, stream, cuts: [] } },
      {
        name: `header announcing ${length} bytes, one byte per chunk`,
        input: { frames: undefined, stream, cuts: [1, 2, 3, 4, 5] },
      },
    ];
  }),
  describe: ({ stream, cuts }) => `${hexPreview(stream)} cut at ${JSON.stringify(cuts)}`,
  ciRuns: 3000,
};

// ---------------------------------------------------------------------------------------------
// Handshake

const secret = new Uint8Array(32).fill(9);
const fixedNonce = (fill: number) => () => new Uint8Array(nonceBytes).fill(fill);

interface HandshakeInput {
  readonly role: 'dialer' | 'acceptor';
  /** Messages fed to the side in order, after the genuine ones listed by `genuineFirst`. */
  readonly messages: Uint8Array[];
  /** How many genuine messages from a real peer come first (to reach the later states). */
  readonly genuineFirst: number;
}

/** A genuine exchange between a dialer and an acceptor: the messages each side receives, in order. */
function genuineExchange(): { toDialer: Uint8Array[]; toAcceptor: Uint8Array[] } {
  const dialer = new Handshake({
    role: 'dialer',
    secret,
    localId: asNodeId('node-a'),
    expectedPeerId: asNodeId('node-b'),
    randomBytes: fixedNonce(1),
  });
  const acceptor = new Handshake({ role: 'acceptor', secret, localId: asNodeId('node-b'), randomBytes: fixedNonce(2) });
  const toAcceptor: Uint8Array[] = [dialer.opening() as Uint8Array];
  const toDialer: Uint8Array[] = [];
  let step = acceptor.receive(toAcceptor[0] as Uint8Array);
  toDialer.push(step.reply as Uint8Array);
  step = dialer.receive(toDialer[0] as Uint8Array);
  toAcceptor.push(step.reply as Uint8Array);
  step = acceptor.receive(toAcceptor[1] as Uint8Array);
  toDialer.push(step.reply as Uint8Array);
  return { toDialer, toAcceptor };
}

const genuine = genuineExchange();

function side(role: HandshakeInput['role']): Handshake {
  return role === 'dialer'
    ? new Handshake({
        role,
        secret,
        localId: asNodeId('node-a'),
        expectedPeerId: asNodeId('node-b'),
        randomBytes: fixedNonce(1),
      })
    : new Handshake({ role, secret, localId: asNodeId('node-b'), randomBytes: fixedNonce(2) });
}

function checkStep(step: HandshakeStep): void {
  if (
    step.status === 'failed' &&
    !(
      step.error instanceof EverwriteError &&
      (step.error.code === 'EVERWRITE_BAD_FRAME' || step.error.code === 'EVERWRITE_AUTH_FAILED')
    )
  )
    violation('a failed step without a coded error');
}

const anyGenuine = fc.constantFrom(...genuine.toDialer, ...genuine.toAcceptor);

export const handshakeTarget: FuzzTarget<HandshakeInput> = {
  name: 'handshake',
  subject: 'handshake hello and proof messages (Handshake.receive)',
  arbitrary: fc.record({
    role: fc.constantFrom('dialer' as const, 'acceptor' as const),
    genuineFirst: fc.nat(2),
    messages: fc.array(mutatedBytes(anyGenuine), { minLength: 1, maxLength: 3 }),
  }),
  check({ role, messages, genuineFirst }) {
    const handshake = side(role);
    handshake.opening();
    const genuineMessages = (role === 'dialer' ? genuine.toDialer : genuine.toAcceptor).slice(0, genuineFirst);
    let authenticated = false;
    for (const message of [...genuineMessages, ...messages]) {
      const step = handshake.receive(message);
      checkStep(step);
      if (step.status === 'authenticated') authenticated = true;
      if (step.status === 'failed') break;
    }
    // Only the genuine proof authenticates: a mutated message never does.
    const genuineProof = (role === 'dialer' ? genuine.toDialer[1] : genuine.toAcceptor[1]) as Uint8Array;
    const sawGenuineProof = [...genuineMessages, ...messages].some(
      (message, index) => index >= 1 && Buffer.from(message).equals(genuineProof),
    );
    if (authenticated && !sawGenuineProof) violation('authenticated without the genuine proof');
  },
  crafted: [
    {
      name: 'hello with id length 255 and no id',
      input: {
        role: 'acceptor',
        genuineFirst: 0,
        messages: [
          mutate(genuine.toAcceptor[0] as Uint8Array, [
            { kind: 'truncate', at: 37 },
            { kind: 'insert', at: 37, bytes: Uint8Array.of(255) },
          ]),
        ],
      },
    },
    {
      name: 'hello with a lone surrogate id',
      input: {
        role: 'acceptor',
        genuineFirst: 0,
        messages: [
          Buffer.concat([Buffer.from('EWH1'), Buffer.alloc(32), Uint8Array.of(3), Uint8Array.of(0xed, 0xa0, 0x80)]),
        ],
      },
    },
    { name: 'empty message', input: { role: 'dialer', genuineFirst: 0, messages: [new Uint8Array(0)] } },
    { name: 'proof of 1 MiB', input: { role: 'acceptor', genuineFirst: 1, messages: [new Uint8Array(1024 * 1024)] } },
    {
      name: 'messages after failure',
      input: {
        role: 'acceptor',
        genuineFirst: 0,
        messages: [new Uint8Array(3), genuine.toAcceptor[0] as Uint8Array, genuine.toAcceptor[1] as Uint8Array],
      },
    },
  ],
  describe: ({ role, genuineFirst, messages }) =>
    `${role} after ${genuineFirst} genuine: ${messages.map((message) => hexPreview(message, 64)).join(' | ')}`,
  ciRuns: 2000,
};
