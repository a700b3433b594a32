// Why: how operations are paced decides what the latency figures mean. A closed loop (each client
// sends its next request when the last one answers) measures capacity, but when the store stalls
// its clients stop sending, so the stall shows up as one slow request instead of the many that a
// steady stream of users would have suffered: coordinated omission. The open loop sends at a fixed
// rate on a schedule that does not wait for answers, and measures each operation from the time it
// was due, not the time a free client got round to it, so a stall counts for everyone it delayed.
// The clock is injected, so tests drive both loops in virtual time.

export interface LoopClock {
  nowMs(): number;
  sleepMs(ms: number): Promise<void>;
}

export const realClock: LoopClock = Object.freeze({
  nowMs: () => performance.now(),
  sleepMs: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
});

/** Runs one operation for `worker`; `intendedMs` is when it was due (latency is measured from it). */
export type RunOne = (worker: number, intendedMs: number) => Promise<void>;

/** Shared so a stop (Ctrl-C) can move the deadline to now. */
export interface Deadline {
  deadlineMs: number;
}

/** `workers` closed loops until the deadline; each operation is due when its worker is free. */
export async function closedLoop(workers: number, until: Deadline, clock: LoopClock, runOne: RunOne): Promise<void> {
  const worker = async (index: number): Promise<void> => {
    while (clock.nowMs() < until.deadlineMs) await runOne(index, clock.nowMs());
  };
  await Promise.all(Array.from({ length: workers }, (_, index) => worker(index)));
}

export interface OpenLoopResult {
  /** Operations sent. */
  readonly sent: number;
  /** Operations due before the deadline that were never sent because every worker was busy. */
  readonly behind: number;
}

/**
 * Operation i is due at startMs + i * 1000 / rate. Every due operation is sent as soon as one of the
 * `workers` slots is free; an operation that waited for a slot still counts its latency from when it
 * was due. Nothing new is sent after the deadline; operations in flight are awaited.
 */
export async function openLoop(
  ratePerSecond: number,
  workers: number,
  until: Deadline,
  clock: LoopClock,
  runOne: RunOne,
): Promise<OpenLoopResult> {
  const startMs = clock.nowMs();
  const intervalMs = 1000 / ratePerSecond;
  const free = Array.from({ length: workers }, (_, index) => workers - 1 - index);
  const inFlight = new Set<Promise<void>>();
  let slotFreed: (() => void) | undefined;
  let sent = 0;
  for (;;) {
    const nowMs = clock.nowMs();
    if (nowMs >= until.deadlineMs) break;
    for (
      let dueMs = startMs + sent * intervalMs;
      free.length > 0 && dueMs <= nowMs && dueMs < until.deadlineMs;
      dueMs = startMs + sent * intervalMs
    ) {
      const worker = free.pop() as number;
      sent++;
      const running: Promise<void> = runOne(worker, dueMs).finally(() => {
        inFlight.delete(running);
        free.push(worker);
        slotFreed?.();
      });
      inFlight.add(running);
    }
    if (free.length === 0) {
      await new Promise<void>((resolve) => (slotFreed = resolve));
      slotFreed = undefined;
    } else {
      const nextDueMs = Math.min(startMs + sent * intervalMs, until.deadlineMs);
      await clock.sleepMs(Math.max(0, nextDueMs - clock.nowMs()));
    }
  }
  await Promise.all(inFlight);
  const dueBeforeDeadline = Math.ceil((until.deadlineMs - startMs) / intervalMs);
  return { sent, behind: Math.max(0, dueBeforeDeadline - sent) };
}
