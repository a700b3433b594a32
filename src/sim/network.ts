// Why: the core promises to tolerate loss, delay, duplication and reordering of any frame; the
// simulated network is where that promise is tested. Each node gets a SimTransport (the real
// Transport port) on one SimNetwork, which decides per frame, from the seeded generator, whether it
// is lost, duplicated or delayed (random latency reorders frames; spikes reorder them a lot), and
// which links are cut (partitions) or clogged (frames held until the link clears). A frame sent to
// a node that has since crashed is dropped, as a reset TCP connection would drop it. A link can
// also lose only the failure detector's messages (a liveness partition, decision 0014): data flows
// while SWIM's probes and gossip do not, the case where detection and data disagree.
import type { NodeId } from '../core/base/ids.ts';
import { decodeMessages, encodeMessages } from '../core/protocol/codec/message-codec.ts';
import type { Prng } from '../core/base/prng.ts';
import type { Transport } from '../runtime/ports.ts';
import type { SimScheduler } from './scheduler.ts';

export interface NetworkWeather {
  /** One-way latency is uniform in [min, max], in ms. */
  readonly latencyMinMs: number;
  readonly latencyMaxMs: number;
  /** Probability a frame is lost. */
  readonly lossProbability: number;
  /** Probability a frame arrives twice. */
  readonly duplicateProbability: number;
  /** Probability a frame is delayed by up to `spikeMs` more (heavy reordering). */
  readonly spikeProbability: number;
  readonly spikeMs: number;
}

export const calmWeather: NetworkWeather = Object.freeze({
  latencyMinMs: 0.2,
  latencyMaxMs: 2,
  lossProbability: 0,
  duplicateProbability: 0,
  spikeProbability: 0,
  spikeMs: 0,
});

export interface NetworkMetrics {
  framesSent: number;
  framesDelivered: number;
  framesLost: number;
  framesDuplicated: number;
  /** Dropped because a link was cut or the target was down or restarted. */
  framesUnreachable: number;
  framesClogged: number;
}

type Handler = (from: NodeId, frame: Uint8Array) => void;

const linkKey = (from: string, to: string): string => `${from}>${to}`;

/** FNV-1a over the frame, so the trace hash reflects what was sent, not only when. */
function checksum(bytes: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < bytes.length; index++) hash = Math.imul(hash ^ (bytes[index] as number), 0x01000193);
  return hash >>> 0;
}

export class SimTransport implements Transport {
  private handler: Handler | undefined;
  started = false;

  constructor(
    private readonly network: SimNetwork,
    readonly self: NodeId,
  ) {}

  async start(): Promise<void> {
    this.started = true;
    this.network.attach(this);
  }

  async stop(): Promise<void> {
    this.started = false;
    this.network.detach(this);
  }

  send(target: NodeId, frame: Uint8Array): void {
    if (this.started) this.network.send(this.self, target, frame);
  }

  receive(handler: Handler): void {
    this.handler = handler;
  }

  deliver(from: NodeId, frame: Uint8Array): void {
    this.handler?.(from, frame);
  }
}

export class SimNetwork {
  weather: NetworkWeather = calmWeather;
  readonly metrics: NetworkMetrics = {
    framesSent: 0,
    framesDelivered: 0,
    framesLost: 0,
    framesDuplicated: 0,
    framesUnreachable: 0,
    framesClogged: 0,
  };
  private readonly endpoints = new Map<string, SimTransport>();
  private readonly cut = new Set<string>();
  /** Links that drop liveness messages (and carry everything else). */
  private readonly livenessCut = new Set<string>();
  private readonly clogged = new Map<string, Array<{ from: NodeId; to: NodeId; frame: Uint8Array }>>();

  constructor(
    private readonly scheduler: SimScheduler,
    private readonly prng: Prng,
  ) {}

  /** A new transport for `node`; it joins the network when the runtime starts it. */
  transport(node: NodeId): SimTransport {
    return new SimTransport(this, node);
  }

  attach(transport: SimTransport): void {
    this.endpoints.set(transport.self, transport);
  }

  detach(transport: SimTransport): void {
    if (this.endpoints.get(transport.self) === transport) this.endpoints.delete(transport.self);
  }

  /** The node crashed: its endpoint disappears at once. */
  detachNode(node: string): void {
    const endpoint = this.endpoints.get(node);
    if (endpoint !== undefined) endpoint.started = false;
    this.endpoints.delete(node);
  }

  reachable(from: string, to: string): boolean {
    return !this.cut.has(linkKey(from, to));
  }

  /** Replaces the partition: `canTalk(a, b)` says whether frames from a reach b. */
  partition(nodes: readonly string[], canTalk: (from: string, to: string) => boolean): void {
    this.cut.clear();
    for (const from of nodes) {
      for (const to of nodes) {
        if (from !== to && !canTalk(from, to)) this.cut.add(linkKey(from, to));
      }
    }
  }

  /** Replaces the liveness partition: `canTalk(a, b)` says whether liveness messages from a reach b. */
  partitionLiveness(nodes: readonly string[], canTalk: (from: string, to: string) => boolean): void {
    this.livenessCut.clear();
    for (const from of nodes) {
      for (const to of nodes) {
        if (from !== to && !canTalk(from, to)) this.livenessCut.add(linkKey(from, to));
      }
    }
  }

  healPartition(): void {
    this.cut.clear();
    this.livenessCut.clear();
  }

  get cutLinkCount(): number {
    return this.cut.size + this.livenessCut.size;
  }

  /** The frame without its liveness messages, or undefined when nothing else was in it. */
  private withoutLiveness(frame: Uint8Array): Uint8Array | undefined {
    const messages = decodeMessages(frame);
    const kept = messages.filter((message) => message.type !== 'liveness');
    if (kept.length === messages.length) return frame;
    return kept.length === 0 ? undefined : encodeMessages(kept);
  }

  clog(from: string, to: string): void {
    if (!this.clogged.has(linkKey(from, to))) this.clogged.set(linkKey(from, to), []);
  }

  /** Clears a clogged link; the frames it held leave now, in order. */
  unclog(from: string, to: string): void {
    const held = this.clogged.get(linkKey(from, to));
    this.clogged.delete(linkKey(from, to));
    for (const frame of held ?? []) this.transmit(frame.from, frame.to, frame.frame, 0);
  }

  cloggedLinks(): Array<[string, string]> {
    return [...this.clogged.keys()].map((key) => key.split('>') as [string, string]);
  }

  send(from: NodeId, to: NodeId, frame: Uint8Array): void {
    this.metrics.framesSent += 1;
    const carried = this.livenessCut.has(linkKey(from, to)) ? this.withoutLiveness(frame) : frame;
    if (carried === undefined) {
      this.metrics.framesUnreachable += 1;
      return;
    }
    const copy = carried.slice();
    if (!this.reachable(from, to) || !this.endpoints.has(to)) {
      this.metrics.framesUnreachable += 1;
      return;
    }
    const weather = this.weather;
    if (weather.lossProbability > 0 && this.prng.chance(weather.lossProbability)) {
      this.metrics.framesLost += 1;
      return;
    }
    const held = this.clogged.get(linkKey(from, to));
    if (held !== undefined) {
      this.metrics.framesClogged += 1;
      held.push({ from, to, frame: copy });
      return;
    }
    this.transmit(from, to, copy, this.latency());
    if (weather.duplicateProbability > 0 && this.prng.chance(weather.duplicateProbability)) {
      this.metrics.framesDuplicated += 1;
      this.transmit(from, to, copy, this.latency());
    }
  }

  private latency(): number {
    const weather = this.weather;
    let latency = weather.latencyMinMs + this.prng.nextFloat() * (weather.latencyMaxMs - weather.latencyMinMs);
    if (weather.spikeProbability > 0 && this.prng.chance(weather.spikeProbability))
      latency += this.prng.nextFloat() * weather.spikeMs;
    return latency;
  }

  private transmit(from: NodeId, to: NodeId, frame: Uint8Array, delayMs: number): void {
    const target = this.endpoints.get(to);
    if (target === undefined) {
      this.metrics.framesUnreachable += 1;
      return;
    }
    this.scheduler.schedule(delayMs, to, `deliver ${from}>${to} ${frame.length} ${checksum(frame)}`, () => {
      // A cut made while the frame was in flight drops it; so does a crash or restart of the target.
      if (this.endpoints.get(to) !== target || !target.started || !this.reachable(from, to)) {
        this.metrics.framesUnreachable += 1;
        return;
      }
      this.metrics.framesDelivered += 1;
      target.deliver(from, frame);
    });
  }
}
