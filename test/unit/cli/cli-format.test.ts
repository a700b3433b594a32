// Why: the CLI's formatting helpers are pure; their exact output is what operators read and what
// scripts parse, so it is pinned here without a node or a terminal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatContext,
  formatServerError,
  formatSiblings,
  keyUrl,
  parsePositiveInteger,
  parseSiblingsBody,
  printableText,
  singleValueBody,
} from '../../../src/cli/format.ts';

test('keyUrl percent-encodes bucket and key, keeps a node path prefix and adds overrides', { timeout: 1000 }, () => {
  assert.equal(keyUrl('http://127.0.0.1:8001', 'b', 'k'), 'http://127.0.0.1:8001/buckets/b/keys/k');
  assert.equal(keyUrl('http://h:1/prefix/', 'my b', 'a/b?c#d'), 'http://h:1/prefix/buckets/my%20b/keys/a%2Fb%3Fc%23d');
  assert.equal(keyUrl('http://h:1', 'b', 'k', { r: 1, w: 2, timeoutMs: 300 }), 'http://h:1/buckets/b/keys/k?r=1&w=2&timeout_ms=300');
  assert.throws(() => keyUrl('not a url', 'b', 'k'), /--node must be a URL/);
  assert.throws(() => keyUrl('file:///tmp', 'b', 'k'), /--node must be an http/);
});

test('parsePositiveInteger accepts only positive integers and names the option', { timeout: 1000 }, () => {
  assert.equal(parsePositiveInteger('3', '--w'), 3);
  for (const text of ['0', '-1', '1.5', '', 'x', '01', '1e3']) assert.throws(() => parsePositiveInteger(text, '--w'), /--w must be a positive integer/);
});

test('printableText accepts UTF-8 text and refuses binary or control characters', { timeout: 1000 }, () => {
  assert.equal(printableText(Buffer.from('héllo\n\tworld\r\n')), 'héllo\n\tworld\r\n');
  assert.equal(printableText(new Uint8Array([0xff, 0xfe])), undefined);
  assert.equal(printableText(new Uint8Array([0x41, 0x00])), undefined);
  assert.equal(printableText(Buffer.from('\u001b[31mred')), undefined, 'terminal escapes are not printed raw');
});

test('formatSiblings numbers siblings, shows text as text, binary as base64, deletions as deleted', { timeout: 1000 }, () => {
  const listing = formatSiblings({
    context: 'c',
    siblings: [
      { value: Buffer.from('line\n').toString('base64'), contentType: 'text/plain', lastModified: '2025-01-01T00:00:00.000Z' },
      { value: 'AAEC', contentType: 'application/octet-stream', lastModified: '2025-01-02T00:00:00.000Z' },
      { deleted: true, lastModified: '2025-01-03T00:00:00.000Z' },
    ],
  });
  assert.equal(
    listing,
    '3 siblings (concurrent versions):\n' +
      '[1] text/plain, last modified 2025-01-01T00:00:00.000Z\nline\n' +
      '[2] application/octet-stream, last modified 2025-01-02T00:00:00.000Z\n(3 bytes, not text; base64) AAEC\n' +
      '[3] deleted, last modified 2025-01-03T00:00:00.000Z\n',
  );
});

test('parseSiblingsBody accepts the documented shape and refuses anything else', { timeout: 1000 }, () => {
  const body = { context: 'c', siblings: [{ deleted: true, lastModified: 'x' }, { value: 'AA==', contentType: 't', lastModified: 'y' }] };
  assert.deepEqual(parseSiblingsBody(JSON.stringify(body)), body);
  assert.throws(() => parseSiblingsBody('{"context":1,"siblings":[]}'), /documented/);
  assert.throws(() => parseSiblingsBody('{"context":"c","siblings":[{"value":"AA=="}]}'), /documented/);
  assert.throws(() => parseSiblingsBody('[]'), /documented|object/);
  assert.throws(() => parseSiblingsBody('nope'), SyntaxError);
});

test('formatServerError shows the coded error, or the raw answer of something else', { timeout: 1000 }, () => {
  assert.equal(formatServerError(503, '{"code":"EVERWRITE_QUORUM_NOT_MET","message":"1 of 2","replied":1}'), 'everwrite: 1 of 2 [EVERWRITE_QUORUM_NOT_MET, HTTP 503]\n');
  assert.equal(formatServerError(502, '<html>Bad Gateway</html>'), 'everwrite: the node answered HTTP 502: <html>Bad Gateway</html>\n');
  assert.equal(formatServerError(500, ''), 'everwrite: the node answered HTTP 500\n');
});

test('formatContext and singleValueBody give the documented shapes', { timeout: 1000 }, () => {
  assert.equal(formatContext('abc'), 'context: abc\n');
  assert.equal(formatContext('abc', 'why'), 'context: abc (why)\n');
  assert.deepEqual(singleValueBody('c', Buffer.from('v'), 'text/plain', 'Thu, 02 Jan 2025 03:04:05 GMT'), {
    context: 'c',
    siblings: [{ value: 'dg==', contentType: 'text/plain', lastModified: '2025-01-02T03:04:05.000Z' }],
  });
  assert.equal(singleValueBody('c', new Uint8Array(0), 't', null).siblings[0]?.lastModified, '');
});
