// Why: the causal context token is accepted from any client, so its decoder is a trust boundary:
// these cases pin the layout and every rejection the design names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EverwriteError } from '../../../../src/core/base/errors.ts';
import {
  base64UrlDecode,
  base64UrlEncode,
  checkRecordContext,
  contextForClient,
  defaultClientContextBound,
  recordContextEntriesMax,
  type Sibling,
  contextHeaderBytesMax,
  contextSealBytes,
  contextTokenBytesMax,
  contextTokenLength,
  decodeContext,
  defaultContextLimits,
  dotCounterMax,
  encodeContext,
  type VersionVector,
} from '../../../../src/core/versioning/index.ts';
import { writeVarint } from '../../../../src/core/versioning/wire.ts';

function token(bytes: number[]): string {
  return base64UrlEncode(Uint8Array.from(bytes));
}

function rejects(text: string, pattern: RegExp, limits?: { entriesMax: number; tokenBytesMax: number }): void {
  assert.throws(
    () => decodeContext(text, limits),
    (error: unknown) =>
      error instanceof EverwriteError && error.code === 'EVERWRITE_BAD_CONTEXT' && pattern.test(error.message),
  );
}

const ascii = (text: string): number[] => [...new TextEncoder().encode(text)];

test('base64url matches the standard alphabet without padding', () => {
  const bytes = Uint8Array.from([0xfb, 0xff, 0xbf, 0x00, 0x10]);
  assert.equal(base64UrlEncode(bytes), Buffer.from(bytes).toString('base64url'));
  for (let length = 0; length < 8; length++) {
    const sample = Uint8Array.from({ length }, (_, i) => (i * 97 + 13) & 255);
    assert.equal(base64UrlEncode(sample), Buffer.from(sample).toString('base64url'));
    assert.deepEqual(base64UrlDecode(base64UrlEncode(sample)), sample);
  }
});

test('the empty vector is the empty token, and the empty token decodes to an empty vector', () => {
  assert.equal(encodeContext(new Map()), '');
  assert.deepEqual(decodeContext(''), new Map());
  assert.deepEqual(decodeContext(token([1, 0])), new Map());
});

test('a context round-trips, sorted by actor so equal vectors give equal tokens', () => {
  const vector: VersionVector = new Map([
    ['n2.1', 7],
    ['n1.1', dotCounterMax],
    ['nœud-é.3', 1],
    ['\uFEFFbom.1', 2],
  ]);
  const encoded = encodeContext(vector);
  assert.match(encoded, /^[A-Za-z0-9_-]+$/);
  assert.deepEqual(decodeContext(encoded), vector);
  assert.equal(encodeContext(new Map([...vector].reverse())), encoded);
  assert.equal(encodeContext(new Map([['a.1', 3]])), token([1, 1, 3, ...ascii('a.1'), 3]));
});

test('decoding rejects bad base64url', () => {
  rejects('AQ=', /base64url/);
  rejects('A', /length/);
  rejects('AQ+/', /base64url/);
  rejects('AQ==', /base64url/);
  rejects('AR', /padding bits/);
  rejects('AQé', /base64url/);
});

test('decoding rejects a wrong version, truncation and trailing bytes', () => {
  rejects(token([2, 0]), /version/);
  rejects(token([1]), /truncated/);
  rejects(token([1, 1, 3, ...ascii('a.1')]), /truncated/);
  rejects(token([1, 1, 3, ...ascii('a.1'), 0x81]), /truncated/);
  rejects(token([1, 1, 3, ...ascii('a.1'), 3, 0]), /trailing/);
});

test('decoding rejects counters that are not safe positive integers', () => {
  rejects(token([1, 1, 1, 97, 0]), /not positive/);
  rejects(token([1, 1, 1, 97, 0x81, 0x00]), /overlong/);
  rejects(token([1, 1, 1, 97, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10]), /2\^53/);
  rejects(token([1, 1, 1, 97, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), /longer than 8/);
});

test('decoding rejects duplicate, empty, oversized and non-UTF-8 actor names', () => {
  rejects(token([1, 2, 1, 97, 1, 1, 97, 2]), /duplicate/);
  rejects(token([1, 1, 0, 1, 0]), /empty actor/);
  rejects(token([1, 1, 0x80, 0x02, ...new Array<number>(256).fill(97), 1]), /too long/);
  rejects(token([1, 1, 2, 0xc3, 0x28, 1]), /UTF-8/);
});

test('decoding rejects more entries than the bound and tokens longer than the bound', () => {
  const three = encodeContext(
    new Map([
      ['a', 1],
      ['b', 1],
      ['c', 1],
    ]),
  );
  assert.equal(decodeContext(three, { entriesMax: 3, tokenBytesMax: 100 }).size, 3);
  rejects(three, /more than 2 entries/, { entriesMax: 2, tokenBytesMax: 100 });
  rejects(three, /longer than 4 bytes/, { entriesMax: 3, tokenBytesMax: 4 });
  rejects(token([1, 0xff, 0xff, 0x03]), /count exceeds/);
});

test('actor names like __proto__ stay plain Map keys', () => {
  const decoded = decodeContext(
    encodeContext(
      new Map([
        ['__proto__', 2],
        ['constructor', 1],
      ]),
    ),
  );
  assert.equal(decoded.get('__proto__'), 2);
  assert.equal(Object.getPrototypeOf({}).polluted, undefined);
  assert.ok(decoded instanceof Map);
});

/** A one-entry token whose counter is `counter`, written with the codec's own varint (it writes any safe integer). */
function tokenWithCounter(counter: number): string {
  const bytes = new Uint8Array(16);
  bytes.set([1, 1, 1, 97]);
  const end = writeVarint(bytes, 4, counter);
  return base64UrlEncode(bytes.subarray(0, end));
}

test('decoding refuses a counter past dotCounterMax, so a mint can always add one to what it accepted', () => {
  assert.equal(decodeContext(tokenWithCounter(dotCounterMax)).get('a'), dotCounterMax);
  for (const counter of [dotCounterMax + 1, 2 ** 53 - 2, 2 ** 53 - 1])
    rejects(tokenWithCounter(counter), /counter beyond/);
});

test('the default token bound leaves room for the seal within the 8 KiB header bound', () => {
  assert.equal(defaultContextLimits.tokenBytesMax + contextSealBytes, contextHeaderBytesMax);
  assert.equal(contextHeaderBytesMax, 8 * 1024);
  rejects('A'.repeat(contextTokenBytesMax + 1), /longer than 8170 bytes/);
});

const namedActors = (count: number, nameLength: number, counter = (index: number) => index + 1): VersionVector =>
  new Map(
    Array.from({ length: count }, (_, index) => [`n${String(index).padStart(nameLength - 1, '0')}`, counter(index)]),
  );

const siblingOf = (actor: string, counter: number): Sibling => ({
  dot: { actor, counter },
  stored: { value: new Uint8Array(0), contentType: 'text/plain', lastModifiedMs: 0, deleted: false, timestamp: 0 },
});

const isTooLarge = (error: unknown): boolean =>
  error instanceof EverwriteError && error.code === 'EVERWRITE_CONTEXT_TOO_LARGE' && error.httpStatus === 409;

test('contextForClient hands out a context that fits in a header as it is, and measures it exactly', () => {
  // 40-byte names: 1 + 40 + 1 bytes an entry. 145 entries: 1 + 2 + 145 * 42 = 6093 bytes, 8124 characters.
  const fits = namedActors(145, 40, () => 1);
  assert.equal(contextTokenLength(fits), encodeContext(fits).length);
  assert.ok(contextTokenLength(fits) <= contextTokenBytesMax);
  assert.equal(contextForClient(fits, [], defaultClientContextBound), fits);
  assert.ok(contextTokenLength(namedActors(146, 40, () => 1)) > contextTokenBytesMax);
  for (let count = 0; count < 5; count++)
    assert.equal(contextTokenLength(namedActors(count, 3)), encodeContext(namedActors(count, 3)).length);
});

test('contextForClient cuts a long context to the header bound: the siblings writers first, then the preferred actor, then the largest counters', () => {
  // 400 entries with counters 1..400; the siblings were written by the entries of counters 3 and 7.
  const vector = namedActors(400, 40);
  const writers = ['n' + '2'.padStart(39, '0'), 'n' + '6'.padStart(39, '0')];
  const preferred = 'n' + '0'.padStart(39, '0');
  const handed = contextForClient(vector, [siblingOf(writers[0]!, 2), siblingOf(writers[1]!, 7)], {
    entriesMax: defaultClientContextBound.entriesMax,
    preferredActor: preferred,
  });
  assert.ok(handed !== undefined);
  assert.ok(encodeContext(handed).length <= contextTokenBytesMax, `${encodeContext(handed).length} characters`);
  // Every kept entry keeps its whole counter: the handed context only ever claims less, never more.
  for (const [actor, counter] of handed) assert.equal(counter, vector.get(actor));
  for (const actor of [...writers, preferred]) assert.ok(handed.has(actor), `${actor} kept`);
  // The rest are the largest counters: no dropped entry has a larger counter than a kept optional one.
  const keptOptional = [...handed].filter(([actor]) => !writers.includes(actor) && actor !== preferred);
  const smallestKept = Math.min(...keptOptional.map(([, counter]) => counter));
  for (const [actor, counter] of vector) if (!handed.has(actor)) assert.ok(counter < smallestKept, actor);
  // As many entries as fit (counters past 127 take two bytes: 142 of 43 bytes): one more would not.
  assert.equal(handed.size, 142);
  const [dropped, counter] = [...vector].find(([actor]) => !handed.has(actor))!;
  assert.ok(encodeContext(new Map([...handed, [dropped, counter]])).length > contextTokenBytesMax);
});

test('contextForClient keeps entriesMax entries besides the siblings writers when told to', () => {
  const vector = namedActors(6, 3);
  const handed = contextForClient(vector, [siblingOf('n00', 1), siblingOf('n01', 2)], {
    entriesMax: 1,
    preferredActor: 'n03',
  });
  assert.deepEqual([...(handed ?? [])].sort(), [
    ['n00', 1],
    ['n01', 2],
    ['n03', 4],
  ]);
  // A sibling whose writer the vector does not name adds nothing: a handed context never grows.
  assert.deepEqual(
    [...(contextForClient(vector, [siblingOf('zz', 1)], { entriesMax: 1, preferredActor: undefined }) ?? [])],
    [['n05', 6]],
  );
});

test('contextForClient gives up, and checkRecordContext refuses with EVERWRITE_CONTEXT_TOO_LARGE, when the siblings writers alone pass the header bound', () => {
  // 30 writers of 250-byte names: 30 * 253 bytes, past the 6,127 a token holds.
  const vector = namedActors(30, 250);
  const siblings = [...vector].map(([actor, counter]) => siblingOf(actor, counter));
  assert.equal(contextForClient(vector, siblings, defaultClientContextBound), undefined);
  assert.throws(() => checkRecordContext({ context: vector, siblings }), isTooLarge);
  // Without those siblings the same context is cut down and handed out.
  assert.ok(contextForClient(vector, [], defaultClientContextBound) !== undefined);
  checkRecordContext({ context: vector, siblings: [] });
});

test('checkRecordContext refuses a record of more than recordContextEntriesMax writer epochs', () => {
  checkRecordContext({ context: namedActors(recordContextEntriesMax, 3), siblings: [] });
  assert.throws(
    () => checkRecordContext({ context: namedActors(recordContextEntriesMax + 1, 3), siblings: [] }),
    (error: unknown) => isTooLarge(error) && /1025 writer epochs/.test((error as Error).message),
  );
});
