// Why: the cluster view's gossip messages cross the wire from peers that are authenticated but may
// be damaged or of another version; each must round-trip exactly, and every out-of-range field,
// unknown kind or flag, oversized view and truncation must be EVERWRITE_BAD_FRAME (decision 0015).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EverwriteError } from '../../../../../src/core/base/errors.ts';
import type { Message } from '../../../../../src/core/protocol/messages.ts';
import { viewLimits } from '../../../../../src/core/cluster-view/index.ts';
import { decodeMessages, encodeMessages } from '../../../../../src/core/protocol/codec/message-codec.ts';
import { varintSize, writeVarint } from '../../../../../src/core/versioning/wire.ts';
import { view } from '../../cluster-view/support.ts';

const digest = '0123456789abcdef0123456789abcdef';

function assertBadFrame(frame: Uint8Array, what: string): void {
  assert.throws(
    () => decodeMessages(frame),
    (error: unknown) => error instanceof EverwriteError && error.code === 'EVERWRITE_BAD_FRAME',
    what,
  );
}

/** A frame holding one message made of `tag` and `body` bytes. */
function frameOf(tag: number, ...body: number[]): Uint8Array {
  return Uint8Array.from([0xc1, 1, tag, ...body]);
}

const digestBody = (version: number[], partitionCount: number[], text: string): number[] => [
  ...version,
  ...partitionCount,
  text.length,
  ...Buffer.from(text, 'latin1'),
];

test('view messages round-trip beside the data-path messages', () => {
  const messages: Message[] = [
    { type: 'viewDigest', version: 1, partitionCount: 256, digest, reply: false },
    { type: 'viewDigest', version: 2 ** 31 - 1, partitionCount: 16_384, digest, reply: true },
    { type: 'replicaPutAck', id: 7, ok: true },
    { type: 'viewPull', version: 300 },
    { type: 'viewFull', view: view(3, 64).encoded },
  ];
  const decoded = decodeMessages(encodeMessages(messages));
  assert.deepEqual(
    decoded.map((message) =>
      message.type === 'viewFull' ? { ...message, view: new Uint8Array(message.view) } : message,
    ),
    messages,
  );
});

test('malformed view messages are EVERWRITE_BAD_FRAME', () => {
  const good = frameOf(0x1e, ...digestBody([1], [0x80, 0x02], digest));
  assert.equal(decodeMessages(good).length, 1, 'the hand-built frame is valid');
  assertBadFrame(frameOf(0x0e, 1), 'kind 0');
  assertBadFrame(frameOf(0x8e | 0x10, ...digestBody([1], [1], digest)), 'unused flag 0x80');
  assertBadFrame(frameOf(0x2e | 0x40, 1), 'reply flag on a pull');
  assertBadFrame(frameOf(0x1e, ...digestBody([0], [1], digest)), 'version 0');
  assertBadFrame(frameOf(0x2e, 0x80, 0x80, 0x80, 0x80, 0x08), 'version past 2^31 - 1');
  assertBadFrame(frameOf(0x1e, ...digestBody([1], [3], digest)), 'partition count 3');
  assertBadFrame(frameOf(0x1e, ...digestBody([1], [0x80, 0x80, 0x02], digest)), 'partition count 32768');
  assertBadFrame(frameOf(0x1e, ...digestBody([1], [1], digest.toUpperCase())), 'uppercase digest');
  assertBadFrame(frameOf(0x1e, ...digestBody([1], [1], digest.slice(1))), 'short digest');
  assertBadFrame(frameOf(0x1e, 1, 1, 32, 0x30), 'truncated digest');
  assertBadFrame(frameOf(0x3e, 5, 1, 2), 'view bytes past the frame');
  const oversized = viewLimits.viewBytesMax + 1;
  const frame = Buffer.alloc(3 + varintSize(oversized) + oversized);
  frame[0] = 0xc1;
  frame[1] = 1;
  frame[2] = 0x3e;
  writeVarint(frame, 3, oversized);
  assertBadFrame(frame, 'a view past viewBytesMax');
});
