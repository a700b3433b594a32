// Why: the chaos verdict is only worth something if its checker can see loss and invention; this
// proves it on hand-made histories (no root or namespaces needed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChaosHistory, checkChaosHistory } from '../../src/chaos/checker.ts';
import { formatElements, parseElements } from '../../src/sim/elements.ts';

function finalRead(history: ChaosHistory, key: string, elements: number[], completedMs = 1000): void {
  history.reads.push({ key, completedMs, elements: new Set(elements), garbage: 0, siblings: 1, final: true });
}

test('an acknowledged element missing from the final read is lost; an unacknowledged one is not', () => {
  const history = new ChaosHistory();
  const kept = history.invoke('set-0', 1);
  const dropped = history.invoke('set-0', 2);
  const maybe = history.invoke('set-0', 3);
  kept.status = 'ok';
  dropped.status = 'ok';
  maybe.status = 'indeterminate';
  finalRead(history, 'set-0', [kept.element]);
  const verdict = checkChaosHistory(history);
  assert.equal(verdict.acknowledged, 2);
  assert.equal(verdict.indeterminate, 1);
  assert.equal(verdict.lost, 1);
  assert.deepEqual(verdict.lostSample, [`set-0:${dropped.element}`]);
  assert.equal(verdict.unexpected, 0);
});

test('elements never written, written to another key, or written after the read are unexpected', () => {
  const history = new ChaosHistory();
  const other = history.invoke('set-1', 1);
  const late = history.invoke('set-0', 5000);
  other.status = 'ok';
  late.status = 'ok';
  finalRead(history, 'set-1', [other.element]);
  history.reads.push({ key: 'set-0', completedMs: 10, elements: new Set([999, other.element, late.element]), garbage: 0, siblings: 2, final: false });
  finalRead(history, 'set-0', [late.element], 6000);
  const verdict = checkChaosHistory(history);
  assert.equal(verdict.unexpected, 3);
  assert.equal(verdict.lost, 0);
  assert.equal(verdict.siblingsMax, 2);
});

test('a key without a final read is reported, and its acknowledged elements count as lost', () => {
  const history = new ChaosHistory();
  history.invoke('u-0-0', 1).status = 'ok';
  const verdict = checkChaosHistory(history);
  assert.equal(verdict.unreadKeys, 1);
  assert.equal(verdict.lost, 1);
});

test('element lists round-trip and reject anything else', () => {
  assert.equal(formatElements([3, 1, 2]), '1,2,3');
  assert.deepEqual(parseElements('1,2,3'), [1, 2, 3]);
  assert.deepEqual(parseElements(''), []);
  assert.equal(parseElements('1,x'), undefined);
  assert.equal(parseElements('01'), undefined);
});

test('with a final read through every node, an acknowledged element missing from any one of them is lost', () => {
  const history = new ChaosHistory();
  const write = history.invoke('set-0', 1);
  write.status = 'ok';
  finalRead(history, 'set-0', []);
  finalRead(history, 'set-0', [write.element]);
  const verdict = checkChaosHistory(history);
  assert.equal(verdict.lost, 1);
  assert.equal(verdict.unreadKeys, 0);
});
