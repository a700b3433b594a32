// Why: one Prometheus registry per node holding everything an operator watches (docs/OPERATIONS.md
// "Metrics"): process and event-loop defaults, coordinated operations by outcome, forwards, sloppy
// quorum, read repair, hints, siblings and context size on reads, the write-ahead log, the peer
// transport (node-wide and per member), member liveness, failure-detection probes and view gossip,
// membership handoff progress, TLS handshakes per port, and the keys and bytes the node stores. Events the runtime reports arrive through RuntimeObserver (counted
// as they happen); state that already lives elsewhere (hints pending, transport counters, member
// states, WAL statistics) is read at scrape time by `collect`, so nothing is counted twice.
// A registry per node, not the global one: tests and `everwrite dev` run several nodes in a process.
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { FastHistogram, type HistogramSeries } from '../api/fast-histogram.ts';
import { errorTable } from '../core/base/errors.ts';
import type { GossipCounters } from '../core/node/node-core.ts';
import type { EngineKind, LoggedEngineStatistics } from '../io/storage/index.ts';
import type { PeerTransportStatus, TcpTransportMetrics } from '../io/transport/tcp-shared.ts';
import { tlsFailureClasses, type TlsFailureClass } from '../core/base/tls-failure-class.ts';
import type {
  CoordinatedOperation,
  HandoffDirection,
  HintDropReason,
  OperationOutcome,
  RuntimeObserver,
} from '../runtime/observer.ts';
import type { NodeStatus } from '../runtime/service.ts';
import type { StoredUsageFigures } from '../runtime/stores/stored-usage.ts';
import { LiveStats } from './live-stats.ts';

/** Seconds; a memory-engine read (~0.1 ms) to a quorum timeout (seconds). */
const latencyBucketsSeconds = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
/** Seconds; an fdatasync on fast NVMe (~50 µs) to a stalled disk (seconds). */
const syncBucketsSeconds = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
const siblingBuckets = [1, 2, 3, 5, 10, 20, 50, 100];
const contextActorBuckets = [1, 2, 3, 5, 10, 20, 50, 100, 200, 400, 1024];

/** Outcome labels: `ok` and the known codes; anything else (a peer may forward any string) is `other`. */
function outcomeLabel(outcome: OperationOutcome): string {
  return outcome === 'ok' || Object.hasOwn(errorTable, outcome) ? outcome : 'other';
}

/** What the node reads at scrape time; each source is optional so an embedded node can omit one. */
export interface NodeMetricsSources {
  readonly status: () => NodeStatus;
  readonly hintsPending: () => ReadonlyArray<{
    readonly target: string;
    readonly count: number;
    readonly bytes: number;
  }>;
  readonly transport?: () => Readonly<Omit<TcpTransportMetrics, 'snapshot'>>;
  /** One entry per member the transport knows (never a node outside the view): bounded labels. */
  readonly transportPeers?: () => readonly PeerTransportStatus[];
  readonly gossip?: () => GossipCounters;
  readonly storage?: () => LoggedEngineStatistics;
  /** The keys and bytes stored (decision 0036), by the engine kind; undefined until counted at start. */
  readonly storedUsage?: { readonly engine: EngineKind; readonly read: () => StoredUsageFigures | undefined };
}

/** A TLS port's handshake counters: what `attachTls` reads at scrape time. */
export type TlsPortName = 'http' | 'resp' | 'peer';
export interface TlsPortStats {
  readonly completed: number;
  readonly failedByClass: Readonly<Record<TlsFailureClass, number>>;
}

type TransportCounters = Readonly<Omit<TcpTransportMetrics, 'snapshot'>>;

export class NodeMetrics implements RuntimeObserver {
  readonly registry = new Registry();
  /** The last minute per operation, for the dashboard (GET /admin/stats). */
  readonly live = new LiveStats();
  private readonly operations: FastHistogram<'operation' | 'outcome'>;
  private readonly forwards: Counter;
  private readonly sloppyReplicas: Counter;
  private readonly readRepairs: Counter;
  private readonly hintsStoredCounter: Counter<'target'>;
  private readonly hintsDeliveredCounter: Counter<'target'>;
  private readonly hintsDroppedCounter: Counter<'reason'>;
  private readonly readSiblings: HistogramSeries;
  private readonly readContextActors: HistogramSeries;
  private readonly storeWrites: HistogramSeries;
  private readonly walSyncs: HistogramSeries;
  private readonly handoffKeys: Counter<'direction'>;
  private readonly handoffBytes: Counter<'direction'>;
  private readonly handoffBatches: Counter<'direction'>;
  /** The TLS ports whose handshakes are exported (attachTls), read at scrape time. */
  private readonly tlsPorts = new Map<TlsPortName, () => TlsPortStats>();
  /** Plain running totals of the event counters, for the dashboard's JSON (GET /admin/stats). */
  private readonly running = {
    forwards: 0,
    sloppyReplicas: 0,
    readRepairs: 0,
    hintsStored: 0,
    hintsDelivered: 0,
    hintsDropped: 0,
  };
  /** Cached label children of the operation histogram, by "operation outcome". */
  private readonly operationChildren = new Map<string, HistogramSeries>();

  /** `onOperationFailed`: told of every failed operation's code (the quorum-failure log line). */
  constructor(private readonly onOperationFailed?: (operation: CoordinatedOperation, code: string) => void) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const histogram = (name: string, help: string, buckets: readonly number[]): HistogramSeries =>
      new FastHistogram(this.registry, name, help, [], buckets).labels();
    this.operations = new FastHistogram(
      this.registry,
      'everwrite_operation_duration_seconds',
      'Coordinated client operations (HTTP, RESP, embedded) from request to answer, by operation and outcome (ok or the EVERWRITE_* code).',
      ['operation', 'outcome'],
      latencyBucketsSeconds,
    );
    this.forwards = new Counter({
      name: 'everwrite_forwards_total',
      help: 'Client operations this node forwarded to a primary of the key to coordinate.',
      registers,
    });
    this.sloppyReplicas = new Counter({
      name: 'everwrite_sloppy_replicas_total',
      help: 'Write replicas sent to a fallback node as a hint for an unreachable primary (sloppy quorum).',
      registers,
    });
    this.readRepairs = new Counter({
      name: 'everwrite_read_repairs_total',
      help: 'Newer records pushed to stale replicas after a read (read repair).',
      registers,
    });
    this.hintsStoredCounter = new Counter({
      name: 'everwrite_hints_stored_total',
      help: 'Hints this node stored for an unreachable primary, by target.',
      labelNames: ['target'],
      registers,
    });
    this.hintsDeliveredCounter = new Counter({
      name: 'everwrite_hints_delivered_total',
      help: 'Hints acknowledged by their target and removed here, by target.',
      labelNames: ['target'],
      registers,
    });
    this.hintsDroppedCounter = new Counter({
      name: 'everwrite_hints_dropped_total',
      help: 'Hints not kept: refused (store full or failing) or undecodable on load.',
      labelNames: ['reason'],
      registers,
    });
    this.readSiblings = histogram(
      'everwrite_read_siblings',
      'Siblings (concurrent versions) in each successful read answer.',
      siblingBuckets,
    );
    this.readContextActors = histogram(
      'everwrite_read_context_actors',
      "Actors (node epochs) in the causal context of each successful read answer's record: the key's whole context, of which a client is handed at most 8 KiB (decision 0041).",
      contextActorBuckets,
    );
    this.storeWrites = histogram(
      'everwrite_store_write_duration_seconds',
      "Writes to this node's replica store (a mint or a merge, through the write-ahead log) that waited for the engine.",
      latencyBucketsSeconds,
    );
    this.walSyncs = histogram(
      'everwrite_wal_fsync_duration_seconds',
      'Duration of each fdatasync of the write-ahead log (one per group commit).',
      syncBucketsSeconds,
    );
    for (const reason of ['refused', 'undecodable'] satisfies HintDropReason[])
      this.hintsDroppedCounter.labels(reason).inc(0);
    const handoffCounter = (what: string, help: string): Counter<'direction'> =>
      new Counter({ name: `everwrite_handoff_${what}_total`, help, labelNames: ['direction'], registers });
    this.handoffKeys = handoffCounter(
      'keys',
      'Keys streamed in membership handoff batches, by direction (outgoing: this node the source; resends included).',
    );
    this.handoffBytes = handoffCounter(
      'bytes',
      'Bytes (storage keys plus records) streamed in membership handoff batches, by direction.',
    );
    this.handoffBatches = handoffCounter(
      'batches',
      'Membership handoff batches sent (resends included) or received, by direction.',
    );
    for (const direction of ['outgoing', 'incoming'] satisfies HandoffDirection[])
      for (const counter of [this.handoffKeys, this.handoffBytes, this.handoffBatches])
        counter.labels(direction).inc(0);
    registerTlsCounters(this.registry, this.tlsPorts);
  }

  /** Registers the gauges read at scrape time from the running node's state. */
  attach(sources: NodeMetricsSources): void {
    registerMemberGauges(this.registry, sources.status);
    registerHintGauges(this.registry, sources.hintsPending);
    registerHandoffGauges(this.registry, sources.status);
    registerBackgroundGauges(this.registry, sources.status);
    if (sources.transport !== undefined) registerTransportCounters(this.registry, sources.transport);
    if (sources.transportPeers !== undefined) registerPeerTransportSeries(this.registry, sources.transportPeers);
    if (sources.gossip !== undefined) registerGossipCounters(this.registry, sources.gossip);
    if (sources.storage !== undefined) registerStorageGauges(this.registry, sources.storage);
    if (sources.storedUsage !== undefined) registerStoredUsageGauges(this.registry, sources.storedUsage);
  }

  /** Exports the TLS handshakes of one port; a port without TLS is never attached, so has no series. */
  attachTls(port: TlsPortName, read: () => TlsPortStats): void {
    this.tlsPorts.set(port, read);
  }

  // ---- RuntimeObserver -------------------------------------------------------------------------

  operationFinished(operation: CoordinatedOperation, outcome: OperationOutcome, seconds: number): void {
    const label = outcomeLabel(outcome);
    const key = `${operation} ${label}`;
    let child = this.operationChildren.get(key);
    if (child === undefined) this.operationChildren.set(key, (child = this.operations.labels(operation, label)));
    child.observe(seconds);
    this.live.record(operation, seconds * 1000, outcome !== 'ok');
    if (outcome !== 'ok') this.onOperationFailed?.(operation, label);
  }

  readAnswered(siblings: number, contextActors: number): void {
    this.readSiblings.observe(siblings);
    this.readContextActors.observe(contextActors);
  }

  forwardSent(): void {
    this.forwards.inc();
    this.running.forwards++;
  }

  sloppyReplicaSent(): void {
    this.sloppyReplicas.inc();
    this.running.sloppyReplicas++;
  }

  readRepairSent(): void {
    this.readRepairs.inc();
    this.running.readRepairs++;
  }

  hintStored(target: string, ok: boolean): void {
    if (!ok) return this.hintDropped('refused');
    this.hintsStoredCounter.labels(target).inc();
    this.running.hintsStored++;
  }

  hintsDelivered(target: string, count: number): void {
    this.hintsDeliveredCounter.labels(target).inc(count);
    this.running.hintsDelivered += count;
  }

  hintDropped(reason: HintDropReason): void {
    this.hintsDroppedCounter.labels(reason).inc();
    this.running.hintsDropped++;
  }

  /** The event counters' totals since start. */
  totals(): Readonly<NodeMetrics['running']> {
    return { ...this.running };
  }

  handoffBatch(direction: HandoffDirection, keys: number, bytes: number): void {
    this.handoffKeys.labels(direction).inc(keys);
    this.handoffBytes.labels(direction).inc(bytes);
    this.handoffBatches.labels(direction).inc();
  }

  storeWriteFinished(seconds: number): void {
    this.storeWrites.observe(seconds);
  }

  /** For the write-ahead log's `onSyncSeconds`. */
  readonly walSynced = (seconds: number): void => this.walSyncs.observe(seconds);
}

const memberStates = ['up', 'suspect', 'down', 'leaving', 'joining'] as const;

/** One series per member and state, 1 for the state this node believes it in (liveness, decision 0014). */
function registerMemberGauges(registry: Registry, status: () => NodeStatus): void {
  new Gauge({
    name: 'everwrite_member_state',
    help: 'What this node believes of each member: 1 for its current state (up, suspect, down, leaving, joining), 0 for the others.',
    labelNames: ['member', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const member of status().members)
        for (const state of memberStates) this.labels(member.id, state).set(member.state === state ? 1 : 0);
    },
  });
  new Gauge({
    name: 'everwrite_view_version',
    help: 'Version of the cluster view this node holds (decision 0015).',
    registers: [registry],
    collect() {
      this.set(status().view?.version ?? 0);
    },
  });
  new Gauge({
    name: 'everwrite_view_conflict',
    help: '1 while this node refuses to serve because its cluster view conflicts with its peers.',
    registers: [registry],
    collect() {
      this.set(status().view?.conflict == null ? 0 : 1);
    },
  });
}

function registerHintGauges(registry: Registry, pending: NodeMetricsSources['hintsPending']): void {
  const perTarget = (
    name: string,
    help: string,
    value: (entry: ReturnType<typeof pending>[number]) => number,
  ): void => {
    new Gauge({
      name,
      help,
      labelNames: ['target'],
      registers: [registry],
      collect() {
        this.reset();
        for (const entry of pending()) this.labels(entry.target).set(value(entry));
      },
    });
  };
  perTarget('everwrite_hints_pending', 'Hints held here waiting for their target.', (entry) => entry.count);
  perTarget('everwrite_hints_pending_bytes', 'Bytes of the hints held here for each target.', (entry) => entry.bytes);
}

/** The peer transport's counters since start, node-wide (the transport does not count per peer). */
function registerTransportCounters(registry: Registry, read: () => TransportCounters): void {
  const counter = (name: string, help: string, value: (counters: TransportCounters) => number): void => {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(value(read()));
      },
    });
  };
  counter('everwrite_transport_frames_sent_total', 'Frames handed to peer sockets.', (c) => c.framesWritten);
  counter(
    'everwrite_transport_bytes_sent_total',
    'Bytes handed to peer sockets, frame headers included.',
    (c) => c.bytesWritten,
  );
  counter('everwrite_transport_frames_received_total', 'Frames received from peers.', (c) => c.framesReceived);
  counter(
    'everwrite_transport_bytes_received_total',
    'Bytes of frames received from peers, headers excluded.',
    (c) => c.bytesReceived,
  );
  counter(
    'everwrite_transport_connects_total',
    'Outbound peer connections attempted (reconnects included).',
    (c) => c.connectsAttempted,
  );
  counter(
    'everwrite_transport_connect_failures_total',
    'Outbound peer connections that failed before being established.',
    (c) => c.connectsFailed,
  );
  const byReason = (
    name: string,
    help: string,
    reasons: Readonly<Record<string, (counters: TransportCounters) => number>>,
  ): void => {
    new Counter({
      name,
      help,
      labelNames: ['reason'],
      registers: [registry],
      collect() {
        const counters = read();
        this.reset();
        for (const [reason, value] of Object.entries(reasons)) this.labels(reason).inc(value(counters));
      },
    });
  };
  byReason('everwrite_transport_frames_dropped_total', 'Frames dropped before reaching a peer, by reason.', {
    queue_full: (c) => c.framesDroppedQueueFull,
    unknown_peer: (c) => c.framesDroppedUnknownPeer,
    not_running: (c) => c.framesDroppedNotRunning,
    stale: (c) => c.framesDroppedStale,
  });
  byReason(
    'everwrite_transport_refused_total',
    'Peer connections refused or closed, by reason: handshake failed or timed out, not a member, too many connections.',
    {
      handshake_failed: (c) => c.handshakesFailed,
      handshake_timeout: (c) => c.handshakeTimeouts,
      not_member: (c) => c.inboundRefusedNotPeer,
      connections_full: (c) => c.inboundRefused,
      address_full: (c) => c.inboundRefusedAddressFull,
      evicted: (c) => c.handshakesEvicted,
      frame_too_large: (c) => c.connectionsClosedFrameTooLarge,
    },
  );
}

function registerStorageGauges(registry: Registry, read: () => LoggedEngineStatistics): void {
  const gauge = (name: string, help: string, value: (statistics: LoggedEngineStatistics) => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(value(read()));
      },
    });
  };
  gauge(
    'everwrite_wal_unapplied_bytes',
    'Acknowledged write-ahead log bytes not yet applied to the storage engine.',
    (s) => s.unappliedBytes,
  );
  gauge(
    'everwrite_wal_bytes',
    'Bytes of the current write-ahead log file (a checkpoint starts a new one).',
    (s) => s.logBytes,
  );
  gauge('everwrite_wal_syncs', 'fdatasync calls of the write-ahead log since start.', (s) => s.syncs);
  gauge('everwrite_wal_checkpoints', 'Write-ahead log checkpoints since start.', (s) => s.checkpoints);
}

/**
 * Two numbers LocalStore keeps as it writes (decision 0036), so a scrape costs the same with a
 * million keys as with none. No series until the start-up count is over: a partial count would
 * look like lost data.
 */
function registerStoredUsageGauges(registry: Registry, source: NonNullable<NodeMetricsSources['storedUsage']>): void {
  const gauge = (name: string, help: string, value: (figures: StoredUsageFigures) => number): void =>
    scrapedGauge(registry, name, help, ['engine'], (emit) => {
      const figures = source.read();
      if (figures !== undefined) emit(value(figures), source.engine);
    });
  gauge(
    'everwrite_storage_keys',
    'Keys this node stores in its partitions, whatever their record holds: live values, tombstones, or a causal context kept after a reap.',
    (f) => f.keys,
  );
  gauge(
    'everwrite_storage_bytes',
    'Bytes of the keys this node stores: storage keys plus their records as handed to the engine (logical bytes, not files on disk).',
    (f) => f.bytes,
  );
}

/** Sets one series: its value and its label values, in the family's label order. */
type EmitSeries = (value: number, ...labels: string[]) => void;

/**
 * A counter or gauge whose values are kept elsewhere and read at scrape time: `read` emits each
 * series. Series not emitted in a scrape disappear (a peer that left the view).
 */
function scraped(
  kind: 'counter' | 'gauge',
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly string[],
  read: (emit: EmitSeries) => void,
): void {
  const configuration = { name, help, labelNames, registers: [registry] };
  if (kind === 'counter') {
    new Counter({
      ...configuration,
      collect() {
        this.reset();
        read((value, ...labels) => this.labels(...labels).inc(value));
      },
    });
    return;
  }
  new Gauge({
    ...configuration,
    collect() {
      this.reset();
      read((value, ...labels) => this.labels(...labels).set(value));
    },
  });
}

const scrapedCounter = (...args: Tail<Parameters<typeof scraped>>): void => scraped('counter', ...args);
const scrapedGauge = (...args: Tail<Parameters<typeof scraped>>): void => scraped('gauge', ...args);
type Tail<T extends readonly unknown[]> = T extends readonly [unknown, ...infer Rest] ? Rest : never;

/** Per member of the view: the transport's traffic, drops, connects and connection state. */
function registerPeerTransportSeries(registry: Registry, read: () => readonly PeerTransportStatus[]): void {
  const perPeer = (name: string, help: string, value: (peer: PeerTransportStatus) => number): void =>
    scrapedCounter(registry, name, help, ['peer'], (emit) => {
      for (const peer of read()) emit(value(peer), peer.peer);
    });
  perPeer(
    'everwrite_transport_peer_frames_sent_total',
    'Frames handed to the socket to each member.',
    (p) => p.framesSent,
  );
  perPeer(
    'everwrite_transport_peer_bytes_sent_total',
    'Bytes handed to the socket to each member, frame headers included.',
    (p) => p.bytesSent,
  );
  perPeer(
    'everwrite_transport_peer_frames_received_total',
    "Frames read from each member's authenticated connection.",
    (p) => p.framesReceived,
  );
  perPeer(
    'everwrite_transport_peer_bytes_received_total',
    "Bytes of frames read from each member's connection, headers excluded.",
    (p) => p.bytesReceived,
  );
  perPeer(
    'everwrite_transport_peer_frames_dropped_total',
    'Frames for each member dropped before they went out: queue full, waited too long for a connection, or the link closed.',
    (p) => p.framesDropped,
  );
  perPeer(
    'everwrite_transport_peer_connects_total',
    'Outbound connections started to each member; growth past one means reconnects.',
    (p) => p.connects,
  );
  perPeer(
    'everwrite_transport_peer_connect_failures_total',
    'Outbound connections to each member that failed before the TCP connection was up.',
    (p) => p.connectFailures,
  );
  scrapedGauge(
    registry,
    'everwrite_transport_peer_connected',
    'Whether each direction of the connection with each member is authenticated and open (1) or not (0).',
    ['peer', 'direction'],
    (emit) => {
      for (const peer of read()) {
        emit(peer.outboundConnected ? 1 : 0, peer.peer, 'outbound');
        emit(peer.inboundConnected ? 1 : 0, peer.peer, 'inbound');
      }
    },
  );
}

/** Failure detection's probes (decision 0014) and the view gossip's rounds (decision 0015). */
function registerGossipCounters(registry: Registry, read: () => GossipCounters): void {
  const counter = (name: string, help: string, value: (counters: GossipCounters) => number): void =>
    scrapedCounter(registry, name, help, [], (emit) => emit(value(read())));
  counter(
    'everwrite_view_gossip_rounds_total',
    'Rounds of cluster-view gossip this node ran (one digest to a random member, one to a seed).',
    (c) => c.viewGossipRounds,
  );
  counter(
    'everwrite_views_adopted_total',
    'Newer cluster views this node adopted from its peers.',
    (c) => c.viewsAdopted,
  );
  counter(
    'everwrite_swim_probes_total',
    'Failure-detection probes this node started (a direct ping to one member each).',
    (c) => c.probes,
  );
  counter(
    'everwrite_swim_indirect_probes_total',
    'Probes without a direct ack in time, for which k other members were asked to probe (ping-req).',
    (c) => c.indirectProbes,
  );
  counter(
    'everwrite_swim_probes_failed_total',
    'Probes that got no ack at all within their period: the member is suspected if it was up.',
    (c) => c.probesFailed,
  );
}

const handoffDirections = ['outgoing', 'incoming'] as const;

/** The current membership transition's transfers (decision 0017), from the core's handoffStatus(); all 0 outside one. */
function registerHandoffGauges(registry: Registry, status: () => NodeStatus): void {
  const handoff = (): NonNullable<NodeStatus['handoff']> | undefined => status().handoff;
  scrapedGauge(
    registry,
    'everwrite_handoff_view_version',
    'Version of the view the membership transition in progress moves to; 0 outside a transition.',
    [],
    (emit) => emit(handoff()?.viewVersion ?? 0),
  );
  scrapedGauge(
    registry,
    'everwrite_handoff_transfers',
    'Partition transfers of the whole transition in progress (total), and those this node knows are done (done).',
    ['state'],
    (emit) => {
      const current = handoff();
      emit(current?.transfersTotal ?? 0, 'total');
      emit(current?.transfersKnownDone ?? 0, 'done');
    },
  );
  scrapedGauge(
    registry,
    'everwrite_handoff_node_transfers',
    "This node's own transfers of the transition in progress, by direction and state (running or done).",
    ['direction', 'state'],
    (emit) => {
      const transfers = handoff()?.transfers ?? [];
      for (const direction of handoffDirections) {
        const mine = transfers.filter((transfer) => transfer.direction === direction);
        const done = mine.filter((transfer) => transfer.done).length;
        emit(done, direction, 'done');
        emit(mine.length - done, direction, 'running');
      }
    },
  );
}

/** The background admission controller (paper section 6.5): whether it halved the budget, the budget now, and the p99s it compares. */
function registerBackgroundGauges(registry: Registry, status: () => NodeStatus): void {
  const background = (): NonNullable<NodeStatus['background']> | undefined => status().background;
  scrapedGauge(
    registry,
    'everwrite_background_throttled',
    'Whether the foreground p99 is above its factor times its baseline, so handoff, hint delivery and anti-entropy get half their byte budget (1) or not (0).',
    [],
    (emit) => emit(background()?.throttled === true ? 1 : 0),
  );
  scrapedGauge(
    registry,
    'everwrite_background_bytes_per_second',
    'Byte budget per second of background work now (halved while throttled).',
    [],
    (emit) => emit(background()?.bytesPerSecondNow ?? 0),
  );
  scrapedGauge(
    registry,
    'everwrite_background_foreground_p99_seconds',
    "The admission controller's running estimate of the foreground p99 (estimate) and the quiet-time p99 it compares it with (baseline).",
    ['kind'],
    (emit) => {
      const current = background();
      emit((current?.foregroundP99Ms ?? 0) / 1000, 'estimate');
      emit((current?.baselineMs ?? 0) / 1000, 'baseline');
    },
  );
}

/** TLS handshakes on each port that serves TLS (decision 0026), by outcome and by class of failure. */
function registerTlsCounters(registry: Registry, ports: ReadonlyMap<TlsPortName, () => TlsPortStats>): void {
  scrapedCounter(
    registry,
    'everwrite_tls_handshakes_total',
    'TLS handshakes on each TLS port, by outcome (completed or failed); the peer port counts both directions.',
    ['port', 'outcome'],
    (emit) => {
      for (const [port, read] of ports) {
        const stats = read();
        emit(stats.completed, port, 'completed');
        emit(
          tlsFailureClasses.reduce((sum, reason) => sum + stats.failedByClass[reason], 0),
          port,
          'failed',
        );
      }
    },
  );
  scrapedCounter(
    registry,
    'everwrite_tls_handshake_failures_total',
    'Failed TLS handshakes on each TLS port by class of reason: timeout, protocol (not TLS, no common version), certificate, closed, other.',
    ['port', 'reason'],
    (emit) => {
      for (const [port, read] of ports) {
        const stats = read();
        for (const reason of tlsFailureClasses) emit(stats.failedByClass[reason], port, reason);
      }
    },
  );
}

/** The peer transport's TLS counters in a port's shape. */
export function peerTlsStats(
  counters: Readonly<Pick<TcpTransportMetrics, 'tlsHandshakesCompleted' | 'tlsHandshakesFailed'>>,
): TlsPortStats {
  return { completed: counters.tlsHandshakesCompleted, failedByClass: counters.tlsHandshakesFailed };
}
