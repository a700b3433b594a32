// Why: tests of the runtime and of whole nodes need the Transport port without sockets. A
// MemoryNetwork is a shared hub; each MemoryTransport is one node on it. Delivery is asynchronous
// (a later turn, as over TCP) and keeps per-link order; links can be cut to simulate a dead or
// partitioned peer. It passes the same conformance suite as TcpTransport.
import type { NodeId } from '../../core/base/ids.ts';
import { assert } from '../../core/base/assert.ts';
import { defaultLimits } from '../../core/base/limits.ts';
import { EverwriteError } from '../../core/base/errors.ts';
import type { Transport } from '../../runtime/ports.ts';

export interface MemoryNetworkOptions {
  /** Largest frame accepted by `send`, in bytes. Default defaultLimits.frameBytesMax, as over TCP. */
  readonly frameBytesMax?: number;
  /**
   * Frames in flight on the whole network before new ones are dropped and counted. Default
   * 1,000,000: a runaway test fails by loss, not by exhausting memory.
   */
  readonly pendingFramesMax?: number;
}

/** Counters since construction, for assertions in tests. */
export interface MemoryNetworkMetrics {
  framesSent: number;
  framesDelivered: number;
  /** Frames dropped: unknown or stopped target, cut link, or pendingFramesMax reached. */
  framesDropped: number;
  /** Delivery turns run; every frame sent in one turn is delivered in the same later turn. */
  deliveryTurns: number;
}

interface InFlightFrame {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly frame: Uint8Array;
}

const linkKey = (from: NodeId, to: NodeId): string => `${from}\u0000${to}`;

/** The hub. One per simulated cluster; create transports with `transport(nodeId)`. */
export class MemoryNetwork {
  readonly options: Readonly<Required<MemoryNetworkOptions>>;
  readonly metrics: MemoryNetworkMetrics = { framesSent: 0, framesDelivered: 0, framesDropped: 0, deliveryTurns: 0 };
  private readonly attached = new Map<NodeId, MemoryTransport>();
  private readonly cutLinks = new Set<string>();
  private pending: InFlightFrame[] = [];
  private deliveryScheduled: NodeJS.Immediate | undefined;

  constructor(options: MemoryNetworkOptions = {}) {
    const resolved = {
      frameBytesMax: options.frameBytesMax ?? defaultLimits.frameBytesMax,
      pendingFramesMax: options.pendingFramesMax ?? 1_000_000,
    };
    for (const [name, value] of Object.entries(resolved)) {
      if (!Number.isInteger(value) || value < 1)
        throw new EverwriteError(
          'EVERWRITE_BAD_REQUEST',
          `MemoryNetwork options: ${name} must be a positive integer, got ${value}`,
        );
    }
    this.options = Object.freeze(resolved);
  }

  /** A new (not yet started) transport for `nodeId` on this network. */
  transport(nodeId: NodeId): MemoryTransport {
    return new MemoryTransport(this, nodeId);
  }

  /** Frames from `from` to `to` are lost until `restoreLink` (one direction; in flight ones too). */
  cutLink(from: NodeId, to: NodeId): void {
    this.cutLinks.add(linkKey(from, to));
  }

  restoreLink(from: NodeId, to: NodeId): void {
    this.cutLinks.delete(linkKey(from, to));
  }

  /** Cuts every link to and from `nodeId` among the nodes attached now. */
  isolate(nodeId: NodeId): void {
    for (const other of this.attached.keys()) {
      if (other === nodeId) continue;
      this.cutLink(nodeId, other);
      this.cutLink(other, nodeId);
    }
  }

  /** Restores every cut link. */
  healAll(): void {
    this.cutLinks.clear();
  }

  /** Frames sent and not yet delivered or dropped. */
  get pendingFrames(): number {
    return this.pending.length;
  }

  /** @internal MemoryTransport's side of the hub. */
  attach(transport: MemoryTransport): void {
    assert(!this.attached.has(transport.nodeId), `node ${transport.nodeId} is already running on this MemoryNetwork`);
    this.attached.set(transport.nodeId, transport);
  }

  /** @internal */
  detach(transport: MemoryTransport): void {
    if (this.attached.get(transport.nodeId) === transport) this.attached.delete(transport.nodeId);
  }

  /** @internal Refuses a frame no peer would accept, as TcpTransport does. */
  checkFrameSize(frame: Uint8Array): void {
    const frameBytesMax = this.options.frameBytesMax;
    if (frame.length > frameBytesMax) {
      throw new EverwriteError(
        'EVERWRITE_FRAME_TOO_LARGE',
        `a ${frame.length}-byte frame exceeds frameBytesMax ${frameBytesMax}`,
        { frameBytes: frame.length, frameBytesMax },
      );
    }
  }

  /** @internal Queues one frame; the copy stands for the bytes on the wire. */
  enqueue(from: NodeId, to: NodeId, frame: Uint8Array): void {
    this.checkFrameSize(frame);
    this.metrics.framesSent++;
    if (this.pending.length >= this.options.pendingFramesMax || !this.attached.has(to)) {
      this.metrics.framesDropped++;
      return;
    }
    this.pending.push({ from, to, frame: new Uint8Array(frame) });
    this.deliveryScheduled ??= setImmediate(this.deliverPending);
  }

  /** @internal A stopped network keeps no timer alive. */
  cancelDeliveryIfIdle(): void {
    if (this.attached.size > 0 || this.deliveryScheduled === undefined) return;
    clearImmediate(this.deliveryScheduled);
    this.deliveryScheduled = undefined;
    this.metrics.framesDropped += this.pending.length;
    this.pending = [];
  }

  // Frames sent while delivering go to the next turn: one FIFO keeps every link's order.
  private readonly deliverPending = (): void => {
    this.deliveryScheduled = undefined;
    const batch = this.pending;
    this.pending = [];
    this.metrics.deliveryTurns++;
    for (const item of batch) {
      const target = this.attached.get(item.to);
      if (
        target === undefined ||
        this.cutLinks.has(linkKey(item.from, item.to)) ||
        !target.deliver(item.from, item.frame)
      ) {
        this.metrics.framesDropped++;
        continue;
      }
      this.metrics.framesDelivered++;
    }
  };
}

/** One node on a MemoryNetwork. Restart a node by stopping it and starting a new transport with its id. */
export class MemoryTransport implements Transport {
  readonly nodeId: NodeId;
  private readonly network: MemoryNetwork;
  private handler: ((from: NodeId, frame: Uint8Array) => void) | undefined;
  private running = false;

  constructor(network: MemoryNetwork, nodeId: NodeId) {
    this.network = network;
    this.nodeId = nodeId;
  }

  receive(handler: (from: NodeId, frame: Uint8Array) => void): void {
    this.handler = handler;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.network.attach(this);
    this.running = true;
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.network.detach(this);
    this.network.cancelDeliveryIfIdle();
  }

  /** Best effort, like TCP: a stopped sender, unknown target or cut link loses the frame silently. */
  send(target: NodeId, frame: Uint8Array): void {
    if (this.running) {
      this.network.enqueue(this.nodeId, target, frame);
      return;
    }
    this.network.checkFrameSize(frame);
    this.network.metrics.framesDropped++;
  }

  /** @internal Returns false when this transport cannot take the frame (stopped, no handler). */
  deliver(from: NodeId, frame: Uint8Array): boolean {
    if (!this.running || this.handler === undefined) return false;
    this.handler(from, frame);
    return true;
  }
}
