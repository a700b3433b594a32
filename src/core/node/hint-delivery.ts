// Why: hinted handoff's second half (the paper, section 4.6). Every delivery interval this node asks
// its hint store for a bounded batch per primary, sends the hints to primaries it believes are up,
// and deletes each hint only after that primary acknowledged it. One batch per primary is in flight
// at a time, which paces delivery so a returning node is not flooded.
import { asPartitionIndex, type NodeId } from '../base/ids.ts';
import { primaryNodes } from '../ring/index.ts';
import type { Message } from '../protocol/messages.ts';
import type { LoadedHint } from './events.ts';
import type { NodeKernel } from './kernel.ts';

/** A hint sent, awaiting its acknowledgement from `to` (its target, or a primary standing in for a target gone). */
interface PendingHint {
  readonly hintId: string;
  readonly to: NodeId;
}

interface DeliveryRound {
  readonly pending: Map<number, PendingHint>;
  readonly timer: number;
}

export class HintDelivery {
  private readonly inFlight = new Map<NodeId, DeliveryRound>();
  private nextRoundMs = 0;
  /** Hints delivered and acknowledged since start (for metrics and tests). */
  delivered = 0;

  constructor(private readonly kernel: NodeKernel) {}

  onTick(): void {
    const { kernel } = this;
    if (kernel.nowMs < this.nextRoundMs) return;
    this.nextRoundMs = kernel.nowMs + kernel.settings.hintDeliveryIntervalMs;
    kernel.emit({ type: 'hintLoad', targets: 'all', limit: kernel.settings.hintBatchCountMax });
  }

  onHintsLoaded(target: NodeId, hints: readonly LoadedHint[]): void {
    const { kernel } = this;
    if (hints.length === 0 || this.inFlight.has(target) || target === kernel.self) return;
    const member = kernel.ring.members.some((candidate) => candidate.id === target);
    const heldDown = member && !kernel.isAlive(target);
    const relay = heldDown ? kernel.hintRelay?.(target) : undefined;
    if (heldDown && relay === undefined) return;
    // A relayed hint stays a hint for `target` at the member it goes to (Handoff.hintRelay).
    const hintFor = relay === undefined ? {} : { hintFor: target };
    // The background byte budget is shared with handoff and anti-entropy (background-admission.ts): in debt, wait a round.
    if (!kernel.background.mayRun(kernel.nowMs)) return;
    const pending = new Map<number, PendingHint>();
    const timer = kernel.setTimer(kernel.settings.requestTimeoutMs, () => this.onRoundTimeout(target));
    this.inFlight.set(target, { pending, timer });
    for (const hint of hints) {
      const to = relay ?? (member ? target : this.primaryInstead(hint));
      if (to === undefined) continue;
      const record = hint.encoded;
      kernel.background.spend(record.length, kernel.nowMs);
      const id = kernel.request(
        to,
        (id): Message => ({
          type: 'replicaPut',
          id,
          partition: hint.partition,
          storageKey: hint.storageKey,
          record,
          durable: true,
          ...hintFor,
        }),
        (from, message) =>
          this.onAcknowledged(
            target,
            from,
            message.type === 'replicaPutAck' && message.ok,
            message.type === 'replicaPutAck' ? message.id : -1,
          ),
      );
      pending.set(id, { hintId: hint.id, to });
    }
    if (pending.size === 0) this.endRound(target, timer);
  }

  /**
   * A hint for a node that is no longer a member (it left, or an operator removed it: decision
   * 0017) would never be delivered and never freed: it goes to the first live primary of its
   * partition on the current ring instead, another node than this one (which then holds the write
   * twice over: as a hint until the primary has it, and after that through read repair and
   * anti-entropy if it is a primary itself).
   */
  private primaryInstead(hint: LoadedHint): NodeId | undefined {
    const { kernel } = this;
    const n = Math.min(kernel.props.largestN(), kernel.ring.members.length);
    return primaryNodes(kernel.ring, asPartitionIndex(hint.partition), n).find(
      (node) => node !== kernel.self && kernel.isAlive(node),
    );
  }

  private onAcknowledged(target: NodeId, from: NodeId, ok: boolean, id: number): void {
    const round = this.inFlight.get(target);
    const hint = round?.pending.get(id);
    if (round === undefined || hint === undefined || from !== hint.to) return;
    const { kernel } = this;
    kernel.failureDetector.markUp(from);
    round.pending.delete(id);
    kernel.forget(id);
    if (ok) {
      this.delivered += 1;
      kernel.emit({ type: 'hintRemove', ids: [hint.hintId] });
    }
    if (round.pending.size === 0) this.endRound(target, round.timer);
  }

  private endRound(target: NodeId, timer: number): void {
    this.kernel.cancelTimer(timer);
    this.inFlight.delete(target);
  }

  private onRoundTimeout(target: NodeId): void {
    const round = this.inFlight.get(target);
    if (round === undefined) return;
    for (const id of round.pending.keys()) this.kernel.forget(id);
    this.inFlight.delete(target);
    this.kernel.failureDetector.markDown(target, this.kernel.nowMs);
  }
}
