// Why: the cluster view's three gossip messages (src/core/cluster-view/messages.ts) in the peer
// frame format of message-codec.ts, kept in a file of their own so the view and the data path
// change apart. They share one type code, 14 (15 is liveness's); the high bits of the tag say which
// message it is. A peer is
// authenticated but its frame may still be damaged or from another version: every field is
// bounded and checked, and anything else is EVERWRITE_BAD_FRAME.
//
//   14 view   tag flags: kind in bits 0x30 (1 digest, 2 pull, 3 full), reply 0x40 (digest only), 0x80 unused
//             digest: version, partitionCount integers, digest text (32 hex digits)
//             pull:   version integer
//             full:   view bytes (at most viewLimits.viewBytesMax; decoded and checked by the gossip)
import { assert } from '../../base/assert.ts';
import { viewDigestPattern, viewLimits, type ViewMessage } from '../../cluster-view/index.ts';
import { isPowerOfTwo } from '../../ring/position.ts';
import { ringLimits } from '../../ring/index.ts';
import { varintSize, writeVarint } from '../../versioning/wire.ts';
import type { FrameCursor } from './message-codec.ts';

export const viewMessageCode = 14;
const kindShift = 4;
const kindMask = 0x30;
const digestKind = 1;
const pullKind = 2;
const fullKind = 3;
const replyFlag = 0x40;
const digestBytes = 32;

export function viewMessageSize(message: ViewMessage): number {
  switch (message.type) {
    case 'viewDigest':
      assert(viewDigestPattern.test(message.digest), 'a view digest is 32 hex digits');
      return 1 + varintSize(message.version) + varintSize(message.partitionCount) + 1 + digestBytes;
    case 'viewPull':
      return 1 + varintSize(message.version);
    case 'viewFull':
      return 1 + varintSize(message.view.length) + message.view.length;
  }
}

export function writeViewMessage(frame: Uint8Array, offset: number, message: ViewMessage): number {
  switch (message.type) {
    case 'viewDigest':
      frame[offset] = viewMessageCode | (digestKind << kindShift) | (message.reply ? replyFlag : 0);
      offset = writeVarint(frame, offset + 1, message.version);
      offset = writeVarint(frame, offset, message.partitionCount);
      offset = writeVarint(frame, offset, digestBytes);
      // The digest is 32 hex digits (asserted by the size pass): one byte per char.
      for (let index = 0; index < digestBytes; index++) frame[offset + index] = message.digest.charCodeAt(index);
      return offset + digestBytes;
    case 'viewPull':
      frame[offset] = viewMessageCode | (pullKind << kindShift);
      return writeVarint(frame, offset + 1, message.version);
    case 'viewFull':
      frame[offset] = viewMessageCode | (fullKind << kindShift);
      offset = writeVarint(frame, offset + 1, message.view.length);
      frame.set(message.view, offset);
      return offset + message.view.length;
  }
}

function version(cursor: FrameCursor): number {
  const value = cursor.integer();
  if (value < 1 || value > viewLimits.versionMax) cursor.fail(`view version ${value} out of range`);
  return value;
}

export function decodeViewMessage(cursor: FrameCursor, flags: number): ViewMessage {
  const kind = (flags & kindMask) >> kindShift;
  if ((flags & 0x80) !== 0 || ((flags & replyFlag) !== 0 && kind !== digestKind))
    cursor.fail(`flags ${flags} not allowed on a view message`);
  if (kind === digestKind) {
    const viewVersion = version(cursor);
    const partitionCount = cursor.integer();
    if (!isPowerOfTwo(partitionCount) || partitionCount > ringLimits.partitionCountMax)
      cursor.fail(`partition count ${partitionCount} out of range`);
    const digest = cursor.text();
    if (!viewDigestPattern.test(digest)) cursor.fail('a view digest is 32 lowercase hex digits');
    return { type: 'viewDigest', version: viewVersion, partitionCount, digest, reply: (flags & replyFlag) !== 0 };
  }
  if (kind === pullKind) return { type: 'viewPull', version: version(cursor) };
  if (kind === fullKind) {
    const view = cursor.view();
    if (view.length > viewLimits.viewBytesMax)
      cursor.fail(`a ${view.length}-byte view exceeds ${viewLimits.viewBytesMax}`);
    return { type: 'viewFull', view };
  }
  return cursor.fail('view message of kind 0');
}
