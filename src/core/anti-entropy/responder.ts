// Why: the answering side of a tree exchange needs no state of its own: each request names the nodes
// or leaves it wants, so answering is a pure function of the current tree. Being stateless, it answers
// a duplicated or retried request again without harm. It checks every request against its own tree's
// shape and its own limits, because a request comes from another machine.
import { sameShape, type MerkleTree } from './merkle-tree.ts';
import { treeExchangeLimitDefaults, type TreeExchangeLimits } from './limits.ts';
import type { TreeExchangeRefusalReason, TreeExchangeRequest, TreeExchangeResponse } from './messages.ts';

/** The answer to one request of a TreeExchange, read from this replica's `tree`. */
export function answerTreeExchangeRequest(
  tree: MerkleTree,
  request: TreeExchangeRequest,
  limits: TreeExchangeLimits = treeExchangeLimitDefaults,
): TreeExchangeResponse {
  const address = { exchangeId: request.exchangeId, partition: request.partition, requestId: request.requestId };
  const refusal = refusalReason(tree, request, limits);
  if (refusal !== undefined) return { kind: 'tree-exchange-refused', ...address, reason: refusal };
  if (request.kind === 'tree-hashes-request') {
    return { kind: 'tree-hashes-response', ...address, hashes: tree.nodeHashes(request.level, request.indices) };
  }
  return {
    kind: 'tree-leaf-entries-response',
    ...address,
    leafEntries: request.leafIndices.map((leafIndex) => tree.keysInLeaf(leafIndex)),
  };
}

function refusalReason(
  tree: MerkleTree,
  request: TreeExchangeRequest,
  limits: TreeExchangeLimits,
): TreeExchangeRefusalReason | undefined {
  if (!sameShape(tree.shape, request.shape)) return 'shape-mismatch';
  if (request.kind === 'tree-hashes-request') {
    const level = request.level;
    if (!Number.isInteger(level) || level < 0 || level > tree.shape.depth) return 'malformed-request';
    if (request.indices.length > limits.nodesPerRequestMax) return 'request-too-large';
    return indicesValid(request.indices, tree.shape.fanOut ** level) ? undefined : 'malformed-request';
  }
  if (request.leafIndices.length > limits.leavesPerRequestMax) return 'request-too-large';
  return indicesValid(request.leafIndices, tree.leafCount) ? undefined : 'malformed-request';
}

function indicesValid(indices: readonly number[], width: number): boolean {
  return indices.length > 0 && indices.every((index) => Number.isInteger(index) && index >= 0 && index < width);
}
