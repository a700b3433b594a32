// Why: the encoder decides every byte a client reads; one wrong length breaks the whole stream
// after it. These tests pin the RESP2 and RESP3 shapes of each reply kind, check measured and
// written lengths agree on arbitrary nested replies (seeded property, decoded back by the test
// client's independent decoder), and pin the sibling choice GET makes (the core's last-writer-wins
// order) and CONFIG GET's globbing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { globMatches } from '../../../../src/api/resp/commands/server.ts';
import {
  ErrorReply,
  MapReply,
  SetReply,
  SimpleString,
  VerbatimReply,
  encodeReply,
} from '../../../../src/api/resp/reply.ts';
import type { ProtocolVersion, Reply } from '../../../../src/api/resp/reply.ts';
import { chooseSibling } from '../../../../src/api/resp/resolve.ts';
import type { SiblingView } from '../../../../src/runtime/service.ts';
import { toGetResult } from '../../../../src/runtime/node-runtime.ts';
import { testContextSeal } from '../../../support/context-seal.ts';
import { lastWriter } from '../../../../src/core/versioning/index.ts';
import { poolRecord } from '../../../property/core/versioning/arbitraries.ts';
import { decodeAt } from '../../../support/resp-client.ts';
import { propertyOptions } from '../../../support/property.ts';

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
  const map = new MapReply([
    ['proto', 3],
    ['modules', []],
  ]);
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

function sibling(
  value: string,
  lastModifiedMs: number,
  deleted = false,
  timestamp = lastModifiedMs * 1024,
): SiblingView {
  return { value: Buffer.from(value), contentType: 'application/octet-stream', lastModifiedMs, deleted, timestamp };
}

const text = (view: SiblingView | undefined): string | undefined =>
  view === undefined ? undefined : Buffer.from(view.value).toString();

test('GET picks the live sibling with the latest hybrid logical clock timestamp, not the latest lastModified, never a tombstone', () => {
  assert.equal(chooseSibling([]), undefined);
  assert.equal(chooseSibling([sibling('', 5, true)]), undefined);
  assert.equal(text(chooseSibling([sibling('old', 1), sibling('new', 2)])), 'new');
  assert.equal(text(chooseSibling([sibling('new', 2), sibling('old', 1)])), 'new');
  // Written on a node whose clock is 10 s ahead, then on one that had seen it: wall clocks disagree with the order.
  const ahead = sibling('by the fast clock', 1_700_000_010_000, false, 1_700_000_010_000 * 1024);
  const after = sibling('written after seeing it', 1_700_000_000_500, false, 1_700_000_010_000 * 1024 + 1);
  assert.equal(
    text(chooseSibling([ahead, after])),
    'written after seeing it',
    'by lastModified the fast clock would have won',
  );
  assert.equal(text(chooseSibling([after, ahead])), 'written after seeing it');
  assert.equal(text(chooseSibling([sibling('kept', 1), sibling('', 9, true)])), 'kept');
  // Equal timestamps: the later one in the list, which GetResult keeps in canonical (actor, counter) order.
  assert.equal(text(chooseSibling([sibling('b', 3), sibling('a', 3)])), 'a');
});

test('with distinct timestamps the choice does not depend on sibling order (seeded property)', () => {
  const siblings = fc.uniqueArray(
    fc.record({ value: fc.string({ maxLength: 3 }), at: fc.integer({ min: 0, max: 30 }), deleted: fc.boolean() }),
    { selector: (each) => each.at, maxLength: 6 },
  );
  fc.assert(
    fc.property(siblings, (list) => {
      const views = list.map((each) => sibling(each.value, each.at, each.deleted));
      const forward = chooseSibling(views);
      assert.equal(forward, chooseSibling([...views].reverse()));
      const live = views.filter((view) => !view.deleted);
      assert.equal(
        forward,
        live.length === 0 ? undefined : live.reduce((best, view) => (view.timestamp > best.timestamp ? view : best)),
      );
    }),
    propertyOptions(500),
  );
});

test('GET answers the sibling an lww bucket keeps: the live last writer in the core order (seeded property)', () => {
  fc.assert(
    fc.property(poolRecord, (record) => {
      const live = record.siblings.filter((each) => !each.stored.deleted);
      const expected = lastWriter(live);
      const chosen = chooseSibling(toGetResult(record, testContextSeal).siblings);
      assert.equal(chosen?.timestamp, expected?.stored.timestamp);
      assert.equal(chosen?.value, expected?.stored.value, 'the very same version');
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
