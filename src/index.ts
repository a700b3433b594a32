// Why: the package's public surface for applications that embed Everwrite or talk to it.
import { LocalCluster, type LocalClusterOptions } from './server/local-cluster.ts';
export { startNode, type StartNodeOptions, type RunningNode } from './server/start-node.ts';
export {
  installProcessGuard,
  fatalExitCode,
  type ProcessGuard,
  type ProcessGuardOptions,
} from './server/process-guard.ts';
export type {
  KvService,
  GetResult,
  SiblingView,
  BucketProps,
  PutRequest,
  DeleteRequest,
  RequestOptions,
} from './runtime/service.ts';
export { EverwriteError, errorTable, type ErrorCode } from './core/base/errors.ts';

// The TypeScript client (docs/CLIENT.md): server-driven or client-driven (partition-aware) routing.
export {
  EverwriteClient,
  EverwriteClientError,
  isEverwriteClientError,
  clientErrorCodes,
  clientDefaults,
  type EverwriteClientOptions,
  type EverwriteClientErrorFields,
  type Routing,
  type ClientGetResult,
  type Sibling,
  type ReadOptions,
  type WriteOptions,
  type PutOptions,
  type UpdateOptions,
  type MergeFunction,
  type BucketPropsPatch,
  type ClusterStatus,
  type ClientStats,
} from './client/index.ts';

// A local cluster of `everwrite start` processes on loopback, for applications' tests and demos.
// It wraps the CLI's LocalCluster (the one `everwrite dev` and the multi-process tests use) rather
// than duplicating it; this entry point is the only place outside the CLI that imports it.
export { LocalCluster, type LocalClusterOptions, type LocalNode, type LocalNodePorts } from './server/local-cluster.ts';

export interface LocalClusterHandle {
  readonly cluster: LocalCluster;
  /** Each node's HTTP base URL, node 1 first: what `new EverwriteClient({ nodes })` takes. */
  readonly urls: readonly string[];
  /** Stops every node (SIGTERM, by PID) and waits for them to exit. */
  stop(): Promise<void>;
}

/**
 * Starts `options.nodes` processes and resolves once each answers /health. If any node fails to
 * start, the ones already started are stopped before the error is thrown.
 */
export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalClusterHandle> {
  const cluster = new LocalCluster(options);
  try {
    await cluster.start();
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return { cluster, urls: cluster.nodes.map((node) => node.httpUrl), stop: () => cluster.stop() };
}
