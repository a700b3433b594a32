// Why: one options object for the TCP transport (docs/ARCHITECTURE.md habit 5): every field documented with
// its unit, default and reason, validated once, frozen. Bad options are operator mistakes, reported
// as EverwriteError before any socket opens.
import type { NodeId } from '../../core/base/ids.ts';
import { defaultLimits } from '../../core/base/limits.ts';
import { EverwriteError } from '../../core/base/errors.ts';
import { nodeIdBytesMax, secretBytesMin } from './handshake.ts';
import { frameLengthLimit } from './framing.ts';
import type { PeerTlsCredentials } from './tcp-tls.ts';

/** Where a node listens for, or is reached by, its peers. */
export interface PeerAddress {
  readonly host: string;
  /** TCP port; 0 only for `listen`, where it asks the system for a free one. */
  readonly port: number;
}

/** How a turn's frames reach the socket; all issue one write per peer per turn. */
export type CoalesceStrategy = 'auto' | 'concatenate' | 'writev';

/** Mean frame size, in bytes, from which 'auto' hands frames to writev rather than copying them. */
export const autoWritevFrameBytesMin = 16 * 1024;

export interface TcpTransportOptions {
  /** This node's id: sent in every handshake, and the `from` peers see on its frames. */
  readonly nodeId: NodeId;
  /** Address to listen on for peers. Port 0 picks a free port; read it back with `address()`. */
  readonly listen: PeerAddress;
  /** Every node this one may send to, by id. Default: none. Replace later with `setPeers`. */
  readonly peers?: ReadonlyMap<NodeId, PeerAddress>;
  /** The shared cluster secret, >= 16 bytes (see loadSecret). Nodes without it cannot talk to us. */
  readonly secret: Uint8Array;
  /**
   * Largest frame sent or accepted, in bytes. Default: defaultLimits.frameBytesMax (64 MiB). A
   * bigger inbound header closes the connection before its body is buffered; a bigger send throws.
   */
  readonly frameBytesMax?: number;
  /**
   * Bytes (frames plus headers) that may wait for one peer, in our queue and the socket's buffer
   * together. Default 64 MiB. Frames past it are dropped and counted: a slow or dead peer must not
   * exhaust this node's memory, and the core tolerates loss.
   */
  readonly sendQueueBytesMax?: number;
  /** Milliseconds a TCP connect may take before it is abandoned and retried. Default 2000. */
  readonly connectTimeoutMs?: number;
  /** First delay before reconnecting after a failure, in milliseconds. Default 50. */
  readonly reconnectDelayMinMs?: number;
  /**
   * Longest delay between reconnect attempts, in milliseconds; the delay doubles from the minimum
   * up to this, with jitter so a cluster does not reconnect in lockstep. Default 5000.
   */
  readonly reconnectDelayMaxMs?: number;
  /**
   * Milliseconds a connection may spend in the handshake, either side; past it, it is closed.
   * Default 1000 (decision 0013): a handshake is two round trips, milliseconds between members;
   * the deadline bounds how long an unauthenticated client holds a slot.
   */
  readonly handshakeTimeoutMs?: number;
  /** Inbound connections held at once (authenticated or not). Default 1024; more are refused. */
  readonly inboundConnectionsMax?: number;
  /**
   * Inbound connections still in the handshake held at once, a count: the budget of everyone who
   * has not proved the secret, apart from the members' authenticated connections. Default 64. When
   * it is full, the oldest pending handshake is closed for the newcomer, so a flood of strangers
   * cycles through its own budget while a member's handshake (a few ms) completes (decision 0013).
   */
  readonly handshakesPendingMax?: number;
  /**
   * Inbound connections in the handshake held at once from one address, a count. Default 8 (a
   * cluster's members on one host reconnect with a few at most); one more is refused at once.
   */
  readonly handshakesPendingPerAddressMax?: number;
  /**
   * 'concatenate' copies a turn's frames into one buffer for one write; 'writev' hands them to a
   * corked socket (one writev, no copy); 'auto' picks per flush by mean frame size. Default 'auto'.
   * Measured with bench/transport.bench.ts: concatenating 200-byte frames is ~1.4x faster than
   * writev; for 64 KiB frames writev is ~1.2x faster (no copy). The fixed strategies stay so the
   * choice remains measurable.
   */
  readonly coalesceStrategy?: CoalesceStrategy;
  /**
   * Milliseconds a frame may wait for a peer that is not connected before it is dropped (counted as
   * framesDroppedStale). Default 1000. Without it, a forwarded client request queued for a dead
   * peer would run when that peer returns, long after its sender gave up and acted without it;
   * anything that must survive an outage travels as a hint instead.
   */
  readonly queuedFrameAgeMaxMs?: number;
  /**
   * Accept inbound connections only from nodes in the peer map (the cluster view's members,
   * decision 0015): a node that proves the secret but is not a member is disconnected and reported
   * as an incident naming it. Default false: any node with the secret may talk (transport tests).
   */
  readonly inboundPeersOnly?: boolean;
  /**
   * Mutual TLS (decision 0026): both ends of every connection show a certificate `ca` signed, and
   * the secret handshake then runs inside TLS. Absent: plain TCP. Every member must agree, since a
   * TLS node and a plain one cannot talk. Certificates are replaced with `setTlsCredentials`.
   */
  readonly tls?: PeerTlsCredentials;
}

export interface ResolvedTcpTransportOptions {
  readonly nodeId: NodeId;
  readonly listen: PeerAddress;
  readonly peers: ReadonlyMap<NodeId, PeerAddress>;
  readonly secret: Uint8Array;
  readonly frameBytesMax: number;
  readonly sendQueueBytesMax: number;
  readonly connectTimeoutMs: number;
  readonly reconnectDelayMinMs: number;
  readonly reconnectDelayMaxMs: number;
  readonly handshakeTimeoutMs: number;
  readonly inboundConnectionsMax: number;
  readonly handshakesPendingMax: number;
  readonly handshakesPendingPerAddressMax: number;
  readonly coalesceStrategy: CoalesceStrategy;
  readonly queuedFrameAgeMaxMs: number;
  readonly inboundPeersOnly: boolean;
  readonly tls: PeerTlsCredentials | undefined;
}

export const tcpTransportDefaults = Object.freeze({
  frameBytesMax: defaultLimits.frameBytesMax,
  sendQueueBytesMax: 64 * 1024 * 1024,
  connectTimeoutMs: 2000,
  reconnectDelayMinMs: 50,
  reconnectDelayMaxMs: 5000,
  handshakeTimeoutMs: 1000,
  inboundConnectionsMax: 1024,
  handshakesPendingMax: 64,
  handshakesPendingPerAddressMax: 8,
  coalesceStrategy: 'auto' as CoalesceStrategy,
  queuedFrameAgeMaxMs: 1000,
});

function invalid(message: string): EverwriteError {
  return new EverwriteError('EVERWRITE_BAD_REQUEST', `TcpTransport options: ${message}`);
}

function integerInRange(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max)
    throw invalid(`${name} must be an integer in ${min}..${max}, got ${value}`);
  return value;
}

/** Checks a peer address; `allowAnyPort` admits port 0 (listening only). */
export function validatePeerAddress(name: string, address: PeerAddress, allowAnyPort: boolean): PeerAddress {
  if (typeof address.host !== 'string' || address.host === '') throw invalid(`${name}.host must be a non-empty string`);
  integerInRange(`${name}.port`, address.port, allowAnyPort ? 0 : 1, 65535);
  return Object.freeze({ host: address.host, port: address.port });
}

/** Copies, checks and freezes a peer map, so later changes by the caller cannot reach the transport. */
export function validatePeers(peers: ReadonlyMap<NodeId, PeerAddress>): ReadonlyMap<NodeId, PeerAddress> {
  const copy = new Map<NodeId, PeerAddress>();
  for (const [nodeId, address] of peers)
    copy.set(checkNodeId(nodeId), validatePeerAddress(`peers[${nodeId}]`, address, false));
  return copy;
}

function checkNodeId(nodeId: NodeId): NodeId {
  const bytes = Buffer.byteLength(nodeId, 'utf8');
  if (bytes === 0 || bytes > nodeIdBytesMax)
    throw invalid(`node id must be 1..${nodeIdBytesMax} bytes of UTF-8, got ${JSON.stringify(nodeId)}`);
  return nodeId;
}

export function resolveTcpTransportOptions(options: TcpTransportOptions): ResolvedTcpTransportOptions {
  if (!(options.secret instanceof Uint8Array) || options.secret.length < secretBytesMin) {
    throw new EverwriteError(
      'EVERWRITE_AUTH_FAILED',
      `TcpTransport options: the cluster secret must be at least ${secretBytesMin} bytes`,
    );
  }
  const merged = { ...tcpTransportDefaults, ...withoutUndefined(options) };
  const reconnectDelayMinMs = integerInRange('reconnectDelayMinMs', merged.reconnectDelayMinMs, 1, 3_600_000);
  const handshakesPendingMax = integerInRange('handshakesPendingMax', merged.handshakesPendingMax, 1, 1_000_000);
  if (!['auto', 'concatenate', 'writev'].includes(merged.coalesceStrategy))
    throw invalid(`coalesceStrategy must be 'auto', 'concatenate' or 'writev'`);
  return Object.freeze({
    nodeId: checkNodeId(options.nodeId),
    listen: validatePeerAddress('listen', options.listen, true),
    peers: validatePeers(options.peers ?? new Map()),
    secret: new Uint8Array(options.secret),
    frameBytesMax: integerInRange('frameBytesMax', merged.frameBytesMax, 1, frameLengthLimit),
    sendQueueBytesMax: integerInRange('sendQueueBytesMax', merged.sendQueueBytesMax, 1, Number.MAX_SAFE_INTEGER),
    connectTimeoutMs: integerInRange('connectTimeoutMs', merged.connectTimeoutMs, 1, 3_600_000),
    reconnectDelayMinMs,
    reconnectDelayMaxMs: integerInRange(
      'reconnectDelayMaxMs',
      merged.reconnectDelayMaxMs,
      reconnectDelayMinMs,
      3_600_000,
    ),
    handshakeTimeoutMs: integerInRange('handshakeTimeoutMs', merged.handshakeTimeoutMs, 1, 3_600_000),
    inboundConnectionsMax: integerInRange('inboundConnectionsMax', merged.inboundConnectionsMax, 1, 1_000_000),
    handshakesPendingMax,
    handshakesPendingPerAddressMax: integerInRange(
      'handshakesPendingPerAddressMax',
      merged.handshakesPendingPerAddressMax,
      1,
      handshakesPendingMax,
    ),
    coalesceStrategy: merged.coalesceStrategy,
    queuedFrameAgeMaxMs: integerInRange('queuedFrameAgeMaxMs', merged.queuedFrameAgeMaxMs, 1, 3_600_000),
    inboundPeersOnly: options.inboundPeersOnly === true,
    tls: validateTls(options.tls),
  });
}

/** Peer TLS material must be PEM text or bytes, all three present: node:tls would otherwise fail later, at the first connection. */
function validateTls(tls: PeerTlsCredentials | undefined): PeerTlsCredentials | undefined {
  if (tls === undefined) return undefined;
  for (const field of ['cert', 'key', 'ca'] as const) {
    const value = tls[field] as unknown;
    if (!((typeof value === 'string' || Buffer.isBuffer(value)) && value.length > 0))
      throw invalid(`tls.${field} must be non-empty PEM text or a Buffer`);
  }
  return Object.freeze({ cert: tls.cert, key: tls.key, ca: tls.ca });
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as Partial<T>;
}
