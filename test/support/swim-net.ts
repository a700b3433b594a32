// Why: drives several Swim failure detectors (src/core/membership) directly, with a virtual clock,
// ticks every 100 ms and a message queue with explicit faults: a dead node neither sends nor
// receives, a cut link drops what crosses it, a paused node gets no ticks and its incoming messages
// wait until it resumes (as SIGSTOP leaves them in the socket). Fast and deterministic.
import { asNodeId, type NodeId } from '../../src/core/base/ids.ts';
import { Prng } from '../../src/core/base/prng.ts';
import { Swim, type SwimSettings } from '../../src/core/membership/index.ts';
import type { LivenessMessage } from '../../src/core/protocol/messages.ts';

export interface LogLine {
  readonly node: NodeId;
  readonly atMs: number;
  readonly level: string;
  readonly message: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

export const swimDefaults: SwimSettings = {
  probeIntervalMs: 1000,
  probeTimeoutMs: 400,
  indirectProbeCount: 3,
  suspicionTimeoutMs: 3000,
};

interface InFlight {
  readonly atMs: number;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly message: LivenessMessage;
}

export class SwimNet {
  nowMs = 0;
  readonly nodes = new Map<NodeId, Swim>();
  readonly logs: LogLine[] = [];
  readonly sent: Array<{ from: NodeId; to: NodeId; message: LivenessMessage }> = [];
  readonly dead = new Set<NodeId>();
  readonly paused = new Set<NodeId>();
  /** Links `from>to` that drop every message. */
  readonly cut = new Set<string>();
  private queue: InFlight[] = [];

  constructor(
    size: number,
    settings: SwimSettings = swimDefaults,
    seed = 1,
    readonly latencyMs = 1,
  ) {
    const ids = Array.from({ length: size }, (_, index) => asNodeId(`n${index + 1}`));
    const prng = new Prng(seed);
    for (const id of ids) {
      const output = {
        send: (to: NodeId, message: LivenessMessage) => this.send(id, to, message),
        log: (level: string, message: string, fields: Readonly<Record<string, unknown>>) =>
          this.logs.push({ node: id, atMs: this.nowMs, level, message, fields }),
      };
      this.nodes.set(id, new Swim(id, ids, settings, prng.fork(), output));
    }
  }

  node(id: string): Swim {
    const swim = this.nodes.get(asNodeId(id));
    if (swim === undefined) throw new Error(`no node ${id}`);
    return swim;
  }

  cutBothWays(a: string, b: string): void {
    this.cut.add(`${a}>${b}`);
    this.cut.add(`${b}>${a}`);
  }

  private send(from: NodeId, to: NodeId, message: LivenessMessage): void {
    this.sent.push({ from, to, message });
    if (this.dead.has(from) || this.dead.has(to) || this.cut.has(`${from}>${to}`)) return;
    this.queue.push({ atMs: this.nowMs + this.latencyMs, from, to, message });
  }

  /** Delivers a message as if it came from the network (for bad-input tests). */
  inject(from: string, to: string, message: unknown): void {
    this.node(to).onMessage(asNodeId(from), message as LivenessMessage, this.nowMs);
  }

  /** Runs `durationMs` of virtual time: every node ticks each 100 ms, messages arrive after the latency. */
  run(durationMs: number, onStep?: () => void): void {
    const end = this.nowMs + durationMs;
    while (this.nowMs < end) {
      const stepEnd = Math.min(end, this.nowMs + 100);
      this.deliverUntil(stepEnd);
      this.nowMs = stepEnd;
      for (const [id, swim] of this.nodes) if (!this.dead.has(id) && !this.paused.has(id)) swim.onTick(this.nowMs);
      onStep?.();
    }
  }

  private deliverUntil(untilMs: number): void {
    for (;;) {
      const index = this.queue.findIndex((item) => item.atMs <= untilMs && !this.paused.has(item.to));
      if (index < 0) return;
      const [item] = this.queue.splice(index, 1) as [InFlight];
      if (this.dead.has(item.to)) continue;
      this.nowMs = Math.max(this.nowMs, item.atMs);
      (this.nodes.get(item.to) as Swim).onMessage(item.from, item.message, this.nowMs);
    }
  }

  /** Every live node's belief about `member`, by observer. */
  beliefs(member: string): Map<NodeId, string> {
    const beliefs = new Map<NodeId, string>();
    for (const [id, swim] of this.nodes)
      if (!this.dead.has(id) && id !== member) beliefs.set(id, swim.liveness(asNodeId(member))?.state ?? 'unknown');
    return beliefs;
  }

  events(name: string): LogLine[] {
    return this.logs.filter((line) => line.fields['event'] === name);
  }
}
