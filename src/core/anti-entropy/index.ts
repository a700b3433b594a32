// Why: one entry point for anti-entropy (Dynamo section 4.7), so the node core and the protocol codec
// depend on this folder's public surface rather than on its file layout.
export {
  MerkleTree,
  merkleTreeDefaults,
  merkleTreeLimits,
  sameShape,
  validateTreeShape,
  type LeafEntry,
  type MerkleTreeOptions,
  type TreeShape,
} from './merkle-tree.ts';
export { diff, differingKeysOfEntries, differingLeaves } from './diff.ts';
export { treeExchangeLimitDefaults, validateTreeExchangeLimits, type TreeExchangeLimits } from './limits.ts';
export type {
  TreeExchangeMessage,
  TreeExchangeRefusalReason,
  TreeExchangeRefused,
  TreeExchangeRequest,
  TreeExchangeResponse,
  TreeHashesRequest,
  TreeHashesResponse,
  TreeLeafEntriesRequest,
  TreeLeafEntriesResponse,
} from './messages.ts';
export { answerTreeExchangeRequest } from './responder.ts';
export {
  TreeExchange,
  treeExchangeDefaults,
  type TreeExchangeFailure,
  type TreeExchangeOptions,
  type TreeExchangeResult,
  type TreeExchangeStateName,
  type TreeExchangeStatistics,
} from './exchange.ts';
export { ChangeLog, type ChangeLogLimits } from './change-log.ts';
export {
  answerCatchUpRequest,
  catchUpLimits,
  catchUpRefusalReasons,
  differingPositionsValid,
  type CatchUpMessage,
  type CatchUpRefusalReason,
  type CatchUpRefused,
  type CatchUpRequest,
  type CatchUpResponse,
} from './catch-up.ts';
