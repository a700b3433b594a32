// Why: the open loop exists so a stall is not hidden by coordinated omission, and the closed loop
// must keep exactly one request per client in flight. Both run here in virtual time (an injected
// clock), so the figures are exact and the test takes milliseconds: at a fixed rate every due
// operation is sent on schedule; when the store stalls, the open loop charges the stall to every
// operation due during it while the closed loop records it once; when every slot is busy, due
// operations wait (their wait counted) or, past the deadline, are reported as behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closedLoop, openLoop, type LoopClock } from '../../../../src/cli/bench/loops.ts';

/** Virtual time: sleeps resolve in time order as `run` advances the clock. */
class VirtualClock implements LoopClock {
  private now = 0;
  private timers: Array<{ atMs: number; order: number; resolve: () => void }> = [];
  private order = 0;

  nowMs(): number {
    return this.now;
  }

  sleepMs(ms: number): Promise<void> {
    return new Promise((resolve) =>
      this.timers.push({ atMs: this.now + Math.max(0, ms), order: this.order++, resolve }),
    );
  }

  /** Runs timers until `done` settles; microtasks drain between timers. */
  async run<T>(done: Promise<T>): Promise<T> {
    let finished = false;
    void done.finally(() => (finished = true));
    while (!finished) {
      await new Promise((resolve) => setImmediate(resolve));
      if (finished) break;
      this.timers.sort((a, b) => a.atMs - b.atMs || a.order - b.order);
      const next = this.timers.shift();
      if (next === undefined) throw new Error('deadlock: nothing scheduled and the loop is not done');
      this.now = next.atMs;
      next.resolve();
    }
    return done;
  }
}

/** A store whose service time is `serviceMs`, except operations sent during [stallFromMs, stallToMs) answer at stallToMs. */
function store(clock: VirtualClock, serviceMs: number, stallFromMs = Infinity, stallToMs = Infinity) {
  const latencies: number[] = [];
  let inFlight = 0;
  let inFlightMax = 0;
  const sentAt: number[] = [];
  const runOne = async (_worker: number, intendedMs: number): Promise<void> => {
    inFlight++;
    inFlightMax = Math.max(inFlightMax, inFlight);
    const startMs = clock.nowMs();
    sentAt.push(startMs);
    const answerMs = startMs >= stallFromMs && startMs < stallToMs ? stallToMs : startMs + serviceMs;
    await clock.sleepMs(answerMs - startMs);
    inFlight--;
    latencies.push(clock.nowMs() - intendedMs);
  };
  return {
    runOne,
    latencies,
    sentAt,
    get inFlightMax() {
      return inFlightMax;
    },
  };
}

const percentile = (values: number[], p: number): number =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.ceil((p / 100) * values.length) - 1)] as number;

test('open loop: at 1000 ops/s for 1 s every operation is sent when due, latency is the service time', async () => {
  const clock = new VirtualClock();
  const fake = store(clock, 0.5);
  const result = await clock.run(openLoop(1000, 10, { deadlineMs: 1000 }, clock, fake.runOne));
  assert.deepEqual(result, { sent: 1000, behind: 0 });
  assert.equal(fake.latencies.length, 1000);
  assert.ok(fake.latencies.every((latency) => Math.abs(latency - 0.5) < 1e-9));
  assert.ok(
    fake.sentAt.every((at, index) => Math.abs(at - index) < 1e-9),
    'operation i is sent at i ms',
  );
  assert.ok(fake.inFlightMax <= 1);
});

test('a 100 ms stall: the open loop charges it to every operation due during it, the closed loop records it once', async () => {
  const openClock = new VirtualClock();
  const open = store(openClock, 0.5, 500, 600);
  await openClock.run(openLoop(1000, 200, { deadlineMs: 1000 }, openClock, open.runOne));
  const closedClock = new VirtualClock();
  const closed = store(closedClock, 0.5, 500, 600);
  await closedClock.run(closedLoop(1, { deadlineMs: 1000 }, closedClock, closed.runOne));
  // Open loop: the ~100 operations due in the stall wait for its end, 50 ms on average.
  const stalled = open.latencies.filter((latency) => latency > 1);
  assert.ok(stalled.length >= 99 && stalled.length <= 101, String(stalled.length));
  assert.ok(percentile(open.latencies, 95) > 40, String(percentile(open.latencies, 95)));
  // Closed loop: one operation saw the stall; its p95 stays at the service time.
  assert.equal(closed.latencies.filter((latency) => latency > 1).length, 1);
  assert.equal(percentile(closed.latencies, 95), 0.5);
});

test('open loop with every slot busy: due operations wait and their wait is counted; the rest are behind', async () => {
  const clock = new VirtualClock();
  // 2 slots, 10 ms service: capacity 200 ops/s against 1000 asked.
  const fake = store(clock, 10);
  const result = await clock.run(openLoop(1000, 2, { deadlineMs: 1000 }, clock, fake.runOne));
  assert.equal(fake.inFlightMax, 2);
  assert.ok(result.sent >= 199 && result.sent <= 202, String(result.sent));
  assert.equal(result.sent + result.behind, 1000);
  // The backlog grows all along: the last operations sent had waited most of a second.
  assert.ok(Math.max(...fake.latencies) > 700, String(Math.max(...fake.latencies)));
});

test('closed loop: each client keeps one operation in flight until the deadline', async () => {
  const clock = new VirtualClock();
  const fake = store(clock, 2);
  await clock.run(closedLoop(4, { deadlineMs: 100 }, clock, fake.runOne));
  assert.equal(fake.inFlightMax, 4);
  assert.equal(fake.latencies.length, 4 * 50);
  assert.ok(fake.latencies.every((latency) => latency === 2));
});

test('a deadline moved to now (Ctrl-C) stops the open loop from sending', async () => {
  const clock = new VirtualClock();
  const until = { deadlineMs: 10_000 };
  const fake = store(clock, 1);
  const runOne = async (worker: number, intendedMs: number): Promise<void> => {
    if (clock.nowMs() >= 50) until.deadlineMs = clock.nowMs();
    await fake.runOne(worker, intendedMs);
  };
  const result = await clock.run(openLoop(100, 4, until, clock, runOne));
  assert.ok(result.sent <= 7, String(result.sent));
});
