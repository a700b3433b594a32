// Why: swarm testing. One seed picks the whole shape of a run: cluster size, quorum settings,
// client count, workload mix, which faults are on and how hard they hit. Random subsets of features
// find more bugs than always switching everything on, because some faults mask others. Every choice
// is drawn in a fixed order whether or not the caller overrides it, so `--nodes 5` changes only the
// node count, and the same arguments always give the same configuration.
import type { Prng } from '../core/base/prng.ts';
import type { Durability, Resolver } from '../core/protocol/contract.ts';
import type { NetworkWeather } from './network.ts';
import type { DiskFaults } from './storage.ts';

/**
 * 'wipe' (a node stopped, its disk erased, restarted empty under the same id) and 'membership' (one
 * operator change: a join, a leave or the remove of a crashed node, decision 0017) come last and
 * are drawn after every other choice, so adding them left every older seed's configuration unchanged.
 */
export const faultKinds = ['partition', 'crash', 'pause', 'loss', 'clock', 'disk', 'wipe', 'membership'] as const;
export type FaultKind = (typeof faultKinds)[number];
/** The kinds the seed's first draw chooses among (everything but 'wipe', drawn separately). */
const firstDrawKinds: readonly FaultKind[] = ['partition', 'crash', 'pause', 'loss', 'clock', 'disk'];
export type { Resolver };
/**
 * The bucket's durability. 'buffered' acknowledges a write before its fsync, so a crash (the
 * simulator's power loss) may lose acknowledged writes: the lost-element check is then reported,
 * not enforced, and the dot ledger (no dot minted for two writes) is what must hold.
 */
export type SimDurability = Durability;

/** What a caller (the CLI, a test) asks for; everything else comes from the seed. */
export interface SimOptions {
  readonly seed: number;
  /** Nodes, 3 to 7. Default: from the seed. */
  readonly nodes?: number;
  /** Client operations in the safety phase. Default 200. */
  readonly ops?: number;
  /** Fault kinds to inject: 'all' lets the seed pick a non-empty subset of every kind. Default 'all'. */
  readonly faults?: 'none' | 'all' | readonly FaultKind[];
  readonly resolver?: Resolver;
  /** Default 'durable'. */
  readonly durability?: SimDurability;
  /**
   * The read-free convergence check (docs/RELIABILITY.md): the liveness phase does no final reads
   * and, once hints are drained, waits for anti-entropy alone to make every primary of every key
   * hold the same record. Default false.
   */
  readonly readFree?: boolean;
  /** The nodes' anti-entropy interval, in ms. Default: 3000 with `readFree`, else the node default (120000). */
  readonly antiEntropyIntervalMs?: number;
  /** How long a confirmed context-only record is kept before removal (decision 0019), in ms. Default: the node default (three days, so never within a run). */
  readonly contextRemovalGraceMs?: number;
  /** Entries a context handed to a client keeps besides its siblings' writers (decision 0041). Default: the node default (1024, so contexts are cut only past 8 KiB). */
  readonly clientContextEntriesMax?: number;
}

export interface WorkloadMix {
  /** Read, add a unique element, write back with the context (Jepsen's Riak set test). */
  readonly setAdd: number;
  /** A blind write of a fresh key. */
  readonly uniqueWrite: number;
  /** Read a hot key and delete what was read, with the context. */
  readonly remove: number;
  /** A plain read of a hot key. */
  readonly read: number;
}

export interface SimConfig {
  readonly seed: number;
  readonly nodes: number;
  readonly ops: number;
  readonly faultsOption: 'none' | 'all' | readonly FaultKind[];
  readonly faults: readonly FaultKind[];
  readonly resolver: Resolver;
  readonly durability: SimDurability;
  readonly readFree: boolean;
  /** undefined: the node default. */
  readonly antiEntropyIntervalMs: number | undefined;
  /** undefined: the node default. */
  readonly contextRemovalGraceMs: number | undefined;
  /** undefined: the node default. */
  readonly clientContextEntriesMax: number | undefined;
  readonly partitionCount: number;
  readonly n: number;
  readonly r: number;
  readonly w: number;
  readonly requestTimeoutMs: number;
  readonly clients: number;
  readonly hotKeys: number;
  readonly mix: WorkloadMix;
  /** Virtual time the safety phase aims to spread the operations over, in ms. */
  readonly safetyMs: number;
  /** Pause between a client's operations, uniform in [0, thinkMsMax] (spreads the ops over safetyMs). */
  readonly thinkMsMax: number;
  /** Gap between nemesis actions, uniform in [min, max], in ms. */
  readonly nemesisIntervalMinMs: number;
  readonly nemesisIntervalMaxMs: number;
  /** Network conditions while the loss fault is on. */
  readonly storm: NetworkWeather;
  /** Largest wall-clock offset the clock fault gives a node, in ms. */
  readonly skewMaxMs: number;
  /** Disk faults of a node while the disk fault is on for it. */
  readonly diskFaults: DiskFaults;
  /** Most nodes crashed or paused at once. */
  readonly downMax: number;
  /** Node settings the seed varies (timeouts, intervals, pacing), on top of the defaults. */
  readonly core: {
    readonly forwardTimeoutMs: number;
    readonly downBackoffMs: number;
    readonly hintDeliveryIntervalMs: number;
    readonly hintBatchCountMax: number;
    readonly reapDelayMs: number;
  };
  /** The hint store's count bound (small ones exercise a full store). */
  readonly hintsCountMax: number;
  /** fsync latency range, in ms: slow disks keep more writes in flight when a crash hits. */
  readonly fsyncLatencyMs: readonly [number, number];
}

export const defaultOps = 200;
/** Anti-entropy interval of the read-free check, in virtual ms: short, so a few rounds fit the bound. */
export const readFreeAntiEntropyIntervalMs = 3_000;

function drawFaults(prng: Prng, option: SimOptions['faults']): FaultKind[] {
  const drawn = firstDrawKinds.filter(() => prng.chance(0.55));
  if (drawn.length === 0) drawn.push(prng.pick(firstDrawKinds));
  if (option === undefined || option === 'all') return drawn;
  if (option === 'none') return [];
  return faultKinds.filter((kind) => option.includes(kind));
}

function drawMix(prng: Prng): WorkloadMix {
  const setAdd = 1 + prng.nextInt(6);
  const uniqueWrite = prng.chance(0.7) ? prng.nextInt(4) : 0;
  const remove = prng.chance(0.5) ? prng.nextInt(2) + (prng.chance(0.3) ? 1 : 0) : 0;
  const read = prng.chance(0.6) ? prng.nextInt(3) : 0;
  return { setAdd, uniqueWrite, remove, read };
}

export function buildConfig(options: SimOptions, prng: Prng): SimConfig {
  const ops = options.ops ?? defaultOps;
  if (!Number.isSafeInteger(options.seed) || options.seed < 0)
    throw new RangeError(`seed must be a non-negative integer, got ${options.seed}`);
  if (!Number.isSafeInteger(ops) || ops < 1 || ops > 1_000_000)
    throw new RangeError(`ops must be an integer from 1 to 1000000, got ${ops}`);
  const drawnNodes = 3 + prng.nextInt(5);
  const nodes = options.nodes ?? drawnNodes;
  if (!Number.isSafeInteger(nodes) || nodes < 3 || nodes > 7)
    throw new RangeError(`nodes must be from 3 to 7, got ${nodes}`);
  const faults = drawFaults(prng, options.faults);
  const n = 3;
  const r = prng.chance(0.5) ? 2 : 1 + prng.nextInt(n);
  const w = prng.chance(0.5) ? 2 : 1 + prng.nextInt(n);
  const requestTimeoutMs = prng.pick([300, 1000, 2000]);
  const partitionCount = prng.pick([8, 16, 64]);
  const clients = 2 + prng.nextInt(5);
  const hotKeys = 1 + prng.nextInt(4);
  const mix = drawMix(prng);
  const safetyMs = prng.pick([2_000, 5_000, 15_000, 40_000]);
  const thinkMsMax = Math.round((2 * safetyMs * clients) / ops);
  const nemesisIntervalMinMs = Math.round(safetyMs / prng.pick([20, 40, 80]));
  const nemesisIntervalMaxMs = nemesisIntervalMinMs * prng.pick([2, 4, 8]);
  const storm: NetworkWeather = {
    latencyMinMs: 0.2,
    latencyMaxMs: prng.pick([2, 10, 50]),
    lossProbability: prng.pick([0.01, 0.05, 0.2, 0.5]),
    duplicateProbability: prng.pick([0, 0.02, 0.1]),
    spikeProbability: prng.pick([0, 0.05, 0.2]),
    spikeMs: prng.pick([100, 1000, 5000]),
  };
  const skewMaxMs = prng.pick([50, 5_000, 120_000]);
  const diskFaults: DiskFaults = {
    writeFailProbability: prng.pick([0.01, 0.05, 0.2]),
    readFailProbability: prng.pick([0, 0.01, 0.05]),
    tornWriteProbability: prng.pick([0.2, 0.5, 1]),
  };
  const downMax = Math.max(1, nodes - 1 - prng.nextInt(2));
  const core = {
    forwardTimeoutMs: prng.pick([100, 500]),
    downBackoffMs: prng.pick([500, 2_000, 5_000]),
    hintDeliveryIntervalMs: prng.pick([200, 1_000]),
    hintBatchCountMax: prng.pick([4, 64]),
    reapDelayMs: prng.pick([300, 2_000, 10_000]),
  };
  const hintsCountMax = prng.chance(0.2) ? prng.pick([5, 50]) : 100_000;
  const fsyncLatencyMs = prng.pick([
    [0.5, 4],
    [0.5, 4],
    [5, 60],
  ] as const);
  // Drawn last so every earlier choice is what it was before this fault existed. Only with W >= 2:
  // a write acknowledged by one replica may have its only copy on the wiped disk (the checker would
  // call it lost), while one wipe (wipesMax) cannot take both copies of a W >= 2 write.
  const wipeDrawn = prng.chance(0.3);
  if ((options.faults === undefined || options.faults === 'all') && wipeDrawn && w >= 2) faults.push('wipe');
  // Drawn after the wipe for the same reason. A quarter of the seeds change the membership once.
  if ((options.faults === undefined || options.faults === 'all') && prng.chance(0.25)) faults.push('membership');
  const antiEntropyIntervalMs =
    options.antiEntropyIntervalMs ?? (options.readFree === true ? readFreeAntiEntropyIntervalMs : undefined);
  if (antiEntropyIntervalMs !== undefined && (!Number.isFinite(antiEntropyIntervalMs) || antiEntropyIntervalMs < 1))
    throw new RangeError(`antiEntropyIntervalMs must be a positive number, got ${antiEntropyIntervalMs}`);
  return {
    seed: options.seed,
    nodes,
    ops,
    faultsOption: options.faults ?? 'all',
    faults,
    resolver: options.resolver ?? 'siblings',
    durability: options.durability ?? 'durable',
    readFree: options.readFree ?? false,
    antiEntropyIntervalMs,
    contextRemovalGraceMs: wholeOrUndefined('contextRemovalGraceMs', options.contextRemovalGraceMs),
    clientContextEntriesMax: wholeOrUndefined('clientContextEntriesMax', options.clientContextEntriesMax),
    partitionCount,
    n,
    r,
    w,
    requestTimeoutMs,
    clients,
    hotKeys,
    mix,
    safetyMs,
    thinkMsMax,
    nemesisIntervalMinMs,
    nemesisIntervalMaxMs,
    storm,
    skewMaxMs,
    diskFaults,
    downMax,
    core,
    hintsCountMax,
    fsyncLatencyMs,
  };
}

/** The command line that reproduces a run (every argument that shaped it). */
export function reproduceCommand(config: SimConfig): string {
  const faults = typeof config.faultsOption === 'string' ? config.faultsOption : config.faultsOption.join(',');
  return `everwrite sim --seed ${config.seed} --nodes ${config.nodes} --ops ${config.ops} --faults ${faults} --resolver ${config.resolver}${config.durability === 'durable' ? '' : ` --durability ${config.durability}`}${config.readFree ? ' --read-free' : ''}${config.antiEntropyIntervalMs === undefined || (config.readFree && config.antiEntropyIntervalMs === readFreeAntiEntropyIntervalMs) ? '' : ` --anti-entropy-interval-ms ${config.antiEntropyIntervalMs}`}${config.contextRemovalGraceMs === undefined ? '' : ` --context-removal-grace-ms ${config.contextRemovalGraceMs}`}${config.clientContextEntriesMax === undefined ? '' : ` --client-context-entries-max ${config.clientContextEntriesMax}`}`;
}

function wholeOrUndefined(name: string, value: number | undefined): number | undefined {
  if (value !== undefined && (!Number.isSafeInteger(value) || value < 1))
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}
