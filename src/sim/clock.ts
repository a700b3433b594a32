// Why: the runtime reads time only through the Clock and Timers ports, so the simulator hands each
// node virtual ones. Monotonic time is the scheduler's; wall-clock time adds a per-node offset the
// nemesis can change at any moment (clock skew and jumps), which is what last-writer-wins trips on.
import type { Clock, TimerHandle, Timers } from '../runtime/ports.ts';
import type { SimScheduler } from './scheduler.ts';

/** 2023-11-14T22:13:20Z: any fixed origin works; a realistic one keeps timestamps readable. */
export const realtimeOriginMs = 1_700_000_000_000;

/** Per-node wall-clock offsets, in ms. Absent means a correct clock. */
export class ClockSkew {
  private readonly offsets = new Map<string, number>();

  offsetMs(node: string): number {
    return this.offsets.get(node) ?? 0;
  }

  set(node: string, offsetMs: number): void {
    if (offsetMs === 0) this.offsets.delete(node);
    else this.offsets.set(node, offsetMs);
  }

  clear(): void {
    this.offsets.clear();
  }

  get skewedCount(): number {
    return this.offsets.size;
  }
}

export class SimClock implements Clock {
  constructor(
    private readonly scheduler: SimScheduler,
    private readonly skew: ClockSkew,
    private readonly node: string,
  ) {}

  monotonicMs(): number {
    return this.scheduler.nowMs;
  }

  realtimeMs(): number {
    return Math.floor(realtimeOriginMs + this.scheduler.nowMs + this.skew.offsetMs(this.node));
  }
}

/** Timers of one node: tasks it owns, so a pause delays them and a crash drops them. */
export class SimTimers implements Timers {
  constructor(
    private readonly scheduler: SimScheduler,
    private readonly owner: string,
  ) {}

  after(delayMs: number, callback: () => void): TimerHandle {
    return this.scheduler.schedule(Math.max(0, delayMs), this.owner, 'timer', callback);
  }
}
