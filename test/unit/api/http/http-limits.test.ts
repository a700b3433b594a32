// Why: connections and request rates must not starve a node through its HTTP port (decision
// 0013). Over real loopback sockets against the fake service: one address past its share is
// answered 429 and closed while another address gets in; a full server closes its longest-idle
// connection for a newcomer but never one serving a request, and answers 503 when all are busy;
// a slowloris client and a silent one are answered 408 and closed within the header timeout; a
// client over its request rate gets 429 EVERWRITE_RATE_LIMITED with Retry-After. Other loopback
// addresses (127.0.0.2, ...) act as other clients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { startHttpServer } from '../../../../src/api/http/server.ts';
import { AddressRateLimiter } from '../../../../src/core/base/rate-limiter.ts';
import { FakeKvService } from '../../../support/fake-kv-service.ts';
import { startHarness } from './http-harness.ts';

const bounded = { timeout: 20_000 };

/** A raw client socket from `localAddress`: what it received, and when the server closed it. */
interface RawClient {
  readonly socket: Socket;
  received(): string;
  closed: Promise<number>;
}

function rawClient(port: number, localAddress: string): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    const closed = new Promise<number>((resolveClosed) => socket.once('close', () => resolveClosed(performance.now())));
    socket.once('connect', () => resolve({ socket, received: () => text, closed }));
    socket.once('error', reject);
  });
}

const getHealth = 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n';

/** Sends one keep-alive request and waits for its answer; the connection stays open. */
async function exchange(client: RawClient, request = getHealth): Promise<string> {
  const before = client.received().length;
  client.socket.write(request);
  const deadline = Date.now() + 5000;
  while (!/\r\n\r\n/.test(client.received().slice(before))) {
    assert.ok(Date.now() < deadline, `no answer; got ${JSON.stringify(client.received())}`);
    await sleep(5);
  }
  await sleep(20);
  return client.received().slice(before);
}

async function closedWithin(client: RawClient, deadlineMs: number): Promise<boolean> {
  return Promise.race([client.closed.then(() => true), sleep(deadlineMs, false)]);
}

test(
  'one address past connectionsPerAddressMax is answered 429 and closed; another address gets in',
  bounded,
  async () => {
    const harness = await startHarness({ connectionsMax: 10, connectionsPerAddressMax: 2 });
    const clients: RawClient[] = [];
    try {
      for (let index = 0; index < 2; index += 1) clients.push(await rawClient(harness.port, '127.0.0.1'));
      for (const client of clients) assert.match(await exchange(client), /^HTTP\/1.1 200/);
      const third = await rawClient(harness.port, '127.0.0.1');
      clients.push(third);
      assert.ok(await closedWithin(third, 2000), 'the third connection of one address is closed at once');
      assert.match(third.received(), /^HTTP\/1.1 429 [^]*EVERWRITE_RATE_LIMITED/);
      const other = await rawClient(harness.port, '127.0.0.2');
      clients.push(other);
      assert.match(await exchange(other), /^HTTP\/1.1 200/);
      for (const client of clients.slice(0, 2)) assert.match(await exchange(client), /^HTTP\/1.1 200/);
    } finally {
      for (const client of clients) client.socket.destroy();
      await harness.close();
    }
  },
);

test(
  'a full server closes its longest-idle connection for a newcomer, never a busy one; all busy is 503',
  bounded,
  async () => {
    const harness = await startHarness({ connectionsMax: 2, connectionsPerAddressMax: 2 });
    const clients: RawClient[] = [];
    try {
      const busy = await rawClient(harness.port, '127.0.0.2');
      const idle = await rawClient(harness.port, '127.0.0.3');
      clients.push(busy, idle);
      assert.match(await exchange(idle), /^HTTP\/1.1 200/);
      const release = harness.fake.holdNext('get');
      busy.socket.write('GET /buckets/b/keys/k HTTP/1.1\r\nHost: x\r\n\r\n');
      const deadline = Date.now() + 5000;
      while (!harness.fake.calls.some((call) => call.operation === 'get')) {
        assert.ok(Date.now() < deadline, 'the held GET did not arrive');
        await sleep(5);
      }
      const newcomer = await rawClient(harness.port, '127.0.0.4');
      clients.push(newcomer);
      assert.match(await exchange(newcomer), /^HTTP\/1.1 200/);
      assert.ok(await closedWithin(idle, 2000), 'the idle connection made room');
      // Now one busy, one idle (the newcomer): the next newcomer evicts the newcomer, not the busy one.
      const hold2 = harness.fake.holdNext('put');
      newcomer.socket.write('PUT /buckets/b/keys/k2 HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nv');
      while (!harness.fake.calls.some((call) => call.operation === 'put')) {
        assert.ok(Date.now() < deadline, 'the held PUT did not arrive');
        await sleep(5);
      }
      const refused = await rawClient(harness.port, '127.0.0.5');
      clients.push(refused);
      assert.ok(await closedWithin(refused, 2000), 'with every connection busy the newcomer is closed');
      assert.match(refused.received(), /^HTTP\/1.1 503 [^]*EVERWRITE_UNAVAILABLE/);
      release();
      hold2();
      await sleep(50);
      assert.match(busy.received(), /^HTTP\/1.1 404/);
      assert.match(newcomer.received(), /HTTP\/1.1 204/);
    } finally {
      for (const client of clients) client.socket.destroy();
      await harness.close();
    }
  },
);

test('slowloris and silent connections are answered 408 and closed within headersTimeoutMs', bounded, async () => {
  const harness = await startHarness({ headersTimeoutMs: 300, timeoutCheckIntervalMs: 50 });
  const clients: RawClient[] = [];
  try {
    const started = performance.now();
    const silent = await rawClient(harness.port, '127.0.0.1');
    const slow = await rawClient(harness.port, '127.0.0.1');
    clients.push(silent, slow);
    slow.socket.write('GET /health HTTP/1.1\r\n');
    const trickle = setInterval(() => slow.socket.write('X-Slow: 1\r\n'), 40);
    const [silentClosed, slowClosed] = await Promise.all([silent.closed, slow.closed]);
    clearInterval(trickle);
    for (const [name, client, closedMs] of [
      ['silent', silent, silentClosed],
      ['slowloris', slow, slowClosed],
    ] as const) {
      const afterMs = closedMs - started;
      assert.ok(
        afterMs >= 250 && afterMs < 1500,
        `${name} closed after ${afterMs.toFixed(0)} ms (header timeout 300 ms)`,
      );
      assert.match(client.received(), /^HTTP\/1.1 408/, name);
    }
    const fresh = await rawClient(harness.port, '127.0.0.1');
    clients.push(fresh);
    assert.match(await exchange(fresh), /^HTTP\/1.1 200/);
  } finally {
    for (const client of clients) client.socket.destroy();
    await harness.close();
  }
});

test(
  'an address over its request rate gets 429 EVERWRITE_RATE_LIMITED with Retry-After; others are served',
  bounded,
  async () => {
    const rateLimiter = new AddressRateLimiter({ requestsPerSecond: 1, burstRequests: 2 });
    const harness = await startHarness({ rateLimiter });
    const clients: RawClient[] = [];
    try {
      const greedy = await rawClient(harness.port, '127.0.0.6');
      const polite = await rawClient(harness.port, '127.0.0.7');
      clients.push(greedy, polite);
      assert.match(await exchange(greedy), /^HTTP\/1.1 200/);
      assert.match(await exchange(greedy), /^HTTP\/1.1 200/);
      const refused = await exchange(greedy, 'PUT /buckets/b/keys/k HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nv');
      assert.match(refused, /^HTTP\/1.1 429 /);
      assert.match(refused, /\r\nRetry-After: 1\r\n/i);
      const body = JSON.parse(refused.slice(refused.indexOf('\r\n\r\n') + 4)) as { code: string; retryAfterMs: number };
      assert.equal(body.code, 'EVERWRITE_RATE_LIMITED');
      assert.ok(body.retryAfterMs > 0 && body.retryAfterMs <= 1000, `retryAfterMs ${body.retryAfterMs}`);
      assert.equal(
        harness.fake.calls.filter((call) => call.operation === 'put').length,
        0,
        'a refused request does not reach the service',
      );
      assert.match(await exchange(polite), /^HTTP\/1.1 200/);
    } finally {
      for (const client of clients) client.socket.destroy();
      await harness.close();
    }
  },
);

test('connection and timeout limits are validated at start-up', bounded, async () => {
  const service = new FakeKvService();
  const base = { service, host: '127.0.0.1', port: 0 };
  await assert.rejects(startHttpServer({ ...base, connectionsMax: 2, connectionsPerAddressMax: 3 }), RangeError);
  await assert.rejects(startHttpServer({ ...base, connectionsMax: 0 }), RangeError);
  await assert.rejects(startHttpServer({ ...base, headersTimeoutMs: 0 }), RangeError);
  await assert.rejects(startHttpServer({ ...base, headersTimeoutMs: 2000, requestTimeoutMs: 1000 }), RangeError);
  await assert.rejects(startHttpServer({ ...base, timeoutCheckIntervalMs: -1 }), RangeError);
});
