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

test('a foreground p99 above twice its baseline halves the budget; it recovers when requests are fast again', () => {
  const admission = new BackgroundAdmission(settings);
  // One sample per ms: 3 s of quiet traffic, 3 s of slow, then 5 s of fast again.
  let nowMs = 0;
  for (let index = 0; index < 3000; index++) admission.observeForeground(index % 100 === 0 ? 30 : 10, nowMs++);
  const quiet = admission.latency();
  assert.equal(quiet.throttled, false, `quiet: p99 ${quiet.p99Ms} over baseline ${quiet.baselineMs}`);
  assert.equal(admission.bytesPerSecondNow(), 1000);
  for (let index = 0; index < 3000; index++) admission.observeForeground(index % 100 < 5 ? 400 : 80, nowMs++);
  const busy = admission.latency();
  assert.equal(busy.throttled, true, `busy: p99 ${busy.p99Ms} over baseline ${busy.baselineMs}`);
  assert.equal(admission.bytesPerSecondNow(), 500);
  admission.spend(1500, 0);
  assert.equal(
    admission.mayRun(900),
    false,
    'half the rate: 0.9 s repay 450 of the 500 owed (the full rate would repay it all)',
  );
  assert.equal(admission.mayRun(1100), true);
  for (let index = 0; index < 10_000; index++) admission.observeForeground(10, nowMs++);
  assert.equal(admission.throttled, false, `recovered: ${JSON.stringify(admission.latency())}`);
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
