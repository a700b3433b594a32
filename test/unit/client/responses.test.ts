// Why: the three read answers (200, 300, 404 with or without a tombstone context) and the JSON error
// body are the client's side of the HTTP contract; anything off-contract must become a coded
// EVERWRITE_BAD_RESPONSE, never a TypeError in application code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { EverwriteClientError } from '../../../src/client/errors.ts';
import { errorFromAnswer, parseGetAnswer, parseWriteAnswer } from '../../../src/client/responses.ts';

const node = 'http://127.0.0.1:1';

function answer(status: number, body: string | Buffer, headers: IncomingHttpHeaders = {}) {
  return { status, headers, body: typeof body === 'string' ? Buffer.from(body) : body };
}

function rejection(run: () => unknown): EverwriteClientError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof EverwriteClientError, String(error));
    return error;
  }
  assert.fail('expected an error');
}

test('a 200 is one live sibling: raw bytes, content type, Last-Modified and the context header', () => {
  const result = parseGetAnswer(
    answer(200, Buffer.from([0, 1, 255]), {
      'content-type': 'application/x-thing',
      'last-modified': 'Thu, 02 Jan 2025 03:04:05 GMT',
      'x-everwrite-context': 'ctx.1',
    }),
    node,
  );
  assert.equal(result.found, true);
  assert.equal(result.context, 'ctx.1');
  assert.equal(result.siblings.length, 1);
  const [sibling] = result.siblings;
  assert.deepEqual(sibling?.value, new Uint8Array([0, 1, 255]));
  assert.equal(sibling?.contentType, 'application/x-thing');
  assert.equal(sibling?.lastModified.toISOString(), '2025-01-02T03:04:05.000Z');
  assert.equal(sibling?.deleted, false);
});

test('a 200 without a content type is octet-stream; without a context header it is a bad response', () => {
  const result = parseGetAnswer(answer(200, 'v', { 'x-everwrite-context': 'c' }), node);
  assert.equal(result.siblings[0]?.contentType, 'application/octet-stream');
  assert.equal(result.siblings[0]?.lastModified.getTime(), 0);
  const error = rejection(() => parseGetAnswer(answer(200, 'v'), node));
  assert.equal(error.code, 'EVERWRITE_BAD_RESPONSE');
  assert.equal(error.status, 200);
});

test('a 300 lists every sibling, base64 decoded, deleted ones flagged with an empty value', () => {
  const body = JSON.stringify({
    context: 'ctx.1.2.3',
    siblings: [
      {
        value: Buffer.from('one').toString('base64'),
        contentType: 'text/plain',
        lastModified: '2025-01-02T03:04:05.678Z',
      },
      { deleted: true, lastModified: '2025-01-02T03:04:06.000Z' },
    ],
  });
  const result = parseGetAnswer(answer(300, body, { 'x-everwrite-context': 'ctx.1.2.3' }), node);
  assert.equal(result.found, true);
  assert.equal(result.context, 'ctx.1.2.3');
  assert.deepEqual(result.siblings, [
    {
      value: new Uint8Array(Buffer.from('one')),
      contentType: 'text/plain',
      lastModified: new Date('2025-01-02T03:04:05.678Z'),
      deleted: false,
    },
    { value: new Uint8Array(0), contentType: '', lastModified: new Date('2025-01-02T03:04:06.000Z'), deleted: true },
  ]);
});

test('a malformed 300 is EVERWRITE_BAD_RESPONSE', () => {
  for (const body of [
    'not json',
    '{"context":"c"}',
    '{"context":"c","siblings":[{"value":"aA=="}]}',
    '{"context":"c","siblings":[{"deleted":true}]}',
    '{"siblings":[null]}',
  ]) {
    const error = rejection(() => parseGetAnswer(answer(300, body), node));
    assert.equal(error.code, 'EVERWRITE_BAD_RESPONSE', body);
    assert.equal(error.node, node);
  }
});

test("a 404 EVERWRITE_NOT_FOUND is found: false, with the tombstone context when the header is there and the node's message as the reason", () => {
  const absent = parseGetAnswer(answer(404, '{"code":"EVERWRITE_NOT_FOUND","message":"key not found"}'), node);
  assert.deepEqual(absent, { found: false, siblings: [], context: '', reason: 'key not found' });
  const deleted = parseGetAnswer(
    answer(404, '{"code":"EVERWRITE_NOT_FOUND","message":"key is deleted"}', { 'x-everwrite-context': 'ctx.9' }),
    node,
  );
  assert.deepEqual(
    deleted,
    { found: false, siblings: [], context: 'ctx.9', reason: 'key is deleted' },
    "the node's words come back as the reason",
  );
});

test('a 404 with another code, and every other status, is the node error with its code, status, message and details', () => {
  const unknownBucket = rejection(() =>
    parseGetAnswer(answer(404, '{"code":"EVERWRITE_UNKNOWN_BUCKET","message":"no such bucket"}'), node),
  );
  assert.equal(unknownBucket.code, 'EVERWRITE_UNKNOWN_BUCKET');
  assert.equal(unknownBucket.status, 404);
  const quorum = rejection(() =>
    parseGetAnswer(
      answer(
        503,
        '{"code":"EVERWRITE_QUORUM_NOT_MET","message":"read quorum not met: 1 of 2 replicas answered","replied":1,"required":2}',
      ),
      node,
    ),
  );
  assert.equal(quorum.code, 'EVERWRITE_QUORUM_NOT_MET');
  assert.equal(quorum.status, 503);
  assert.equal(quorum.message, 'read quorum not met: 1 of 2 replicas answered');
  assert.deepEqual(quorum.details, { replied: 1, required: 2 });
  assert.equal(quorum.retryable, true);
  assert.equal(quorum.fromServer, true);
  const tooLarge = rejection(() =>
    parseWriteAnswer(
      answer(413, '{"code":"EVERWRITE_KEY_TOO_LARGE","message":"key is 1025 bytes","bytesMax":1024}'),
      node,
    ),
  );
  assert.equal(tooLarge.code, 'EVERWRITE_KEY_TOO_LARGE');
  assert.equal(tooLarge.retryable, false);
  assert.deepEqual(tooLarge.details, { bytesMax: 1024 });
});

test('an error answer that is not a JSON error keeps its status; a bare 503 is still EVERWRITE_UNAVAILABLE and retryable', () => {
  const gateway = errorFromAnswer(answer(502, '<html>bad gateway</html>'), node);
  assert.equal(gateway.code, 'EVERWRITE_BAD_RESPONSE');
  assert.equal(gateway.status, 502);
  assert.match(gateway.message, /bad gateway/);
  const busy = errorFromAnswer(answer(503, ''), node);
  assert.equal(busy.code, 'EVERWRITE_UNAVAILABLE');
  assert.equal(busy.retryable, true);
});

test('a write answer is the context returned, empty when the node returned none (a blind write next to unread versions)', () => {
  assert.deepEqual(parseWriteAnswer(answer(204, '', { 'x-everwrite-context': 'ctx.2' }), node), { context: 'ctx.2' });
  assert.deepEqual(parseWriteAnswer(answer(204, '', { 'x-everwrite-context': '' }), node), { context: '' });
  assert.deepEqual(parseWriteAnswer(answer(204, ''), node), { context: '' });
});
