// Why: the integration tests' waits are only as strict as their helpers. eventually() must fail at
// once on an assertion made while it polls (a value that came back is a verdict, not "not yet"),
// and throughout() must look through the whole window and fail at the first sighting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, throughout } from '../../support/polling.ts';

test('eventually() retries errors that mean "not yet" but fails at once on an assertion', async () => {
  let calls = 0;
  const value = await eventually(
    'the third call',
    async () => {
      calls += 1;
      if (calls < 3) throw new Error('ECONNREFUSED');
      return 'ready';
    },
    { timeoutMs: 5000, intervalMs: 1 },
  );
  assert.equal(value, 'ready');
  let assertions = 0;
  await assert.rejects(
    eventually(
      'never',
      async () => {
        assertions += 1;
        assert.equal(404, 200, 'the deleted value came back');
        return true;
      },
      { timeoutMs: 5000, intervalMs: 1 },
    ),
    (error: Error) => error.name === 'AssertionError' && /came back/.test(error.message),
  );
  assert.equal(assertions, 1, 'not retried');
});

test('throughout() checks through the whole window, and fails at the first sighting', async () => {
  const started = performance.now();
  const checks = await throughout('nothing seen', async () => undefined, { windowMs: 200, intervalMs: 20 });
  assert.ok(performance.now() - started >= 200, 'it looked until the window ended');
  assert.ok(checks >= 2, `${checks} checks`);
  let calls = 0;
  await assert.rejects(
    throughout('the key stays deleted', async () => (++calls === 3 ? 'n2 holds alive' : undefined), {
      windowMs: 60_000,
      intervalMs: 1,
    }),
    /the key stays deleted did not hold: n2 holds alive \(check 3/,
  );
  assert.equal(calls, 3);
});
