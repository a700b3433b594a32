// Why: the composition root of one Everwrite node. It opens the storage engine behind the write-ahead
// log, recovers the node's identity (its versioning epoch) and bucket properties, boots from its
// persisted cluster view (or builds the first one from the seeds, view-boot.ts, decision 0015), and
// plugs TCP, the system clock and the HTTP front end into the runtime. The CLI's `start` calls it, and so can an application embedding Everwrite.
import { randomInt } from 'node:crypto';
import { md5 } from '../core/base/md5.ts';
import { nodeMd5 } from '../io/md5-digest.ts';
import { EverwriteError } from '../core/base/errors.ts';
import { asNodeId, type NodeId } from '../core/base/ids.ts';
import { resolveRequestLimits } from '../core/base/limits.ts';
import { NodeCore } from '../core/node/node-core.ts';
import type { NodeCoreSettings } from '../core/node/options.ts';
import type { ClusterView } from '../core/cluster-view/index.ts';
import { actorOf } from '../core/versioning/index.ts';
import { startHttpServer, type HttpServerHandle } from '../api/http/server.ts';
import { startRespServer, type RespServerHandle } from '../api/resp/index.ts';
import { createStorageEngine, LoggedEngine, type EngineKind } from '../io/storage/index.ts';
import { TcpTransport } from '../io/transport/tcp.ts';
import { probePeerCertificate } from '../io/transport/tcp-tls.ts';
import type { SecureContext } from 'node:tls';
import { HmacContextSeal } from '../io/context-seal.ts';
import { loadTlsMaterial, type TlsFiles, type TlsMaterial } from '../io/tls-credentials.ts';
import { fetchDispatcherTrusting } from '../io/fetch-trust.ts';
import { systemClock, systemTimers } from '../io/system-clock.ts';
import type { StorageEngine } from '../runtime/ports.ts';
import { HintStore } from '../runtime/stores/hint-store.ts';
import { LocalStore } from '../runtime/stores/local-store.ts';
import { NodeRuntime, type RuntimeLogger } from '../runtime/node-runtime.ts';
import { bootIdentity, markCleanStop } from '../runtime/stores/node-metadata.ts';
import { loadView, saveView } from '../runtime/stores/view-store.ts';
import { bootView, type SeedMember } from './view-boot.ts';
import { MembershipAdmin } from './membership-admin.ts';
import { AddressRateLimiter } from '../core/base/rate-limiter.ts';
import type { NodeLimits } from './node-limits.ts';
import { NodeMetrics, peerTlsStats } from './node-metrics.ts';
import { QuorumFailureLog } from './quorum-failure-log.ts';
import { liveWindowSeconds } from './live-stats.ts';
import { Authenticator } from '../api/auth/authenticator.ts';
import { pino } from 'pino';

const silentLogger = pino({ level: 'silent' });

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Which ports speak TLS (decision 0026). */
export interface TlsPorts {
  readonly http: boolean;
  readonly resp: boolean;
  /** Mutual TLS between nodes: needs `files.caFile`; every member must agree. */
  readonly peer: boolean;
}

/** TLS for a node: the certificate, key and CA files (read again by reloadTls) and the ports that use them. */
export interface NodeTlsOptions {
  readonly files: TlsFiles;
  readonly ports: TlsPorts;
}

/** Which certificate a node serves, as reloadTls reports it. */
export interface TlsCertificateReport {
  readonly serialNumber: string;
  readonly fingerprint256: string;
  readonly validTo: string;
}

/** A `--seeds` entry: id and peer address, and optionally zone, weight, HTTP and RESP addresses (view-boot.ts). */
export type ClusterMember = SeedMember;

export interface StartNodeOptions {
  readonly nodeId: string;
  /** Where peers connect (inter-node TCP). */
  readonly listen: HostPort;
  /** Where the HTTP API listens. */
  readonly http: HostPort;
  /** Where the Redis-protocol (RESP) front end listens; absent: no RESP front end. */
  readonly resp?: HostPort;
  /**
   * The seeds: on a brand-new node, every member of the new cluster, this node included (all nodes
   * must be given the same list); once a view is persisted, where to find the cluster, checked
   * against the view (decision 0015).
   */
  readonly members: readonly ClusterMember[];
  /** This node's zone and weight (`--zone`, `--weight`); checked against the seeds and the view. */
  readonly zone?: string;
  readonly weight?: number;
  readonly engine: EngineKind;
  /** Data directory; required for durable engines. */
  readonly dataDirectory?: string;
  /** The shared cluster secret (>= 16 bytes). */
  readonly secret: Uint8Array;
  /** Ring partitions Q (a power of two) of a new cluster, default 256; when given, checked against the persisted view. */
  readonly partitionCount?: number;
  readonly settings?: Partial<NodeCoreSettings>;
  readonly logger?: RuntimeLogger;
  /** Connection caps, timeouts and the per-address request rate (decision 0013); defaults when absent. */
  readonly limits?: NodeLimits;
  /** TLS on some or all ports (decision 0026); absent: plain TCP everywhere. */
  readonly tls?: NodeTlsOptions;
  /** Origins whose browser scripts may call the HTTP API (CORS); none by default. */
  readonly corsOrigins?: readonly string[];
  /**
   * Called once when this node has left the cluster (decision 0017): it holds a view without it and
   * its transfers are acknowledged. The node keeps running; `everwrite start` stops it and exits 0.
   */
  readonly onLeftCluster?: (viewVersion: number) => void;
  /**
   * Serve HTTP and RESP clients from every address even while no user exists (`--insecure`).
   * Default false: protected mode, only loopback clients until the first user exists (decision 0025).
   */
  readonly insecure?: boolean;
  /** GET /metrics without credentials once users exist (`--metrics-public`), for a scraper without a user. Default false. */
  readonly metricsPublic?: boolean;
}

export interface RunningNode {
  readonly id: NodeId;
  readonly runtime: NodeRuntime;
  readonly httpAddress: HostPort;
  readonly respAddress: HostPort | undefined;
  readonly peerAddress: HostPort;
  /** The cluster view the node booted with; the current one is runtime.core.viewGossip.view. */
  readonly bootView: ClusterView;
  /** The node's Prometheus registry and live figures (GET /metrics, GET /admin/stats). */
  readonly metrics: NodeMetrics;
  /** Which ports speak TLS; undefined: none. */
  readonly tlsPorts: TlsPorts | undefined;
  /**
   * Reads the TLS files again and serves the new certificate to connections opened from now on;
   * open connections keep theirs (SIGHUP, decision 0026). A bad file throws EVERWRITE_BAD_TLS_CONFIG
   * naming it, and the certificate in service stays. Throws EVERWRITE_BAD_REQUEST without TLS.
   */
  reloadTls(): TlsCertificateReport;
  stop(): Promise<void>;
  /**
   * Stops like stop() but leaves no clean-stop mark, so the next boot draws a new versioning epoch
   * (decision 0008): for a node whose in-memory state can no longer be trusted (decision 0012).
   */
  abort(): Promise<void>;
}

/** The ring's key hash; the core's pure MD5 measured 3x faster than node:crypto per short key (a node itself uses nodeMd5, decision 0038). */
export { md5 };

function validateMembers(options: StartNodeOptions): void {
  const ids = new Set(options.members.map((member) => member.id));
  if (ids.size !== options.members.length)
    throw new EverwriteError('EVERWRITE_BAD_REQUEST', 'member ids must be distinct');
}

const hostPort = (address: HostPort): string => `${address.host}:${address.port}`;

function splitAddress(address: string): HostPort {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) };
}

/** Every member but this one, by id, at its view address: the transport's peers. */
function peersOf(view: ClusterView, self: string): Map<NodeId, HostPort> {
  return new Map(
    view.members
      .filter((member) => member.id !== self)
      .map((member) => [member.id, splitAddress(member.peer)] as const),
  );
}

/**
 * How long a member that left the view stays a transport peer, in ms. A node completing a transition
 * adopts the view without the leaving node in the same step as it acknowledges that node's last
 * handoff batch (decision 0017); dropping the link at once would drop the acknowledgement with it,
 * and the leaving node would resend the batch forever instead of leaving.
 */
const departedPeerLingerMs = 30_000;

/** Follows `next` with the transport, keeping members `previous` had and `next` lacks for departedPeerLingerMs. */
function followViewWithLinger(
  transport: TcpTransport,
  previous: ClusterView,
  next: ClusterView,
  self: string,
  current: () => ClusterView,
): void {
  const peers = peersOf(next, self);
  const departed = [...peersOf(previous, self)].filter(([id]) => !peers.has(id));
  if (departed.length === 0) {
    transport.setPeers(peers);
    return;
  }
  transport.setPeers(new Map([...peers, ...departed]));
  setTimeout(() => transport.setPeers(peersOf(current(), self)), departedPeerLingerMs).unref();
}

/** Unreachable peers are routine (debug); refusals and failed handshakes name who knocked (warn). */
function logTransportIncident(logger: RuntimeLogger | undefined, incident: EverwriteError): void {
  const routine = incident.code === 'EVERWRITE_UNAVAILABLE' || incident.code === 'EVERWRITE_TIMEOUT';
  logger?.[routine ? 'debug' : 'warn'](
    { event: routine ? 'peer_unreachable' : 'peer_refused', code: incident.code, ...incident.details },
    incident.message,
  );
}

async function openView(
  options: StartNodeOptions,
  engine: Awaited<ReturnType<typeof createStorageEngine>>,
): Promise<ClusterView> {
  const booted = bootView({
    persisted: await loadView(engine),
    nodeId: options.nodeId,
    peer: hostPort(options.listen),
    http: hostPort(options.http),
    resp: options.resp === undefined ? undefined : hostPort(options.resp),
    zone: options.zone,
    weight: options.weight,
    seeds: options.members,
    partitionCount: options.partitionCount,
  });
  for (const warning of booted.warnings) options.logger?.warn({ version: booted.view.version }, warning);
  if (booted.created) await saveView(engine, booted.view);
  options.logger?.info(
    {
      version: booted.view.version,
      digest: booted.view.digest,
      members: booted.view.members.length,
      created: booted.created,
    },
    'cluster view loaded',
  );
  return booted.view;
}

/**
 * The replica store, its key and byte figures counted from what the engine holds (decision 0036):
 * after the log's replay, before anything writes, so no write can be counted twice or missed.
 */
async function openLocalStore(
  engine: StorageEngine,
  view: ClusterView,
  logger: RuntimeLogger | undefined,
): Promise<LocalStore> {
  const store = new LocalStore(engine);
  const startedMs = performance.now();
  try {
    await store.usage.countStored(engine, view.ring.partitionCount);
  } catch (error) {
    await engine.close();
    throw error;
  }
  const figures = store.usage.figures();
  logger?.info(
    {
      event: 'storage_counted',
      keys: figures?.keys,
      bytes: figures?.bytes,
      durationMs: Math.round(performance.now() - startedMs),
    },
    'counted the keys and bytes stored',
  );
  return store;
}

/** Opens the engine; a write-ahead log's replay is logged with its record count and duration. */
async function openEngine(
  options: StartNodeOptions,
  metrics: NodeMetrics,
): Promise<ReturnType<typeof createStorageEngine>> {
  const engine = createStorageEngine(
    options.engine,
    options.dataDirectory === undefined
      ? {}
      : { directory: options.dataDirectory, log: { onSyncSeconds: metrics.walSynced } },
  );
  const startedMs = performance.now();
  await engine.open();
  if (engine instanceof LoggedEngine) {
    const replay = engine.replayReport;
    const fields = {
      event: 'wal_replayed',
      records: replay.records,
      files: replay.files,
      tornTail: replay.tornTail,
      durationMs: Math.round(performance.now() - startedMs),
    };
    options.logger?.info(fields, `write-ahead log replayed: ${replay.records} records`);
  }
  return engine;
}

/** Loads the TLS files before anything else opens; peer TLS without a CA is refused. */
function loadNodeTls(options: StartNodeOptions): TlsMaterial | undefined {
  const tls = options.tls;
  if (tls === undefined || !(tls.ports.http || tls.ports.resp || tls.ports.peer)) return undefined;
  if (tls.ports.peer && tls.files.caFile === undefined)
    throw new EverwriteError(
      'EVERWRITE_BAD_TLS_CONFIG',
      "TLS on the peer port is mutual: it needs the CA file that signs every member's certificate",
    );
  return loadTlsMaterial(tls.files);
}

const reportOf = (material: TlsMaterial): TlsCertificateReport => ({
  serialNumber: material.serialNumber,
  fingerprint256: material.fingerprint256,
  validTo: material.validTo,
});

/** Says at start who may reach the client ports (decision 0025): protected mode, insecure, or users. */
/** Exports the TLS handshakes of each port that serves TLS (decision 0026); the others have no series. */
function attachTlsMetrics(
  metrics: NodeMetrics,
  transport: TcpTransport,
  http: HttpServerHandle,
  resp: RespServerHandle | undefined,
): void {
  if (transport.options.tls !== undefined) metrics.attachTls('peer', () => peerTlsStats(transport.metrics));
  const httpStats = http.tlsStats;
  if (httpStats !== undefined) metrics.attachTls('http', () => httpStats);
  const respStats = resp?.tlsStats;
  if (respStats !== undefined) metrics.attachTls('resp', () => respStats);
}

function logSecurityMode(logger: RuntimeLogger | undefined, options: StartNodeOptions, hasUsers: boolean): void {
  if (hasUsers) {
    logger?.info({ event: 'security_mode', mode: 'users' }, 'users exist: HTTP and RESP clients must authenticate');
  } else if (options.insecure === true) {
    logger?.warn(
      { event: 'security_mode', mode: 'insecure' },
      'insecure: no user exists and --insecure was given, so any client that reaches the HTTP and RESP ports can read, write and administer everything',
    );
  } else {
    logger?.info(
      { event: 'security_mode', mode: 'protected' },
      'protected mode: no user exists, so the HTTP and RESP ports serve only clients on this machine (loopback, or its own address) until the first user is added (everwrite user add), or start with --insecure',
    );
  }
}

/** How long a claimant waits for a joining node's TLS handshake before refusing the join, in ms. */
const joiningPeerHandshakeMs = 5000;

/** Why a joining node's peer certificate is refused (decision 0026), or undefined when the cluster CA signed it for its address. */
function checkJoiningPeerCertificate(peer: string, context: SecureContext | undefined): Promise<string | undefined> {
  if (context === undefined) return Promise.resolve(undefined);
  const { host, port } = splitAddress(peer);
  return probePeerCertificate(host, port, context, joiningPeerHandshakeMs);
}

export async function startNode(options: StartNodeOptions): Promise<RunningNode> {
  validateMembers(options);
  // One object for the core, the runtime and both front ends (decision 0035), checked before anything opens.
  const requestLimits = resolveRequestLimits(options.limits?.request);
  const tlsMaterial = loadNodeTls(options);
  const tlsPorts = tlsMaterial === undefined ? undefined : options.tls?.ports;
  const listenerTls = (on: boolean | undefined): { tls?: { cert: Buffer; key: Buffer } } =>
    tlsMaterial === undefined || on !== true
      ? {}
      : { tls: { cert: tlsMaterial.cert, key: tlsMaterial.key, ...options.limits?.tls } };
  const self = asNodeId(options.nodeId);
  // Started with the front ends (its timer must not outlive a failed start).
  const failures: { log?: QuorumFailureLog | undefined } = {};
  const metrics = new NodeMetrics((operation, code) => failures.log?.record(operation, code));
  const engine = await openEngine(options, metrics);
  let view: ClusterView;
  try {
    view = await openView(options, engine);
  } catch (error) {
    await engine.close();
    throw error;
  }
  const identity = await bootIdentity(engine, () => randomInt(1, 2 ** 31));
  if (identity.epochSource === 'unclean') {
    options.logger?.warn(
      { event: 'restart_after_unclean_stop', epoch: identity.epoch },
      'restarted after an unclean stop (no clean-stop mark): writing under a new epoch (decision 0008)',
    );
  }
  const limits = options.limits ?? {};
  const seeds = options.members.map((member) => asNodeId(member.id));
  const core = new NodeCore({
    self,
    actor: actorOf(self, identity.epoch),
    ring: view.ring,
    view,
    seeds,
    md5: nodeMd5,
    idBase: identity.idBase,
    props: identity.props,
    users: identity.users,
    handoffProgress: identity.handoffProgress,
    requestLimits,
    ...(options.settings === undefined ? {} : { settings: options.settings }),
  });
  const logger = options.logger;
  // Only members of the view may connect: a node outside it is refused and named in the log.
  const transport = new TcpTransport(
    {
      nodeId: self,
      listen: options.listen,
      peers: peersOf(view, options.nodeId),
      secret: options.secret,
      inboundPeersOnly: true,
      ...limits.peer,
      ...(tlsMaterial !== undefined && tlsPorts?.peer === true
        ? { tls: { cert: tlsMaterial.cert, key: tlsMaterial.key, ca: tlsMaterial.ca as Buffer } }
        : {}),
    },
    { onIncident: (incident) => logTransportIncident(logger, incident) },
  );
  // One limiter for both front ends: a client's rate is its address's, whichever protocol it uses.
  const rateLimiter = new AddressRateLimiter(limits.rate);
  const hints = await HintStore.open(engine);
  const addresses = new Map(view.members.map((member) => [member.id, member.peer] as const));
  let transportView = view;
  const onViewAdopted = (next: ClusterView): void => {
    followViewWithLinger(transport, transportView, next, options.nodeId, () => runtime.core.viewGossip?.view ?? next);
    transportView = next;
    saveView(engine, next).catch((error: unknown) =>
      logger?.error({ error: String(error), version: next.version }, 'saving the adopted cluster view failed'),
    );
  };
  const store = await openLocalStore(engine, view, logger);
  const runtime = new NodeRuntime({
    core,
    clock: systemClock,
    timers: systemTimers,
    transport,
    store,
    hints,
    addresses,
    md5: nodeMd5,
    valueBytesMax: requestLimits.valueBytesMax,
    contextSeal: new HmacContextSeal(options.secret),
    onViewAdopted,
    observer: metrics,
    ...(options.onLeftCluster === undefined ? {} : { onLeftCluster: options.onLeftCluster }),
    ...(logger === undefined ? {} : { logger }),
  });
  metrics.attach({
    status: () => runtime.status(),
    hintsPending: () => runtime.hintsPending(),
    transport: () => transport.metricsSnapshot(),
    transportPeers: () => transport.peerStatuses(),
    gossip: () => core.gossipCounters(),
    storedUsage: { engine: options.engine, read: () => store.usage.figures() },
    ...(engine instanceof LoggedEngine ? { storage: () => engine.statistics } : {}),
  });
  const liveStats = (): unknown => ({
    node: self,
    windowSeconds: liveWindowSeconds,
    operations: metrics.live.report(),
    hintsPending: runtime.hintsPending(),
    totals: metrics.totals(),
  });
  await runtime.start();
  // The first view-gossip round now, before the front ends answer: every peer hears this node is
  // back before any client request reaches it (gossip.ts, announceOnFirstRound).
  runtime.dispatch({ type: 'tick', nowMs: systemClock.monotonicMs() });
  const frontEndLogger = options.logger === undefined ? {} : { logger: options.logger as never };
  let http: HttpServerHandle | undefined;
  let membership: MembershipAdmin | undefined;
  let resp: RespServerHandle | undefined;
  const quorumFailures = logger === undefined ? undefined : new QuorumFailureLog({ logger });
  failures.log = quorumFailures;
  try {
    // A node serving HTTPS asks its seeds over https too, trusting the cluster CA (a join, decision 0017).
    const seedTls =
      tlsPorts?.http === true
        ? tlsMaterial?.ca === undefined
          ? {}
          : { dispatcher: await fetchDispatcherTrusting(tlsMaterial.ca) }
        : undefined;
    const peerCertificateCheck =
      tlsPorts?.peer === true
        ? (peer: string) => checkJoiningPeerCertificate(peer, transport.dialerTlsContext)
        : undefined;
    membership = new MembershipAdmin({
      runtime,
      clock: systemClock,
      timers: systemTimers,
      secret: options.secret,
      ...(seedTls === undefined ? {} : { seedTls }),
      ...(peerCertificateCheck === undefined ? {} : { peerCertificateCheck }),
      ...(logger === undefined ? {} : { logger }),
    });
    // One authenticator for both front ends: failed logins count per address whichever protocol they use.
    const authenticator = new Authenticator({
      directory: runtime,
      logger: (logger ?? silentLogger) as never,
      insecure: options.insecure === true,
    });
    http = await startHttpServer({
      service: runtime,
      membership,
      host: options.http.host,
      port: options.http.port,
      ...limits.http,
      limits: requestLimits,
      ...listenerTls(tlsPorts?.http),
      ...(options.corsOrigins === undefined ? {} : { corsOrigins: options.corsOrigins }),
      rateLimiter,
      metrics: metrics.registry,
      liveStats,
      authenticator,
      metricsPublic: options.metricsPublic === true,
      ...frontEndLogger,
    });
    resp =
      options.resp === undefined
        ? undefined
        : await startRespServer({
            service: runtime,
            host: options.resp.host,
            port: options.resp.port,
            ...limits.resp,
            limits: requestLimits,
            ...listenerTls(tlsPorts?.resp),
            rateLimiter,
            metrics: metrics.registry,
            authenticator,
            ...frontEndLogger,
          });
    attachTlsMetrics(metrics, transport, http, resp);
    logSecurityMode(logger, options, runtime.hasUsers());
  } catch (error) {
    // A front end that cannot start (a port taken, contradictory limits) must not leave the
    // runtime listening on the peer port with the store open.
    quorumFailures?.stop();
    await http?.close();
    await runtime.stop();
    await engine.close();
    throw error;
  }
  const stopInOrder = async (clean: boolean): Promise<void> => {
    membership?.stop();
    quorumFailures?.stop();
    await resp?.close();
    await http?.close();
    await runtime.stop();
    // Last write of this incarnation: the next boot keeps the versioning epoch (node-metadata.ts).
    if (clean) await markCleanStop(engine);
    await engine.close();
  };
  const reloadTls = (): TlsCertificateReport => {
    if (tlsMaterial === undefined || options.tls === undefined)
      throw new EverwriteError(
        'EVERWRITE_BAD_REQUEST',
        `node ${self} was started without TLS: there is no certificate to reload`,
      );
    const material = loadNodeTls(options) as TlsMaterial;
    if (tlsPorts?.http === true) http?.setTlsCredentials(material);
    if (tlsPorts?.resp === true) resp?.setTlsCredentials(material);
    if (tlsPorts?.peer === true)
      transport.setTlsCredentials({ cert: material.cert, key: material.key, ca: material.ca as Buffer });
    logger?.info(
      { event: 'tls_reloaded', ...reportOf(material) },
      `TLS certificate reloaded: serial ${material.serialNumber}, valid to ${material.validTo}`,
    );
    return reportOf(material);
  };
  if (tlsMaterial !== undefined)
    logger?.info(
      { event: 'tls_loaded', ports: tlsPorts, ...reportOf(tlsMaterial) },
      `TLS certificate serial ${tlsMaterial.serialNumber}, valid to ${tlsMaterial.validTo}`,
    );
  let stopped: Promise<void> | undefined;
  return {
    id: self,
    runtime,
    httpAddress: (http as HttpServerHandle).address,
    respAddress: resp?.address,
    peerAddress: transport.address(),
    bootView: view,
    metrics,
    tlsPorts,
    reloadTls,
    // Once: a second call (a signal during shutdown, a test's cleanup) waits for the first.
    stop: () => (stopped ??= stopInOrder(true)),
    abort: () => (stopped ??= stopInOrder(false)),
  };
}
