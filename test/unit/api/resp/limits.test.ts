// Why: connections and request rates must not starve a node through its RESP port (decision
// 0013). Over real loopback sockets against the fake service: the per-address share refuses an
// address's extra connection while others get in, a full server makes room by closing its
// longest-idle connection, idle connections are closed after idleTimeoutMs while busy and active
// ones stay, and a client over its request rate gets "-BUSY EVERWRITE_RATE_LIMITED" while other
// addresses are served. Other loopback addresses (127.0.0.2, ...) act as other clients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startRespServer } from '../../../../src/api/resp/index.ts';
import { AddressRateLimiter } from '../../../../src/core/base/rate-limiter.ts';
import { FakeKvService } from '../../../support/fake-kv-service.ts';
import { RespErrorValue, RespSimpleValue, RespTestClient, encodeCommand } from '../../../support/resp-client.ts';
import type { RespValue } from '../../../support/resp-client.ts';
import { withResp } from './harness.ts';

const bounded = { timeout: 20_000 };

function errorText(value: RespValue | undefined): string {
  assert.ok(value instanceof RespErrorValue, `expected an error reply, got ${JSON.stringify(value)}`);
  return value.message;
}

async function assertServing(client: RespTestClient): Promise<void> {
  assert.deepEqual(await client.call('PING'), new RespSimpleValue('PONG'));
}

async function waitUntil(predicate: () => boolean, what: string, deadlineMs = 5000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!predicate()) {
    if (Date.now() > deadline) assert.fail(`${what} did not happen within ${deadlineMs} ms`);
    await sleep(5);
  }
}

test('one address past connectionsPerAddressMax is refused; another address still gets in', bounded, async () => {
  const opened: RespTestClient[] = [];
  await withResp(
    async ({ port }) => {
      for (let index = 0; index < 2; index += 1) opened.push(await RespTestClient.connect(port, '127.0.0.1'));
      for (const client of opened) await assertServing(client);
      const third = await RespTestClient.connect(port, '127.0.0.1');
      opened.push(third);
      assert.match(errorText((await third.read(1))[0]), /^BUSY EVERWRITE_RATE_LIMITED: /);
      await third.waitClosedByServer();
      const other = await RespTestClient.connect(port, '127.0.0.2');
      opened.push(other);
      await assertServing(other);
      for (const client of opened.slice(0, 2)) await assertServing(client);
    },
    { connectionsMax: 10, connectionsPerAddressMax: 2 },
  );
  for (const client of opened) client.close();
});

test('a full server closes its longest-idle connection to admit a newcomer, never a busy one', bounded, async () => {
  const opened: RespTestClient[] = [];
  await withResp(
    async ({ port, fake }) => {
      const busy = await RespTestClient.connect(port, '127.0.0.2');
      const oldIdle = await RespTestClient.connect(port, '127.0.0.3');
      const recentIdle = await RespTestClient.connect(port, '127.0.0.4');
      opened.push(busy, oldIdle, recentIdle);
      await assertServing(busy);
      await assertServing(oldIdle);
      await assertServing(recentIdle);
      const release = fake.holdNext('get');
      busy.write(encodeCommand(['GET', 'held']));
      await waitUntil(() => fake.calls.some((call) => call.operation === 'get'), 'the held GET');
      await assertServing(recentIdle);
      const newcomer = await RespTestClient.connect(port, '127.0.0.5');
      opened.push(newcomer);
      await assertServing(newcomer);
      await oldIdle.waitClosedByServer();
      await assertServing(recentIdle);
      release();
      assert.deepEqual(await busy.read(1), [null]);
    },
    { connectionsMax: 3, connectionsPerAddressMax: 3 },
  );
  for (const client of opened) client.close();
});

test('a connection idle past idleTimeoutMs is closed; a busy one and an active one stay', bounded, async () => {
  await withResp(
    async ({ client: connect, fake }) => {
      const idle = await connect();
      const active = await connect();
      const busy = await connect();
      const release = fake.holdNext('get');
      busy.write(encodeCommand(['GET', 'held']));
      await waitUntil(() => fake.calls.some((call) => call.operation === 'get'), 'the held GET');
      const started = Date.now();
      let idleClosed = false;
      let closedAfterMs = 0;
      void idle.waitClosedByServer(3000).then(
        () => {
          idleClosed = true;
          closedAfterMs = Date.now() - started;
        },
        () => undefined,
      );
      // The active client keeps sending; the busy one waits on its command well past the timeout.
      while (!idleClosed || Date.now() - started < 600) {
        assert.ok(Date.now() - started < 3000, 'the idle connection was not closed within 3 s');
        await assertServing(active);
        await sleep(40);
      }
      assert.ok(closedAfterMs >= 150, `closed after ${closedAfterMs} ms, before the 200 ms timeout`);
      release();
      assert.deepEqual(await busy.read(1), [null]);
      await assertServing(active);
    },
    { idleTimeoutMs: 200 },
  );
});

test(
  'an address over its request rate gets BUSY EVERWRITE_RATE_LIMITED with the wait; other addresses are served',
  bounded,
  async () => {
    const rateLimiter = new AddressRateLimiter({ requestsPerSecond: 5, burstRequests: 3 });
    const opened: RespTestClient[] = [];
    await withResp(
      async ({ port, fake }) => {
        const greedy = await RespTestClient.connect(port, '127.0.0.6');
        const polite = await RespTestClient.connect(port, '127.0.0.7');
        opened.push(greedy, polite);
        const replies = await greedy.pipeline([
          ['SET', 'a', '1'],
          ['SET', 'b', '2'],
          ['SET', 'c', '3'],
          ['SET', 'd', '4'],
          ['GET', 'a'],
        ]);
        assert.deepEqual(replies.slice(0, 3), [
          new RespSimpleValue('OK'),
          new RespSimpleValue('OK'),
          new RespSimpleValue('OK'),
        ]);
        for (const refused of replies.slice(3))
          assert.match(errorText(refused), /^BUSY EVERWRITE_RATE_LIMITED: .*retry in \d+ ms$/);
        assert.equal(fake.calls.filter((call) => call.operation === 'put').length, 3, 'a refused command does not run');
        await assertServing(polite);
        await sleep(450);
        await assertServing(greedy);
      },
      { rateLimiter },
    );
    for (const client of opened) client.close();
    assert.ok(rateLimiter.refusals >= 2);
  },
);

test('connection and idle limits are validated at start-up', bounded, async () => {
  const service = new FakeKvService();
  const base = { service, host: '127.0.0.1', port: 0 };
  await assert.rejects(startRespServer({ ...base, connectionsMax: 2, connectionsPerAddressMax: 3 }), RangeError);
  await assert.rejects(startRespServer({ ...base, connectionsPerAddressMax: 0 }), RangeError);
  await assert.rejects(startRespServer({ ...base, idleTimeoutMs: 0 }), RangeError);
  await assert.rejects(startRespServer({ ...base, idleTimeoutMs: 1.5 }), RangeError);
});
