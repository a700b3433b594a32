// Why: background work (handoff, hint delivery, anti-entropy) must keep to its byte budget and
// transfer slots, and get half the budget while client requests are slow compared with their quiet
// baseline (the paper, section 6.5; decision 0017). Time is injected, so each rule is checked exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BackgroundAdmission } from '../../../../src/core/node/background-admission.ts';

const settings = { bytesPerSecondMax: 1000, transfersMax: 2, latencyFactor: 2, latencyFloorMs: 20 };

test('the byte budget refills with time, at most one second of it, and may go into debt by one batch', () => {
  const admission = new BackgroundAdmission(settings);
  assert.equal(admission.mayRun(0), true);
  admission.spend(1500, 0);
  assert.equal(admission.mayRun(0), false, 'in debt after more than a second of budget');
  assert.equal(admission.mayRun(400), false, '400 ms repay 400 of the 500 owed');
  assert.equal(admission.mayRun(600), true, '600 ms repay it');
  admission.spend(100, 600);
  assert.equal(admission.mayRun(60_000), true);
  admission.spend(1000, 60_000);
  assert.equal(admission.mayRun(60_000), false, 'an idle minute banks one second of budget, not sixty');
});

test('concurrent transfers are bounded by their slots', () => {
  const admission = new BackgroundAdmission(settings);
  assert.equal(admission.acquireTransfer(), true);
  assert.equal(admission.acquireTransfer(), true);
  assert.equal(admission.acquireTransfer(), false);
  admission.releaseTransfer();
  assert.equal(admission.transfersInUse, 1);
  assert.equal(admission.acquireTransfer(), true);
});

/**
 * A background sender that tries to send a 16-byte batch every 10 ms while the foreground gives one
 * request every ms, for `seconds`; returns the budget and slots seen at the end of each second.
 */
function drive(
  admission: BackgroundAdmission,
  clock: { nowMs: number },
  seconds: number,
  foregroundMs: (index: number) => number,
): { budgets: number[]; slots: number[]; sent: number } {
  const budgets: number[] = [];
  const slots: number[] = [];
  let sent = 0;
  for (let second = 0; second < seconds; second++) {
    for (let ms = 0; ms < 1000; ms++) {
      admission.observeForeground(foregroundMs(ms), clock.nowMs);
      if (ms % 10 === 0 && admission.mayRun(clock.nowMs)) {
        admission.spend(16, clock.nowMs);
        sent += 16;
      }
      clock.nowMs += 1;
    }
    budgets.push(admission.bytesPerSecondNow());
    let taken = 0;
    while (admission.acquireTransfer()) taken += 1;
    for (let index = 0; index < taken; index++) admission.releaseTransfer();
    slots.push(taken);
  }
  return { budgets, slots, sent };
}

test('while the foreground p99 is above twice its baseline the budget halves each second from the rate spent, to a floor, with one transfer at a time; fast requests bring it back by an eighth a second', () => {
  const admission = new BackgroundAdmission({ ...settings, bytesPerSecondMax: 1024 });
  const clock = { nowMs: 0 };
  const quiet = drive(admission, clock, 3, (ms) => (ms % 100 === 0 ? 30 : 10));
  assert.equal(admission.throttled, false, `quiet: ${JSON.stringify(admission.latency())}`);
  assert.deepEqual(quiet.budgets, [1024, 1024, 1024], 'no slow request: the ceiling');
  assert.deepEqual(quiet.slots, [2, 2, 2]);
  const busy = drive(admission, clock, 10, (ms) => (ms % 100 < 5 ? 400 : 80));
  assert.equal(admission.throttled, true, `busy: ${JSON.stringify(admission.latency())}`);
  // The sender spends 1,600 B/s when allowed: the first busy second backs off from the budget, then
  // from what was really sent, which the budget now caps; it stops at 1024/256 = 4 B/s.
  const firstThrottled = busy.budgets.findIndex((budget) => budget < 1024);
  assert.ok(
    firstThrottled >= 0 && firstThrottled <= 2,
    `the back-off starts within two seconds of the rise: ${busy.budgets}`,
  );
  for (let index = firstThrottled + 1; index < busy.budgets.length; index++) {
    const expected = Math.max(4, (busy.budgets[index - 1] as number) / 2);
    assert.ok(
      Math.abs((busy.budgets[index] as number) - expected) <= expected * 0.05 + 0.5,
      `second ${index}: ${busy.budgets[index]} after ${busy.budgets[index - 1]} (all: ${busy.budgets})`,
    );
  }
  assert.equal(busy.budgets.at(-1), 4, `down to the floor: ${busy.budgets}`);
  assert.ok(
    busy.slots.slice(firstThrottled).every((slots) => slots === 1),
    `one transfer at a time while throttled: ${busy.slots}`,
  );
  assert.ok(
    busy.sent > 0 && busy.sent < quiet.sent,
    `it slows, it does not stop: ${busy.sent} B in 10 busy seconds, ${quiet.sent} B in 3 quiet ones`,
  );
  const fast = drive(admission, clock, 16, () => 10);
  assert.equal(admission.throttled, false, `recovered: ${JSON.stringify(admission.latency())}`);
  const firstRising = fast.budgets.findIndex((budget) => budget > 4);
  for (
    let index = firstRising + 1;
    index < fast.budgets.length && (fast.budgets[index - 1] as number) < 1024;
    index++
  ) {
    assert.equal(
      fast.budgets[index],
      Math.min(1024, (fast.budgets[index - 1] as number) + 128),
      `an eighth of the ceiling a second: ${fast.budgets}`,
    );
  }
  assert.equal(fast.budgets.at(-1), 1024, `back at the ceiling: ${fast.budgets}`);
  assert.equal(fast.slots.at(-1), 2);
});

test('a slow load that lasts becomes the new baseline within minutes: background work is not starved for good', () => {
  const admission = new BackgroundAdmission(settings);
  let nowMs = 0;
  for (let index = 0; index < 2000; index++) admission.observeForeground(10, (nowMs += 1));
  for (let index = 0; index < 2000; index++) admission.observeForeground(100, (nowMs += 1));
  assert.equal(admission.throttled, true);
  for (let index = 0; index < 20_000; index++) admission.observeForeground(100, (nowMs += 50));
  assert.equal(admission.throttled, false, `after ${nowMs / 60_000} minutes: ${JSON.stringify(admission.latency())}`);
});

test('a p99 below the floor never throttles, however it compares with the baseline', () => {
  const admission = new BackgroundAdmission(settings);
  for (let index = 0; index < 3000; index++) admission.observeForeground(1, index);
  for (let index = 0; index < 3000; index++) admission.observeForeground(8, 3000 + index);
  assert.equal(admission.throttled, false, JSON.stringify(admission.latency()));
});
