// Why: two replicas of a partition each hold only their own Merkle tree. TreeExchange is the asking
// side: a synchronous state machine that emits requests for the peer's node hashes, compares each
// answer with its own tree, and asks for the next level only below the nodes that differ, then for
// the (key, record hash) pairs of the differing leaves. It ends with the differing leaves and keys,
// having received O(d * fanOut * depth) hashes for d differences rather than one per key.
//
// It owns no transport and no timer (docs/ARCHITECTURE.md section 2): requests are returned as values, responses
// are fed in, and on a timeout the node resends pendingRequests(). Responses are matched by request id,
// so a duplicated, reordered, stale or retried answer is ignored rather than counted twice. The peer
// answers with the stateless answerTreeExchangeRequest (responder.ts).
//
// Both trees may change during an exchange. The result is then a best effort for that moment: a key
// written meanwhile may be reported or missed, and the next periodic exchange settles it. Repair is
// idempotent, so a spurious key costs only a redundant read.
import { assert, assertNever } from '../base/assert.ts';
import { bytesEqual, compareBytes } from '../base/bytes.ts';
import type { PartitionIndex } from '../base/ids.ts';
import { differingKeysOfEntries } from './diff.ts';
import { integerInRange, validateTreeExchangeLimits, type TreeExchangeLimits } from './limits.ts';
import type { LeafEntry, MerkleTree } from './merkle-tree.ts';
import type {
  TreeExchangeRefusalReason,
  TreeExchangeRequest,
  TreeExchangeResponse,
  TreeHashesRequest,
  TreeLeafEntriesRequest,
} from './messages.ts';

export interface TreeExchangeOptions extends Partial<TreeExchangeLimits> {
  /** Non-negative safe integer, unique among this node's exchanges; responses of other exchanges are ignored. */
  readonly exchangeId: number;
  /** The partition whose trees are compared; the peer looks its tree up by it. */
  readonly partition: PartitionIndex;
  /**
   * Requests awaiting an answer at once, 1..256; default 4. Bounds the exchange's share of the
   * peer's work and of the link, while still overlapping round trips within one level.
   */
  readonly requestsInFlightMax?: number;
}

export const treeExchangeDefaults = Object.freeze({ requestsInFlightMax: 4 });

/** The exchange's states, named after what it waits for; 'finished' and 'failed' are final. */
export type TreeExchangeStateName =
  'not-started' | 'awaiting-node-hashes' | 'awaiting-leaf-entries' | 'finished' | 'failed';

export interface TreeExchangeResult {
  /** Leaves whose hashes differed, ascending. */
  readonly differingLeaves: readonly number[];
  /** Keys whose record hashes differ or that one side lacks, sorted by compareBytes. */
  readonly differingKeys: readonly Uint8Array[];
}

export type TreeExchangeFailure =
  | { readonly reason: 'refused-by-peer'; readonly refusal: TreeExchangeRefusalReason }
  | { readonly reason: 'malformed-response'; readonly detail: string };

/** What crossed the wire, to show that traffic follows the differences and not the partition size. */
export interface TreeExchangeStatistics {
  readonly requestsSent: number;
  readonly responsesAccepted: number;
  /** Duplicates, stale answers, answers to other exchanges, answers after the end. */
  readonly responsesIgnored: number;
  readonly nodeHashesReceived: number;
  /** Each entry carries one record hash. */
  readonly leafEntriesReceived: number;
  /** nodeHashesReceived + leafEntriesReceived. */
  readonly hashesReceived: number;
}

/** Indices still to ask for on the current level, and what the answers so far found to differ. */
interface LevelProgress {
  readonly unrequested: readonly number[];
  nextUnrequested: number;
}

type ExchangeState =
  | { readonly name: 'not-started' }
  | (LevelProgress & { readonly name: 'awaiting-node-hashes'; readonly level: number; readonly differing: number[] })
  | (LevelProgress & { readonly name: 'awaiting-leaf-entries'; readonly differingKeys: Uint8Array[] })
  | { readonly name: 'finished'; readonly result: TreeExchangeResult }
  | { readonly name: 'failed'; readonly failure: TreeExchangeFailure };

export class TreeExchange {
  readonly exchangeId: number;
  readonly partition: PartitionIndex;
  private readonly limits: TreeExchangeLimits;
  private readonly requestsInFlightMax: number;
  private current: ExchangeState = { name: 'not-started' };
  private readonly outstanding = new Map<number, TreeExchangeRequest>();
  private lastRequestId = 0;
  private readonly counts = {
    requestsSent: 0,
    responsesAccepted: 0,
    responsesIgnored: 0,
    nodeHashesReceived: 0,
    leafEntriesReceived: 0,
  };

  constructor(
    private readonly tree: MerkleTree,
    options: TreeExchangeOptions,
  ) {
    this.exchangeId = integerInRange('exchangeId', options.exchangeId, { min: 0, max: Number.MAX_SAFE_INTEGER });
    this.partition = options.partition;
    this.limits = validateTreeExchangeLimits(options);
    this.requestsInFlightMax = integerInRange(
      'requestsInFlightMax',
      options.requestsInFlightMax ?? treeExchangeDefaults.requestsInFlightMax,
      { min: 1, max: 256 },
    );
  }

  get state(): TreeExchangeStateName {
    return this.current.name;
  }

  /** The level whose hashes are awaited, while in 'awaiting-node-hashes'. */
  get level(): number | undefined {
    return this.current.name === 'awaiting-node-hashes' ? this.current.level : undefined;
  }

  /** Set once the state is 'finished'. */
  get result(): TreeExchangeResult | undefined {
    return this.current.name === 'finished' ? this.current.result : undefined;
  }

  /** Set once the state is 'failed'. */
  get failure(): TreeExchangeFailure | undefined {
    return this.current.name === 'failed' ? this.current.failure : undefined;
  }

  statistics(): TreeExchangeStatistics {
    return { ...this.counts, hashesReceived: this.counts.nodeHashesReceived + this.counts.leafEntriesReceived };
  }

  /** Begins by asking for the peer's root hash. */
  start(): TreeExchangeRequest[] {
    assert(this.current.name === 'not-started', `TreeExchange started twice (state ${this.current.name})`);
    this.current = { name: 'awaiting-node-hashes', level: 0, unrequested: [0], nextUnrequested: 0, differing: [] };
    return this.issueRequests();
  }

  /** Consumes one response; returns the requests to send next (often none). */
  receive(response: TreeExchangeResponse): TreeExchangeRequest[] {
    const request = this.outstanding.get(response.requestId);
    if (response.exchangeId !== this.exchangeId || response.partition !== this.partition || request === undefined) {
      this.counts.responsesIgnored++;
      return [];
    }
    this.outstanding.delete(response.requestId);
    this.counts.responsesAccepted++;
    if (response.kind === 'tree-exchange-refused')
      return this.fail({ reason: 'refused-by-peer', refusal: response.reason });
    const problem =
      request.kind === 'tree-hashes-request'
        ? this.acceptNodeHashes(request, response)
        : this.acceptLeafEntries(request, response);
    if (problem !== undefined) return this.fail({ reason: 'malformed-response', detail: problem });
    return this.issueRequests();
  }

  /** The requests still unanswered: what to resend when the node's timeout for this exchange fires. */
  pendingRequests(): TreeExchangeRequest[] {
    return [...this.outstanding.values()];
  }

  /** Compares the peer's hashes with ours; returns a problem description for a malformed answer. */
  private acceptNodeHashes(request: TreeHashesRequest, response: TreeExchangeResponse): string | undefined {
    const state = this.current;
    assert(
      state.name === 'awaiting-node-hashes' && state.level === request.level,
      'outstanding hashes request outside its level',
    );
    if (response.kind !== 'tree-hashes-response') return `${response.kind} answered a hashes request`;
    if (response.hashes.length !== request.indices.length)
      return `${response.hashes.length} hashes for ${request.indices.length} nodes`;
    this.counts.nodeHashesReceived += response.hashes.length;
    request.indices.forEach((index, position) => {
      if (!bytesEqual(this.tree.nodeHash(request.level, index), response.hashes[position] as Uint8Array))
        state.differing.push(index);
    });
    return undefined;
  }

  /** Compares the peer's leaf entries with ours; returns a problem description for a malformed answer. */
  private acceptLeafEntries(request: TreeLeafEntriesRequest, response: TreeExchangeResponse): string | undefined {
    const state = this.current;
    assert(state.name === 'awaiting-leaf-entries', 'outstanding leaf request outside the leaf phase');
    if (response.kind !== 'tree-leaf-entries-response') return `${response.kind} answered a leaf entries request`;
    if (response.leafEntries.length !== request.leafIndices.length)
      return `${response.leafEntries.length} leaves for ${request.leafIndices.length} asked`;
    const peerLeaves: LeafEntry[][] = [];
    for (const entries of response.leafEntries) {
      // Sorted here rather than trusted: the merge below is only correct on key-sorted lists.
      const sorted = [...entries].sort((a, b) => compareBytes(a.key, b.key));
      if (
        sorted.some(
          (entry, position) => position > 0 && compareBytes((sorted[position - 1] as LeafEntry).key, entry.key) === 0,
        )
      )
        return 'a key listed twice in one leaf';
      peerLeaves.push(sorted);
    }
    request.leafIndices.forEach((leafIndex, position) => {
      const peerEntries = peerLeaves[position] as LeafEntry[];
      this.counts.leafEntriesReceived += peerEntries.length;
      state.differingKeys.push(...differingKeysOfEntries(this.tree.keysInLeaf(leafIndex), peerEntries));
    });
    return undefined;
  }

  /** Fills the in-flight window; when a level is fully answered, moves on until something is awaited. */
  private issueRequests(): TreeExchangeRequest[] {
    const sent: TreeExchangeRequest[] = [];
    for (;;) {
      const state = this.current;
      if (state.name !== 'awaiting-node-hashes' && state.name !== 'awaiting-leaf-entries') return sent;
      while (this.outstanding.size < this.requestsInFlightMax && state.nextUnrequested < state.unrequested.length) {
        sent.push(this.nextRequest(state));
      }
      if (this.outstanding.size > 0) return sent;
      this.advance();
    }
  }

  private nextRequest(state: ExchangeState & LevelProgress): TreeExchangeRequest {
    const address = { exchangeId: this.exchangeId, partition: this.partition, requestId: ++this.lastRequestId };
    const perRequestMax =
      state.name === 'awaiting-node-hashes' ? this.limits.nodesPerRequestMax : this.limits.leavesPerRequestMax;
    const indices = state.unrequested.slice(state.nextUnrequested, state.nextUnrequested + perRequestMax);
    state.nextUnrequested += indices.length;
    let request: TreeExchangeRequest;
    if (state.name === 'awaiting-node-hashes') {
      request = { kind: 'tree-hashes-request', ...address, shape: this.tree.shape, level: state.level, indices };
    } else {
      request = { kind: 'tree-leaf-entries-request', ...address, shape: this.tree.shape, leafIndices: indices };
    }
    this.outstanding.set(request.requestId, request);
    this.counts.requestsSent++;
    return request;
  }

  /** Called when every request of the current level is answered: descend, ask for leaves, or finish. */
  private advance(): void {
    const state = this.current;
    switch (state.name) {
      case 'awaiting-node-hashes': {
        const differing = state.differing.sort((a, b) => a - b);
        if (differing.length === 0) {
          // Equal roots; or, below the root, a tree changed mid-exchange and nothing differs any more.
          this.current = { name: 'finished', result: { differingLeaves: [], differingKeys: [] } };
        } else if (state.level === this.tree.shape.depth) {
          this.current = {
            name: 'awaiting-leaf-entries',
            unrequested: differing,
            nextUnrequested: 0,
            differingKeys: [],
          };
        } else {
          const fanOut = this.tree.shape.fanOut;
          const children = differing.flatMap((parent) =>
            Array.from({ length: fanOut }, (_, offset) => parent * fanOut + offset),
          );
          this.current = {
            name: 'awaiting-node-hashes',
            level: state.level + 1,
            unrequested: children,
            nextUnrequested: 0,
            differing: [],
          };
        }
        return;
      }
      case 'awaiting-leaf-entries': {
        // A peer listing a key under the wrong leaf could report it twice; report each key once.
        const differingKeys = state.differingKeys
          .sort(compareBytes)
          .filter(
            (key, position, sorted) => position === 0 || compareBytes(sorted[position - 1] as Uint8Array, key) !== 0,
          );
        this.current = { name: 'finished', result: { differingLeaves: state.unrequested, differingKeys } };
        return;
      }
      case 'not-started':
      case 'finished':
      case 'failed':
        assert(false, `TreeExchange cannot advance from ${state.name}`);
        return;
      default:
        assertNever(state);
    }
  }

  private fail(failure: TreeExchangeFailure): TreeExchangeRequest[] {
    this.outstanding.clear();
    this.current = { name: 'failed', failure };
    return [];
  }
}
