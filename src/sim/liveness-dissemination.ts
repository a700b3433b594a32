// Why: SWIM's promise is that a liveness change reaches all S members in O(log S) protocol periods
// (decision 0014). A whole simulated cluster (storage, runtime) of 1,000 nodes would cost minutes,
// so this runs only the failure detectors: S real Swim instances from the core, their messages
// encoded by the real codec and carried by the simulator's network and scheduler, each node ticking
// every 100 ms from its own offset. One member is killed; the clock starts when the first node
// suspects it and stops when every live node holds it suspect or down: that spread is gossip (a
// node probes the dead one directly only once per round-robin of S-1 periods).
import { asNodeId, type NodeId } from '../core/base/ids.ts';
import { Prng } from '../core/base/prng.ts';
import { Swim, type SwimSettings } from '../core/membership/index.ts';
import type { LivenessMessage } from '../core/protocol/messages.ts';
import { decodeMessages, encodeMessages } from '../core/protocol/codec/message-codec.ts';
import { SimNetwork, type SimTransport } from './network.ts';
import { SimScheduler } from './scheduler.ts';

export interface DisseminationOptions {
  readonly members: number;
  readonly seed: number;
  /** Defaults: the node core's (probe 1 s, probe timeout 400 ms, k 3) with a suspicion timeout long enough that nothing turns down while measuring. */
  readonly settings?: Partial<SwimSettings>;
  /** Give up after this many protocol periods from the kill. Default 200. */
  readonly periodsMax?: number;
}

export interface DisseminationResult {
  readonly members: number;
  readonly seed: number;
  /** Protocol periods from the first suspicion to every live node knowing it; -1 if it never spread. */
  readonly periods: number;
  /** Protocol periods from the kill to the first suspicion (detection, not dissemination). */
  readonly detectionPeriods: number;
  readonly log2Members: number;
  readonly framesSent: number;
}

const tickMs = 100;

export async function measureDissemination(options: DisseminationOptions): Promise<DisseminationResult> {
  const settings: SwimSettings = {
    probeIntervalMs: 1000,
    probeTimeoutMs: 400,
    indirectProbeCount: 3,
    suspicionTimeoutMs: 3_600_000,
    ...options.settings,
  };
  const prng = new Prng(options.seed);
  const scheduler = new SimScheduler();
  const network = new SimNetwork(scheduler, prng.fork());
  const ids = Array.from({ length: options.members }, (_, index) => asNodeId(`m${index}`));
  const nodes = new Map<NodeId, { swim: Swim; transport: SimTransport }>();
  for (const id of ids) {
    const transport = network.transport(id);
    const swim = new Swim(id, ids, settings, prng.fork(), {
      send: (to, message) => transport.send(to, encodeMessages([message])),
      log: () => undefined,
    });
    transport.receive((from, frame) => {
      for (const message of decodeMessages(frame)) swim.onMessage(from, message as LivenessMessage, scheduler.nowMs);
    });
    await transport.start();
    nodes.set(id, { swim, transport });
    const tick = (): void => {
      swim.onTick(scheduler.nowMs);
      scheduler.schedule(tickMs, id, 'tick', tick);
    };
    scheduler.schedule(prng.nextFloat() * settings.probeIntervalMs, id, 'tick', tick);
  }
  const run = (untilMs: number, stop: () => boolean): boolean => {
    while (!stop()) if (!scheduler.runNext(untilMs)) return stop();
    return true;
  };
  run(3 * settings.probeIntervalMs, () => false);
  const victim = ids[prng.nextInt(ids.length)] as NodeId;
  network.detachNode(victim);
  scheduler.kill(victim);
  const killedMs = scheduler.nowMs;
  const live = ids.filter((id) => id !== victim).map((id) => (nodes.get(id) as { swim: Swim }).swim);
  const knows = (swim: Swim): boolean => swim.liveness(victim)?.state !== 'up';
  const limitMs = killedMs + (options.periodsMax ?? 200) * settings.probeIntervalMs;
  run(limitMs, () => live.some(knows));
  const firstMs = scheduler.nowMs;
  const spread = run(limitMs, () => live.every(knows));
  const period = settings.probeIntervalMs;
  return {
    members: options.members,
    seed: options.seed,
    periods: spread ? (scheduler.nowMs - firstMs) / period : -1,
    detectionPeriods: (firstMs - killedMs) / period,
    log2Members: Math.log2(options.members),
    framesSent: network.metrics.framesSent,
  };
}
