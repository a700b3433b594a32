// Why: a read and a write coordination hold the same resources while they run: a slot among the
// node's in-flight coordinations, a deadline timer, and the ids of the peer requests whose replies
// they wait for. Taking and giving them back in one place keeps the two state machines from
// leaking any of them on one path but not the other.
import type { NodeId } from '../base/ids.ts';
import type { NodeKernel, Origin, TimerListener } from './kernel.ts';
import type { RequestPlan } from './request-plan.ts';

export abstract class Coordination {
  /**
   * The id of the peer request sent to each target, by the target's index in `plan.targets` (0: no
   * request, e.g. the target is this node). Replies are listened for until release().
   */
  readonly requestIds: number[];
  private deadlineTimer = 0;
  private startedMs = 0;

  constructor(
    readonly kernel: NodeKernel,
    readonly origin: Origin,
    readonly plan: RequestPlan,
  ) {
    this.requestIds = new Array<number>(plan.targets.length).fill(0);
  }

  /**
   * The target a reply comes from, when it answers the request this coordination sent that target
   * (a reply from another node, or to another id, counts for nothing); the sender is then known up.
   */
  answeringTarget(from: NodeId, requestId: number): RequestPlan['targets'][number] | undefined {
    const target = requestId === 0 ? undefined : this.plan.targets[this.requestIds.indexOf(requestId)];
    if (target === undefined || target.node !== from) return undefined;
    this.kernel.failureDetector.markUp(from);
    return target;
  }

  /** Counts the coordination in flight and arms its deadline (the plan's timeout). */
  begin(onDeadline: (() => void) | TimerListener): void {
    this.kernel.inFlightCoordinations += 1;
    this.startedMs = this.kernel.nowMs;
    this.deadlineTimer = this.kernel.setTimer(this.plan.timeoutMs, onDeadline);
  }

  /** Gives back what `begin` took and stops listening for replies. Call exactly once. */
  release(): void {
    this.kernel.inFlightCoordinations -= 1;
    this.kernel.cancelTimer(this.deadlineTimer);
    this.kernel.background.observeForeground(this.kernel.nowMs - this.startedMs, this.kernel.nowMs);
    const requestIds = this.requestIds;
    for (let index = 0; index < requestIds.length; index++)
      if (requestIds[index] !== 0) this.kernel.forget(requestIds[index] as number);
  }
}
