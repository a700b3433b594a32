// Why: the RESP driver reads replies from a socket it does not control: it must take only whole
// replies, name an error reply by its EVERWRITE_* code, and refuse a reply type it never asked for
// or a bulk length that would make it buffer without bound, instead of hanging or allocating.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bulkBytesMax,
  encodeCommand,
  parseReply,
  parseRespAddress,
  respErrorCode,
} from '../../../../src/cli/bench/resp-driver.ts';

test('parseReply takes whole replies only and says how many bytes each used', () => {
  assert.deepEqual(parseReply(Buffer.from('+OK\r\n')), { reply: { type: 'simple' }, bytes: 5 });
  assert.deepEqual(parseReply(Buffer.from('$3\r\nabc\r\n+OK\r\n')), { reply: { type: 'bulk' }, bytes: 9 });
  assert.deepEqual(parseReply(Buffer.from('$-1\r\n')), { reply: { type: 'null' }, bytes: 5 });
  assert.deepEqual(parseReply(Buffer.from('_\r\n')), { reply: { type: 'null' }, bytes: 3 });
  assert.deepEqual(parseReply(Buffer.from(':12\r\n')), { reply: { type: 'integer' }, bytes: 5 });
  assert.deepEqual(parseReply(Buffer.from('-ERR x\r\n')), { reply: { type: 'error', message: 'ERR x' }, bytes: 8 });
  for (const partial of ['', '+O', '$3\r\nab', '$3\r\nabc\r', '$10'])
    assert.equal(parseReply(Buffer.from(partial)), undefined, partial);
});

test('parseReply refuses unexpected types and absurd bulk lengths', () => {
  assert.throws(() => parseReply(Buffer.from('*2\r\n')), /unexpected RESP reply type/);
  assert.throws(() => parseReply(Buffer.from('%1\r\n')), /unexpected/);
  assert.throws(() => parseReply(Buffer.from(`$${bulkBytesMax + 1}\r\n`)), /bad bulk length/);
  assert.throws(() => parseReply(Buffer.from('$-2\r\n')), /bad bulk length/);
  assert.throws(() => parseReply(Buffer.from('$abc\r\n')), /bad bulk length/);
});

test('respErrorCode names the EVERWRITE_* code, else the first word', () => {
  assert.equal(respErrorCode('BUSY EVERWRITE_RATE_LIMITED: too many requests'), 'RESP EVERWRITE_RATE_LIMITED');
  assert.equal(respErrorCode('ERR EVERWRITE_QUORUM_NOT_MET: 1 of 2'), 'RESP EVERWRITE_QUORUM_NOT_MET');
  assert.equal(respErrorCode('WRONGTYPE nope'), 'RESP WRONGTYPE');
});

test('encodeCommand writes a multibulk command with byte lengths', () => {
  assert.equal(
    encodeCommand(['SET', 'k1', new Uint8Array([0xff, 0x00])]).toString('latin1'),
    '*3\r\n$3\r\nSET\r\n$2\r\nk1\r\n$2\r\n\xff\x00\r\n',
  );
  assert.equal(encodeCommand(['GET', 'é']).toString('latin1'), '*2\r\n$3\r\nGET\r\n$2\r\n\xc3\xa9\r\n');
});

test('parseRespAddress takes HOST:PORT', () => {
  assert.deepEqual(parseRespAddress('127.0.0.1:6381'), { host: '127.0.0.1', port: 6381 });
  assert.deepEqual(parseRespAddress('[::1]:6381'), { host: '::1', port: 6381 });
  assert.throws(() => parseRespAddress('127.0.0.1'), /HOST:PORT/);
});
