// Why: the simulator's dot ledger is the check that catches a dot minted twice; it must flag two
// different writes under one dot of one key, once, and nothing else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyRecord, encodeRecord, update } from '../../../src/core/versioning/index.ts';
import { DotLedger } from '../../../src/sim/dot-ledger.ts';

const write = (value: string, timestamp = 1024) => ({
  value: new TextEncoder().encode(value),
  contentType: 'text/plain',
  lastModifiedMs: 1,
  deleted: false,
  timestamp,
});
const minted = (actor: string, value: string, timestamp?: number) =>
  encodeRecord(update(emptyRecord, new Map(), actor, write(value, timestamp)));

test('the same write seen on every replica is no violation', () => {
  const ledger = new DotLedger();
  const record = minted('n1.7', 'x');
  for (let replica = 0; replica < 3; replica++) ledger.observe('0|k', record);
  assert.equal(ledger.violations, 0);
});

test('one dot of one key carrying two different writes is one violation, however often it is seen', () => {
  const ledger = new DotLedger();
  ledger.observe('0|k', minted('n1.7', 'x'));
  ledger.observe('0|k', minted('n1.7', 'y'));
  ledger.observe('0|k', minted('n1.7', 'y'));
  assert.equal(ledger.violations, 1);
  assert.match(ledger.samples[0] ?? '', /dot n1\.7:1 of "0\|k" was minted for two different writes/);
  ledger.observe('0|k', minted('n1.7', 'x', 2048));
  assert.equal(ledger.violations, 1, 'still the same (key, dot)');
});

test('the same dot on another key, or another epoch of the node, is a different version', () => {
  const ledger = new DotLedger();
  ledger.observe('0|k', minted('n1.7', 'x'));
  ledger.observe('0|other', minted('n1.7', 'y'));
  ledger.observe('0|k', minted('n1.8', 'y'));
  assert.equal(ledger.violations, 0);
});

test('bytes that are not a record are ignored', () => {
  const ledger = new DotLedger();
  ledger.observe('0|k', new Uint8Array([1, 2, 3]));
  assert.equal(ledger.violations, 0);
});
