// Why: the Transport conformance suite runs the same behavioural tests against every
// implementation (docs/ARCHITECTURE.md section 2: each port ships a conformance suite). A fixture hides how a
// small cluster of one implementation is built, restarted and torn down, so the tests read the same
// for TCP and memory.
import { setTimeout as sleep } from 'node:timers/promises';
import { asNodeId, type NodeId } from '../../src/core/base/ids.ts';
import type { Transport } from '../../src/runtime/ports.ts';
import { MemoryNetwork } from '../../src/io/transport/memory.ts';
import { TcpTransport, type PeerAddress } from '../../src/io/transport/tcp.ts';

export interface ReceivedFrame {
  readonly from: NodeId;
  readonly frame: Uint8Array;
}

export interface TransportNode {
  readonly id: NodeId;
  readonly transport: Transport;
  /** Every frame delivered to this node, in delivery order. */
  readonly received: ReceivedFrame[];
}

export interface TransportFixture {
  readonly kind: string;
  /** Starts a node; every node of the fixture (running or stopped) is its peer, and it theirs. */
  startNode(id: string): Promise<TransportNode>;
  /** Stops a node; peers still know its address, so their frames to it are lost, not refused. */
  stopNode(id: string): Promise<void>;
  /** Stops a node and starts a fresh transport with the same id (and address, over TCP). */
  restartNode(id: string): Promise<TransportNode>;
  /** Socket writes issued by a node so far; undefined where there are no sockets. */
  socketWrites(id: string): number | undefined;
  /** Stops every node. */
  close(): Promise<void>;
}

export interface FixtureOptions {
  /** Frame size limit of every node, in bytes. Default 4 MiB: big frames without big memory. */
  readonly frameBytesMax?: number;
}

export const fixtureFrameBytesMax = 4 * 1024 * 1024;
export const testSecret = new Uint8Array(Buffer.from('everwrite test cluster secret, not for production', 'utf8'));
export const transportKinds = ['memory', 'tcp'] as const;

export function createTransportFixture(kind: string, options: FixtureOptions = {}): TransportFixture {
  const frameBytesMax = options.frameBytesMax ?? fixtureFrameBytesMax;
  if (kind === 'memory') return new MemoryFixture(frameBytesMax);
  if (kind === 'tcp') return new TcpFixture(frameBytesMax);
  throw new Error(`unknown transport kind ${kind}`);
}

function recordingNode(id: NodeId, transport: Transport): TransportNode {
  const received: ReceivedFrame[] = [];
  transport.receive((from, frame) => received.push({ from, frame }));
  return { id, transport, received };
}

class MemoryFixture implements TransportFixture {
  readonly kind = 'memory';
  private readonly network: MemoryNetwork;
  private readonly nodes = new Map<string, TransportNode>();

  constructor(frameBytesMax: number) {
    this.network = new MemoryNetwork({ frameBytesMax });
  }

  async startNode(id: string): Promise<TransportNode> {
    const node = recordingNode(asNodeId(id), this.network.transport(asNodeId(id)));
    await node.transport.start();
    this.nodes.set(id, node);
    return node;
  }

  async stopNode(id: string): Promise<void> {
    await this.nodes.get(id)?.transport.stop();
  }

  async restartNode(id: string): Promise<TransportNode> {
    await this.stopNode(id);
    return this.startNode(id);
  }

  socketWrites(): undefined {
    return undefined;
  }

  async close(): Promise<void> {
    for (const node of this.nodes.values()) await node.transport.stop();
  }
}

interface TcpEntry {
  node: TransportNode;
  transport: TcpTransport;
  address: PeerAddress;
}

class TcpFixture implements TransportFixture {
  readonly kind = 'tcp';
  private readonly entries = new Map<string, TcpEntry>();
  private readonly frameBytesMax: number;

  constructor(frameBytesMax: number) {
    this.frameBytesMax = frameBytesMax;
  }

  async startNode(id: string): Promise<TransportNode> {
    const previous = this.entries.get(id);
    const transport = new TcpTransport({
      nodeId: asNodeId(id),
      listen: { host: '127.0.0.1', port: previous?.address.port ?? 0 },
      peers: this.peerMap(id),
      secret: testSecret,
      frameBytesMax: this.frameBytesMax,
      connectTimeoutMs: 1000,
      handshakeTimeoutMs: 1000,
      reconnectDelayMinMs: 10,
      reconnectDelayMaxMs: 100,
    });
    const node = recordingNode(asNodeId(id), transport);
    await transport.start();
    this.entries.set(id, { node, transport, address: transport.address() });
    for (const [otherId, other] of this.entries) if (otherId !== id) other.transport.setPeers(this.peerMap(otherId));
    return node;
  }

  async stopNode(id: string): Promise<void> {
    await this.entries.get(id)?.transport.stop();
  }

  async restartNode(id: string): Promise<TransportNode> {
    await this.stopNode(id);
    return this.startNode(id);
  }

  socketWrites(id: string): number | undefined {
    return this.entries.get(id)?.transport.metrics.socketWrites;
  }

  async close(): Promise<void> {
    await Promise.all([...this.entries.values()].map((entry) => entry.transport.stop()));
  }

  private peerMap(self: string): Map<NodeId, PeerAddress> {
    const peers = new Map<NodeId, PeerAddress>();
    for (const [id, entry] of this.entries) if (id !== self) peers.set(asNodeId(id), entry.address);
    return peers;
  }
}

/** Polls `condition` every 5 ms; rejects with `what` once `timeoutMs` have passed without it. */
export async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}
