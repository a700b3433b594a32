// Why: the body of a chaos run. It executes inside the client namespace (spawned there by
// runChaos), so every request the workload makes crosses the bridge like a real client's would,
// and it drives the nemeses from there (`ip netns exec` into the node namespaces, signals by PID).
// Phases: a quiet warm-up, faults every intervalMs (and/or membership operations, one transition
// at a time, beside them), heal, a quiet tail, then quiesce: wait for every primary replica to
// agree (read repair helps), read every key once more (through every final member when membership
// changed) and judge.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Prng } from '../core/base/prng.ts';
import { generateSecret } from '../io/transport/handshake.ts';
import { checkHistory, type Verdict } from '../sim/checker.ts';
import { History } from '../sim/history.ts';
import { quantile } from './quantile.ts';
import { awaitConvergence, forEachLimited, replicaCount, type ConvergenceResult } from './convergence.ts';
import { MembershipNemesis } from './membership-nemesis.ts';
import { judgeMembership, membershipHeld, type MembershipReport } from './membership-verdict.ts';
import {
  applyFaultState,
  drawFaultState,
  faultsAskedFor,
  faultStateKinds,
  healedState,
  zeroCounts,
  type FaultState,
  type NemesisCounts,
  type NemesisKind,
} from './nemesis.ts';
import { ChaosNodes, findFaketime, type ChaosNode } from './nodes.ts';
import { readKey, recordRead, Workload, type OpSample, type Phase } from './workload.ts';

export interface RunnerOptions {
  readonly seed: number;
  readonly durationS: number;
  readonly kinds: readonly NemesisKind[];
  readonly nemesis: string;
  readonly nodeNamespaces: readonly string[];
  /** The first memberCount namespaces start as the cluster; the rest as spares outside it. */
  readonly memberCount: number;
  readonly dataDirectory: string;
  readonly intervalMs: number;
  readonly quietS: number;
  readonly convergenceTimeoutS: number;
}

export interface LatencyFigures {
  operations: number;
  p50Ms: number;
  p99Ms: number;
}

/** The set checker's verdict on the history (the simulator's, src/sim/checker.ts), plus what the run did and saw. */
export interface ChaosReport extends Pick<
  Verdict,
  | 'attempted'
  | 'acknowledged'
  | 'indeterminate'
  | 'lost'
  | 'unexpected'
  | 'resurrected'
  | 'unreadKeys'
  | 'siblingsMax'
  | 'unexpectedSample'
> {
  /** Up to 10 lost elements as `key:element`. */
  lostSample: string[];
  ok: boolean;
  seed: number;
  nemesis: string;
  nodes: number;
  faultDurationS: number;
  clockFaults: 'libfaketime' | 'unavailable';
  setAdd: { keys: number; attempted: number; acknowledged: number };
  uniqueKeys: { attempted: number; acknowledged: number };
  convergence: ConvergenceResult;
  /**
   * Writes during faults while at least one node was reachable (each goes to a node picked at
   * random, so one sent to a killed or paused node counts as refused), and the same for writes whose
   * chosen node was itself reachable (the store's own availability).
   */
  availabilityDuringFaults: {
    writes: number;
    accepted: number;
    percent: number;
    writesWithNoNodeReachable: number;
    writesToReachableNode: number;
    acceptedByReachableNode: number;
    percentByReachableNode: number;
  };
  latency: Record<Phase, LatencyFigures>;
  nodeCrashes: string[];
  /**
   * Fault actions per kind: drawn by the schedule, inflicted (the iptables rules loaded, the
   * signal delivered, the clock file written under libfaketime), and for clocks, seen: a node's
   * HTTP Date header differing from the client's clock by its offset (libfaketime took effect).
   */
  faults: { drawn: NemesisCounts; inflicted: NemesisCounts; clockSkewSeen: number };
  /** With the membership nemesis: its operations and the checks on the final members. */
  membership?: MembershipReport;
  problems: string[];
  timeline: string[];
}

const settings = { downBackoffMs: 1000, hintDeliveryIntervalMs: 250 };
/** Transitions complete through view gossip; a faster interval fits more of them into a run. */
const membershipSettings = { ...settings, viewGossipIntervalMs: 250 };

function log(line: string): void {
  process.stderr.write(`[chaos] ${line}\n`);
}

/** A line for the timeline that is also progress. */
function note(timeline: string[], line: string): void {
  timeline.push(line);
  log(line);
}

function latencyOf(samples: readonly OpSample[], phase: Phase): LatencyFigures {
  const latencies = samples
    .filter((sample) => sample.phase === phase && sample.accepted)
    .map((sample) => sample.latencyMs);
  return {
    operations: latencies.length,
    p50Ms: Math.round(quantile(latencies, 0.5)),
    p99Ms: Math.round(quantile(latencies, 0.99)),
  };
}

function percent(part: number, whole: number): number {
  return whole === 0 ? 0 : Math.round((1000 * part) / whole) / 10;
}

function availability(samples: readonly OpSample[]): ChaosReport['availabilityDuringFaults'] {
  const during = samples.filter((sample) => sample.phase === 'during');
  const reachable = during.filter((sample) => sample.reachable);
  const accepted = reachable.filter((sample) => sample.accepted).length;
  const toReachable = during.filter((sample) => sample.targetReachable);
  const acceptedByReachable = toReachable.filter((sample) => sample.accepted).length;
  return {
    writes: reachable.length,
    accepted,
    percent: percent(accepted, reachable.length),
    writesWithNoNodeReachable: during.length - reachable.length,
    writesToReachableNode: toReachable.length,
    acceptedByReachableNode: acceptedByReachable,
    percentByReachableNode: percent(acceptedByReachable, toReachable.length),
  };
}

/** Every node answers a write and a read: the ring and the peer links are up. */
async function awaitWriteable(nodes: readonly ChaosNode[], timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (const node of nodes) {
    for (;;) {
      const response = await fetch(`${node.url}/buckets/warmup/keys/${node.id}?timeout_ms=2000`, {
        method: 'PUT',
        body: 'x',
        signal: AbortSignal.timeout(4000),
      }).catch(() => undefined);
      if (response?.status === 204) break;
      if (performance.now() > deadline) throw new Error(`${node.id} did not accept a write within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/** How many running, unpaused nodes with a clock offset show it in their HTTP Date header. */
async function countClockSkewSeen(nodes: readonly ChaosNode[]): Promise<number> {
  const skewed = nodes.filter((node) => node.clockOffsetS !== 0 && node.process !== undefined && !node.paused);
  const seen = await Promise.all(
    skewed.map(async (node) => {
      const response = await fetch(`${node.url}/health`, { signal: AbortSignal.timeout(1500) }).catch(() => undefined);
      const dateHeader = response?.headers.get('date');
      if (dateHeader === null || dateHeader === undefined) return false;
      const skewS = (Date.parse(dateHeader) - Date.now()) / 1000;
      return Math.abs(skewS - node.clockOffsetS) < 10;
    }),
  );
  return seen.filter(Boolean).length;
}

async function faultPhase(
  nodes: ChaosNodes,
  options: RunnerOptions,
  prng: Prng,
  timeline: string[],
  problems: string[],
): Promise<ChaosReport['faults']> {
  const started = performance.now();
  const faults = { drawn: zeroCounts(), inflicted: zeroCounts(), clockSkewSeen: 0 };
  const move = async (from: FaultState, to: FaultState): Promise<void> => {
    for (const kind of faultsAskedFor(from, to)) faults.drawn[kind] += 1;
    const outcome = await applyFaultState(nodes, from, to);
    for (const kind of outcome.inflicted) faults.inflicted[kind] += 1;
    problems.push(...outcome.problems);
  };
  let state: FaultState = healedState;
  const stateKinds = options.kinds.filter((kind) => faultStateKinds.includes(kind));
  while (stateKinds.length > 0 && performance.now() - started < options.durationS * 1000) {
    const next = drawFaultState(prng, stateKinds, nodes.nodes.length, state.clocks);
    note(timeline, `t+${((performance.now() - started) / 1000).toFixed(1)}s ${next.description}`);
    await move(state, next);
    state = next;
    const remainingMs = options.durationS * 1000 - (performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(options.intervalMs, remainingMs))));
    faults.clockSkewSeen += await countClockSkewSeen(nodes.nodes);
  }
  if (stateKinds.length > 0) {
    note(timeline, `t+${((performance.now() - started) / 1000).toFixed(1)}s heal`);
    await move(state, healedState);
  }
  for (const node of nodes.members())
    if (node.process === undefined) {
      nodes.spawn(node);
      await nodes
        .waitReady(node)
        .catch((error: unknown) => problems.push(`restart of ${node.id} at heal failed: ${String(error)}`));
    }
  return faults;
}

/**
 * The final read of every key, retried per key until it succeeds or the deadline passes: through
 * any node, or through every node in turn when everyNode (then each node must answer for each key).
 * Resolves with the number of reads that never succeeded.
 */
async function finalReads(
  nodes: readonly ChaosNode[],
  history: History,
  timeoutMs: number,
  everyNode: boolean,
): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  history.reads.splice(0, history.reads.length, ...history.reads.filter((read) => !read.final));
  const reads = [...history.keys].flatMap((key) =>
    everyNode ? nodes.map((_, offset) => ({ key, offset })) : [{ key, offset: 0 }],
  );
  let unread = 0;
  await forEachLimited(reads, 8, async ({ key, offset }, index) => {
    for (let attempt = 0; performance.now() < deadline; attempt++) {
      const node = nodes[(everyNode ? offset : index + attempt) % nodes.length] as ChaosNode;
      const read = await readKey(node, key, 3000);
      if (read.status === 200 || read.status === 300 || read.status === 404) {
        recordRead(history, key, read, true);
        return;
      }
    }
    unread += 1;
  });
  return unread;
}

export async function runInClientNamespace(options: RunnerOptions): Promise<ChaosReport> {
  const prng = new Prng(options.seed);
  const secretFile = join(options.dataDirectory, 'cluster.secret');
  writeFileSync(secretFile, Buffer.from(generateSecret()).toString('hex'), { mode: 0o600 });
  const faketime = options.kinds.includes('clock') ? findFaketime() : undefined;
  const membership = options.kinds.includes('membership');
  const settingsJson = JSON.stringify(membership ? membershipSettings : settings);
  const nodes = new ChaosNodes({
    namespaces: options.nodeNamespaces,
    memberCount: options.memberCount,
    dataDirectory: options.dataDirectory,
    secretFile,
    faketimeLibrary: faketime,
    settingsJson,
    partitions: 64,
  });
  const kinds = faketime === undefined ? options.kinds.filter((kind) => kind !== 'clock') : options.kinds;
  const history = new History();
  const timeline: string[] = [];
  const problems: string[] = [];
  if (options.kinds.includes('clock') && faketime === undefined)
    problems.push('clock nemesis skipped: libfaketime not found (apt-get install -y faketime)');
  try {
    log(
      `seed ${options.seed}, nemesis ${options.nemesis}, ${options.durationS}s of faults; starting ${nodes.nodes.length} nodes`,
    );
    await nodes.startAll();
    await awaitWriteable(nodes.members(), 60_000);
    const workload = new Workload(() => nodes.members(), history, prng.fork(), {
      hotKeys: 4,
      setClients: 6,
      uniqueClients: 2,
      requestTimeoutMs: 2000,
    });
    const nemesis = membership
      ? new MembershipNemesis(nodes, prng.fork(), (line) => note(timeline, line), replicaCount)
      : undefined;
    workload.start();
    await new Promise((resolve) => setTimeout(resolve, options.quietS * 1000));
    workload.phase = 'during';
    const [faults] = await Promise.all([
      faultPhase(nodes, { ...options, kinds }, prng, timeline, problems),
      nemesis?.run(performance.now(), options.durationS * 1000, options.intervalMs),
    ]);
    if (nemesis !== undefined) {
      faults.drawn.membership = nemesis.operations.length;
      faults.inflicted.membership = nemesis.operations.filter((operation) => operation.inflicted).length;
      problems.push(...nemesis.problems);
    }
    workload.phase = 'after';
    await new Promise((resolve) => setTimeout(resolve, options.quietS * 1000));
    await workload.stop();
    log(`quiesce: ${history.elements.size} elements attempted over ${history.keys.length} keys; awaiting convergence`);
    const keys = [...history.keys];
    const finalMembers = nodes.members();
    const convergence = await awaitConvergence(finalMembers, keys, options.convergenceTimeoutS * 1000);
    log(`convergence: ${JSON.stringify(convergence)}`);
    const unreadThroughMembers = await finalReads(finalMembers, history, membership ? 90_000 : 30_000, membership);
    const membershipReport =
      nemesis === undefined ? undefined : await judgeMembership(nemesis, finalMembers, history, unreadThroughMembers);
    const verdict = checkHistory(history);
    const writes = [...history.elements.values()];
    const setWrites = writes.filter((write) => write.key.startsWith('set-'));
    const uniqueWrites = writes.filter((write) => !write.key.startsWith('set-'));
    const nodeCrashes = nodes.nodes.flatMap((node) => node.unexpectedExits);
    const report: ChaosReport = {
      ok:
        verdict.lost === 0 &&
        verdict.unexpected === 0 &&
        verdict.resurrected === 0 &&
        verdict.unreadKeys === 0 &&
        convergence.converged &&
        nodeCrashes.length === 0 &&
        problems.length === 0 &&
        (membershipReport === undefined || membershipHeld(membershipReport)),
      seed: options.seed,
      nemesis: options.nemesis,
      nodes: options.memberCount,
      faultDurationS: options.durationS,
      clockFaults: faketime === undefined ? 'unavailable' : 'libfaketime',
      attempted: verdict.attempted,
      acknowledged: verdict.acknowledged,
      indeterminate: verdict.indeterminate,
      lost: verdict.lost,
      unexpected: verdict.unexpected,
      resurrected: verdict.resurrected,
      unreadKeys: verdict.unreadKeys,
      siblingsMax: verdict.siblingsMax,
      setAdd: {
        keys: new Set(setWrites.map((write) => write.key)).size,
        attempted: setWrites.length,
        acknowledged: setWrites.filter((write) => write.status === 'ok').length,
      },
      uniqueKeys: {
        attempted: uniqueWrites.length,
        acknowledged: uniqueWrites.filter((write) => write.status === 'ok').length,
      },
      lostSample: verdict.lostSample.map((element) => `${history.elements.get(element)?.key ?? '?'}:${element}`),
      unexpectedSample: verdict.unexpectedSample,
      convergence,
      availabilityDuringFaults: availability(workload.samples),
      latency: {
        before: latencyOf(workload.samples, 'before'),
        during: latencyOf(workload.samples, 'during'),
        after: latencyOf(workload.samples, 'after'),
      },
      nodeCrashes,
      faults,
      ...(membershipReport === undefined ? {} : { membership: membershipReport }),
      problems,
      timeline,
    };
    return report;
  } finally {
    await nodes.stopAll();
  }
}
