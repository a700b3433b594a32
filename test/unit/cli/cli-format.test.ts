// Why: the CLI's formatting helpers are pure; their exact output is what operators read and what
// scripts parse, so it is pinned here without a node or a terminal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatContext,
  formatServerError,
  formatSiblings,
  parseNodeUrl,
  parsePositiveInteger,
  printableText,
  siblingsBodyOf,
} from '../../../src/cli/format.ts';

test('parseNodeUrl takes http and https URLs and refuses anything else as a usage error', { timeout: 1000 }, () => {
  assert.equal(parseNodeUrl('https://h:1').port, '1');
  assert.throws(() => parseNodeUrl('not a url'), /--node must be a URL/);
  assert.throws(() => parseNodeUrl('file:///tmp'), /--node must be an http/);
});

test('parsePositiveInteger accepts only positive integers and names the option', { timeout: 1000 }, () => {
  assert.equal(parsePositiveInteger('3', '--w'), 3);
  for (const text of ['0', '-1', '1.5', '', 'x', '01', '1e3'])
    assert.throws(() => parsePositiveInteger(text, '--w'), /--w must be a positive integer/);
});

test('printableText accepts UTF-8 text and refuses binary or control characters', { timeout: 1000 }, () => {
  assert.equal(printableText(Buffer.from('héllo\n\tworld\r\n')), 'héllo\n\tworld\r\n');
  assert.equal(printableText(new Uint8Array([0xff, 0xfe])), undefined);
  assert.equal(printableText(new Uint8Array([0x41, 0x00])), undefined);
  assert.equal(printableText(Buffer.from('\u001b[31mred')), undefined, 'terminal escapes are not printed raw');
});

test(
  'formatSiblings numbers siblings, shows text as text, binary as base64, deletions as deleted',
  { timeout: 1000 },
  () => {
    const listing = formatSiblings({
      context: 'c',
      siblings: [
        {
          value: Buffer.from('line\n').toString('base64'),
          contentType: 'text/plain',
          lastModified: '2025-01-01T00:00:00.000Z',
        },
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
  },
);

test('formatServerError shows the coded error, or the raw answer of something else', { timeout: 1000 }, () => {
  assert.equal(
    formatServerError(503, '{"code":"EVERWRITE_QUORUM_NOT_MET","message":"1 of 2","replied":1}'),
    'everwrite: 1 of 2 [EVERWRITE_QUORUM_NOT_MET, HTTP 503]\n',
  );
  assert.equal(
    formatServerError(502, '<html>Bad Gateway</html>'),
    'everwrite: the node answered HTTP 502: <html>Bad Gateway</html>\n',
  );
  assert.equal(formatServerError(500, ''), 'everwrite: the node answered HTTP 500\n');
});

test('formatContext and siblingsBodyOf give the documented shapes', { timeout: 1000 }, () => {
  assert.equal(formatContext('abc'), 'context: abc\n');
  assert.equal(formatContext('abc', 'why'), 'context: abc (why)\n');
  const value = {
    value: Buffer.from('v'),
    contentType: 'text/plain',
    lastModified: new Date('2025-01-02T03:04:05.000Z'),
    deleted: false,
  };
  assert.deepEqual(siblingsBodyOf({ found: true, context: 'c', siblings: [value] }), {
    context: 'c',
    siblings: [{ value: 'dg==', contentType: 'text/plain', lastModified: '2025-01-02T03:04:05.000Z' }],
  });
  const deleted = {
    value: new Uint8Array(0),
    contentType: '',
    lastModified: new Date('2025-01-03T00:00:00.123Z'),
    deleted: true,
  };
  assert.deepEqual(
    siblingsBodyOf({ found: true, context: 'c2', siblings: [value, deleted] }).siblings[1],
    { deleted: true, lastModified: '2025-01-03T00:00:00.123Z' },
    'a deleted sibling keeps the 300 shape: no value, no content type',
  );
  const unknownDate = { ...value, value: Buffer.from('v').subarray(0, 1), lastModified: new Date(0) };
  assert.equal(
    siblingsBodyOf({ found: true, context: 'c', siblings: [unknownDate] }).siblings[0]?.lastModified,
    '',
    "no Last-Modified (the client's epoch) prints as empty",
  );
  assert.deepEqual(siblingsBodyOf({ found: false, context: 'tomb', siblings: [], reason: 'key is deleted' }), {
    context: 'tomb',
    siblings: [],
  });
});
