// Why: the node core's one answer to "may I send this request to that node?". Two kinds of knowledge
// feed it. SWIM (src/core/membership, decision 0014) says whether a member is up, suspect or down,
// from probes and gossip. A request that timed out is local evidence: the node is skipped for a
// short back-off (each request is a ping, the paper, section 4.8.3) and SWIM probes it at once, but
// only the probe can make it suspect and only an unrefuted suspicion makes it down. Any frame from a
// node ends its back-off. Suspect members stay in preference lists: suspicion is not failure.
import type { NodeId } from '../base/ids.ts';
import type { Swim } from '../membership/index.ts';

export class FailureDetector {
  private readonly downUntilMs = new Map<NodeId, number>();

  constructor(
    private readonly backoffMs: number,
    readonly swim: Swim,
  ) {}

  /** A request to `node` timed out. */
  markDown(node: NodeId, nowMs: number): void {
    this.downUntilMs.set(node, nowMs + this.backoffMs);
    this.swim.reportUnresponsive(node, nowMs);
  }

  /** Called for every message: when no node is backed off (nearly always) it costs no Map lookup. */
  markUp(node: NodeId): void {
    if (this.downUntilMs.size > 0) this.downUntilMs.delete(node);
  }

  isAlive(node: NodeId, nowMs: number): boolean {
    const until = this.downUntilMs.get(node);
    return (until === undefined || until <= nowMs) && this.swim.isAlive(node);
  }
}
