// Why: quorum arithmetic as pure values. A tally only counts; the coordination state machines act
// on its decision (DESIGN.md habit 1). Keeping the counting apart makes it trivially testable.
// A tally holds at most N answers (a handful), so it keeps them in small arrays: a Set or Map per
// request costs more to allocate and collect than a linear scan of three entries costs to search.
import type { NodeId } from '../base/ids.ts';

export type TallyDecision = 'succeeded' | 'failed' | 'pending';

/** Counts write acknowledgements from distinct nodes against W. */
export class PutTally {
  private readonly acknowledged: NodeId[] = [];
  private readonly refused: NodeId[] = [];

  constructor(
    readonly required: number,
    readonly targetCount: number,
  ) {}

  acknowledge(node: NodeId): void {
    if (!this.refused.includes(node) && !this.acknowledged.includes(node)) this.acknowledged.push(node);
  }

  refuse(node: NodeId): void {
    if (!this.acknowledged.includes(node) && !this.refused.includes(node)) this.refused.push(node);
  }

  get acknowledgedCount(): number {
    return this.acknowledged.length;
  }

  hasAcknowledged(node: NodeId): boolean {
    return this.acknowledged.includes(node);
  }

  /** Every target has answered one way or the other. */
  get complete(): boolean {
    return this.acknowledged.length + this.refused.length >= this.targetCount;
  }

  decision(): TallyDecision {
    if (this.acknowledged.length >= this.required) return 'succeeded';
    if (this.targetCount - this.refused.length < this.required) return 'failed';
    return 'pending';
  }
}

/** Collects read replies from distinct nodes against R; values are whatever the caller reads. */
export class GetTally<T> {
  /** Nodes that replied, in reply order; `values[i]` is the reply of `nodes[i]`. */
  readonly nodes: NodeId[] = [];
  readonly values: T[] = [];
  /** Counts accepted replies, a replacing one included: what was computed from the replies is stale once it moves. */
  revision = 0;
  private readonly failures: NodeId[] = [];

  constructor(
    readonly required: number,
    readonly targetCount: number,
  ) {}

  /** A node's first reply counts; a later one from the same node replaces it. */
  reply(node: NodeId, value: T): void {
    if (this.failures.includes(node)) return;
    this.revision += 1;
    const index = this.nodes.indexOf(node);
    if (index >= 0) {
      this.values[index] = value;
      return;
    }
    this.nodes.push(node);
    this.values.push(value);
  }

  fail(node: NodeId): void {
    if (!this.nodes.includes(node) && !this.failures.includes(node)) this.failures.push(node);
  }

  get replyCount(): number {
    return this.nodes.length;
  }

  hasReplied(node: NodeId): boolean {
    return this.nodes.includes(node);
  }

  replyOf(node: NodeId): T | undefined {
    const index = this.nodes.indexOf(node);
    return index < 0 ? undefined : this.values[index];
  }

  get complete(): boolean {
    return this.nodes.length + this.failures.length >= this.targetCount;
  }

  decision(): TallyDecision {
    if (this.nodes.length >= this.required) return 'succeeded';
    if (this.targetCount - this.failures.length < this.required) return 'failed';
    return 'pending';
  }
}
