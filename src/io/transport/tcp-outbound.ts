// Why: a node sends to a peer over ONE persistent outbound connection (inbound connections are only
// read), so each pair of nodes has one connection per direction and frames to a peer keep their
// order. The link owns that connection's life: connect, authenticate, coalesce a turn's frames into
// one write, respect the socket's backpressure, bound what waits, and reconnect with backoff.
//
// Best effort, by decision: while the link is connecting or waiting to reconnect, frames are kept
// in its queue up to sendQueueBytesMax and go out once the handshake succeeds; frames past the bound
// are dropped and counted. Frames already handed to a socket that then dies are lost. The core
// tolerates loss, delay and duplication (docs/ARCHITECTURE.md section 2).
import { connect, type Socket } from 'node:net';
import type { NodeId } from '../../core/base/ids.ts';
import { EverwriteError } from '../../core/base/errors.ts';
import {
  encodeFrame,
  encodeFrameHeader,
  encodeFrames,
  FrameReader,
  frameHeaderBytes,
  type FrameSink,
} from './framing.ts';
import { Handshake, handshakeMessageBytesMax } from './handshake.ts';
import { autoWritevFrameBytesMin, type PeerAddress } from './tcp-options.ts';
import { keepAliveInitialDelayMs, type OutboundHost, type PeerTrafficCounters } from './tcp-shared.ts';
import { dialTls, isTlsRefusal } from './tcp-tls.ts';
import { tlsFailureClassOf } from '../../core/base/tls-failure-class.ts';
import { ReusableList } from '../../core/base/reusable-list.ts';

/** Named after what the link waits for (docs/ARCHITECTURE.md habit 1). */
type LinkState = 'idle' | 'awaitingConnect' | 'awaitingHandshake' | 'ready' | 'awaitingReconnect' | 'closed';

export class OutboundLink implements FrameSink {
  readonly peerId: NodeId;
  /** True while the link sits in the transport's list of links to flush this turn. */
  dirty = false;
  private address: PeerAddress;
  private readonly host: OutboundHost;
  /** This peer's share of the counters (per-peer metrics). */
  private readonly traffic: PeerTrafficCounters;
  private state: LinkState = 'idle';
  private socket: Socket | undefined;
  private handshake: Handshake | undefined;
  private reader: FrameReader | undefined;
  private timer: NodeJS.Timeout | undefined;
  private consecutiveFailures = 0;
  private readonly queue = new ReusableList<Uint8Array>();
  /** Bytes in `queue`, headers included. */
  private queueBytes = 0;
  private waitingForDrain = false;
  /** When the oldest frame still queued while not connected was queued (performance.now()), or -1. */
  private waitingSinceMs = -1;

  constructor(host: OutboundHost, peerId: NodeId, address: PeerAddress) {
    this.host = host;
    this.peerId = peerId;
    this.address = address;
    this.traffic = host.trafficOf(peerId);
  }

  /** The handshake with the peer is done and frames go out as they are flushed. */
  get connected(): boolean {
    return this.state === 'ready';
  }

  /** Bytes waiting for this peer: our queue plus what the socket has not yet handed to the kernel. */
  get pendingBytes(): number {
    return this.queueBytes + (this.socket === undefined ? 0 : this.socket.writableLength);
  }

  /** Queues one frame; drops (and counts) it when the bound would be passed. The hot path. */
  enqueue(frame: Uint8Array): void {
    const cost = frameHeaderBytes + frame.length;
    const metrics = this.host.metrics;
    if (this.pendingBytes + cost > this.host.options.sendQueueBytesMax) {
      metrics.framesDroppedQueueFull++;
      this.traffic.framesDropped++;
      return;
    }
    if (this.state !== 'ready' && this.queue.count === 0) this.waitingSinceMs = performance.now();
    this.queue.push(frame);
    this.queueBytes += cost;
    metrics.framesQueued++;
    if (this.state === 'ready') this.host.markDirty(this);
    else if (this.state === 'idle') this.connect();
  }

  /**
   * The peer has just connected to us, so it is listening again: a link waiting out its reconnect
   * back-off connects now, with the back-off started over. Without this, a peer that was down for a
   * while (failure detection kept probing it, decision 0014) is reached only after a delay of up to
   * reconnectDelayMaxMs, and frames for it are dropped as stale meanwhile.
   */
  peerConnected(): void {
    if (this.state !== 'awaitingReconnect') return;
    this.clearTimer();
    this.consecutiveFailures = 0;
    this.connect();
  }

  /** Writes every queued frame with one socket write, unless the socket asked us to wait. */
  flush(): void {
    if (this.state !== 'ready' || this.waitingForDrain || this.queue.count === 0) return;
    const socket = this.socket as Socket;
    const frameCount = this.queue.count;
    const bytes = this.queueBytes;
    const accepted = this.copiesFrames(frameCount, bytes) ? this.writeConcatenated(socket) : this.writeCorked(socket);
    this.queueBytes = 0;
    this.waitingForDrain = !accepted;
    const metrics = this.host.metrics;
    metrics.socketWrites++;
    metrics.framesWritten += frameCount;
    metrics.bytesWritten += bytes;
    this.traffic.framesSent += frameCount;
    this.traffic.bytesSent += bytes;
  }

  /** Small frames are cheaper to copy than to hand over one by one; big ones are not (measured). */
  private copiesFrames(frameCount: number, bytes: number): boolean {
    const strategy = this.host.options.coalesceStrategy;
    if (strategy === 'auto') return bytes < autoWritevFrameBytesMin * frameCount;
    return strategy === 'concatenate';
  }

  /** One copy into one buffer, one write; the queue array is reused. */
  private writeConcatenated(socket: Socket): boolean {
    const accepted = socket.write(encodeFrames(this.queue.backing, this.queueBytes, this.queue.count));
    this.queue.clear();
    return accepted;
  }

  /** No copy: headers and frames go to a corked socket, which hands them to the kernel in one writev. */
  private writeCorked(socket: Socket): boolean {
    const frames = this.queue;
    socket.cork();
    for (let i = 0; i < frames.count; i++) {
      const frame = frames.at(i);
      socket.write(encodeFrameHeader(frame.length));
      socket.write(frame);
    }
    frames.clear();
    const accepted = !socket.writableNeedDrain;
    socket.uncork();
    return accepted;
  }

  /** Points the link at a new address; a live connection to the old one is replaced. */
  setAddress(address: PeerAddress): void {
    if (address.host === this.address.host && address.port === this.address.port) return;
    this.address = address;
    if (this.state === 'closed' || this.state === 'idle') return;
    this.teardown();
    this.consecutiveFailures = 0;
    this.connect();
  }

  /** Closes for good (transport stop, or peer removed); what is still queued is dropped and counted. */
  close(): void {
    if (this.state === 'closed') return;
    this.host.metrics.framesDroppedNotRunning += this.queue.count;
    this.traffic.framesDropped += this.queue.count;
    this.queue.clear();
    this.queueBytes = 0;
    this.teardown();
    this.state = 'closed';
  }

  onFrame(frame: Uint8Array): void {
    if (this.state !== 'awaitingHandshake') {
      this.host.metrics.connectionsClosedProtocolViolation++;
      this.fail(new EverwriteError('EVERWRITE_BAD_FRAME', `node ${this.peerId} sent data on our outbound connection`));
      return;
    }
    const step = (this.handshake as Handshake).receive(frame);
    if (step.reply !== undefined) (this.socket as Socket).write(encodeFrame(step.reply));
    if (step.status === 'failed') {
      this.host.metrics.handshakesFailed++;
      this.fail(step.error);
    } else if (step.status === 'authenticated') {
      this.becomeReady();
    }
  }

  onOversizeFrame(announcedBytes: number): void {
    this.host.metrics.handshakesFailed++;
    this.fail(
      new EverwriteError('EVERWRITE_BAD_FRAME', `node ${this.peerId} sent a ${announcedBytes}-byte handshake message`),
    );
  }

  private connect(): void {
    const host = this.host;
    const options = host.options;
    host.metrics.connectsAttempted++;
    this.traffic.connects++;
    this.state = 'awaitingConnect';
    const socket = this.dial();
    this.socket = socket;
    host.trackSocket(socket);
    this.armTimer(options.connectTimeoutMs);
    // Over TLS the secret handshake starts once the acceptor's certificate is checked (decision 0026).
    const tls = host.dialerTlsContext !== undefined;
    socket.on(tls ? 'secureConnect' : 'connect', () => {
      if (tls) host.metrics.tlsHandshakesCompleted++;
      if (socket === this.socket) this.startHandshake();
    });
    socket.on('data', (chunk: Buffer) => {
      if (socket === this.socket) (this.reader as FrameReader).push(chunk);
    });
    socket.on('drain', () => {
      if (socket !== this.socket) return;
      this.waitingForDrain = false;
      this.flush();
    });
    socket.on('error', (error: Error) => {
      if (socket === this.socket) this.reportSocketError(error);
    });
    socket.on('close', () => {
      if (socket === this.socket) this.fail(this.state === 'awaitingHandshake' ? this.rejectedIncident() : undefined);
    });
  }

  /** A TCP connection, or with peer TLS a TLS one showing this node's current certificate. */
  private dial(): Socket {
    const context = this.host.dialerTlsContext;
    const { host, port } = this.address;
    if (context === undefined)
      return connect({ host, port, noDelay: true, keepAlive: true, keepAliveInitialDelay: keepAliveInitialDelayMs });
    const socket = dialTls(host, port, context);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, keepAliveInitialDelayMs);
    return socket;
  }

  private startHandshake(): void {
    this.state = 'awaitingHandshake';
    this.armTimer(this.host.options.handshakeTimeoutMs);
    const options = this.host.options;
    this.handshake = new Handshake({
      role: 'dialer',
      secret: options.secret,
      localId: options.nodeId,
      expectedPeerId: this.peerId,
    });
    this.reader = new FrameReader(this, handshakeMessageBytesMax);
    (this.socket as Socket).write(encodeFrame(this.handshake.opening() as Uint8Array));
  }

  private becomeReady(): void {
    this.clearTimer();
    this.dropStaleQueue();
    this.waitingSinceMs = -1;
    this.state = 'ready';
    this.consecutiveFailures = 0;
    this.handshake = undefined;
    this.host.metrics.outboundAuthenticated++;
    this.flush();
  }

  /** An acceptor that hangs up mid-handshake refused our proof: most often, a different cluster secret. */
  private rejectedIncident(): EverwriteError {
    this.host.metrics.handshakesFailed++;
    return new EverwriteError(
      'EVERWRITE_AUTH_FAILED',
      `node ${this.peerId} closed the connection during the handshake (does it hold the same cluster secret${this.host.dialerTlsContext === undefined ? '' : ", and accept this node's certificate"}?)`,
      { peer: this.peerId },
    );
  }

  private reportSocketError(error: Error): void {
    if (this.state === 'awaitingConnect') this.countConnectFailure();
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown';
    const where = `node ${this.peerId} at ${this.address.host}:${this.address.port}`;
    if (this.host.dialerTlsContext !== undefined && isTlsRefusal(code)) {
      this.host.metrics.handshakesFailed++;
      this.host.metrics.tlsHandshakesFailed[tlsFailureClassOf(code)]++;
      this.host.reportIncident(
        new EverwriteError(
          'EVERWRITE_AUTH_FAILED',
          `TLS with ${where} failed: ${code} (is its certificate signed by the cluster CA and issued for that address?)`,
          { peer: this.peerId, errorCode: code },
        ),
      );
      return;
    }
    this.host.reportIncident(
      new EverwriteError('EVERWRITE_UNAVAILABLE', `connection to ${where} failed: ${code}`, {
        peer: this.peerId,
        errorCode: code,
      }),
    );
  }

  /** Drops the connection; reconnects after a backoff while frames wait, else idles until the next send. */
  private fail(incident: EverwriteError | undefined): void {
    if (incident !== undefined) this.host.reportIncident(incident);
    const wasReady = this.state === 'ready';
    this.teardown();
    this.dropStaleQueue();
    if (this.queue.count === 0 && (wasReady || this.waitingSinceMs < 0)) {
      this.state = 'idle';
      return;
    }
    this.consecutiveFailures++;
    const exponent = Math.min(this.consecutiveFailures - 1, 30);
    const options = this.host.options;
    const ceiling = Math.min(options.reconnectDelayMaxMs, options.reconnectDelayMinMs * 2 ** exponent);
    // Jitter in [ceiling/2, ceiling): nodes that lost the same peer do not all knock at once.
    const delayMs = Math.max(1, Math.round(ceiling / 2 + (Math.random() * ceiling) / 2));
    this.state = 'awaitingReconnect';
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.state === 'awaitingReconnect') this.connect();
    }, delayMs);
  }

  /** Frames that waited too long for a connection are stale: the core has given up on them. */
  private dropStaleQueue(): void {
    if (this.queue.count === 0 || this.waitingSinceMs < 0) return;
    if (performance.now() - this.waitingSinceMs <= this.host.options.queuedFrameAgeMaxMs) return;
    this.host.metrics.framesDroppedStale += this.queue.count;
    this.traffic.framesDropped += this.queue.count;
    this.queue.clear();
    this.queueBytes = 0;
    this.waitingSinceMs = -1;
  }

  private teardown(): void {
    this.clearTimer();
    const socket = this.socket;
    this.socket = undefined;
    this.handshake = undefined;
    this.reader?.stop();
    this.reader = undefined;
    this.waitingForDrain = false;
    if (socket !== undefined) socket.destroy();
  }

  private armTimer(delayMs: number): void {
    this.clearTimer();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.onDeadline();
    }, delayMs);
  }

  private onDeadline(): void {
    const metrics = this.host.metrics;
    if (this.state === 'awaitingConnect') {
      this.countConnectFailure();
      this.fail(
        new EverwriteError(
          'EVERWRITE_TIMEOUT',
          `connecting to node ${this.peerId} took longer than ${this.host.options.connectTimeoutMs} ms`,
          { peer: this.peerId },
        ),
      );
    } else if (this.state === 'awaitingHandshake') {
      metrics.handshakeTimeouts++;
      this.fail(
        new EverwriteError(
          'EVERWRITE_TIMEOUT',
          `node ${this.peerId} did not finish the handshake within ${this.host.options.handshakeTimeoutMs} ms`,
          { peer: this.peerId },
        ),
      );
    }
  }

  private countConnectFailure(): void {
    this.host.metrics.connectsFailed++;
    this.traffic.connectFailures++;
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
