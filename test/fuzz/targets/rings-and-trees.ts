// Why: rings read from JSON (src/core/ring/json.ts: a client's ring view, the chaos checker) and
// the Merkle exchange's messages as they arrive (src/core/anti-entropy: the stateless responder
// answers a peer's requests, the exchange consumes a peer's responses). The ring reader may only
// refuse with EVERWRITE_BAD_REQUEST and must give back exactly the ring that was written. The
// exchange messages are plain data, so their hazards are the values: NaN, -0, fractions, 2^53,
// negative and huge indices, oversized lists, wrong hash sizes. The responder must answer every
// request with a response or a refusal; the exchange must fail (or ignore) a bad response, never
// throw.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { TreeExchange } from '../../../src/core/anti-entropy/exchange.ts';
import type { TreeExchangeRequest, TreeExchangeResponse } from '../../../src/core/anti-entropy/messages.ts';
import { MerkleTree } from '../../../src/core/anti-entropy/merkle-tree.ts';
import { answerTreeExchangeRequest } from '../../../src/core/anti-entropy/responder.ts';
import { asNodeId, asPartitionIndex } from '../../../src/core/base/ids.ts';
import { decodeView, encodeView, firstView } from '../../../src/core/cluster-view/codec.ts';
import { ringFromJSON, ringToJSON } from '../../../src/core/ring/index.ts';
import { ringArbitrary } from '../../property/core/ring/arbitraries.ts';
import { type FuzzTarget, refusedWith, violation } from '../harness.ts';
import { hazardJsonTexts, mutatedBytes, mutatedJson } from '../mutate.ts';
import { sameValue } from './compare.ts';

interface RingInput {
  readonly text: string;
  readonly valid: boolean;
}

function parseRing(text: string) {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  return refusedWith(['EVERWRITE_BAD_REQUEST'], () => ringFromJSON(json));
}

const ringText = ringArbitrary.map(({ ring }) => JSON.stringify(ringToJSON(ring)));
const memberHazards = [
  '{"id":"__proto__"}',
  '{"id":"a","weight":-0}',
  '{"id":"a","weight":1e400}',
  '{"id":"a","zone":""}',
  '{"id":"a","__proto__":{"weight":3}}',
  '{"id":"\\ud800"}',
  '{"id":"a"},{"id":"a"}',
  'null',
  '[]',
];

export const ringJsonTarget: FuzzTarget<RingInput> = {
  name: 'ring-json',
  subject: 'rings read from JSON (ringFromJSON)',
  arbitrary: fc.oneof(
    ringText.map((text) => ({ text, valid: true })),
    mutatedJson(ringText).map((text) => ({ text, valid: false })),
    fc
      .tuple(ringText, fc.constantFrom(...memberHazards))
      .map(([text, member]) => ({ text: text.replace('"members":[', `"members":[${member},`), valid: false })),
  ),
  check({ text, valid }) {
    const ring = parseRing(text);
    if (valid && (ring === undefined || JSON.stringify(ringToJSON(ring)) !== text))
      violation('a valid ring did not read back as written');
    if (ring === undefined) return;
    const ids = new Set(ring.members.map((member) => member.id as string));
    if (ring.owners.length !== ring.partitionCount || ring.owners.some((owner) => !ids.has(owner)))
      violation('an accepted ring has owners outside its members');
    if (!sameValue(ringFromJSON(JSON.parse(JSON.stringify(ringToJSON(ring)))), ring))
      violation('an accepted ring does not survive re-encoding');
  },
  crafted: [
    ...hazardJsonTexts.map((text) => ({
      name: `JSON ${text.length > 40 ? `${text.slice(0, 20)}... (${text.length} chars)` : text}`,
      input: { text, valid: false },
    })),
    {
      name: 'partition count 2^31',
      input: { text: '{"version":1,"partitionCount":2147483648,"members":[{"id":"a"}],"owners":[0]}', valid: false },
    },
    {
      name: 'partition count 2^53',
      input: {
        text: '{"version":1,"partitionCount":9007199254740992,"members":[{"id":"a"}],"owners":[]}',
        valid: false,
      },
    },
    {
      name: 'owner index -0',
      input: { text: '{"version":1,"partitionCount":1,"members":[{"id":"a"}],"owners":[-0]}', valid: false },
    },
    {
      name: 'owner index 0.5',
      input: { text: '{"version":1,"partitionCount":1,"members":[{"id":"a"}],"owners":[0.5]}', valid: false },
    },
    {
      name: '5000 members (limit 1024)',
      input: {
        text: `{"version":1,"partitionCount":1,"members":[${Array.from({ length: 5000 }, (_, index) => `{"id":"m${index}"}`).join(',')}],"owners":[0]}`,
        valid: false,
      },
    },
  ],
  describe: ({ text }) => JSON.stringify(text.length > 400 ? `${text.slice(0, 400)}... (${text.length} chars)` : text),
  ciRuns: 2000,
};

// ---------------------------------------------------------------------------------------------
// Merkle exchange messages

const digest = (input: Uint8Array): Uint8Array => createHash('sha256').update(input).digest();
const shape = { fanOut: 4, depth: 2 } as const;
const keys = Array.from({ length: 24 }, (_, index) => Buffer.from(`key-${index}`));
const ours = MerkleTree.build(
  keys.map((key, index) => ({ key, recordHash: digest(Buffer.from(`ours-${index}`)) })),
  { digest, ...shape },
);
const theirs = MerkleTree.build(
  keys
    .filter((_, index) => index % 3 !== 0)
    .map((key, index) => ({ key, recordHash: digest(Buffer.from(`theirs-${index % 5}`)) })),
  { digest, ...shape },
);
const partition = asPartitionIndex(7);

const hazardNumber = fc.oneof(
  fc.integer({ min: -2, max: 20 }),
  fc.constantFrom(
    Number.NaN,
    -0,
    0.5,
    Number.POSITIVE_INFINITY,
    -1,
    2 ** 31,
    2 ** 32,
    2 ** 53,
    Number.MAX_SAFE_INTEGER,
  ),
);
const hazardShape = fc.oneof(fc.constant(shape), fc.record({ fanOut: hazardNumber, depth: hazardNumber }));
const indices = fc.oneof(
  fc.array(hazardNumber, { maxLength: 20 }),
  fc.constantFrom(
    [],
    Array.from({ length: 70_000 }, (_, index) => index),
  ),
);
const address = {
  exchangeId: hazardNumber,
  partition: hazardNumber.map((value) => value as ReturnType<typeof asPartitionIndex>),
  requestId: hazardNumber,
};

const hostileRequest: fc.Arbitrary<TreeExchangeRequest> = fc.oneof(
  fc.record(
    { kind: fc.constant('tree-hashes-request' as const), ...address, shape: hazardShape, level: hazardNumber, indices },
    { noNullPrototype: true },
  ),
  fc.record(
    { kind: fc.constant('tree-leaf-entries-request' as const), ...address, shape: hazardShape, leafIndices: indices },
    { noNullPrototype: true },
  ),
);

interface ExchangeInput {
  readonly request: TreeExchangeRequest;
  /** Edits to the genuine responses an exchange receives, by position. */
  readonly edits: Array<{ at: number; edit: number; value: number }>;
}

/** Applies one hostile edit to a genuine response. */
function edited(response: TreeExchangeResponse, edit: number, value: number): TreeExchangeResponse {
  switch (edit % 6) {
    case 0:
      return { ...response, requestId: value };
    case 1:
      return response.kind === 'tree-hashes-response'
        ? { ...response, hashes: response.hashes.map((hash) => hash.subarray(0, value % 40)) }
        : response;
    case 2:
      return response.kind === 'tree-hashes-response'
        ? { ...response, hashes: response.hashes.slice(0, value % 4) }
        : response;
    case 3:
      return response.kind === 'tree-leaf-entries-response'
        ? { ...response, leafEntries: response.leafEntries.map((entries) => [...entries, ...entries]) }
        : response;
    case 4:
      return response.kind === 'tree-leaf-entries-response'
        ? { ...response, leafEntries: [...response.leafEntries, []] }
        : response;
    default:
      return {
        kind: 'tree-exchange-refused',
        exchangeId: response.exchangeId,
        partition: response.partition,
        requestId: response.requestId,
        reason: 'malformed-request',
      };
  }
}

const requestsMax = 64;

export const antiEntropyTarget: FuzzTarget<ExchangeInput> = {
  name: 'anti-entropy',
  subject: 'Merkle exchange requests (answerTreeExchangeRequest) and responses (TreeExchange.receive)',
  arbitrary: fc.record({
    request: hostileRequest,
    edits: fc.array(fc.record({ at: fc.nat(12), edit: fc.nat(), value: fc.oneof(fc.nat(40), fc.integer()) }), {
      maxLength: 3,
    }),
  }),
  check({ request, edits }) {
    const answer = answerTreeExchangeRequest(theirs, request);
    if (
      answer.kind === 'tree-hashes-response' &&
      request.kind === 'tree-hashes-request' &&
      answer.hashes.length !== request.indices.length
    )
      violation('hashes answer of the wrong length');
    if (
      answer.kind === 'tree-leaf-entries-response' &&
      request.kind === 'tree-leaf-entries-request' &&
      answer.leafEntries.length !== request.leafIndices.length
    )
      violation('leaf answer of the wrong length');
    // An exchange fed genuine answers, some of them edited, ends finished or failed: never a throw.
    const exchange = new TreeExchange(ours, { exchangeId: 1, partition });
    let pending = exchange.start();
    for (let step = 0; pending.length > 0 && step < requestsMax; step++) {
      const [next, ...rest] = pending;
      let response = answerTreeExchangeRequest(theirs, next as TreeExchangeRequest);
      for (const { at, edit, value } of edits) if (at === step) response = edited(response, edit, value);
      pending = [...rest, ...exchange.receive(response)];
      if (exchange.state === 'failed') break;
    }
    if (edits.length === 0 && exchange.state !== 'finished')
      violation(`an exchange with genuine answers ended ${exchange.state}`);
  },
  crafted: [
    {
      name: 'hashes request for 70k nodes',
      input: {
        request: {
          kind: 'tree-hashes-request',
          exchangeId: 1,
          partition,
          requestId: 1,
          shape,
          level: 2,
          indices: Array.from({ length: 70_000 }, (_, index) => index),
        },
        edits: [],
      },
    },
    {
      name: 'level 2^53',
      input: {
        request: {
          kind: 'tree-hashes-request',
          exchangeId: 1,
          partition,
          requestId: 1,
          shape,
          level: 2 ** 53,
          indices: [0],
        },
        edits: [],
      },
    },
    {
      name: 'shape 256^16 (2^128 leaves)',
      input: {
        request: {
          kind: 'tree-leaf-entries-request',
          exchangeId: 1,
          partition,
          requestId: 1,
          shape: { fanOut: 256, depth: 16 },
          leafIndices: [0],
        },
        edits: [],
      },
    },
    {
      name: 'leaf index NaN',
      input: {
        request: {
          kind: 'tree-leaf-entries-request',
          exchangeId: 1,
          partition,
          requestId: 1,
          shape,
          leafIndices: [Number.NaN],
        },
        edits: [],
      },
    },
  ],
  describe: (input) =>
    JSON.stringify(input, (_, value: unknown) =>
      typeof value === 'number' && !Number.isFinite(value)
        ? String(value)
        : Array.isArray(value) && value.length > 50
          ? `[${value.length} items]`
          : value,
    ),
  ciRuns: 1500,
};

// ---------------------------------------------------------------------------------------------
// Cluster views (src/core/cluster-view/codec.ts): pulled from peers and read from disk

interface ViewInput {
  readonly bytes: Uint8Array;
  readonly valid: boolean;
}

const viewMembers = fc
  .uniqueArray(fc.constantFrom('a', 'b', 'c', 'd', 'é', '__proto__'), { minLength: 1, maxLength: 4 })
  .map((ids) =>
    ids.map((id, index) => ({
      id: asNodeId(id),
      peer: `127.0.0.1:${7000 + index}`,
      weight: 1 + (index % 3),
      state: 'valid' as const,
      ...(index % 2 === 0 ? { zone: 'z1' } : {}),
    })),
  );
const validView = fc
  .tuple(
    fc.integer({ min: 0, max: 5 }).map((bits) => 2 ** bits),
    viewMembers,
  )
  .map(([partitionCount, members]) => Uint8Array.from(encodeView(firstView(partitionCount, members))));

export const clusterViewTarget: FuzzTarget<ViewInput> = {
  name: 'cluster-view',
  subject: 'cluster views from peers and disk (decodeView)',
  arbitrary: fc.oneof(
    validView.map((bytes) => ({ bytes, valid: true })),
    mutatedBytes(validView).map((bytes) => ({ bytes, valid: false })),
    mutatedJson(validView.map((bytes) => Buffer.from(bytes).toString('utf8'))).map((text) => ({
      bytes: Buffer.from(text),
      valid: false,
    })),
  ),
  check({ bytes, valid }) {
    const view = refusedWith(['EVERWRITE_BAD_VIEW'], () => decodeView(bytes));
    if (valid && view === undefined) violation('a valid view was refused');
    if (view !== undefined && !Buffer.from(encodeView(view)).equals(bytes))
      violation('an accepted view does not re-encode to its bytes');
  },
  crafted: hazardJsonTexts.map((text) => ({
    name: `JSON ${text.length > 40 ? `${text.slice(0, 20)}... (${text.length} chars)` : text}`,
    input: { bytes: Buffer.from(text), valid: false },
  })),
  describe: ({ bytes }) => JSON.stringify(Buffer.from(bytes.subarray(0, 400)).toString('utf8')),
  ciRuns: 1500,
};
