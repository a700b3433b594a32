// Why: quorum arithmetic as pure values. A tally only counts; the coordination state machines act
// on its decision (docs/ARCHITECTURE.md habit 1). Keeping the counting apart makes it trivially testable.
// A tally holds at most N answers (a handful), so it keeps them in small arrays: a Set or Map per
// request costs more to allocate and collect than a linear scan of three entries costs to search.
import { assert } from '../base/assert.ts';
import type { NodeId } from '../base/ids.ts';

export type TallyDecision = 'succeeded' | 'failed' | 'pending';

/** True when `node` is among the first `count` entries of `nodes`. */
function holds(nodes: readonly NodeId[] | undefined, count: number, node: NodeId): boolean {
  for (let index = 0; index < count; index++) if ((nodes as readonly NodeId[])[index] === node) return true;
  return false;
}

/** Counts write acknowledgements from distinct nodes against W. */
export class PutTally {
  /** Sized for every target at once (growing an empty array from its first push costs more). */
  private readonly acknowledged: NodeId[];
  private acknowledgements = 0;
  /** Refusals are rare: their list is made on the first one. */
  private refused: NodeId[] | undefined;
  private refusals = 0;

  constructor(
    readonly required: number,
    readonly targetCount: number,
  ) {
    this.acknowledged = new Array<NodeId>(targetCount);
  }

  acknowledge(node: NodeId): void {
    if (holds(this.refused, this.refusals, node) || holds(this.acknowledged, this.acknowledgements, node)) return;
    assert(
      this.acknowledgements + this.refusals < this.targetCount,
      'a write tally counts at most one answer per target',
    );
    this.acknowledged[this.acknowledgements++] = node;
  }

  refuse(node: NodeId): void {
    if (holds(this.acknowledged, this.acknowledgements, node) || holds(this.refused, this.refusals, node)) return;
    assert(
      this.acknowledgements + this.refusals < this.targetCount,
      'a write tally counts at most one answer per target',
    );
    (this.refused ??= [])[this.refusals++] = node;
  }

  get acknowledgedCount(): number {
    return this.acknowledgements;
  }

  /** Acknowledged and refused so far, for an error that says where the write stood. */
  counts(): { answered: number; refused: number } {
    return { answered: this.acknowledgements, refused: this.refusals };
  }

  hasAcknowledged(node: NodeId): boolean {
    return holds(this.acknowledged, this.acknowledgements, node);
  }

  /** Every target has answered one way or the other. */
  get complete(): boolean {
    return this.acknowledgements + this.refusals >= this.targetCount;
  }

  decision(): TallyDecision {
    if (this.acknowledgements >= this.required) return 'succeeded';
    if (this.targetCount - this.refusals < this.required) return 'failed';
    return 'pending';
  }
}

/** Collects read replies from distinct nodes against R; values are whatever the caller reads. */
export class GetTally<T> {
  /** Nodes that replied, in reply order (the first `replyCount`); `values[i]` is the reply of `nodes[i]`. Sized for every target. */
  private readonly nodes: NodeId[];
  private readonly values: T[];
  private replies = 0;
  /** Counts accepted replies, a replacing one included: what was computed from the replies is stale once it moves. */
  revision = 0;
  private failures: NodeId[] | undefined;
  private failureCount = 0;

  constructor(
    readonly required: number,
    readonly targetCount: number,
  ) {
    this.nodes = new Array<NodeId>(targetCount);
    this.values = new Array<T>(targetCount);
  }

  /** A node's first reply counts; a later one from the same node replaces it. */
  reply(node: NodeId, value: T): void {
    if (holds(this.failures, this.failureCount, node)) return;
    this.revision += 1;
    const index = this.indexOf(node);
    if (index >= 0) {
      this.values[index] = value;
      return;
    }
    assert(this.replies + this.failureCount < this.targetCount, 'a read tally counts at most one answer per target');
    this.nodes[this.replies] = node;
    this.values[this.replies] = value;
    this.replies += 1;
  }

  fail(node: NodeId): void {
    if (this.indexOf(node) >= 0 || holds(this.failures, this.failureCount, node)) return;
    assert(this.replies + this.failureCount < this.targetCount, 'a read tally counts at most one answer per target');
    (this.failures ??= [])[this.failureCount++] = node;
  }

  get replyCount(): number {
    return this.replies;
  }

  /** Replied and failed so far, for an error that says where the read stood. */
  counts(): { answered: number; refused: number } {
    return { answered: this.replies, refused: this.failureCount };
  }

  /** The node of the reply at `index` (0 <= index < replyCount), in reply order. */
  nodeAt(index: number): NodeId {
    return this.nodes[index] as NodeId;
  }

  valueAt(index: number): T {
    return this.values[index] as T;
  }

  hasReplied(node: NodeId): boolean {
    return this.indexOf(node) >= 0;
  }

  replyOf(node: NodeId): T | undefined {
    const index = this.indexOf(node);
    return index < 0 ? undefined : this.values[index];
  }

  get complete(): boolean {
    return this.replies + this.failureCount >= this.targetCount;
  }

  decision(): TallyDecision {
    if (this.replies >= this.required) return 'succeeded';
    if (this.targetCount - this.failureCount < this.required) return 'failed';
    return 'pending';
  }

  private indexOf(node: NodeId): number {
    for (let index = 0; index < this.replies; index++) if (this.nodes[index] === node) return index;
    return -1;
  }
}
