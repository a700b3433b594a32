// Why: the production Transport port (src/runtime/ports.ts) over node:net, as docs/ARCHITECTURE.md section 3
// decides: u32 length-prefixed frames, one persistent authenticated outbound connection per peer,
// all frames queued for a peer in one event-loop turn written with one socket write, bounded send
// queues, reconnect with backoff. Sending is best effort and never throws for an unreachable peer;
// drops are counted in `metrics()` instead.
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { SecureContext, TLSSocket } from 'node:tls';
import type { NodeId } from '../../core/base/ids.ts';
import { EverwriteError } from '../../core/base/errors.ts';
import type { Transport } from '../../runtime/ports.ts';
import { InboundConnection } from './tcp-inbound.ts';
import { ConnectionAdmission } from '../../core/base/admission.ts';
import { OutboundLink } from './tcp-outbound.ts';
import {
  resolveTcpTransportOptions,
  validatePeers,
  type PeerAddress,
  type ResolvedTcpTransportOptions,
  type TcpTransportOptions,
} from './tcp-options.ts';
import { dialerContextOf, PeerTlsAcceptor, type PeerTlsCredentials } from './tcp-tls.ts';
import {
  keepAliveInitialDelayMs,
  PeerTrafficCounters,
  TcpTransportMetrics,
  type InboundHost,
  type OutboundHost,
  type PeerTransportStatus,
  type TcpTransportHooks,
} from './tcp-shared.ts';
import { ReusableList } from '../../core/base/reusable-list.ts';

export { TcpTransportMetrics, type PeerTransportStatus, type TcpTransportHooks } from './tcp-shared.ts';
export type { PeerTlsCredentials } from './tcp-tls.ts';
export {
  tcpTransportDefaults,
  type CoalesceStrategy,
  type PeerAddress,
  type TcpTransportOptions,
} from './tcp-options.ts';

type TransportState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

type FrameHandler = (from: NodeId, frame: Uint8Array) => void;

/**
 * Received frames may be views into a socket chunk: never overwritten, but sharing memory with
 * neighbouring frames. A receiver that keeps a small frame for long should copy it.
 * A frame passed to `send` belongs to the transport until written: do not modify it afterwards.
 */
export class TcpTransport implements Transport, OutboundHost, InboundHost {
  readonly options: ResolvedTcpTransportOptions;
  readonly metrics: TcpTransportMetrics = new TcpTransportMetrics();
  private readonly hooks: TcpTransportHooks;
  private peers: ReadonlyMap<NodeId, PeerAddress>;
  private readonly links = new Map<NodeId, OutboundLink>();
  private readonly inbound = new Set<InboundConnection>();
  private readonly inboundByPeer = new Map<NodeId, InboundConnection>();
  /** Per-peer counters, only for peers in `peers`: dropped with the peer, so the map stays as small as the view. */
  private readonly traffic = new Map<NodeId, PeerTrafficCounters>();
  /** Inbound connections that have not proved the secret yet: a budget of their own (decision 0013). */
  private readonly pendingHandshakes: ConnectionAdmission<InboundConnection>;
  private readonly sockets = new Set<Socket>();
  private readonly dirtyLinks = new ReusableList<OutboundLink>();
  private flushScheduled: NodeJS.Immediate | undefined;
  private handler: FrameHandler | undefined;
  private server: Server | undefined;
  private boundAddress: PeerAddress | undefined;
  private state: TransportState = 'created';
  /** Peer TLS (decision 0026): the inbound half, and the context outbound links dial with. */
  private readonly tlsAcceptor: PeerTlsAcceptor | undefined;
  private tlsContext: SecureContext | undefined;
  /** Inbound connections in their TLS handshake, by their TCP socket. */
  private readonly awaitingTls = new Map<Socket, InboundConnection>();

  constructor(options: TcpTransportOptions, hooks: TcpTransportHooks = {}) {
    this.options = resolveTcpTransportOptions(options);
    this.peers = this.options.peers;
    this.hooks = hooks;
    this.pendingHandshakes = new ConnectionAdmission({
      connectionsMax: this.options.handshakesPendingMax,
      connectionsPerAddressMax: this.options.handshakesPendingPerAddressMax,
    });
    const tls = this.options.tls;
    if (tls !== undefined) {
      this.tlsContext = dialerContextOf(tls);
      this.tlsAcceptor = new PeerTlsAcceptor(tls, this.options.handshakeTimeoutMs, {
        secured: (raw, secured) => {
          this.metrics.tlsHandshakesCompleted++;
          this.takeAwaitingTls(raw, secured)?.secured(secured);
        },
        refused: (raw, reason, failure) => {
          this.metrics.tlsHandshakesFailed[failure]++;
          this.takeAwaitingTls(raw)?.refused(reason);
        },
      });
    }
  }

  /** With peer TLS: the certificate for connections made or accepted from now on; open ones keep theirs. */
  setTlsCredentials(credentials: PeerTlsCredentials): void {
    if (this.tlsAcceptor === undefined)
      throw new EverwriteError('EVERWRITE_BAD_REQUEST', `TcpTransport ${this.options.nodeId} was started without TLS`);
    const context = dialerContextOf(credentials);
    this.tlsAcceptor.setCredentials(credentials);
    this.tlsContext = context;
  }

  get dialerTlsContext(): SecureContext | undefined {
    return this.tlsContext;
  }

  receive(handler: FrameHandler): void {
    this.handler = handler;
  }

  /** Listens on `options.listen`; resolves once bound (see `address()`). Starts once per instance. */
  async start(): Promise<void> {
    if (this.state !== 'created')
      throw new EverwriteError(
        'EVERWRITE_INTERNAL',
        `TcpTransport ${this.options.nodeId} cannot start: it is ${this.state}`,
      );
    this.state = 'starting';
    const server = createServer(
      { noDelay: true, keepAlive: true, keepAliveInitialDelay: keepAliveInitialDelayMs },
      (socket) => this.accept(socket),
    );
    server.maxConnections = this.options.inboundConnectionsMax;
    server.on('drop', () => this.metrics.inboundRefused++);
    this.server = server;
    try {
      await listen(server, this.options.listen);
    } catch (error) {
      this.state = 'stopped';
      this.server = undefined;
      const reason = error instanceof Error ? error.message : String(error);
      throw new EverwriteError(
        'EVERWRITE_UNAVAILABLE',
        `node ${this.options.nodeId} cannot listen on ${this.options.listen.host}:${this.options.listen.port}: ${reason}`,
      );
    }
    const bound = server.address() as AddressInfo;
    this.boundAddress = Object.freeze({ host: bound.address, port: bound.port });
    this.state = 'running';
  }

  /** The address peers reach this node at, once started (the real port when `listen.port` was 0). */
  address(): PeerAddress {
    if (this.boundAddress === undefined)
      throw new EverwriteError('EVERWRITE_UNAVAILABLE', `TcpTransport ${this.options.nodeId} is not listening`);
    return this.boundAddress;
  }

  /** Closes the listener and every connection, drops what is queued, and resolves once all are closed. */
  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return;
    this.state = 'stopping';
    if (this.flushScheduled !== undefined) clearImmediate(this.flushScheduled);
    this.flushScheduled = undefined;
    this.dirtyLinks.clear();
    for (const link of this.links.values()) link.close();
    this.links.clear();
    for (const connection of this.inbound) connection.close();
    const closing = [...this.sockets].map((socket) =>
      socket.closed ? undefined : new Promise<void>((resolve) => socket.once('close', () => resolve())),
    );
    for (const socket of this.sockets) socket.destroy();
    const server = this.server;
    const serverClosed =
      server === undefined ? undefined : new Promise<void>((resolve) => server.close(() => resolve()));
    await Promise.all([...closing, serverClosed]);
    this.server = undefined;
    this.state = 'stopped';
  }

  /**
   * Replaces the peer map (membership changed). Links to peers that left are closed and their queues
   * dropped; links to peers whose address changed reconnect to the new one.
   */
  setPeers(peers: ReadonlyMap<NodeId, PeerAddress>): void {
    this.peers = validatePeers(peers);
    for (const peerId of [...this.traffic.keys()]) if (!this.peers.has(peerId)) this.traffic.delete(peerId);
    for (const [peerId, link] of this.links) {
      const address = this.peers.get(peerId);
      if (address === undefined) {
        link.close();
        this.links.delete(peerId);
      } else {
        link.setAddress(address);
      }
    }
  }

  /** Best effort: queues `frame` for `target` and returns; never throws for an unknown or dead peer. */
  send(target: NodeId, frame: Uint8Array): void {
    if (frame.length > this.options.frameBytesMax) {
      throw new EverwriteError(
        'EVERWRITE_FRAME_TOO_LARGE',
        `a ${frame.length}-byte frame exceeds frameBytesMax ${this.options.frameBytesMax}`,
        { frameBytes: frame.length, frameBytesMax: this.options.frameBytesMax },
      );
    }
    if (this.state !== 'running') {
      this.metrics.framesDroppedNotRunning++;
      return;
    }
    let link = this.links.get(target);
    if (link === undefined) {
      const address = this.peers.get(target);
      if (address === undefined) {
        this.metrics.framesDroppedUnknownPeer++;
        return;
      }
      link = new OutboundLink(this, target, address);
      this.links.set(target, link);
    }
    link.enqueue(frame);
  }

  /** Bytes waiting to go to `target` (our queue plus the socket's buffer); 0 for no link. */
  pendingBytes(target: NodeId): number {
    return this.links.get(target)?.pendingBytes ?? 0;
  }

  /** A frozen copy of the counters. */
  metricsSnapshot(): ReturnType<TcpTransportMetrics['snapshot']> {
    return this.metrics.snapshot();
  }

  /** Every peer of the map: its counters since it joined the map, and which directions are connected. */
  peerStatuses(): PeerTransportStatus[] {
    return [...this.peers.keys()].map((peer) => ({
      ...(this.traffic.get(peer) ?? new PeerTrafficCounters()),
      peer,
      outboundConnected: this.links.get(peer)?.connected === true,
      inboundConnected: this.inboundByPeer.has(peer),
    }));
  }

  trafficOf(peerId: NodeId): PeerTrafficCounters {
    let counters = this.traffic.get(peerId);
    if (counters === undefined) this.traffic.set(peerId, (counters = new PeerTrafficCounters()));
    return counters;
  }

  memberTrafficOf(peerId: NodeId): PeerTrafficCounters | undefined {
    return this.peers.has(peerId) ? this.trafficOf(peerId) : undefined;
  }

  // ---- host interface for links and inbound connections (not for callers) ----

  markDirty(link: OutboundLink): void {
    if (link.dirty) return;
    link.dirty = true;
    this.dirtyLinks.push(link);
    this.flushScheduled ??= setImmediate(this.flushDirtyLinks);
  }

  trackSocket(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  reportIncident(incident: EverwriteError): void {
    this.hooks.onIncident?.(incident);
  }

  deliver(from: NodeId, frame: Uint8Array): void {
    const handler = this.handler;
    if (handler === undefined || this.state !== 'running') return;
    this.metrics.framesReceived++;
    this.metrics.bytesReceived += frame.length;
    handler(from, frame);
  }

  handshakeEvicted(): void {
    this.metrics.handshakesEvicted++;
  }

  inboundAuthenticated(connection: InboundConnection): boolean {
    this.pendingHandshakes.release(connection);
    const peerId = connection.peerId as NodeId;
    if (this.options.inboundPeersOnly && !this.peers.has(peerId)) {
      this.metrics.inboundRefusedNotPeer++;
      connection.close();
      this.reportIncident(
        new EverwriteError(
          'EVERWRITE_AUTH_FAILED',
          `refused a connection from node ${peerId}: it is not a member of this node's cluster view`,
          { peer: peerId },
        ),
      );
      return false;
    }
    const previous = this.inboundByPeer.get(peerId);
    // A peer keeps one outbound connection to us; an older one from it is a leftover (it restarted
    // or reconnected), so it is retired rather than left half-open.
    if (previous !== undefined && previous !== connection) previous.close();
    this.inboundByPeer.set(peerId, connection);
    this.links.get(peerId)?.peerConnected();
    return true;
  }

  inboundClosed(connection: InboundConnection): void {
    this.pendingHandshakes.release(connection);
    this.inbound.delete(connection);
    if (connection.peerId !== undefined && this.inboundByPeer.get(connection.peerId) === connection)
      this.inboundByPeer.delete(connection.peerId);
  }

  private readonly flushDirtyLinks = (): void => {
    this.flushScheduled = undefined;
    const links = this.dirtyLinks;
    for (let i = 0; i < links.count; i++) {
      const link = links.at(i);
      link.dirty = false;
      link.flush();
    }
    links.clear();
  };

  private accept(socket: Socket): void {
    if (this.state !== 'running') {
      socket.destroy();
      return;
    }
    this.trackSocket(socket);
    const tlsAcceptor = this.tlsAcceptor;
    const connection = new InboundConnection(this, socket, tlsAcceptor !== undefined);
    if (this.pendingHandshakes.admit(connection) === 'addressFull') {
      this.metrics.inboundRefusedAddressFull++;
      connection.close();
      return;
    }
    this.inbound.add(connection);
    if (tlsAcceptor === undefined) return;
    this.awaitingTls.set(socket, connection);
    socket.once('close', () => this.awaitingTls.delete(socket));
    tlsAcceptor.accept(socket);
  }

  /** The connection whose TLS handshake on `raw` just ended; a secured stream arriving for one already closed is closed. */
  private takeAwaitingTls(raw: Socket, secured?: TLSSocket): InboundConnection | undefined {
    const connection = this.awaitingTls.get(raw);
    this.awaitingTls.delete(raw);
    if (connection === undefined) secured?.destroy();
    return connection;
  }
}

function listen(server: Server, address: PeerAddress): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen(address.port, address.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
