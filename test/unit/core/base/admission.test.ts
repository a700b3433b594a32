// Why: the connection table and the token bucket behind decision 0013 are pure bookkeeping, so
// their rules are pinned here without sockets: the per-address share, eviction of the
// least-recently-active idle connection (never a busy one, scan bounded), release, the bucket's
// burst, refill and wait, its bounded table of addresses, and bad options.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ConnectionAdmission,
  evictionScanMax,
  validateAdmissionLimits,
  type AdmittedConnection,
} from '../../../../src/core/base/admission.ts';
import { AddressRateLimiter, rateLimiterDefaults } from '../../../../src/core/base/rate-limiter.ts';

class Fake implements AdmittedConnection {
  busy = false;
  evicted = false;
  constructor(
    readonly clientAddress: string,
    readonly name = clientAddress,
  ) {}
  isBusy(): boolean {
    return this.busy;
  }
  evict(): void {
    this.evicted = true;
  }
}

test('the per-address share refuses an address at its count; release frees the slot', () => {
  const table = new ConnectionAdmission<Fake>({ connectionsMax: 10, connectionsPerAddressMax: 2 });
  const [a1, a2, a3] = [new Fake('a'), new Fake('a'), new Fake('a')];
  assert.equal(table.admit(a1), 'admitted');
  assert.equal(table.admit(a2), 'admitted');
  assert.equal(table.admit(a3), 'addressFull');
  assert.equal(table.admit(new Fake('b')), 'admitted');
  table.release(a1);
  table.release(a1);
  assert.equal(table.countOf('a'), 1);
  assert.equal(table.admit(a3), 'admitted');
  assert.equal(table.size, 3);
});

test('a full table evicts the least recently active idle connection, never a busy one', () => {
  const table = new ConnectionAdmission<Fake>({ connectionsMax: 3, connectionsPerAddressMax: 3 });
  const [first, second, third] = [new Fake('x', 'first'), new Fake('y', 'second'), new Fake('z', 'third')];
  for (const connection of [first, second, third]) assert.equal(table.admit(connection), 'admitted');
  first.busy = true;
  table.touch(third);
  const newcomer = new Fake('w');
  assert.equal(table.admit(newcomer), 'admitted');
  assert.deepEqual([first.evicted, second.evicted, third.evicted], [false, true, false]);
  assert.equal(table.countOf('y'), 0);
  third.busy = true;
  newcomer.busy = true;
  assert.equal(table.admit(new Fake('v')), 'full');
  assert.equal(table.evictions, 1);
});

test('the eviction scan is bounded: past evictionScanMax busy connections the newcomer is refused', () => {
  const total = evictionScanMax + 1;
  const table = new ConnectionAdmission<Fake>({ connectionsMax: total, connectionsPerAddressMax: total });
  const connections = Array.from({ length: total }, (_, index) => new Fake(`10.0.0.${index}`));
  for (const connection of connections) table.admit(connection);
  for (const connection of connections.slice(0, evictionScanMax)) connection.busy = true;
  assert.equal(table.admit(new Fake('late')), 'full');
  (connections[0] as Fake).busy = false;
  assert.equal(table.admit(new Fake('later')), 'admitted');
  assert.equal((connections[0] as Fake).evicted, true);
});

test('admission limits are validated: positive integers, the share within the total', () => {
  assert.throws(() => validateAdmissionLimits('t', { connectionsMax: 0, connectionsPerAddressMax: 1 }), RangeError);
  assert.throws(() => validateAdmissionLimits('t', { connectionsMax: 4, connectionsPerAddressMax: 5 }), RangeError);
  assert.throws(() => validateAdmissionLimits('t', { connectionsMax: 4.5, connectionsPerAddressMax: 1 }), RangeError);
  assert.throws(
    () => validateAdmissionLimits('t', { connectionsMax: Number.NaN, connectionsPerAddressMax: 1 }),
    RangeError,
  );
  assert.ok(Object.isFrozen(validateAdmissionLimits('t', { connectionsMax: 4, connectionsPerAddressMax: 4 })));
});

test('the token bucket allows its burst, refuses with the wait until the next token, and refills', () => {
  const limiter = new AddressRateLimiter({ requestsPerSecond: 10, burstRequests: 3 });
  for (let index = 0; index < 3; index += 1) assert.equal(limiter.take('a', 1000), 0);
  assert.equal(limiter.take('a', 1000), 100);
  assert.equal(limiter.take('a', 1050), 50);
  assert.equal(limiter.take('b', 1050), 0, 'another address has its own bucket');
  assert.equal(limiter.take('a', 1100), 0);
  assert.equal(limiter.take('a', 1100), 100);
  assert.equal(limiter.take('a', 100_000), 0, 'a long quiet spell refills to the burst, no more');
  assert.equal(limiter.take('a', 100_000), 0);
  assert.equal(limiter.take('a', 100_000), 0);
  assert.ok(limiter.take('a', 100_000) > 0);
  assert.equal(limiter.take('a', 99_000), 100, 'a clock going back refills nothing and breaks nothing');
  assert.equal(limiter.refusals, 5);
});

test('the address table is bounded: quiet addresses are forgotten, and past the bound newcomers go unlimited', () => {
  const limiter = new AddressRateLimiter({ requestsPerSecond: 1, burstRequests: 1, addressesTrackedMax: 2 });
  assert.equal(limiter.take('a', 0), 0);
  assert.equal(limiter.take('b', 0), 0);
  assert.equal(limiter.take('c', 0), 0, 'no room, and nothing refilled yet: not tracked, not refused');
  assert.equal(limiter.addressesTracked, 2);
  assert.ok(limiter.take('a', 10) > 0, 'a tracked address keeps its limit');
  assert.equal(limiter.take('c', 5000), 0);
  assert.ok(limiter.addressesTracked <= 2);
  assert.ok(limiter.take('c', 5000) > 0, 'after the sweep the newcomer is tracked');
});

test('rate limiter options are validated; defaults are generous and frozen', () => {
  assert.throws(() => new AddressRateLimiter({ requestsPerSecond: 0 }), RangeError);
  assert.throws(() => new AddressRateLimiter({ burstRequests: 1.5 }), RangeError);
  assert.throws(() => new AddressRateLimiter({ unknown: 1 } as never), RangeError);
  assert.ok(Object.isFrozen(rateLimiterDefaults));
  assert.ok(rateLimiterDefaults.requestsPerSecond >= 44_000);
});
