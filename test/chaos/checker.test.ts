// Why: the chaos workload writes each key's value as a list of element ids; the checker (the
// simulator's, test/unit/sim/checker.test.ts) is only as good as this format's round trip and its
// refusal of anything else (no root or namespaces needed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatElements, parseElements } from '../../src/sim/elements.ts';

test('element lists round-trip and reject anything else', () => {
  assert.equal(formatElements([3, 1, 2]), '1,2,3');
  assert.deepEqual(parseElements('1,2,3'), [1, 2, 3]);
  assert.deepEqual(parseElements(''), []);
  assert.equal(parseElements('1,x'), undefined);
  assert.equal(parseElements('01'), undefined);
});
