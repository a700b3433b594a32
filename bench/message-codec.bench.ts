// Why: the coordinator of every client request encodes and decodes peer message frames on its one
// thread, so their CPU cost bounds its throughput. This compares the msgpack codec the nodes used
// before (msgpackr plus the required-field check, reproduced here) with the hand-laid codec of
// src/core/protocol/codec/message-codec.ts on realistic batches: encode, decode, and both, in CPU ns per
// message and frames per CPU-second (docs/ARCHITECTURE.md habit 9: benchmarks measure, they do not assert).
// The hand-laid codec runs twice: with Node's WireBytes as a node runs it, and with the core's
// plain WireBytes as the simulator and the core's tests run it (decision 0037).
//
// Usage: npx tsx bench/message-codec.bench.ts [--rounds 5] [--budget-ms 300]
// Codecs run in turns, `rounds` times over, so JIT warm-up and a noisy neighbour do not favour one
// of them; each cell is the median round.
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Packr } from 'msgpackr';
import { EverwriteError } from '../src/core/base/errors.ts';
import type { Message } from '../src/core/protocol/messages.ts';
import { decodeMessages, encodeMessages } from '../src/core/protocol/codec/message-codec.ts';
import { plainWireBytes } from '../src/core/protocol/codec/wire-bytes.ts';
import { nodeWireBytes } from '../src/runtime/wire-bytes.ts';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    'budget-ms': { type: 'string', default: '300' },
  },
});
const rounds = Number(args.rounds);
const budgetMs = Number(args['budget-ms']);

interface Codec {
  readonly name: string;
  readonly encode: (messages: readonly Message[]) => Uint8Array;
  readonly decode: (frame: Uint8Array) => Message[];
}

const packr = new Packr({ useRecords: false, moreTypes: false });
const requiredFields: Record<Message['type'], readonly string[]> = {
  replicaPut: ['id', 'partition', 'storageKey', 'record', 'durable'],
  replicaPutAck: ['id', 'ok'],
  replicaGet: ['id', 'partition', 'storageKey'],
  replicaGetReply: ['id', 'ok'],
  forward: ['id', 'operation'],
  forwardReply: ['id'],
  reap: ['partition', 'storageKey', 'record'],
  props: ['entries'],
  propsDigest: ['slots', 'reply'],
  users: ['entries'],
  usersDigest: ['slots', 'reply'],
  liveness: ['kind', 'id', 'incarnation', 'updates'],
  viewDigest: ['version', 'partitionCount', 'digest', 'reply'],
  viewPull: ['version'],
  handoffBatch: ['id', 'viewVersion', 'partition', 'records', 'final'],
  handoffAck: ['id', 'viewVersion', 'partition', 'ok'],
  handoffDone: ['viewVersion', 'transfers'],
  viewFull: ['view'],
  treeExchange: ['ringVersion', 'exchange'],
  catchUp: ['ringVersion', 'catchUp'],
  keyListRequest: ['id', 'bucket', 'partitions', 'after', 'keysMax'],
  keyListReply: ['id', 'ok', 'keys'],
};

/** The codec before this change (src/runtime/message-codec.ts at commit 6a25dd1, since moved to src/core/protocol/codec/), unchanged. */
function msgpackDecode(frame: Uint8Array): Message[] {
  let decoded: unknown;
  try {
    decoded = packr.unpack(frame);
  } catch {
    throw new EverwriteError('EVERWRITE_BAD_FRAME', 'frame is not valid msgpack');
  }
  if (!Array.isArray(decoded)) throw new EverwriteError('EVERWRITE_BAD_FRAME', 'frame is not a message batch');
  for (const message of decoded) {
    const fields =
      typeof message === 'object' && message !== null
        ? requiredFields[(message as { type: Message['type'] }).type]
        : undefined;
    if (fields === undefined || !fields.every((field) => (message as Record<string, unknown>)[field] !== undefined)) {
      throw new EverwriteError('EVERWRITE_BAD_FRAME', 'frame holds a malformed message');
    }
  }
  return decoded as Message[];
}

const codecs: readonly Codec[] = [
  { name: 'msgpackr (before)', encode: (messages) => packr.pack(messages), decode: msgpackDecode },
  {
    name: 'hand-laid (now, Node WireBytes)',
    encode: (messages) => encodeMessages(messages, nodeWireBytes),
    decode: (frame) => decodeMessages(frame, nodeWireBytes),
  },
  {
    name: 'hand-laid (plain WireBytes)',
    encode: (messages) => encodeMessages(messages, plainWireBytes),
    decode: (frame) => decodeMessages(frame, plainWireBytes),
  },
];

/** Bytes with a fixed pattern, so every run encodes the same frames. */
function patterned(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let index = 0; index < length; index++) bytes[index] = (index * 31 + seed) & 255;
  return bytes;
}

/** Ids as a node that has booted 3 times mints them: 3 * 2^32 plus a counter. */
const idBase = 3 * 2 ** 32 + 1_000_000;
const batchSize = 8;
const storageKeys = Array.from({ length: batchSize }, (_, index) => patterned(21, index));
const records = Array.from({ length: batchSize }, (_, index) => patterned(152, 100 + index));
const indexes = Array.from({ length: batchSize }, (_, index) => index);

const batches: readonly { readonly name: string; readonly messages: readonly Message[] }[] = [
  {
    name: '8 replicaPut (21 B key, 152 B record)',
    messages: indexes.map((index) => ({
      type: 'replicaPut',
      id: idBase + index,
      partition: 40 + index,
      storageKey: storageKeys[index] as Uint8Array,
      record: records[index] as Uint8Array,
      durable: true,
    })),
  },
  {
    name: '8 replicaPutAck',
    messages: indexes.map((index) => ({ type: 'replicaPutAck', id: idBase + index, ok: true })),
  },
  {
    name: '8 replicaGet (21 B key)',
    messages: indexes.map((index) => ({
      type: 'replicaGet',
      id: idBase + index,
      partition: 40 + index,
      storageKey: storageKeys[index] as Uint8Array,
    })),
  },
  {
    name: '8 replicaGetReply (152 B record)',
    messages: indexes.map((index) => ({
      type: 'replicaGetReply',
      id: idBase + index,
      ok: true,
      record: records[index] as Uint8Array,
    })),
  },
  {
    name: '1 replicaPut + 1 replicaGetReply',
    messages: [
      {
        type: 'replicaPut',
        id: idBase,
        partition: 7,
        storageKey: storageKeys[0] as Uint8Array,
        record: records[0] as Uint8Array,
        durable: true,
      },
      { type: 'replicaGetReply', id: idBase + 1, ok: true, record: records[1] as Uint8Array },
    ],
  },
  {
    name: '1 forward (put, 100 B value)',
    messages: [
      {
        type: 'forward',
        id: idBase,
        operation: {
          kind: 'put',
          bucket: 'redis',
          key: 'key:000123456',
          value: patterned(100, 9),
          contentType: 'application/octet-stream',
          deleted: false,
          lastModifiedMs: 1_790_000_000_000,
          supersedeLocal: true,
        },
      },
    ],
  },
  {
    name: '1 forwardReply (152 B record, context)',
    messages: [
      { type: 'forwardReply', id: idBase, record: records[0] as Uint8Array, context: 'g2wAAAABaAJtAAAABm5vZGUtMWEDag' },
    ],
  },
];

/** The frame as the transport hands it over: a view into a received chunk, after its length header. */
function asReceived(frame: Uint8Array): Uint8Array {
  const chunk = Buffer.allocUnsafe(frame.length + 4);
  chunk.writeUInt32BE(frame.length, 0);
  chunk.set(frame, 4);
  return chunk.subarray(4);
}

interface Cell {
  encodeNs: number[];
  decodeNs: number[];
  bothNs: number[];
}

/**
 * CPU nanoseconds per call of `operation` (process.cpuUsage, user + system, garbage collection
 * included): on a machine shared with other work, CPU time varies far less than wall time.
 */
function cpuNanosecondsPerCall(operation: () => unknown): number {
  const callsPerCheck = 1000;
  let sink: unknown;
  for (let call = 0; call < callsPerCheck * 10; call++) sink = operation();
  const startWall = performance.now();
  const startCpu = process.cpuUsage();
  let calls = 0;
  while (performance.now() - startWall < budgetMs) {
    for (let call = 0; call < callsPerCheck; call++) sink = operation();
    calls += callsPerCheck;
  }
  const cpu = process.cpuUsage(startCpu);
  if (sink === Symbol.for('never')) console.log('');
  return ((cpu.user + cpu.system) * 1000) / calls;
}

function measureRound(codec: Codec, messages: readonly Message[], received: Uint8Array, cell: Cell): void {
  const count = messages.length;
  cell.encodeNs.push(cpuNanosecondsPerCall(() => codec.encode(messages)) / count);
  cell.decodeNs.push(cpuNanosecondsPerCall(() => codec.decode(received)) / count);
  // Encode+decode decodes the frame just encoded: the copy into a socket chunk is the transport's cost.
  cell.bothNs.push(cpuNanosecondsPerCall(() => codec.decode(codec.encode(messages))) / count);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function main(): void {
  const cells = new Map<string, Cell>();
  const cellOf = (batch: string, codec: string): Cell => {
    const key = `${batch}\u0000${codec}`;
    let cell = cells.get(key);
    if (cell === undefined) cells.set(key, (cell = { encodeNs: [], decodeNs: [], bothNs: [] }));
    return cell;
  };
  for (let round = 0; round < rounds; round++) {
    for (const batch of batches) {
      for (const codec of round % 2 === 0 ? codecs : [...codecs].reverse()) {
        const received = asReceived(codec.encode(batch.messages));
        measureRound(codec, batch.messages, received, cellOf(batch.name, codec.name));
      }
    }
    console.error(`round ${round + 1}/${rounds} done`);
  }
  printTable(cellOf);
}

function printTable(cellOf: (batch: string, codec: string) => Cell): void {
  const header = [
    'batch',
    'codec',
    'frame bytes',
    'encode ns/msg',
    'decode ns/msg',
    'encode+decode ns/msg',
    'encode+decode frames/s',
  ];
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map(() => '---').join('|')}|`);
  for (const batch of batches) {
    for (const codec of codecs) {
      const cell = cellOf(batch.name, codec.name);
      const both = median(cell.bothNs);
      const framesPerSecond = Math.round(1e9 / (both * batch.messages.length));
      const row = [
        batch.name,
        codec.name,
        String(codec.encode(batch.messages).length),
        median(cell.encodeNs).toFixed(0),
        median(cell.decodeNs).toFixed(0),
        both.toFixed(0),
        framesPerSecond.toLocaleString('en-US'),
      ];
      console.log(`| ${row.join(' | ')} |`);
    }
  }
  console.log(
    `\nNode ${process.version}; CPU time (user + system); median of ${rounds} rounds of ${budgetMs} ms per cell.`,
  );
}

main();
