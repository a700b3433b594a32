// Why: the TCP transport's defences can only be tested by peers that misbehave on purpose: a client
// with the wrong secret that pipelines frames anyway, one that skips the handshake, an acceptor that
// authenticates and then never reads. These helpers speak the wire protocol by hand (reusing the
// Handshake state machine, so the protocol is not restated) and are shared by in-process tests and
// the intruder child process.
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { NodeId } from '../../src/core/base/ids.ts';
import { encodeFrame, encodeFrames, FrameReader, frameHeaderBytes } from '../../src/io/transport/framing.ts';
import { Handshake, handshakeMessageBytesMax } from '../../src/io/transport/handshake.ts';

/** 'closed': the other side hung up mid-handshake; 'timeout': we gave up waiting. */
export type HandshakeOutcome = 'authenticated' | 'rejected' | 'closed' | 'timeout';

export interface RawDialOptions {
  readonly host: string;
  readonly port: number;
  readonly secret: Uint8Array;
  readonly localId: NodeId;
  readonly expectedPeerId?: NodeId;
  /** Called right after our proof is written, before the acceptor's verdict: to pipeline frames. */
  readonly onProofSent?: (socket: Socket) => void;
  /** Gives up (and destroys the socket) after this many milliseconds. */
  readonly timeoutMs: number;
}

export interface RawDialResult {
  readonly socket: Socket;
  readonly outcome: HandshakeOutcome;
  /** Resolves when the socket closes, with whether the other side closed it first. */
  readonly closed: Promise<void>;
}

/** Connects and runs the dialer side of the handshake by hand. */
export function dialAndHandshake(options: RawDialOptions): Promise<RawDialResult> {
  return new Promise((resolve) => {
    const socket = connect({ host: options.host, port: options.port });
    const closed = new Promise<void>((resolveClosed) => socket.once('close', () => resolveClosed()));
    const timer = setTimeout(() => finish('timeout'), options.timeoutMs);
    let settled = false;
    const finish = (outcome: HandshakeOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.removeAllListeners('data');
      if (outcome !== 'authenticated') socket.destroy();
      resolve({ socket, outcome, closed });
    };
    const handshake = new Handshake({
      role: 'dialer',
      secret: options.secret,
      localId: options.localId,
      ...(options.expectedPeerId === undefined ? {} : { expectedPeerId: options.expectedPeerId }),
    });
    const reader = new FrameReader(
      {
        onFrame(message) {
          const step = handshake.receive(message);
          if (step.reply !== undefined) socket.write(encodeFrame(step.reply));
          if (step.status === 'continue') options.onProofSent?.(socket);
          if (step.status !== 'continue') finish(step.status === 'authenticated' ? 'authenticated' : 'rejected');
        },
        onOversizeFrame: () => finish('rejected'),
      },
      handshakeMessageBytesMax,
    );
    socket.on('error', () => undefined);
    socket.on('connect', () => socket.write(encodeFrame(handshake.opening() as Uint8Array)));
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
    socket.on('close', () => finish('closed'));
  });
}

/** `count` frames of `frameBytes` bytes, each starting with its index, length-prefixed in one buffer. */
export function encodeNumberedFrames(count: number, frameBytes: number): Buffer {
  const frames: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const frame = Buffer.alloc(Math.max(frameBytes, 4));
    frame.writeUInt32BE(i, 0);
    frames.push(frame);
  }
  return encodeFrames(
    frames,
    frames.reduce((sum, frame) => sum + frameHeaderBytes + frame.length, 0),
  );
}

export interface RawAcceptor {
  readonly server: Server;
  readonly port: number;
  /** Bytes received on each connection after its handshake finished (should stay 0 for an impostor). */
  readonly bytesAfterHandshake: number[];
  /** Outcome of each connection's handshake, in accept order. */
  readonly outcomes: HandshakeOutcome[];
  close(): Promise<void>;
}

export interface RawAcceptorOptions {
  readonly secret: Uint8Array;
  readonly localId: NodeId;
  /** Stop reading once authenticated: a slow reader whose kernel buffers fill up. */
  readonly pauseAfterHandshake: boolean;
  /** When the dialer's proof does not verify, answer with a forged proof and keep listening (an impostor). */
  readonly forgeProof?: boolean;
}

/**
 * A hand-written acceptor on 127.0.0.1:0. It counts the bytes each connection delivers once its
 * handshake is over (authenticated, or, for an impostor, after its forged proof).
 */
export async function startRawAcceptor(options: RawAcceptorOptions): Promise<RawAcceptor> {
  const sockets = new Set<Socket>();
  const bytesAfterHandshake: number[] = [];
  const outcomes: HandshakeOutcome[] = [];
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const index = outcomes.push('closed') - 1;
    bytesAfterHandshake.push(0);
    const handshake = new Handshake({ role: 'acceptor', secret: options.secret, localId: options.localId });
    const reader = new FrameReader(
      {
        onFrame(message) {
          const step = handshake.receive(message);
          if (step.reply !== undefined) socket.write(encodeFrame(step.reply));
          if (step.status === 'failed') {
            outcomes[index] = 'rejected';
            reader.stop();
            if (options.forgeProof === true)
              socket.write(encodeFrame(Buffer.concat([Buffer.from('EWP1', 'latin1'), Buffer.alloc(32, 7)])));
            else socket.destroy();
          } else if (step.status === 'authenticated') {
            outcomes[index] = 'authenticated';
            reader.stop();
            if (options.pauseAfterHandshake) socket.pause();
          }
        },
        onOversizeFrame: () => socket.destroy(),
      },
      handshakeMessageBytesMax,
    );
    socket.on('data', (chunk: Buffer) => {
      if (reader.isStopped) bytesAfterHandshake[index] = (bytesAfterHandshake[index] ?? 0) + chunk.length;
      else reader.push(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const close = async (): Promise<void> => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { server, port: (server.address() as AddressInfo).port, bytesAfterHandshake, outcomes, close };
}
