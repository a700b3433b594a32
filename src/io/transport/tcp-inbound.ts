// Why: an accepted connection is only read. Until its peer has proved the cluster secret, every
// byte is handshake: nothing is parsed as a frame, nothing is delivered, and a peer that fails or
// dawdles is cut off. Once authenticated, the connection knows its peer's id, which becomes the
// `from` of every frame it delivers. A header over frameBytesMax closes it before the body is read.
// Until then it counts against the transport's handshake budget (decision 0013), which may evict it.
// With peer TLS (decision 0026) the budget and the deadline start at the TCP connection and cover
// the TLS handshake too: the connection reads nothing until `secured` hands it the TLS stream.
import type { Socket } from 'node:net';
import type { NodeId } from '../../core/base/ids.ts';
import { EverwriteError } from '../../core/base/errors.ts';
import { encodeFrame, FrameReader, type FrameSink } from './framing.ts';
import { Handshake, handshakeMessageBytesMax } from './handshake.ts';
import type { InboundHost, PeerTrafficCounters } from './tcp-shared.ts';
import type { AdmittedConnection } from '../../core/base/admission.ts';

export class InboundConnection implements FrameSink, AdmittedConnection {
  /** The dialer's IP: the handshake budget's per-address share is counted on it. */
  readonly clientAddress: string;
  /** Set once the peer has proved the secret; undefined before. */
  peerId: NodeId | undefined;
  /** The peer's counters once authenticated, when it is a member (per-peer metrics). */
  private traffic: PeerTrafficCounters | undefined;
  private readonly host: InboundHost;
  /** The TCP connection: its 'close' ends this connection, TLS or not. */
  private readonly socket: Socket;
  /** What is read and written: the TCP connection, or the TLS stream over it once `secured`. */
  private stream: Socket;
  private readonly reader: FrameReader;
  private handshake: Handshake | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  /** `awaitingTls`: read nothing until `secured` gives the TLS stream over `socket`. */
  constructor(host: InboundHost, socket: Socket, awaitingTls = false) {
    this.host = host;
    this.socket = socket;
    this.stream = socket;
    this.clientAddress = socket.remoteAddress ?? '?';
    const options = host.options;
    this.handshake = new Handshake({ role: 'acceptor', secret: options.secret, localId: options.nodeId });
    this.reader = new FrameReader(this, handshakeMessageBytesMax);
    this.timer = setTimeout(() => this.onHandshakeDeadline(), options.handshakeTimeoutMs);
    if (!awaitingTls) this.read(socket);
    // Errors (resets from peers that vanish) are routine here; 'close' follows and cleans up.
    socket.on('error', () => undefined);
    socket.on('close', () => this.onClosed());
  }

  /** The peer's certificate was accepted: the secret handshake is read from the TLS stream. */
  secured(stream: Socket): void {
    if (this.closed) {
      stream.destroy();
      return;
    }
    this.stream = stream;
    stream.on('error', () => undefined);
    this.read(stream);
  }

  /** The TLS handshake failed or the certificate was refused (counted by the transport). */
  refused(reason: string): void {
    this.host.metrics.handshakesFailed++;
    this.abort(
      new EverwriteError('EVERWRITE_AUTH_FAILED', `refused peer connection from ${this.remote()}: ${reason}`, {
        remote: this.remote(),
      }),
    );
  }

  private read(stream: Socket): void {
    stream.on('data', (chunk: Buffer) => this.reader.push(chunk));
  }

  /** The hot path once authenticated: one branch, one counter, one call. */
  onFrame(frame: Uint8Array): void {
    const peerId = this.peerId;
    if (peerId !== undefined) {
      const traffic = this.traffic;
      if (traffic !== undefined) {
        traffic.framesReceived++;
        traffic.bytesReceived += frame.length;
      }
      this.host.deliver(peerId, frame);
      return;
    }
    this.receiveHandshakeMessage(frame);
  }

  onOversizeFrame(announcedBytes: number): void {
    const metrics = this.host.metrics;
    if (this.peerId === undefined) {
      metrics.handshakesFailed++;
      this.abort(
        new EverwriteError(
          'EVERWRITE_BAD_FRAME',
          `unauthenticated client ${this.remote()} sent a ${announcedBytes}-byte handshake message`,
        ),
      );
      return;
    }
    metrics.connectionsClosedFrameTooLarge++;
    const limit = this.host.options.frameBytesMax;
    this.abort(
      new EverwriteError(
        'EVERWRITE_FRAME_TOO_LARGE',
        `node ${this.peerId} announced a ${announcedBytes}-byte frame; the limit is ${limit}`,
        { peer: this.peerId, announcedBytes, frameBytesMax: limit },
      ),
    );
  }

  /** Closes the connection; whatever is still unread is discarded. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.reader.stop();
    this.clearTimer();
    this.stream.destroy();
    this.socket.destroy();
  }

  /** Pending handshakes are all alike to the budget: none is protected from eviction. */
  isBusy(): boolean {
    return false;
  }

  /** The handshake budget needs this slot for a newer connection. */
  evict(): void {
    this.host.handshakeEvicted(this);
    this.close();
  }

  private receiveHandshakeMessage(message: Uint8Array): void {
    const step = (this.handshake as Handshake).receive(message);
    if (step.reply !== undefined) this.stream.write(encodeFrame(step.reply));
    if (step.status === 'failed') {
      this.host.metrics.handshakesFailed++;
      this.abort(
        new EverwriteError(step.error.code, `client ${this.remote()}: ${step.error.message}`, {
          remote: this.remote(),
        }),
      );
    } else if (step.status === 'authenticated') {
      this.clearTimer();
      this.handshake = undefined;
      this.peerId = step.peerId;
      // The host may refuse a node outside the cluster view; it has then closed this connection.
      if (!this.host.inboundAuthenticated(this)) return;
      // From here on frames may be as large as the cluster allows; the reader keeps parsing the
      // rest of this chunk under the new limit, so a dialer may pipeline right after its proof.
      this.reader.frameBytesMax = this.host.options.frameBytesMax;
      this.traffic = this.host.memberTrafficOf(step.peerId);
      this.host.metrics.inboundAuthenticated++;
    }
  }

  private onHandshakeDeadline(): void {
    this.timer = undefined;
    if (this.peerId !== undefined || this.closed) return;
    this.host.metrics.handshakeTimeouts++;
    this.abort(
      new EverwriteError(
        'EVERWRITE_TIMEOUT',
        `client ${this.remote()} did not finish the handshake within ${this.host.options.handshakeTimeoutMs} ms`,
        { remote: this.remote() },
      ),
    );
  }

  private abort(incident: EverwriteError): void {
    this.close();
    this.host.reportIncident(incident);
  }

  private onClosed(): void {
    this.closed = true;
    this.reader.stop();
    this.clearTimer();
    this.host.inboundClosed(this);
  }

  private remote(): string {
    return `${this.socket.remoteAddress ?? '?'}:${this.socket.remotePort ?? '?'}`;
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
