// Why: what the TCP transport's pieces (outbound links, inbound connections) share without
// importing one another: the counters operators and tests read (a best-effort transport must make
// its drops visible) and the narrow host interfaces each piece is given by the transport.
import type { Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import type { NodeId } from '../../core/base/ids.ts';
import type { EverwriteError } from '../../core/base/errors.ts';
import type { ResolvedTcpTransportOptions } from './tcp-options.ts';
import { tlsFailureCounts, type TlsFailureClass } from '../../core/base/tls-failure-class.ts';

/** Milliseconds of idleness before TCP keep-alive probes start, so a vanished peer is eventually noticed. */
export const keepAliveInitialDelayMs = 10_000;

/** Counters since construction. Plain numbers, bumped on the hot path without allocation. */
export class TcpTransportMetrics {
  /** Frames accepted by `send` into a peer's queue. */
  framesQueued = 0;
  /** Frames handed to a socket (each inside some socket write). */
  framesWritten = 0;
  /** Socket writes issued: one per peer per turn with queued frames (the coalescing figure). */
  socketWrites = 0;
  /** Bytes handed to sockets, frame headers included. */
  bytesWritten = 0;
  /** Frames dropped because the peer's queue would pass sendQueueBytesMax. */
  framesDroppedQueueFull = 0;
  /** Frames dropped because their target is not in the peer map. */
  framesDroppedUnknownPeer = 0;
  /** Frames dropped because the transport was not running, or the peer left the map, before they went out. */
  framesDroppedNotRunning = 0;
  /** Frames that waited longer than queuedFrameAgeMaxMs for a peer that was not connected. */
  framesDroppedStale = 0;
  /** Frames delivered to the receive handler. */
  framesReceived = 0;
  /** Bytes of delivered frames, headers excluded. */
  bytesReceived = 0;
  /** Outbound TCP connects started. */
  connectsAttempted = 0;
  /** Outbound connects that failed or timed out before the TCP connection was up. */
  connectsFailed = 0;
  /** Outbound connections that completed the handshake. */
  outboundAuthenticated = 0;
  /** Inbound connections that completed the handshake. */
  inboundAuthenticated = 0;
  /** Handshakes (either direction) that failed: wrong secret, wrong node, malformed message. */
  handshakesFailed = 0;
  /** Connections (either direction) closed for not finishing the handshake in time. */
  handshakeTimeouts = 0;
  /** Inbound connections closed because a header announced more than frameBytesMax. */
  connectionsClosedFrameTooLarge = 0;
  /** Outbound connections closed because the acceptor sent bytes after the handshake. */
  connectionsClosedProtocolViolation = 0;
  /** Inbound connections refused because inboundConnectionsMax were open. */
  inboundRefused = 0;
  /** Authenticated inbound connections closed because their node is not a peer (inboundPeersOnly). */
  inboundRefusedNotPeer = 0;
  /** Inbound connections refused because their address held handshakesPendingPerAddressMax handshakes. */
  inboundRefusedAddressFull = 0;
  /** Pending handshakes closed to make room for a newer connection (handshakesPendingMax reached). */
  handshakesEvicted = 0;
  /** With peer TLS: TLS handshakes (either direction) that completed with a certificate the cluster CA signed. */
  tlsHandshakesCompleted = 0;
  /** With peer TLS: TLS handshakes (either direction) that failed, by class of reason (also counted in handshakesFailed). */
  readonly tlsHandshakesFailed: Record<TlsFailureClass, number> = tlsFailureCounts();

  snapshot(): Readonly<Omit<TcpTransportMetrics, 'snapshot'>> {
    return Object.freeze({ ...this, tlsHandshakesFailed: Object.freeze({ ...this.tlsHandshakesFailed }) });
  }
}

/**
 * One peer's share of the traffic, kept only for peers in the transport's peer map (members of the
 * cluster view), so a node outside it can never add a series to the metrics. Plain numbers bumped
 * on the hot path; the link and the inbound connection of the peer hold a reference.
 */
export class PeerTrafficCounters {
  /** Frames and bytes (headers included) handed to the socket to this peer. */
  framesSent = 0;
  bytesSent = 0;
  /** Frames and bytes (headers excluded) read from this peer's authenticated connection. */
  framesReceived = 0;
  bytesReceived = 0;
  /** Frames for this peer dropped: queue full, waited too long (stale), or the link closed. */
  framesDropped = 0;
  /** Outbound connects started to this peer: more than one means reconnects. */
  connects = 0;
  /** Of those, the ones that failed before the TCP connection was up. */
  connectFailures = 0;
}

/** What the transport reports per peer at scrape time: its counters and whether each direction is connected. */
export interface PeerTransportStatus extends Readonly<PeerTrafficCounters> {
  readonly peer: NodeId;
  /** Our outbound link to it has completed the handshake. */
  readonly outboundConnected: boolean;
  /** It holds an authenticated connection to us. */
  readonly inboundConnected: boolean;
}

/** Receives each operating failure the transport absorbs (for logs); never required. */
export interface TcpTransportHooks {
  readonly onIncident?: (incident: EverwriteError) => void;
}

/** What an outbound link or an inbound connection may ask of its transport. */
export interface ConnectionHost {
  readonly options: ResolvedTcpTransportOptions;
  readonly metrics: TcpTransportMetrics;
  /** Registers a socket so stop() can close it and wait for it. */
  trackSocket(socket: Socket): void;
  reportIncident(incident: EverwriteError): void;
}

export interface OutboundHost extends ConnectionHost {
  /** The counters of `peerId`, a peer of the map (links exist only for those). */
  trafficOf(peerId: NodeId): PeerTrafficCounters;
  /** With peer TLS, the context links dial with (the current certificate); undefined: plain TCP. */
  readonly dialerTlsContext: SecureContext | undefined;
  /** Asks for a flush of this link at the end of the turn. */
  markDirty(link: { flush(): void }): void;
}

export interface InboundHost extends ConnectionHost {
  /** Hands an authenticated frame to the receive handler. */
  deliver(from: NodeId, frame: Uint8Array): void;
  /** Called when the handshake budget closes a pending connection to make room. */
  handshakeEvicted(connection: { readonly peerId: NodeId | undefined }): void;
  /** The counters of `peerId` when it is a peer of the map; undefined for any other node. */
  memberTrafficOf(peerId: NodeId): PeerTrafficCounters | undefined;
  /** Called once the peer proved the secret; the host may retire an older connection from it, or refuse this one (false: it was closed). */
  inboundAuthenticated(connection: { readonly peerId: NodeId | undefined; close(): void }): boolean;
  inboundClosed(connection: { readonly peerId: NodeId | undefined }): void;
}
