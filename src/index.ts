// Why: the package's public surface for applications that embed Everwrite or talk to it.
export { startNode, type StartNodeOptions, type RunningNode } from './server/start-node.ts';
export type { KvService, GetResult, SiblingView, BucketProps, PutRequest, DeleteRequest, RequestOptions } from './runtime/service.ts';
export { EverwriteError, errorTable, type ErrorCode } from './core/base/errors.ts';
