// Why: the fast catch-up's messages (decision 0020) arrive from peers as message type 11
// (src/core/protocol/codec/catch-up-codec.ts) and are acted on by a running node core (src/core/node/catch-up.ts).
// Generated and mutated frames must decode or be refused with EVERWRITE_BAD_FRAME; a frame that
// decodes must round-trip; and every decoded message, however hostile its values (huge or
// unordered positions, empty keys, oversized hashes, unknown partitions or ring versions), is then
// stepped into a node core, which must answer or ignore it: a throw (an assertion reached) is a
// crash, and an answer must stay within the request (positions ascending and in range).
import fc from 'fast-check';
import {
  answerCatchUpRequest,
  differingPositionsValid,
  type CatchUpMessage,
} from '../../../src/core/anti-entropy/index.ts';
import { MerkleTree } from '../../../src/core/anti-entropy/merkle-tree.ts';
import { asPartitionIndex } from '../../../src/core/base/ids.ts';
import type { Message } from '../../../src/core/protocol/messages.ts';
import { encodeMessages } from '../../../src/core/protocol/codec/message-codec.ts';
import { CoreCluster, md5 } from '../../support/core-cluster.ts';
import { type FuzzTarget, violation } from '../harness.ts';
import { hexPreview, leb128, mutatedBytes } from '../mutate.ts';
import { decodeOrRefuse, messageCodecTarget, type Input } from './message-codec.ts';

const integer = fc.oneof(fc.nat(300), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));
const key = fc.uint8Array({ minLength: 0, maxLength: 12 });
const hash = fc.oneof(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ maxLength: 70 }));
const address = { catchUpId: integer, partition: fc.oneof(fc.nat(70), integer).map(asPartitionIndex) };

const catchUp: fc.Arbitrary<CatchUpMessage> = fc.oneof(
  fc.record(
    {
      kind: fc.constant('catch-up-request' as const),
      ...address,
      entries: fc.array(fc.record({ key, recordHash: hash }, { noNullPrototype: true }), { maxLength: 6 }),
    },
    { noNullPrototype: true },
  ),
  fc.record(
    {
      kind: fc.constant('catch-up-response' as const),
      ...address,
      differing: fc.array(fc.oneof(fc.nat(8), integer), { maxLength: 6 }),
    },
    { noNullPrototype: true },
  ),
  fc.record(
    {
      kind: fc.constant('catch-up-refused' as const),
      ...address,
      reason: fc.constantFrom(
        'ring-mismatch' as const,
        'unknown-partition' as const,
        'request-too-large' as const,
        'malformed-request' as const,
      ),
    },
    { noNullPrototype: true },
  ),
);
const message = fc.record(
  { type: fc.constant('catchUp' as const), ringVersion: fc.oneof(fc.constant(1), integer), catchUp },
  { noNullPrototype: true },
);
const validFrame = fc
  .array(message, { minLength: 1, maxLength: 3 })
  .map((messages) => Uint8Array.from(encodeMessages(messages)));

/** One three-node cluster whose n2 is fed every decoded message; its trees hold a few keys. */
let cluster: CoreCluster | undefined;
function receiver(): CoreCluster {
  if (cluster === undefined) {
    cluster = new CoreCluster(3, { antiEntropyIntervalMs: 1_000_000_000 });
    for (let index = 0; index < 20; index++) cluster.put('n1', 'b', `k${index}`, 'v');
    cluster.runFor(500);
  }
  return cluster;
}

const tree = new MerkleTree({ digest: md5, fanOut: 16, depth: 2 });
tree.set(new Uint8Array([1, 2, 3]), new Uint8Array(16));

function checkAnswered(decoded: Message): void {
  if (decoded.type !== 'catchUp') return;
  const body = decoded.catchUp;
  if (body.kind === 'catch-up-request') {
    const answer = answerCatchUpRequest(tree, body);
    if (answer.kind === 'catch-up-response' && !differingPositionsValid(answer.differing, body.entries.length))
      violation('an answer names positions outside its request');
  } else if (body.kind === 'catch-up-response') {
    differingPositionsValid(body.differing, 8);
  }
  const effects = receiver().deliver('n2', 'n1', decoded);
  for (const effect of effects) {
    if (effect.type !== 'send' && effect.type !== 'log')
      violation(`a catch-up message made the node do ${effect.type}`);
  }
}

const header = [...leb128(1), ...leb128(1), ...leb128(0)];
const crafted = [
  { name: 'request of 2^32 entries', input: Uint8Array.from([0xc1, 1, 11, 1, ...header, ...leb128(2 ** 32)]) },
  {
    name: 'response of 2^53 - 1 positions',
    input: Uint8Array.from([0xc1, 1, 11, 2, ...header, ...leb128(Number.MAX_SAFE_INTEGER)]),
  },
  { name: 'key of 2^31 bytes', input: Uint8Array.from([0xc1, 1, 11, 1, ...header, 1, ...leb128(2 ** 31)]) },
  {
    name: 'response with positions 2^53 - 1 and 0',
    input: Uint8Array.from(
      encodeMessages([
        {
          type: 'catchUp',
          ringVersion: 1,
          catchUp: {
            kind: 'catch-up-response',
            catchUpId: 1,
            partition: asPartitionIndex(0),
            differing: [Number.MAX_SAFE_INTEGER, 0],
          },
        },
      ]),
    ),
  },
].map(({ name, input }) => ({ name, input: { frame: input, original: undefined } }));

export const catchUpTarget: FuzzTarget<Input> = {
  name: 'catch-up',
  subject: 'fast catch-up messages (message type 11) decoded and stepped into a node core',
  arbitrary: fc.oneof(
    fc
      .array(message, { minLength: 1, maxLength: 3 })
      .map((messages) => ({ frame: Uint8Array.from(encodeMessages(messages)), original: messages as Message[] })),
    mutatedBytes(validFrame).map((frame) => ({ frame, original: undefined })),
  ),
  check(input) {
    // Decodes or is refused the documented way; a valid frame decodes to its messages and re-encodes.
    messageCodecTarget.check(input);
    for (const one of decodeOrRefuse(input.frame) ?? []) checkAnswered(one);
  },
  crafted,
  describe: ({ frame }) => hexPreview(frame),
  ciRuns: 1500,
};
