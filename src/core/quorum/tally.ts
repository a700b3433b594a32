// Why: quorum arithmetic as pure values. A tally only counts; the coordination state machines act
// on its decision (DESIGN.md habit 1). Keeping the counting apart makes it trivially testable.
import type { NodeId } from '../base/ids.ts';

export type TallyDecision = 'succeeded' | 'failed' | 'pending';

/** Counts write acknowledgements from distinct nodes against W. */
export class PutTally {
  private readonly acknowledged = new Set<NodeId>();
  private readonly refused = new Set<NodeId>();

  constructor(
    readonly required: number,
    readonly targetCount: number,
  ) {}

  acknowledge(node: NodeId): void {
    if (!this.refused.has(node)) this.acknowledged.add(node);
  }

  refuse(node: NodeId): void {
    if (!this.acknowledged.has(node)) this.refused.add(node);
  }

  get acknowledgedCount(): number {
    return this.acknowledged.size;
  }

  hasAcknowledged(node: NodeId): boolean {
    return this.acknowledged.has(node);
  }

  /** Every target has answered one way or the other. */
  get complete(): boolean {
    return this.acknowledged.size + this.refused.size >= this.targetCount;
  }

  decision(): TallyDecision {
    if (this.acknowledged.size >= this.required) return 'succeeded';
    if (this.targetCount - this.refused.size < this.required) return 'failed';
    return 'pending';
  }
}

/** Collects read replies from distinct nodes against R; values are whatever the caller reads. */
export class GetTally<T> {
  readonly replies = new Map<NodeId, T>();
  private readonly failures = new Set<NodeId>();

  constructor(
    readonly required: number,
    readonly targetCount: number,
  ) {}

  reply(node: NodeId, value: T): void {
    if (!this.failures.has(node)) this.replies.set(node, value);
  }

  fail(node: NodeId): void {
    if (!this.replies.has(node)) this.failures.add(node);
  }

  get complete(): boolean {
    return this.replies.size + this.failures.size >= this.targetCount;
  }

  decision(): TallyDecision {
    if (this.replies.size >= this.required) return 'succeeded';
    if (this.targetCount - this.failures.size < this.required) return 'failed';
    return 'pending';
  }
}
