// Why: one options object for the node core, documented field by field, validated once and frozen
// (docs/ARCHITECTURE.md habit 5). Injected ports (the digest) stay apart from user-tunable numbers.
import { assert } from '../base/assert.ts';
import type { NodeId } from '../base/ids.ts';
import { defaultLimits } from '../base/limits.ts';
import type { BucketProps } from '../protocol/contract.ts';

export interface NodeCoreSettings {
  /** Properties of a bucket nobody has configured. Default n=3, r=2, w=2, siblings, durable. */
  readonly defaultProps: BucketProps;
  /** Client request timeout when the request names none, in ms. Default 2000. */
  readonly requestTimeoutMs: number;
  /** Largest timeout a client may ask for, in ms. Default 60000. */
  readonly requestTimeoutMsMax: number;
  /** How long a non-primary waits for the primary it forwarded to before coordinating itself, in ms. Default 500. */
  readonly forwardTimeoutMs: number;
  /** How long a node that failed to answer is treated as down, in ms (the paper's "each request is a ping"). Default 2000. */
  readonly downBackoffMs: number;
  /** How often hints are offered to their primaries, in ms. Default 1000. */
  readonly hintDeliveryIntervalMs: number;
  /** Hints sent to one primary per delivery round (pacing). Default 64. */
  readonly hintBatchCountMax: number;
  /** How often this node pushes its bucket-properties table to one peer, in ms. Default 2000. */
  readonly propsSyncIntervalMs: number;
  /** Delay between every primary confirming a tombstone and reaping it, in ms. Default 10000. */
  readonly reapDelayMs: number;
  /**
   * How long a reaped key's context-only record is kept after anti-entropy first confirmed that
   * every primary holds it, before it is removed (decision 0019), in ms. Default 259200000 (three
   * days): longer than any hint, fallback copy or message may wait to reach a primary; a node cut
   * off or down for longer must be wiped before it rejoins (docs/OPERATIONS.md).
   */
  readonly contextRemovalGraceMs: number;
  /** Reapable records (tombstone-only or context-only) this node tracks for confirmation at once; more wait for a later scan. Default 100000. */
  readonly reapCandidatesMax: number;
  /** Coordinations in flight before new client requests are refused with EVERWRITE_OVERLOADED. */
  readonly inFlightCoordinationsMax: number;
  /** Siblings a key may hold before new concurrent client writes are refused. */
  readonly siblingsCountMax: number;
  /**
   * Entries a context handed to a client keeps besides those of the key's live siblings' writers
   * (decision 0041); at most contextEntriesMax (1024), the default. Contexts are also cut to 8 KiB
   * of header whatever this is. Smaller values cost clients precision (their writes may leave
   * siblings that read repair or anti-entropy then resolve); the simulator sets 1 to exercise it.
   */
  readonly clientContextEntriesMax: number;
  /**
   * Buckets with configured properties; setting a new bucket's props past it is refused with
   * EVERWRITE_TOO_MANY_BUCKETS. Default 10000. Entries learnt from peers may reach this times the
   * member count (concurrent creations on every node); deletion markers are kept up to this count.
   */
  readonly bucketPropsCountMax: number;
  /** How long a props deletion marker is kept before it is forgotten, in ms. Default 86400000 (a day). */
  readonly propsDeletedRetentionMs: number;
  /** Props entries in one digest answer (delta) to a peer. Default 512 (a few hundred KiB at most). */
  readonly propsDeltaEntriesMax: number;
  /**
   * Users (decision 0025); adding one past it is refused with EVERWRITE_TOO_MANY_USERS. Default
   * 1000. Entries learnt from peers may reach this times the member count (concurrent creations);
   * deletion markers are kept up to this count, for propsDeletedRetentionMs.
   */
  readonly usersCountMax: number;
  /** SWIM protocol period: one member probed per period, in ms. Default 1000 (decision 0014). */
  readonly livenessProbeIntervalMs: number;
  /** How long a direct probe waits for its ack before k others probe indirectly, in ms. Default 400: a few loopback or LAN round trips plus event-loop lag. */
  readonly livenessProbeTimeoutMs: number;
  /** k, the members asked to probe indirectly when a direct probe gets no ack. Default 3 (SWIM's usual; fewer when the cluster is smaller). */
  readonly livenessIndirectProbeCount: number;
  /** How long a member stays suspect without refuting before it is declared down, in ms. Default 3000: a 1 s pause is refuted well within it. */
  readonly livenessSuspicionTimeoutMs: number;
  /**
   * Milliseconds between rounds of cluster-view gossip (decision 0015). Default 1000: a round costs
   * two digests of ~45 bytes, and a new view reaches 1000 nodes in about 10 rounds.
   */
  readonly viewGossipIntervalMs: number;
  /**
   * Anti-entropy (decision 0016): every (partition, other replica) pair this node initiates is
   * exchanged at least once per this many ms. Default 120000: a replica that missed writes (a lost
   * hint, a wiped disk) is whole again within a few minutes, at one root comparison per pair when
   * nothing differs.
   */
  readonly antiEntropyIntervalMs: number;
  /** Tree exchanges this node runs at once. Default 2: bounds the peers' and the link's share. */
  readonly antiEntropyExchangesMax: number;
  /** Keys repaired per second at most (each is one read on the peer and one merge here). Default 2000. */
  readonly antiEntropyKeysPerSecondMax: number;
  /** Bytes of trees and records an exchange sends and receives per second at most. Default 8 MiB. */
  readonly antiEntropyBytesPerSecondMax: number;
  /** Key repairs awaiting the peer's answer at once. Default 32. */
  readonly antiEntropyRepairsInFlightMax: number;
  /** An exchange whose peer does not answer for this long is abandoned (retried next round), in ms. Default 10000. */
  readonly antiEntropyExchangeTimeoutMs: number;
  /** Records read per storage slice while the trees are rebuilt at start; the node answers requests between slices. Default 128. */
  readonly antiEntropyScanKeysPerSlice: number;
  /** Pause between two slices of the rebuild, in ms: the event loop is the clients' meanwhile (docs/BENCHMARKS.md, tree-build p99). Default 2. */
  readonly antiEntropyScanPauseMs: number;
  /** Children per Merkle tree node; equal on every node of a cluster. Default 16. */
  readonly antiEntropyTreeFanOut: number;
  /** Levels below a tree's root; equal on every node. Default 2 (256 leaves: a few keys each at ~1k keys per partition). */
  readonly antiEntropyTreeDepth: number;
  /** Anti-entropy waits while this many client requests are in flight (it yields to foreground traffic). Default 256. */
  readonly antiEntropyForegroundInFlightMax: number;
  /** Records in one handoff batch at most (decision 0017). Default 256. */
  readonly handoffBatchKeysMax: number;
  /** Record bytes in one handoff batch at most (one record larger than this still goes alone). Default 1 MiB. */
  readonly handoffBatchBytesMax: number;
  /** Longest wait before a handoff batch without an acknowledgement is sent again (the first waits requestTimeoutMs, then doubling), in ms. Default 30000. */
  readonly handoffRetryDelayMsMax: number;
  /**
   * Background work (handoff streams, hint delivery, anti-entropy) shares one admission controller
   * (background-admission.ts): bytes per second it may send. Default 16 MiB. Halved while the
   * foreground p99 exceeds backgroundLatencyFactor times its baseline.
   */
  readonly backgroundBytesPerSecondMax: number;
  /** Handoff transfers this node streams at once, as a source. Default 2. */
  readonly backgroundTransfersMax: number;
  /** The foreground p99 over its baseline above which background work gets half its budget. Default 2. */
  readonly backgroundLatencyFactor: number;
  /** A foreground p99 below this never throttles background work, in ms (loopback noise). Default 20. */
  readonly backgroundLatencyFloorMs: number;
  /**
   * Entries of the change log, the time-ordered summary a peer back from an outage is caught up
   * from (decision 0020). Default 65536: past it the oldest go, and an outage older than what
   * remains is repaired by the full tree exchange.
   */
  readonly antiEntropyChangeLogEntriesMax: number;
  /** Bytes of keys the change log holds at most. Default 8 MiB. */
  readonly antiEntropyChangeLogKeyBytesMax: number;
  /**
   * A peer is caught up with the changes since this long before it was last seen up, in ms:
   * failure detection takes a few probe rounds, and writes it missed meanwhile must be listed too.
   * Default 30000.
   */
  readonly antiEntropyCatchUpMarginMs: number;
  /**
   * A peer away longer than this, in ms, is left to the periodic exchange: neither caught up from the
   * log nor handed to an immediate full exchange. Default 21600000 (6 h). 1 switches the catch-up
   * off, as a test of read repair or hinted handoff alone needs besides a huge antiEntropyIntervalMs.
   */
  readonly antiEntropyCatchUpOutageMsMax: number;
}

export const defaultNodeCoreSettings: NodeCoreSettings = Object.freeze({
  defaultProps: Object.freeze({ n: 3, r: 2, w: 2, resolver: 'siblings', durability: 'durable' }) as BucketProps,
  requestTimeoutMs: 2000,
  requestTimeoutMsMax: 60_000,
  forwardTimeoutMs: 500,
  downBackoffMs: 2000,
  hintDeliveryIntervalMs: 1000,
  hintBatchCountMax: 64,
  propsSyncIntervalMs: 2000,
  reapDelayMs: 10_000,
  contextRemovalGraceMs: 259_200_000,
  reapCandidatesMax: 100_000,
  inFlightCoordinationsMax: defaultLimits.inFlightCoordinationsMax,
  siblingsCountMax: defaultLimits.siblingsCountMax,
  clientContextEntriesMax: defaultLimits.contextEntriesMax,
  bucketPropsCountMax: 10_000,
  propsDeletedRetentionMs: 86_400_000,
  propsDeltaEntriesMax: 512,
  usersCountMax: 1000,
  livenessProbeIntervalMs: 1000,
  livenessProbeTimeoutMs: 400,
  livenessIndirectProbeCount: 3,
  livenessSuspicionTimeoutMs: 3000,
  viewGossipIntervalMs: 1000,
  antiEntropyIntervalMs: 120_000,
  antiEntropyExchangesMax: 2,
  antiEntropyKeysPerSecondMax: 2000,
  antiEntropyBytesPerSecondMax: 8 * 1024 * 1024,
  antiEntropyRepairsInFlightMax: 32,
  antiEntropyExchangeTimeoutMs: 10_000,
  antiEntropyScanKeysPerSlice: 128,
  antiEntropyScanPauseMs: 2,
  handoffBatchKeysMax: 256,
  handoffBatchBytesMax: 1024 * 1024,
  handoffRetryDelayMsMax: 30_000,
  backgroundBytesPerSecondMax: 16 * 1024 * 1024,
  backgroundTransfersMax: 2,
  backgroundLatencyFactor: 2,
  backgroundLatencyFloorMs: 20,
  antiEntropyTreeFanOut: 16,
  antiEntropyTreeDepth: 2,
  antiEntropyForegroundInFlightMax: 256,
  antiEntropyChangeLogEntriesMax: 65_536,
  antiEntropyChangeLogKeyBytesMax: 8 * 1024 * 1024,
  antiEntropyCatchUpMarginMs: 30_000,
  antiEntropyCatchUpOutageMsMax: 21_600_000,
});

export function resolveSettings(partial: Partial<NodeCoreSettings> = {}): NodeCoreSettings {
  const settings = { ...defaultNodeCoreSettings, ...partial };
  for (const [name, value] of Object.entries(settings)) {
    if (name === 'defaultProps') continue;
    assert(
      typeof value === 'number' && Number.isSafeInteger(value) && value > 0,
      `node setting ${name} must be a positive integer`,
    );
  }
  assert(
    settings.clientContextEntriesMax <= defaultLimits.contextEntriesMax,
    `node setting clientContextEntriesMax must be at most ${defaultLimits.contextEntriesMax}`,
  );
  assert(
    settings.livenessProbeTimeoutMs < settings.livenessProbeIntervalMs,
    'node setting livenessProbeTimeoutMs must be shorter than livenessProbeIntervalMs',
  );
  return Object.freeze(settings);
}

export type { NodeId };
