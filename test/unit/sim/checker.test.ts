// Why: the simulator's checker is what a green swarm rests on, so each of its rules must flag what
// it exists for and only that: a deleted element that comes back (resurrection), told apart from a
// concurrent write that legitimately carries it back; a read that misses an acknowledged delete
// (stale); and the cross-key rule (an element written to one key read under another, the shape
// of the bug where read repair wrote one key's versions into another, docs/RELIABILITY.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkHistory, History } from '../../../src/sim/index.ts';

type Status = 'ok' | 'failed' | 'indeterminate';

/** A history built by hand: writes carry element lists, deletes see them, reads return them. */
class Script {
  readonly history = new History();

  write(
    key: string,
    element: number,
    carried: number[],
    invokedMs: number,
    completedMs: number,
    status: Status = 'ok',
  ): this {
    const record = this.history.invokeWrite(element, key, invokedMs, new Set([...carried, element]));
    record.completedMs = completedMs;
    record.status = status;
    return this;
  }

  delete(key: string, seen: number[], invokedMs: number, completedMs: number, status: Status = 'ok'): this {
    const record = this.history.invokeDelete(key, new Set(seen), invokedMs);
    record.completedMs = completedMs;
    record.status = status;
    return this;
  }

  read(key: string, elements: number[], invokedMs: number, completedMs: number, final = false): this {
    this.history.reads.push({
      key,
      invokedMs,
      completedMs,
      elements: new Set(elements),
      siblings: elements.length === 0 ? 0 : 1,
      garbage: 0,
      final,
    });
    return this;
  }
}

test('resurrection: an element an acknowledged delete covered for good, read again by the final read', () => {
  const verdict = checkHistory(
    new Script()
      .write('k', 1, [], 0, 1)
      .write('k', 2, [1], 2, 3)
      .delete('k', [1, 2], 4, 5)
      .read('k', [1, 2], 20, 21, true).history,
  );
  assert.equal(verdict.resurrected, 2);
  assert.deepEqual(verdict.resurrectedSample.sort(), ['k:1', 'k:2']);
  assert.equal(verdict.lost, 0, 'the delete may have removed them: not lost');
  assert.equal(verdict.unexpected, 0, 'they were written to this key before the read: not unexpected');
});

test('no resurrection when the deleted element comes back through a write the delete did not see', () => {
  const concurrent = checkHistory(
    new Script()
      .write('k', 1, [], 0, 1)
      .write('k', 2, [1], 3, 8) // read element 1 before the delete, wrote after it: concurrent with it
      .delete('k', [1], 4, 5)
      .read('k', [1, 2], 20, 21, true).history,
  );
  assert.equal(concurrent.resurrected, 0, 'write 2 carries 1 back; siblings keep it');
  const failedCarrier = checkHistory(
    new Script()
      .write('k', 1, [], 0, 1)
      .write('k', 2, [1], 3, 8, 'failed')
      .delete('k', [1], 4, 5)
      .read('k', [1], 20, 21, true).history,
  );
  assert.equal(failedCarrier.resurrected, 1, 'a write refused before it was sent carries nothing back');
});

test('no resurrection without an acknowledged delete that ended before the read began', () => {
  const base = (): Script => new Script().write('k', 1, [], 0, 1);
  assert.equal(
    checkHistory(base().delete('k', [1], 4, 5, 'indeterminate').read('k', [1], 20, 21, true).history).resurrected,
    0,
    'an unacknowledged delete may not have landed',
  );
  assert.equal(
    checkHistory(base().delete('k', [1], 4, 5, 'failed').read('k', [1], 20, 21, true).history).resurrected,
    0,
    'a refused delete never landed',
  );
  assert.equal(
    checkHistory(base().delete('k', [1], 4, 25).read('k', [1], 20, 21, true).history).resurrected,
    0,
    'the read began before the delete was acknowledged',
  );
  assert.equal(
    checkHistory(base().delete('k', [], 4, 5).read('k', [1], 20, 21, true).history).resurrected,
    0,
    'the delete never saw the element',
  );
  assert.equal(
    checkHistory(base().delete('other', [1], 4, 5).read('k', [1], 20, 21, true).history).resurrected,
    0,
    'a delete of another key',
  );
});

test('a read before the end that returns an element deleted for good is stale, not a resurrection', () => {
  const verdict = checkHistory(
    new Script().write('k', 1, [], 0, 1).delete('k', [1], 4, 5).read('k', [1], 10, 11).read('k', [], 20, 21, true)
      .history,
  );
  assert.equal(verdict.resurrected, 0);
  assert.equal(
    verdict.staleReads,
    1,
    'it missed the acknowledged delete (legitimate under sloppy quorums; a failure in strict runs)',
  );
});

test('cross-key rule: an element written to one key and read under another is unexpected', () => {
  const verdict = checkHistory(
    new Script()
      .write('a', 1, [], 0, 1)
      .write('b', 2, [], 0, 1)
      .read('a', [1], 10, 11, true)
      .read('b', [2, 1], 10, 11, true).history,
  );
  assert.equal(verdict.unexpected, 1);
  assert.deepEqual(verdict.unexpectedSample, ['b:1']);
  assert.equal(verdict.lost, 0);
});

// The chaos run judges its real-process history with this same checker (src/chaos/runner.ts).

test('an acknowledged element missing from the final read is lost; an unacknowledged one is not', () => {
  const verdict = checkHistory(
    new Script()
      .write('set-0', 1, [], 0, 1)
      .write('set-0', 2, [], 0, 1)
      .write('set-0', 3, [], 0, 1, 'indeterminate')
      .read('set-0', [1], 10, 11, true).history,
  );
  assert.equal(verdict.acknowledged, 2);
  assert.equal(verdict.indeterminate, 1);
  assert.equal(verdict.lost, 1);
  assert.deepEqual(verdict.lostSample, [2]);
  assert.equal(verdict.unexpected, 0);
});

test('elements never written, or written after the read returned, are unexpected', () => {
  const verdict = checkHistory(
    new Script().write('set-0', 2, [], 5000, 5001).read('set-0', [999, 2], 5, 10).read('set-0', [2], 6000, 6001, true)
      .history,
  );
  assert.equal(verdict.unexpected, 2);
  assert.equal(verdict.lost, 0);
});

test('a key without a final read is reported as unread', () => {
  const verdict = checkHistory(new Script().write('u-0-0', 1, [], 0, 1).history);
  assert.equal(verdict.unreadKeys, 1);
});

test('with a final read through every node, an acknowledged element missing from any one of them is lost', () => {
  const verdict = checkHistory(
    new Script().write('set-0', 1, [], 0, 1).read('set-0', [], 10, 11, true).read('set-0', [1], 10, 12, true).history,
  );
  assert.equal(verdict.lost, 1);
  assert.equal(verdict.unreadKeys, 0);
});
