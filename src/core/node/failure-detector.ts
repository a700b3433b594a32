// Why: until gossip membership lands, failure detection is local and passive: a node that does not
// answer a request in time is treated as down for a back-off interval; any frame from it brings it
// back. Each request is a ping (the paper, section 4.8.3).
import type { NodeId } from '../base/ids.ts';

export class LocalFailureDetector {
  private readonly downUntilMs = new Map<NodeId, number>();

  constructor(private readonly backoffMs: number) {}

  markDown(node: NodeId, nowMs: number): void {
    this.downUntilMs.set(node, nowMs + this.backoffMs);
  }

  /** Called for every message: when no node is down (nearly always) it costs no Map lookup. */
  markUp(node: NodeId): void {
    if (this.downUntilMs.size > 0) this.downUntilMs.delete(node);
  }

  isAlive(node: NodeId, nowMs: number): boolean {
    const until = this.downUntilMs.get(node);
    return until === undefined || until <= nowMs;
  }

  /** Nodes currently inside their down interval. */
  downNodes(nowMs: number): NodeId[] {
    return [...this.downUntilMs].filter(([, until]) => until > nowMs).map(([node]) => node);
  }
}
