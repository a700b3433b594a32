// Why: LocalStore and HintStore rely on KeyedSerializer so that two read-modify-writes of one key
// never interleave (the later would overwrite the earlier's result and lose a version). These tests
// pin that, plus what the fast path promises: work on an idle key starts at once, a failure does
// not block the queue, and nothing is left behind once the work settles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { KeyedSerializer } from '../../../src/runtime/keyed-serializer.ts';

test('work under one key runs one at a time, in order, failures included; other keys run alongside', async () => {
  const serializer = new KeyedSerializer();
  const log: string[] = [];
  let running = 0;
  let mostAtOnce = 0;
  const step =
    (name: string, fail = false) =>
    async (): Promise<string> => {
      running += 1;
      mostAtOnce = Math.max(mostAtOnce, running);
      log.push(`start ${name}`);
      await sleep(5);
      log.push(`end ${name}`);
      running -= 1;
      if (fail) throw new Error(name);
      return name;
    };
  const a1 = serializer.run('a', step('a1'));
  const a2 = serializer.run('a', step('a2', true));
  const a3 = serializer.run('a', step('a3'));
  const results = await Promise.allSettled([a1, a2, a3]);
  assert.deepEqual(
    results.map((result) => result.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
  assert.deepEqual(log, ['start a1', 'end a1', 'start a2', 'end a2', 'start a3', 'end a3']);
  assert.equal(mostAtOnce, 1);

  log.length = 0;
  await Promise.all([serializer.run('x', step('x')), serializer.run('y', step('y'))]);
  assert.deepEqual(log.slice(0, 2).sort(), ['start x', 'start y'], 'different keys do not wait for each other');
});

test('work on an idle key starts before run() returns, and no key stays busy once everything settled', async () => {
  const serializer = new KeyedSerializer();
  let started = false;
  const done = serializer.run('k', async () => {
    started = true;
    await sleep(1);
  });
  assert.equal(started, true);
  assert.equal(serializer.busyKeys, 1);
  await done;
  await sleep(0);
  assert.equal(serializer.busyKeys, 0);
  await serializer.run('k', () => Promise.reject(new Error('refused'))).catch(() => undefined);
  await sleep(0);
  assert.equal(serializer.busyKeys, 0, 'a failure is released too');
});
