// Why: the composition root of one Everwrite node. It opens the storage engine behind the write-ahead
// log, recovers the node's identity (its versioning epoch) and bucket properties, builds the ring
// from the static member list, and plugs TCP, the system clock and the HTTP front end into the
// runtime. The CLI's `start` calls it, and so can an application embedding Everwrite.
import { randomInt } from 'node:crypto';
import { md5 } from '../core/base/md5.ts';
import { EverwriteError } from '../core/base/errors.ts';
import { asNodeId, type NodeId } from '../core/base/ids.ts';
import { defaultLimits } from '../core/base/limits.ts';
import { NodeCore } from '../core/node/node-core.ts';
import type { NodeCoreSettings } from '../core/node/options.ts';
import { createRing } from '../core/ring/index.ts';
import { actorOf } from '../core/versioning/index.ts';
import { startHttpServer } from '../api/http/server.ts';
import { startRespServer } from '../api/resp/index.ts';
import { createStorageEngine, type EngineKind } from '../io/storage/index.ts';
import { TcpTransport } from '../io/transport/tcp.ts';
import { HmacContextSeal } from '../io/context-seal.ts';
import { systemClock, systemTimers } from '../io/system-clock.ts';
import { HintStore } from '../runtime/hint-store.ts';
import { LocalStore } from '../runtime/local-store.ts';
import { NodeRuntime, type RuntimeLogger } from '../runtime/node-runtime.ts';
import { bootIdentity, markCleanStop } from '../runtime/node-metadata.ts';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface ClusterMember {
  readonly id: string;
  readonly host: string;
  readonly port: number;
}

export interface StartNodeOptions {
  readonly nodeId: string;
  /** Where peers connect (inter-node TCP). */
  readonly listen: HostPort;
  /** Where the HTTP API listens. */
  readonly http: HostPort;
  /** Where the Redis-protocol (RESP) front end listens; absent: no RESP front end. */
  readonly resp?: HostPort;
  /** Every member of the cluster, this node included (static until gossip membership lands). */
  readonly members: readonly ClusterMember[];
  readonly engine: EngineKind;
  /** Data directory; required for durable engines. */
  readonly dataDirectory?: string;
  /** The shared cluster secret (>= 16 bytes). */
  readonly secret: Uint8Array;
  /** Ring partitions Q (a power of two). Every node of a cluster must use the same. Default 256. */
  readonly partitionCount?: number;
  readonly settings?: Partial<NodeCoreSettings>;
  readonly logger?: RuntimeLogger;
}

export interface RunningNode {
  readonly id: NodeId;
  readonly runtime: NodeRuntime;
  readonly httpAddress: HostPort;
  readonly respAddress: HostPort | undefined;
  readonly peerAddress: HostPort;
  stop(): Promise<void>;
  /**
   * Stops like stop() but leaves no clean-stop mark, so the next boot draws a new versioning epoch
   * (decision 0008): for a node whose in-memory state can no longer be trusted (decision 0012).
   */
  abort(): Promise<void>;
}

/** The ring's key hash; the core's pure MD5 measured 3x faster than node:crypto per short key. */
export { md5 };

function validateMembers(options: StartNodeOptions): void {
  const ids = new Set(options.members.map((member) => member.id));
  if (ids.size !== options.members.length) throw new EverwriteError('EVERWRITE_BAD_REQUEST', 'member ids must be distinct');
  if (!ids.has(options.nodeId)) throw new EverwriteError('EVERWRITE_BAD_REQUEST', `this node (${options.nodeId}) is not in the member list`);
}

export async function startNode(options: StartNodeOptions): Promise<RunningNode> {
  validateMembers(options);
  const self = asNodeId(options.nodeId);
  const engine = await createStorageEngine(options.engine, options.dataDirectory === undefined ? {} : { directory: options.dataDirectory });
  await engine.open();
  const identity = await bootIdentity(engine, () => randomInt(1, 2 ** 31));
  const ring = createRing({ partitionCount: options.partitionCount ?? 256, members: options.members.map((member) => ({ id: asNodeId(member.id) })) });
  const core = new NodeCore({ self, actor: actorOf(self, identity.epoch), ring, md5, idBase: identity.idBase, props: identity.props, ...(options.settings === undefined ? {} : { settings: options.settings }) });
  const peers = new Map(options.members.filter((member) => member.id !== options.nodeId).map((member) => [asNodeId(member.id), { host: member.host, port: member.port }] as const));
  const transport = new TcpTransport({ nodeId: self, listen: options.listen, peers, secret: options.secret });
  const hints = await HintStore.open(engine);
  const addresses = new Map(options.members.map((member) => [asNodeId(member.id), `${member.host}:${member.port}`] as const));
  const runtime = new NodeRuntime({ core, clock: systemClock, timers: systemTimers, transport, store: new LocalStore(engine), hints, addresses, md5, valueBytesMax: defaultLimits.valueBytesMax, contextSeal: new HmacContextSeal(options.secret), ...(options.logger === undefined ? {} : { logger: options.logger }) });
  await runtime.start();
  const http = await startHttpServer({ service: runtime, host: options.http.host, port: options.http.port, ...(options.logger === undefined ? {} : { logger: options.logger as never }) });
  const resp = options.resp === undefined ? undefined : await startRespServer({ service: runtime, host: options.resp.host, port: options.resp.port, ...(options.logger === undefined ? {} : { logger: options.logger as never }) });
  const stopInOrder = async (clean: boolean): Promise<void> => {
    await resp?.close();
    await http.close();
    await runtime.stop();
    // Last write of this incarnation: the next boot keeps the versioning epoch (node-metadata.ts).
    if (clean) await markCleanStop(engine);
    await engine.close();
  };
  let stopped: Promise<void> | undefined;
  return {
    id: self,
    runtime,
    httpAddress: http.address,
    respAddress: resp?.address,
    peerAddress: transport.address(),
    // Once: a second call (a signal during shutdown, a test's cleanup) waits for the first.
    stop: () => (stopped ??= stopInOrder(true)),
    abort: () => (stopped ??= stopInOrder(false)),
  };
}
