// Why: a read and a write coordination hold the same resources while they run: a slot among the
// node's in-flight coordinations, a deadline timer, and the ids of the peer requests whose replies
// they wait for. Taking and giving them back in one place keeps the two state machines from
// leaking any of them on one path but not the other.
import type { NodeKernel, Origin } from './kernel.ts';
import type { RequestPlan } from './request-plan.ts';

export abstract class Coordination {
  /** Peer request ids whose replies this coordination still listens for. */
  readonly requestIds: number[] = [];
  private deadlineTimer = 0;

  constructor(
    readonly kernel: NodeKernel,
    readonly origin: Origin,
    readonly plan: RequestPlan,
  ) {}

  /** Counts the coordination in flight and arms its deadline (the plan's timeout). */
  begin(onDeadline: () => void): void {
    this.kernel.inFlightCoordinations += 1;
    this.deadlineTimer = this.kernel.setTimer(this.plan.timeoutMs, onDeadline);
  }

  /** Gives back what `begin` took and stops listening for replies. Call exactly once. */
  release(): void {
    this.kernel.inFlightCoordinations -= 1;
    this.kernel.cancelTimer(this.deadlineTimer);
    for (const id of this.requestIds) this.kernel.forget(id);
  }
}
