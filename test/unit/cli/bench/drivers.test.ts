// Why: every answer must become the same three outcomes whatever the protocol, so errors are
// counted by code and a read of an absent key is a success: 2xx always, 300 (siblings) and 404
// (absent) only for reads, everything else an error named by status and the node's code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { failureKind, httpOutcome, keyName, targetOfWorker } from '../../../../src/cli/bench/drivers.ts';

test('httpOutcome: 2xx always ok; 300 ok and 404 not found only for reads; the rest errors by code', () => {
  assert.deepEqual(httpOutcome('read', { status: 200, context: 'c1' }), { kind: 'ok', context: 'c1' });
  assert.deepEqual(httpOutcome('read', { status: 300 }), { kind: 'ok' });
  assert.deepEqual(httpOutcome('read', { status: 404, context: 'tomb' }), { kind: 'notFound', context: 'tomb' });
  assert.deepEqual(httpOutcome('write', { status: 204 }), { kind: 'ok' });
  assert.deepEqual(httpOutcome('write', { status: 404 }), { kind: 'error', code: 'HTTP 404' });
  assert.deepEqual(httpOutcome('write', { status: 300 }), { kind: 'error', code: 'HTTP 300' });
  for (const status of [400, 409, 413, 429, 500, 503]) {
    assert.equal(httpOutcome('read', { status }).kind, 'error');
    assert.equal(httpOutcome('write', { status }).kind, 'error');
  }
  assert.deepEqual(httpOutcome('write', { status: 503, code: 'EVERWRITE_QUORUM_NOT_MET' }), {
    kind: 'error',
    code: 'HTTP 503 EVERWRITE_QUORUM_NOT_MET',
  });
  assert.deepEqual(httpOutcome('read', { code: 'timeout' }), { kind: 'error', code: 'timeout' });
});

test('failureKind names an HTTP answer by status and code, else the socket error', () => {
  assert.equal(failureKind({ status: 502 }), 'HTTP 502');
  assert.equal(failureKind({ code: 'ECONNREFUSED' }), 'ECONNREFUSED');
  assert.equal(failureKind({}), 'unknown');
});

test('keys are named k<i> and clients go round-robin over the nodes', () => {
  assert.equal(keyName(0), 'k0');
  assert.equal(keyName(12_345), 'k12345');
  assert.deepEqual(
    Array.from({ length: 7 }, (_, worker) => targetOfWorker(worker, 3)),
    [0, 1, 2, 0, 1, 2, 0],
  );
});
