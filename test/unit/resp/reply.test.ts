// Why: the encoder decides every byte a client reads; one wrong length breaks the whole stream
// after it. These tests pin the RESP2 and RESP3 shapes of each reply kind, check measured and
// written lengths agree on arbitrary nested replies (seeded property, decoded back by the test
// client's independent decoder), and pin the sibling choice GET makes and CONFIG GET's globbing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { globMatches } from '../../../src/api/resp/commands/server.ts';
import { ErrorReply, MapReply, SetReply, SimpleString, VerbatimReply, encodeReply } from '../../../src/api/resp/reply.ts';
import type { ProtocolVersion, Reply } from '../../../src/api/resp/reply.ts';
import { chooseSibling } from '../../../src/api/resp/resolve.ts';
import type { SiblingView } from '../../../src/runtime/service.ts';
import { decodeAt } from '../../support/resp-client.ts';
import { propertyOptions } from '../../support/property.ts';

function wire(reply: Reply, protocol: ProtocolVersion): string {
  return encodeReply(reply, protocol).toString('latin1');
}

test('scalar replies in RESP2 and RESP3', () => {
  assert.equal(wire(new SimpleString('OK'), 2), '+OK\r\n');
  assert.equal(wire(new ErrorReply('ERR bad\r\nthing'), 2), '-ERR bad thing\r\n');
  assert.equal(wire(-42, 3), ':-42\r\n');
  assert.equal(wire('héllo', 2), '$6\r\nh\xc3\xa9llo\r\n');
  assert.equal(wire(Buffer.from([0, 1]), 2), '$2\r\n\x00\x01\r\n');
  assert.equal(wire(null, 2), '$-1\r\n');
  assert.equal(wire(null, 3), '_\r\n');
  assert.equal(wire(new VerbatimReply('a:1\r\n'), 2), '$5\r\na:1\r\n\r\n');
  assert.equal(wire(new VerbatimReply('a:1\r\n'), 3), '=9\r\ntxt:a:1\r\n\r\n');
});

test('aggregates: a map is a flat array in RESP2 and % in RESP3; a set is ~', () => {
  const map = new MapReply([['proto', 3], ['modules', []]]);
  assert.equal(wire(map, 2), '*4\r\n$5\r\nproto\r\n:3\r\n$7\r\nmodules\r\n*0\r\n');
  assert.equal(wire(map, 3), '%2\r\n$5\r\nproto\r\n:3\r\n$7\r\nmodules\r\n*0\r\n');
  assert.equal(wire(new SetReply([new SimpleString('readonly')]), 3), '~1\r\n+readonly\r\n');
  assert.equal(wire(['a', null], 3), '*2\r\n$1\r\na\r\n_\r\n');
});

test('an integer reply that is not a safe integer is a bug, caught by an assertion', () => {
  assert.throws(() => encodeReply(1.5, 2), /safe integer/);
});

const replyArbitrary: fc.Arbitrary<Reply> = fc.letrec<{ reply: Reply }>((tie) => ({
  reply: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.integer(),
    fc.string({ unit: 'grapheme' }),
    fc.uint8Array({ maxLength: 20 }),
    fc.string().map((text) => new SimpleString(text)),
    fc.array(tie('reply'), { maxLength: 4 }),
    fc.array(fc.tuple(tie('reply'), tie('reply')), { maxLength: 3 }).map((entries) => new MapReply(entries)),
    fc.array(tie('reply'), { maxLength: 3 }).map((items) => new SetReply(items)),
    fc.string().map((text) => new VerbatimReply(text)),
  ),
})).reply;

test('every reply encodes to exactly one complete frame in both protocols (seeded property)', () => {
  fc.assert(
    fc.property(replyArbitrary, fc.constantFrom<ProtocolVersion>(2, 3), (reply, protocol) => {
      const bytes = encodeReply(reply, protocol);
      const decoded = decodeAt(bytes, 0);
      assert.ok(decoded !== undefined);
      assert.equal(decoded.end, bytes.length);
    }),
    propertyOptions(1000),
  );
});

function sibling(value: string, lastModifiedMs: number, deleted = false): SiblingView {
  return { value: Buffer.from(value), contentType: 'application/octet-stream', lastModifiedMs, deleted };
}

test('GET picks the live sibling written last, ties by the larger bytes, never a tombstone', () => {
  assert.equal(chooseSibling([]), undefined);
  assert.equal(chooseSibling([sibling('', 5, true)]), undefined);
  assert.equal(Buffer.from(chooseSibling([sibling('old', 1), sibling('new', 2)])?.value ?? []).toString(), 'new');
  assert.equal(Buffer.from(chooseSibling([sibling('new', 2), sibling('old', 1)])?.value ?? []).toString(), 'new');
  assert.equal(Buffer.from(chooseSibling([sibling('a', 3), sibling('b', 3)])?.value ?? []).toString(), 'b');
  assert.equal(Buffer.from(chooseSibling([sibling('b', 3), sibling('a', 3)])?.value ?? []).toString(), 'b');
  assert.equal(Buffer.from(chooseSibling([sibling('kept', 1), sibling('', 9, true)])?.value ?? []).toString(), 'kept');
});

test('the choice does not depend on sibling order (seeded property)', () => {
  const siblings = fc.array(fc.record({ value: fc.string({ maxLength: 3 }), at: fc.integer({ min: 0, max: 3 }), deleted: fc.boolean() }), { maxLength: 6 });
  fc.assert(
    fc.property(siblings, (list) => {
      const views = list.map((each) => sibling(each.value, each.at, each.deleted));
      const forward = chooseSibling(views);
      const backward = chooseSibling([...views].reverse());
      assert.equal(forward === undefined, backward === undefined);
      if (forward !== undefined && backward !== undefined) {
        assert.equal(forward.lastModifiedMs, backward.lastModifiedMs);
        assert.deepEqual(Buffer.from(forward.value), Buffer.from(backward.value));
      }
    }),
    propertyOptions(500),
  );
});

test('CONFIG GET patterns glob as Redis does, case-insensitively', () => {
  assert.ok(globMatches('save', 'save'));
  assert.ok(globMatches('SAVE', 'save'));
  assert.ok(globMatches('*', 'appendonly'));
  assert.ok(globMatches('max*', 'maxmemory-policy'));
  assert.ok(globMatches('*memory*', 'maxmemory-policy'));
  assert.ok(globMatches('sav?', 'save'));
  assert.ok(globMatches('a\\*', 'a*'));
  assert.ok(!globMatches('a\\*', 'ab'));
  assert.ok(!globMatches('save?', 'save'));
  assert.ok(!globMatches('x*', 'save'));
});
