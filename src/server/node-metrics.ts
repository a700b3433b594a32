// Why: one Prometheus registry per node holding everything an operator watches (docs/OPERATIONS.md
// "Metrics"): process and event-loop defaults, coordinated operations by outcome, forwards, sloppy
// quorum, read repair, hints, siblings and context size on reads, the write-ahead log, the peer
// transport and member liveness. Events the runtime reports arrive through RuntimeObserver (counted
// as they happen); state that already lives elsewhere (hints pending, transport counters, member
// states, WAL statistics) is read at scrape time by `collect`, so nothing is counted twice.
// A registry per node, not the global one: tests and `everwrite dev` run several nodes in a process.
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { FastHistogram, type HistogramSeries } from '../api/fast-histogram.ts';
import { errorTable } from '../core/base/errors.ts';
import type { LoggedEngineStatistics } from '../io/storage/index.ts';
import type { TcpTransportMetrics } from '../io/transport/tcp-shared.ts';
import type { CoordinatedOperation, HintDropReason, OperationOutcome, RuntimeObserver } from '../runtime/observer.ts';
import type { NodeStatus } from '../runtime/service.ts';
import { LiveStats } from './live-stats.ts';

/** Seconds; a memory-engine read (~0.1 ms) to a quorum timeout (seconds). */
const latencyBucketsSeconds = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Seconds; an fdatasync on fast NVMe (~50 µs) to a stalled disk (seconds). */
const syncBucketsSeconds = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
const siblingBuckets = [1, 2, 3, 5, 10, 20, 50, 100];
const contextActorBuckets = [1, 2, 3, 5, 10, 20, 50, 100, 200, 400];

/** Outcome labels: `ok` and the known codes; anything else (a peer may forward any string) is `other`. */
function outcomeLabel(outcome: OperationOutcome): string {
  return outcome === 'ok' || Object.hasOwn(errorTable, outcome) ? outcome : 'other';
}

/** What the node reads at scrape time; each source is optional so an embedded node can omit one. */
export interface NodeMetricsSources {
  readonly status: () => NodeStatus;
  readonly hintsPending: () => ReadonlyArray<{ readonly target: string; readonly count: number; readonly bytes: number }>;
  readonly transport?: () => Readonly<Omit<TcpTransportMetrics, 'snapshot'>>;
  readonly storage?: () => LoggedEngineStatistics;
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
  /** Plain running totals of the event counters, for the dashboard's JSON (GET /admin/stats). */
  private readonly running = { forwards: 0, sloppyReplicas: 0, readRepairs: 0, hintsStored: 0, hintsDelivered: 0, hintsDropped: 0 };
  /** Cached label children of the operation histogram, by "operation outcome". */
  private readonly operationChildren = new Map<string, HistogramSeries>();

  /** `onOperationFailed`: told of every failed operation's code (the quorum-failure log line). */
  constructor(private readonly onOperationFailed?: (operation: CoordinatedOperation, code: string) => void) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const histogram = (name: string, help: string, buckets: readonly number[]): HistogramSeries => new FastHistogram(this.registry, name, help, [], buckets).labels();
    this.operations = new FastHistogram(this.registry, 'everwrite_operation_duration_seconds', 'Coordinated client operations (HTTP, RESP, embedded) from request to answer, by operation and outcome (ok or the EVERWRITE_* code).', ['operation', 'outcome'], latencyBucketsSeconds);
    this.forwards = new Counter({ name: 'everwrite_forwards_total', help: 'Client operations this node forwarded to a primary of the key to coordinate.', registers });
    this.sloppyReplicas = new Counter({ name: 'everwrite_sloppy_replicas_total', help: 'Write replicas sent to a fallback node as a hint for an unreachable primary (sloppy quorum).', registers });
    this.readRepairs = new Counter({ name: 'everwrite_read_repairs_total', help: 'Newer records pushed to stale replicas after a read (read repair).', registers });
    this.hintsStoredCounter = new Counter({ name: 'everwrite_hints_stored_total', help: 'Hints this node stored for an unreachable primary, by target.', labelNames: ['target'], registers });
    this.hintsDeliveredCounter = new Counter({ name: 'everwrite_hints_delivered_total', help: 'Hints acknowledged by their target and removed here, by target.', labelNames: ['target'], registers });
    this.hintsDroppedCounter = new Counter({ name: 'everwrite_hints_dropped_total', help: 'Hints not kept: refused (store full or failing) or undecodable on load.', labelNames: ['reason'], registers });
    this.readSiblings = histogram('everwrite_read_siblings', 'Siblings (concurrent versions) in each successful read answer.', siblingBuckets);
    this.readContextActors = histogram('everwrite_read_context_actors', 'Actors (node epochs) in the causal context of each successful read answer: the context size.', contextActorBuckets);
    this.storeWrites = histogram('everwrite_store_write_duration_seconds', "Writes to this node's replica store (a mint or a merge, through the write-ahead log) that waited for the engine.", latencyBucketsSeconds);
    this.walSyncs = histogram('everwrite_wal_fsync_duration_seconds', 'Duration of each fdatasync of the write-ahead log (one per group commit).', syncBucketsSeconds);
    for (const reason of ['refused', 'undecodable'] satisfies HintDropReason[]) this.hintsDroppedCounter.labels(reason).inc(0);
  }

  /** Registers the gauges read at scrape time from the running node's state. */
  attach(sources: NodeMetricsSources): void {
    registerMemberGauges(this.registry, sources.status);
    registerHintGauges(this.registry, sources.hintsPending);
    if (sources.transport !== undefined) registerTransportCounters(this.registry, sources.transport);
    if (sources.storage !== undefined) registerStorageGauges(this.registry, sources.storage);
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
      for (const member of status().members) for (const state of memberStates) this.labels(member.id, state).set(member.state === state ? 1 : 0);
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
  const perTarget = (name: string, help: string, value: (entry: ReturnType<typeof pending>[number]) => number): void => {
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
  counter('everwrite_transport_bytes_sent_total', 'Bytes handed to peer sockets, frame headers included.', (c) => c.bytesWritten);
  counter('everwrite_transport_frames_received_total', 'Frames received from peers.', (c) => c.framesReceived);
  counter('everwrite_transport_bytes_received_total', 'Bytes of frames received from peers, headers excluded.', (c) => c.bytesReceived);
  counter('everwrite_transport_connects_total', 'Outbound peer connections attempted (reconnects included).', (c) => c.connectsAttempted);
  counter('everwrite_transport_connect_failures_total', 'Outbound peer connections that failed before being established.', (c) => c.connectsFailed);
  const byReason = (name: string, help: string, reasons: Readonly<Record<string, (counters: TransportCounters) => number>>): void => {
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
  byReason('everwrite_transport_refused_total', 'Peer connections refused or closed, by reason: handshake failed or timed out, not a member, too many connections.', {
    handshake_failed: (c) => c.handshakesFailed,
    handshake_timeout: (c) => c.handshakeTimeouts,
    not_member: (c) => c.inboundRefusedNotPeer,
    connections_full: (c) => c.inboundRefused,
    address_full: (c) => c.inboundRefusedAddressFull,
    evicted: (c) => c.handshakesEvicted,
    frame_too_large: (c) => c.connectionsClosedFrameTooLarge,
  });
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
  gauge('everwrite_wal_unapplied_bytes', 'Acknowledged write-ahead log bytes not yet applied to the storage engine.', (s) => s.unappliedBytes);
  gauge('everwrite_wal_bytes', 'Bytes of the current write-ahead log file (a checkpoint starts a new one).', (s) => s.logBytes);
  gauge('everwrite_wal_syncs', 'fdatasync calls of the write-ahead log since start.', (s) => s.syncs);
  gauge('everwrite_wal_checkpoints', 'Write-ahead log checkpoints since start.', (s) => s.checkpoints);
}
