// Why: the documented-examples test is only as good as its comparison: it must fail on a changed
// status, header, JSON field or message, and on a token shown twice that the run answered
// differently, while letting dates, lengths and the tokens themselves vary. Checked here without
// a cluster.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  compareOutput,
  expectedPrints,
  extractExamples,
  parseTranscript,
  TokenBindings,
} from '../../support/doc-examples.ts';

const documented = [
  'HTTP/1.1 200 OK',
  'ETag: "tag1"',
  'Content-Length: 5',
  'X-Everwrite-Context: TOKEN_ONE',
  '...',
  '',
  '{"context":"TOKEN_ONE","code":"X","lastModified":"2026-01-01T00:00:00.000Z","n":3}',
].join('\n');

function actual(overrides: { status?: string; context?: string; body?: string; extraHeader?: string } = {}): string {
  return [
    overrides.status ?? 'HTTP/1.1 200 OK',
    'ETag: "real-tag"',
    'Content-Length: 99',
    `X-Everwrite-Context: ${overrides.context ?? 'REAL_ONE'}`,
    'Date: Mon, 07 Dec 2026 12:00:00 GMT',
    ...(overrides.extraHeader === undefined ? [] : [overrides.extraHeader]),
    '',
    overrides.body ??
      `{"n":3,"code":"X","lastModified":"2026-12-07T12:00:00.123Z","context":"${overrides.context ?? 'REAL_ONE'}"}`,
  ].join('\r\n');
}

test('an answer of the documented shape passes: dates, lengths and tokens vary, tokens bind for later commands', () => {
  const bindings = new TokenBindings();
  compareOutput(documented, actual(), bindings, 'example');
  assert.equal(
    bindings.substitute("curl -H 'X-Everwrite-Context: TOKEN_ONE' -H 'If-Match: \"tag1\"'"),
    "curl -H 'X-Everwrite-Context: REAL_ONE' -H 'If-Match: \"real-tag\"'",
  );
});

test('a different status, JSON value, JSON field set or token fails, naming what differs', () => {
  assert.throws(
    () => compareOutput(documented, actual({ status: 'HTTP/1.1 404 Not Found' }), new TokenBindings(), 'example'),
    /status line/,
  );
  assert.throws(
    () =>
      compareOutput(
        documented,
        actual({ body: '{"n":4,"code":"X","lastModified":"x","context":"REAL_ONE"}' }),
        new TokenBindings(),
        'example',
      ),
    /\$\.n is 4/,
  );
  assert.throws(
    () =>
      compareOutput(
        documented,
        actual({ body: '{"n":3,"code":"X","lastModified":"x","context":"REAL_ONE","extra":1}' }),
        new TokenBindings(),
        'example',
      ),
    /has keys/,
  );
  assert.throws(
    () =>
      compareOutput(
        documented,
        actual({ context: 'REAL_ONE', body: '{"n":3,"code":"X","lastModified":"x","context":"ANOTHER"}' }),
        new TokenBindings(),
        'example',
      ),
    /different token/,
  );
  const bindings = new TokenBindings();
  compareOutput(documented, actual(), bindings, 'first');
  assert.throws(
    () => compareOutput(documented, actual({ context: 'REAL_TWO' }), bindings, 'second'),
    /different token/,
    'the same documented token must stay the same real token',
  );
});

test('without a ... line no extra header may appear; text lines compare exactly apart from dates and printed contexts', () => {
  const exact = ['HTTP/1.1 204 No Content', 'Date: x'].join('\n');
  compareOutput(
    exact,
    'HTTP/1.1 204 No Content\r\r\n\u001b[1mDate\u001b[0m: Mon, 07 Dec 2026 12:00:00 GMT\r\r\n',
    new TokenBindings(),
    "exact (a terminal's line ends and bold names)",
  );
  assert.throws(
    () => compareOutput(exact, 'HTTP/1.1 204 No Content\r\nDate: y\r\nETag: "t"\r\n', new TokenBindings(), 'exact'),
    /headers the docs do not show: etag/,
  );
  compareOutput(
    'buy milk\ncontext: DOCUMENTED_TOKEN_AAAAAA (put with this context)',
    'buy milk\ncontext: RealTokenFromTheRun_123 (put with this context)\n',
    new TokenBindings(),
    'text',
  );
  assert.throws(() => compareOutput('buy milk', 'buy bread', new TokenBindings(), 'text'), /does not match/);
  assert.throws(() => compareOutput('one', 'one\ntwo', new TokenBindings(), 'text'), /printed more than the docs show/);
  compareOutput('one\n...', 'one\ntwo\nthree', new TokenBindings(), 'text');
});

test('only blocks after the marker are extracted, with their language; transcripts split into commands and outputs', () => {
  const markdown = [
    '```',
    '$ ignored',
    '```',
    '<!-- checked-example -->',
    '```sh',
    'echo hi',
    '```',
    '<!-- checked-example -->',
    '```',
    '$ curl -s \\',
    '  x',
    'out',
    '',
    '$ two',
    '```',
  ].join('\n');
  const examples = extractExamples('doc.md', markdown);
  assert.deepEqual(
    examples.map((example) => [example.language, example.line]),
    [
      ['sh', 5],
      ['', 9],
    ],
  );
  assert.deepEqual(parseTranscript(examples[1]?.text ?? ''), [
    { command: 'curl -s   x', expected: 'out' },
    { command: 'two', expected: '' },
  ]);
  assert.throws(
    () => extractExamples('bad.md', '<!-- checked-example -->\ntext'),
    /must be followed by a fenced block/,
  );
});

test('a marker may name what the cluster must be like; an unknown comment is no marker', () => {
  const markdown = [
    '<!-- checked-example: n3 down -->',
    '```',
    '$ a',
    '```',
    '<!-- checked-example: Bad! -->',
    '```',
    '$ b',
    '```',
    '<!-- checked-example -->',
    '```',
    '$ c',
    '```',
  ].join('\n');
  assert.deepEqual(
    extractExamples('doc.md', markdown).map((example) => [example.text, example.condition]),
    [
      ['$ a', 'n3 down'],
      ['$ c', undefined],
    ],
  );
});

test('documented JSON may wrap over indented lines and elide with ...: any value there, or any number of array elements', () => {
  const wrapped = [
    '{"id":"n1","members":[{"id":"n1","state":"up"},',
    ' ...],"view":{"version":...,"peers":[...]},',
    ' "last":[..., 7]}',
  ].join('\n');
  compareOutput(
    wrapped,
    '{"id":"n1","members":[{"id":"n1","state":"up"},{"id":"n2","state":"up"}],"view":{"version":4,"peers":[]},"last":[1,2,7]}',
    new TokenBindings(),
    'example',
  );
  compareOutput(
    wrapped,
    '{"id":"n1","members":[{"id":"n1","state":"up"}],"view":{"version":"v","peers":[1]},"last":[7]}',
    new TokenBindings(),
    'fewest elements',
  );
  assert.throws(
    () =>
      compareOutput(
        wrapped,
        '{"id":"n1","members":[{"id":"n1","state":"down"}],"view":{"version":4,"peers":[]},"last":[7]}',
        new TokenBindings(),
        'example',
      ),
    /members\[0\]\.state is "down"/,
  );
  assert.throws(
    () =>
      compareOutput(
        wrapped,
        '{"id":"n1","members":[],"view":{"version":4,"peers":[]},"last":[7]}',
        new TokenBindings(),
        'example',
      ),
    /members should be an array of at least 1/,
  );
  assert.throws(
    () =>
      compareOutput(
        wrapped,
        '{"id":"n1","members":[{"id":"n1","state":"up"}],"view":{"peers":[]},"last":[7]}',
        new TokenBindings(),
        'example',
      ),
    /view has keys peers/,
  );
  assert.throws(
    () =>
      compareOutput(
        wrapped,
        '{"id":"n1","members":[{"id":"n1","state":"up"}],"view":{"version":4,"peers":[]},"last":[7,8]}',
        new TokenBindings(),
        'example',
      ),
    /last\[1\] is 8/,
  );
  // `...` inside a string is text, not an elision.
  assert.throws(
    () => compareOutput('{"message":"a..."}', '{"message":"abc"}', new TokenBindings(), 'example'),
    /message is "abc"/,
  );
});

test('run-dependent fields (how long ago a member was heard, SWIM incarnations, view digests) compare by type only', () => {
  compareOutput(
    '{"lastHeardAgoMs":12,"incarnation":0,"digest":"5fa6"}',
    '{"lastHeardAgoMs":980,"incarnation":2,"digest":"0c5f"}',
    new TokenBindings(),
    'example',
  );
  assert.throws(
    () => compareOutput('{"lastHeardAgoMs":12}', '{"lastHeardAgoMs":"soon"}', new TokenBindings(), 'example'),
    /lastHeardAgoMs/,
  );
});

test('terminal presentation is not output: bold header names and the hyperlink curl wraps a Location in', () => {
  const escape = String.fromCharCode(27);
  const received = [
    `HTTP/1.1 307 Temporary Redirect\r`,
    `${escape}[1mLocation${escape}[0m: ${escape}]8;;http://x/plan${escape}\\http://x/plan\r`,
    `${escape}]8;;${escape}\\${escape}[1mContent-Type${escape}[0m: application/json\r`,
    '\r',
    '{}',
  ].join('\n');
  compareOutput(
    ['HTTP/1.1 307 Temporary Redirect', 'Location: http://x/plan', 'Content-Type: application/json', '', '{}'].join(
      '\n',
    ),
    received,
    new TokenBindings(),
    'example',
  );
  assert.throws(
    () =>
      compareOutput(
        ['HTTP/1.1 307 Temporary Redirect', 'Location: http://y/plan', '...'].join('\n'),
        received,
        new TokenBindings(),
        'example',
      ),
    /location is "http:\/\/x\/plan"/,
  );
});

test('a program example says what it prints with // prints: comments, in order', () => {
  assert.deepEqual(
    expectedPrints('console.log(a); // prints: true v\nconst b = 1; // not this\nconsole.log(b); // prints: 1  \n'),
    ['true v', '1'],
  );
  assert.deepEqual(expectedPrints('await client.close();'), []);
});

test("a redis-cli prompt line is a command run as redis-cli on that port; its output compares like a transcript's", () => {
  const session = [
    '127.0.0.1:6381> SET cart apples',
    'OK',
    "127.0.0.1:6382> EW.PUT cart '' pears",
    '"DOCUMENTED_TOKEN_AAAAAA"',
  ].join('\n');
  assert.deepEqual(parseTranscript(session), [
    { command: 'redis-cli -p 6381 SET cart apples', expected: 'OK' },
    { command: "redis-cli -p 6382 EW.PUT cart '' pears", expected: '"DOCUMENTED_TOKEN_AAAAAA"' },
  ]);
});

test('a token redis-cli prints quoted, alone or as an array element, binds like a context; its indices and the rest compare exactly', () => {
  const bindings = new TokenBindings();
  compareOutput(
    '1) "DOCUMENTED_TOKEN_AAAAAA"\n2) 1) "apples"',
    '1) "RealTokenFromTheRun_123"\r\n2) 1) "apples"\r\n',
    bindings,
    'getall',
  );
  compareOutput('"DOCUMENTED_TOKEN_AAAAAA"', '"RealTokenFromTheRun_123"', bindings, 'the same token again');
  assert.throws(
    () => compareOutput('"DOCUMENTED_TOKEN_AAAAAA"', '"AnotherTokenFromTheRun_4"', bindings, 'changed'),
    /different token/,
  );
  assert.throws(
    () => compareOutput('1) "DOCUMENTED_TOKEN_BBBBBB"', '2) "RealTokenFromTheRun_567"', new TokenBindings(), 'index'),
    /does not match/,
  );
  assert.throws(() => compareOutput('2) 1) "apples"', '2) 1) "pears"', new TokenBindings(), 'value'), /does not match/);
});
