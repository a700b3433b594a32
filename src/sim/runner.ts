// Why: one simulated run from a seed, start to verdict. The safety phase runs the workload under the
// faults the seed chose; the liveness phase heals everything and keeps the workload quiet, then
// demands that hints drain within a bounded virtual time, reads every key once (R = N, so read
// repair sees every primary) and demands that every primary of every key then holds the same
// versions. The read-free mode (readFree) instead turns hint delivery off and, before any final
// read, demands that anti-entropy alone make every primary agree within a bounded time. A workload
// that outlives its virtual-time budget makes the run incomplete, reported apart from failures.
// The report is a pure function of the options: the same seed gives the same report and
// the same trace hash. The driver owns the only real asynchrony: after each simulated event it lets
// the microtask queue drain (the runtime's promises), using a setImmediate captured before the
// determinism guard replaced the global one.
import type { NodeCoreSettings } from '../core/node/options.ts';
import { Prng } from '../core/base/prng.ts';
import { recordsEqual } from '../core/versioning/index.ts';
import { checkHistory, type Verdict } from './checker.ts';
import { ClockSkew } from './clock.ts';
import { Cluster } from './cluster.ts';
import { buildConfig, reproduceCommand, type SimConfig, type SimOptions } from './config.ts';
import { drainMicrotasks, installDeterminismGuard, type DeterminismGuard } from './guard.ts';
import { Nemesis, type NemesisCounters } from './nemesis.ts';
import { SimNetwork, type NetworkMetrics } from './network.ts';
import { SimScheduler, worldOwner } from './scheduler.ts';
import { defaultDiskTiming, type DiskMetrics } from './storage.ts';
import { simBucket, Workload } from './workload.ts';

/** Bounds of one run, in virtual ms (and events): a run that hits one fails instead of hanging. */
export const simLimits = Object.freeze({
  /** The safety phase stops issuing operations after this long. */
  safetyMsMax: 600_000,
  /** Hints must drain (and coordinations end) within this long after the heal. */
  hintDrainMsMax: 60_000,
  /** Every primary of every key must agree within this long after the final reads. */
  convergenceMsMax: 60_000,
  /** Tasks run in one simulation. */
  eventsMax: 20_000_000,
  /** Attempts of each final read. */
  finalReadAttempts: 10,
  /** Final reads in flight at once. */
  finalReadsInFlight: 16,
  /** How often the convergence check looks at the replicas, in virtual ms. */
  convergencePollMs: 50,
  /**
   * The read-free check: anti-entropy alone must make the replicas agree within this long after
   * the heal. 60 s is 20 rounds at the check's 3 s interval: a wiped node's few hundred
   * keys need one round per partition pair, so this is a bound on a bug, not on a slow repair.
   */
  antiEntropyConvergenceMsMax: 60_000,
});

export interface SimReport {
  readonly seed: number;
  readonly nodes: number;
  readonly ops: number;
  readonly faults: readonly string[];
  readonly resolver: string;
  readonly durability: string;
  readonly settings: {
    readonly n: number;
    readonly r: number;
    readonly w: number;
    readonly clients: number;
    readonly hotKeys: number;
    readonly partitionCount: number;
    readonly requestTimeoutMs: number;
    readonly mix: SimConfig['mix'];
  };
  readonly attempted: number;
  readonly acknowledged: number;
  readonly failed: number;
  readonly indeterminate: number;
  readonly lost: number;
  readonly unexpected: number;
  /** Deleted elements read again (see src/sim/checker.ts); enforced like lost, lww included. */
  readonly resurrected: number;
  readonly siblingsMax: number;
  readonly staleReads: number;
  /** Strict quorums and no faults: a stale read is then a failure. */
  readonly strict: boolean;
  readonly readsChecked: number;
  readonly keys: number;
  readonly converged: boolean;
  /** The read-free check ran (no final reads; anti-entropy alone had to make the replicas agree). */
  readonly readFree: boolean;
  /** Read-free: keys whose primaries disagreed when the cluster settled (what anti-entropy had to repair). */
  readonly aeDivergentKeys: number;
  /**
   * Once the cluster settled, before any final read: (key, primary of the final ring) pairs where
   * that primary holds nothing of a key another of its primaries holds. After a membership change
   * this is what the handoff failed to bring; it must be 0 when no fault can lose a write.
   */
  readonly finalRingMissing: number;
  /** Read-free: from the heal to every primary of every key agreeing, in virtual ms (-1 if never or not run). */
  readonly aeConvergenceMs: number;
  /**
   * The safety phase hit its virtual-time budget before the workload finished: the run is
   * incomplete (fewer operations than asked were judged), which is not a safety failure. `ok` still
   * says whether everything that did run was correct.
   */
  readonly budgetExhausted: boolean;
  /** Why the run is incomplete, when it is. */
  readonly incomplete: readonly string[];
  /** From the heal to the moment every primary of every key agreed, in virtual ms (-1 if never). */
  readonly convergenceMs: number;
  readonly hintsDrained: boolean;
  /** From the heal until no hint was left and no coordination in flight, in virtual ms (-1 if never). */
  readonly hintDrainMs: number;
  readonly virtualMs: number;
  readonly events: number;
  readonly network: NetworkMetrics;
  readonly disks: DiskMetrics;
  readonly nemesis: NemesisCounters;
  readonly clientOutcomes: {
    readonly ok: number;
    readonly error: number;
    readonly unavailable: number;
    readonly timeout: number;
  };
  readonly traceHash: string;
  readonly ok: boolean;
  readonly failures: readonly string[];
  /** The command that reproduces this run. */
  readonly command: string;
}

/** An anti-entropy interval at least this long outlasts any run: anti-entropy is off, its catch-up after outages (decision 0020) too. */
const antiEntropyOffIntervalMs = simLimits.safetyMsMax;

function settingsOf(config: SimConfig): Partial<NodeCoreSettings> {
  const interval = config.antiEntropyIntervalMs;
  return {
    defaultProps: Object.freeze({
      n: config.n,
      r: config.r,
      w: config.w,
      resolver: config.resolver,
      durability: config.durability,
    }),
    requestTimeoutMs: config.requestTimeoutMs,
    ...config.core,
    ...(interval === undefined ? {} : { antiEntropyIntervalMs: interval }),
    ...(interval !== undefined && interval >= antiEntropyOffIntervalMs ? { antiEntropyCatchUpOutageMsMax: 1 } : {}),
    ...(config.contextRemovalGraceMs === undefined ? {} : { contextRemovalGraceMs: config.contextRemovalGraceMs }),
    ...(config.clientContextEntriesMax === undefined
      ? {}
      : { clientContextEntriesMax: config.clientContextEntriesMax }),
  };
}

/** Everything one run owns; the phases below share it. */
class Simulation {
  readonly scheduler = new SimScheduler();
  readonly skew = new ClockSkew();
  readonly network: SimNetwork;
  readonly cluster: Cluster;
  readonly workload: Workload;
  readonly nemesis: Nemesis;
  readonly failures: string[] = [];
  readonly settings: Partial<NodeCoreSettings>;
  readonly clientTimeoutMs: number;
  readonly incomplete: string[] = [];
  hintDrainMs = -1;
  convergenceMs = -1;
  converged = false;
  aeDivergentKeys = 0;
  finalRingMissing = 0;
  aeConvergenceMs = -1;

  constructor(
    readonly config: SimConfig,
    root: Prng,
  ) {
    this.settings = settingsOf(config);
    this.network = new SimNetwork(this.scheduler, root.fork());
    this.cluster = new Cluster(this.scheduler, this.network, this.skew, root.fork(), {
      nodeCount: config.nodes,
      partitionCount: config.partitionCount,
      settings: this.settings,
      hintsCountMax: config.hintsCountMax,
      replicaCount: config.n,
      diskTiming: {
        ...defaultDiskTiming,
        fsyncLatencyMinMs: config.fsyncLatencyMs[0],
        fsyncLatencyMaxMs: config.fsyncLatencyMs[1],
      },
    });
    // Longer than a forward timeout plus a whole coordination: a reply later than this is lost.
    this.clientTimeoutMs = 2 * config.requestTimeoutMs + 1_500;
    this.workload = new Workload(this.cluster, this.scheduler, root.fork(), config, this.clientTimeoutMs);
    this.nemesis = new Nemesis(this.cluster, this.network, this.skew, this.scheduler, root.fork(), config);
  }

  /** Runs events until `done()` or virtual time `limitMs`; true if `done()` held. */
  async runUntil(done: () => boolean, limitMs: number): Promise<boolean> {
    const scheduler = this.scheduler;
    for (;;) {
      if (done()) return true;
      if (scheduler.eventsRun >= simLimits.eventsMax) throw new Error(`the run exceeded ${simLimits.eventsMax} events`);
      if (!scheduler.runNext(limitMs)) return done();
      await drainMicrotasks();
    }
  }

  async boot(): Promise<void> {
    for (const node of this.cluster.nodes) this.cluster.start(node);
    const booted = await this.runUntil(() => this.cluster.upNodes.length === this.config.nodes, 10_000);
    if (!booted) throw new Error('the cluster did not boot within 10 s of virtual time');
  }

  async safetyPhase(): Promise<void> {
    this.workload.start();
    this.nemesis.start();
    const finished = await this.runUntil(() => this.workload.finished, simLimits.safetyMsMax);
    if (!finished) {
      this.workload.stop();
      this.incomplete.push(
        `budget exhausted: the workload did not finish within ${simLimits.safetyMsMax} ms of virtual time (${this.workload.history.elements.size} element writes issued of ${this.config.ops} operations asked); what ran was checked`,
      );
    }
  }

  async livenessPhase(): Promise<void> {
    const healedAtMs = this.scheduler.nowMs;
    this.nemesis.healAll();
    this.workload.stop();
    // Quiet: clients are done, no hint is left, no coordination in flight, and every node is up and
    // believes every other one is (a failure detector still routing around a healed node would
    // send the final reads to fallbacks), and every node holds the newest cluster view (decision 0015).
    if (this.config.readFree) this.aeDivergentKeys = this.divergentKeys();
    const quiet = (): boolean =>
      this.workload.settled &&
      this.cluster.hintCount() === 0 &&
      this.cluster.inFlightCoordinations() === 0 &&
      this.cluster.allSeeAllUp() &&
      this.cluster.allHoldOneView() &&
      this.cluster.transitionsEnded();
    const drained = await this.runUntil(quiet, healedAtMs + simLimits.hintDrainMsMax);
    if (drained) this.hintDrainMs = this.scheduler.nowMs - healedAtMs;
    else
      this.failures.push(
        `the cluster did not settle within ${simLimits.hintDrainMsMax} ms of the heal (${this.cluster.hintCount()} hints left, ${this.cluster.inFlightCoordinations()} coordinations in flight, ${this.cluster.upNodes.length}/${this.cluster.nodes.length} nodes up, ${this.cluster.allSeeAllUp() ? 'all agree every member is up' : 'not all agree every member is up at its own incarnation'}, ${this.cluster.allHoldOneView() ? 'one cluster view' : 'the cluster views differ or a node refuses over its view'}, ${this.cluster.transitionsEnded() ? 'no membership transition' : 'a membership transition has not completed'})`,
      );
    this.checkFinalRing();
    if (this.config.readFree) {
      // The reads come only after anti-entropy made the replicas agree (or failed to): they feed
      // the lost/unexpected verdict and can no longer be what healed the replicas.
      await this.awaitAntiEntropyConvergence(healedAtMs);
      await this.finalReads();
      return;
    }
    await this.finalReads();
    await this.awaitConvergence(healedAtMs);
  }

  /**
   * The read-free check. The workload stopped at the heal and the final reads wait until this
   * ends, so no read and no read repair moves a record: hints (delivered as ever; a write
   * acknowledged by a primary and a fallback's hint needs its hint to reach the other primaries)
   * and anti-entropy do. Hints carry only writes a primary missed while it was down or cut off;
   * what a wiped disk held before the wipe comes back by anti-entropy alone, which the mutant in
   * test/sim/anti-entropy.test.ts shows (anti-entropy off: the same seeds never agree).
   * `aeDivergentKeys`, counted at the heal, says how much was left to repair. Agreement is looked
   * for once the cluster settled (no hint left, every node up and seen up), timed from the heal.
   */
  private async awaitAntiEntropyConvergence(healedAtMs: number): Promise<void> {
    if (this.hintDrainMs < 0) return;
    let agreed = false;
    const poll = (): void => {
      agreed = this.replicasAgree();
      if (!agreed)
        this.scheduler.schedule(simLimits.convergencePollMs, worldOwner, 'anti-entropy convergence check', poll);
    };
    poll();
    this.converged = await this.runUntil(() => agreed, healedAtMs + simLimits.antiEntropyConvergenceMsMax);
    if (this.converged) {
      this.aeConvergenceMs = this.scheduler.nowMs - healedAtMs;
      this.convergenceMs = this.aeConvergenceMs;
    } else {
      this.failures.push(
        `read-free: anti-entropy did not make the replicas agree within ${simLimits.antiEntropyConvergenceMsMax} ms of the heal (the cluster settled ${Math.round(this.hintDrainMs)} ms after it; ${this.divergentKeys()} of ${this.workload.history.keys.length} keys still differ, ${this.aeDivergentKeys} differed at the heal)`,
      );
    }
  }

  /**
   * Every key on each of its primaries of the final ring, before the final reads could repair
   * anything (finalRingMissing). Enforced when the seed's faults cannot lose a write on its way
   * (no crash, loss, partition, pause, disk fault or wipe): then every write reached every
   * primary of its time, and the handoff must have brought it to the new ones.
   */
  private checkFinalRing(): void {
    let missing = 0;
    for (const key of this.workload.history.keys) {
      const { partition, nodes } = this.cluster.primaries(simBucket, key, this.config.n);
      const held = nodes.map((node) => this.cluster.replicaRecord(node, simBucket, key, partition).siblings.length > 0);
      if (held.some(Boolean)) missing += held.filter((holds) => !holds).length;
    }
    this.finalRingMissing = missing;
    const lossless = this.config.faults.every((kind) => kind === 'membership' || kind === 'clock');
    if (lossless && missing > 0)
      this.failures.push(
        `${missing} (key, final primary) pairs lack a key another final primary holds, with no fault that loses writes: the handoff did not bring them`,
      );
  }

  /** Keys some two of whose primaries hold different records. */
  divergentKeys(): number {
    let count = 0;
    for (const key of this.workload.history.keys) if (!this.keyAgrees(key)) count += 1;
    return count;
  }

  private keyAgrees(key: string): boolean {
    const { partition, nodes: ringNodes } = this.cluster.primaries(simBucket, key, this.config.n);
    // At the heal a membership transition may still name a member the simulation has already
    // retired (a removed or departed node): only the primaries that exist hold anything to compare.
    const nodes = ringNodes.filter((node) => this.cluster.nodes.some((candidate) => candidate.id === node));
    if (nodes.length === 0) return true;
    const first = this.cluster.replicaRecord(nodes[0] as (typeof nodes)[number], simBucket, key, partition);
    return nodes
      .slice(1)
      .every((node) => recordsEqual(first, this.cluster.replicaRecord(node, simBucket, key, partition)));
  }

  private async finalReads(): Promise<void> {
    const keys = [...this.workload.history.keys];
    let next = 0;
    let inFlight = 0;
    let failed = 0;
    const launch = (): void => {
      while (inFlight < simLimits.finalReadsInFlight && next < keys.length) {
        const key = keys[next++] as string;
        inFlight += 1;
        this.workload.finalRead(
          key,
          Math.min(this.config.n, this.cluster.nodes.length),
          simLimits.finalReadAttempts,
          (ok) => {
            inFlight -= 1;
            if (!ok) failed += 1;
            launch();
          },
        );
      }
    };
    launch();
    const done = await this.runUntil(
      () => inFlight === 0 && next >= keys.length,
      this.scheduler.nowMs +
        simLimits.finalReadAttempts *
          (this.clientTimeoutMs + 500) *
          Math.max(1, keys.length / simLimits.finalReadsInFlight),
    );
    if (!done) this.failures.push(`the final reads did not finish (${next - inFlight} of ${keys.length} done)`);
    if (failed > 0) this.failures.push(`${failed} final reads failed every attempt`);
  }

  /** True when every primary of every key holds the very same record. */
  replicasAgree(): boolean {
    return this.workload.history.keys.every((key) => this.keyAgrees(key));
  }

  private async awaitConvergence(healedAtMs: number): Promise<void> {
    let agreed = false;
    const poll = (): void => {
      agreed = this.replicasAgree();
      if (!agreed) this.scheduler.schedule(simLimits.convergencePollMs, worldOwner, 'convergence check', poll);
    };
    poll();
    this.converged = await this.runUntil(() => agreed, this.scheduler.nowMs + simLimits.convergenceMsMax);
    if (this.converged) this.convergenceMs = this.scheduler.nowMs - healedAtMs;
    else this.failures.push(`replicas did not converge within ${simLimits.convergenceMsMax} ms of the final reads`);
  }
}

/**
 * Whether an acknowledged element may be missing at the end. Siblings keep every concurrent write
 * and a durable write is on disk before its acknowledgement, so nothing may be lost, except when a
 * wiped disk, or the disk of a crashed node an operator removed (decision 0017), held the only copy:
 * possible only with W = 1 (with W >= 2 a second replica held it and the nemesis loses at most one
 * disk per run, wiped or removed).
 */
function lossEnforced(simulation: Simulation): boolean {
  return simulation.config.resolver === 'siblings' && deletesKept(simulation);
}

/**
 * Whether every acknowledged write (a delete too) must survive: durable buckets, and no wiped disk
 * that may have held its only copy. A lost tombstone brings its value back legitimately.
 */
function deletesKept(simulation: Simulation): boolean {
  const { config, nemesis } = simulation;
  return config.durability === 'durable' && (config.w >= 2 || nemesis.counters.wipes + nemesis.counters.removes === 0);
}

function judge(simulation: Simulation, verdict: Verdict, strict: boolean): void {
  const { failures } = simulation;
  if (lossEnforced(simulation) && verdict.lost > 0)
    failures.push(`${verdict.lost} acknowledged elements lost (e.g. ${verdict.lostSample.join(', ')})`);
  const ledger = simulation.cluster.dotLedger;
  if (ledger.violations > 0)
    failures.push(`${ledger.violations} dots minted for two different writes (e.g. ${ledger.samples.join('; ')})`);
  if (verdict.unexpected > 0)
    failures.push(`${verdict.unexpected} unexpected elements in reads (e.g. ${verdict.unexpectedSample.join(', ')})`);
  if (deletesKept(simulation) && verdict.resurrected > 0)
    failures.push(
      `${verdict.resurrected} deleted elements read again after their delete was acknowledged (e.g. ${verdict.resurrectedSample.join(', ')})`,
    );
  if (strict && verdict.staleReads > 0)
    failures.push(`${verdict.staleReads} stale reads under strict quorums without faults`);
  if (verdict.unreadKeys > 0) failures.push(`${verdict.unreadKeys} keys were never read in the liveness phase`);
}

function sumDisks(simulation: Simulation): DiskMetrics {
  const total: DiskMetrics = {
    batches: 0,
    failedWrites: 0,
    failedReads: 0,
    syncs: 0,
    crashes: 0,
    lostWrites: 0,
    tornWrites: 0,
    storageFailures: 0,
  };
  for (const node of [...simulation.cluster.nodes, ...simulation.cluster.departed]) {
    for (const name of Object.keys(total) as Array<keyof DiskMetrics>) total[name] += node.disk.metrics[name];
  }
  return total;
}

/** Debugging hooks: see the history and every event of a run (not part of the report). */
export interface SimHooks {
  /** Called with each event's trace line as it runs. */
  readonly onEvent?: (line: string) => void;
  /** Called at the end with the simulation's history and cluster. */
  readonly onFinish?: (details: { readonly history: Workload['history']; readonly cluster: Cluster }) => void;
}

/** Runs one simulation. Never throws for a failed run: the report says what failed. */
export async function runSimulation(options: SimOptions, hooks: SimHooks = {}): Promise<SimReport> {
  const root = new Prng(options.seed);
  const config = buildConfig(options, root.fork());
  const simulation = new Simulation(config, root);
  if (hooks.onEvent !== undefined) simulation.scheduler.onEvent = hooks.onEvent;
  const leaks: string[] = [];
  const onUnhandled = (reason: unknown): void => {
    leaks.push(`unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`);
  };
  let guard: DeterminismGuard | undefined;
  process.on('unhandledRejection', onUnhandled);
  try {
    guard = installDeterminismGuard();
    await simulation.boot();
    await simulation.safetyPhase();
    await simulation.livenessPhase();
  } catch (error) {
    simulation.failures.push(
      `the simulation stopped: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
  } finally {
    guard?.restore();
    // Rejections of the last event surface one turn later.
    await drainMicrotasks();
    process.off('unhandledRejection', onUnhandled);
  }
  for (const violation of guard?.violations ?? []) simulation.failures.push(`determinism guard: ${violation}`);
  simulation.failures.push(...leaks);
  const verdict = checkHistory(simulation.workload.history);
  hooks.onFinish?.({ history: simulation.workload.history, cluster: simulation.cluster });
  const strict = config.faults.length === 0 && config.r + config.w > config.n;
  judge(simulation, verdict, strict);
  const { scheduler } = simulation;
  scheduler.note(`verdict ${JSON.stringify(verdict)} converged=${simulation.converged}`);
  return {
    seed: config.seed,
    nodes: config.nodes,
    ops: config.ops,
    faults: config.faults,
    resolver: config.resolver,
    durability: config.durability,
    settings: {
      n: config.n,
      r: config.r,
      w: config.w,
      clients: config.clients,
      hotKeys: config.hotKeys,
      partitionCount: config.partitionCount,
      requestTimeoutMs: config.requestTimeoutMs,
      mix: config.mix,
    },
    attempted: verdict.attempted,
    acknowledged: verdict.acknowledged,
    failed: verdict.failed,
    indeterminate: verdict.indeterminate,
    lost: verdict.lost,
    unexpected: verdict.unexpected,
    resurrected: verdict.resurrected,
    siblingsMax: verdict.siblingsMax,
    staleReads: verdict.staleReads,
    strict,
    readsChecked: verdict.readsChecked,
    keys: simulation.workload.history.keys.length,
    converged: simulation.converged,
    readFree: config.readFree,
    aeDivergentKeys: simulation.aeDivergentKeys,
    finalRingMissing: simulation.finalRingMissing,
    aeConvergenceMs: Math.round(simulation.aeConvergenceMs),
    budgetExhausted: simulation.incomplete.length > 0,
    incomplete: simulation.incomplete,
    convergenceMs: Math.round(simulation.convergenceMs),
    hintsDrained: simulation.hintDrainMs >= 0,
    hintDrainMs: Math.round(simulation.hintDrainMs),
    virtualMs: Math.round(scheduler.nowMs),
    events: scheduler.eventsRun,
    network: { ...simulation.network.metrics },
    disks: sumDisks(simulation),
    nemesis: { ...simulation.nemesis.counters },
    clientOutcomes: { ...simulation.workload.outcomes },
    traceHash: scheduler.traceHash(),
    ok: simulation.failures.length === 0,
    failures: simulation.failures,
    command: reproduceCommand(config),
  };
}
