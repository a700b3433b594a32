// Why: what a node reads back from its own disk at boot: write-ahead-log files
// (src/io/storage/log-format.ts), stored hints (src/runtime/stores/hint-store.ts) and bucket props in the
// metadata namespace (src/runtime/stores/node-metadata.ts). A torn or corrupted file must never stop a
// node with a crash: the log stops replay at the first bad record, a hint or a props entry that
// does not decode is skipped. The log's CRC would stop random edits at once, so the log target
// re-seals its edited records (the CRC a bug in the writer would also produce) to reach the
// payload decoder.
import fc from 'fast-check';
import type { PropsEntry } from '../../../src/core/protocol/messages.ts';
import { decodeStorageKey, encodeStorageKey, placementInput } from '../../../src/core/protocol/storage-key.ts';
import {
  crc32,
  decodeLog,
  encodeBatchRecord,
  encodeDropRecord,
  logFileMagic,
  recordHeaderBytes,
} from '../../../src/io/storage/log-format.ts';
import { decodeHint, encodeHintKey, encodeHintValue } from '../../../src/runtime/stores/hint-store.ts';
import { decodePropsEntry, propsStorageKey } from '../../../src/runtime/stores/node-metadata.ts';
import type { BatchOperation } from '../../../src/runtime/ports.ts';
import { type FuzzTarget, refusedWith, violation } from '../harness.ts';
import { hexPreview, mutatedBytes, mutatedJson } from '../mutate.ts';
import { sameValue } from './compare.ts';

const recordBytesMax = 4096;

const operation: fc.Arbitrary<BatchOperation> = fc.oneof(
  fc.record({
    type: fc.constant('put' as const),
    key: fc.uint8Array({ maxLength: 12 }),
    value: fc.uint8Array({ maxLength: 24 }),
  }),
  fc.record({ type: fc.constant('delete' as const), key: fc.uint8Array({ maxLength: 12 }) }),
);

const logRecord = fc.oneof(
  fc
    .tuple(fc.nat(0xffff), fc.array(operation, { maxLength: 4 }))
    .map(([namespace, operations]) => encodeBatchRecord(namespace, operations, recordBytesMax)),
  fc.nat(0xffff).map(encodeDropRecord),
);

/** Puts a (possibly edited) payload behind a correct header, as a buggy writer would. */
function resealed(payload: Uint8Array): Uint8Array {
  const header = Buffer.alloc(recordHeaderBytes);
  header.writeUInt32LE(payload.length, 0);
  header.writeUInt32LE(crc32(payload), 4);
  return Buffer.concat([header, payload]);
}

const resealedRecord = mutatedBytes(logRecord.map((record) => record.subarray(recordHeaderBytes))).map(resealed);

interface LogInput {
  readonly file: Uint8Array;
}

export const logTarget: FuzzTarget<LogInput> = {
  name: 'log',
  subject: 'write-ahead-log files (decodeLog)',
  arbitrary: fc.oneof(
    fc
      .array(fc.oneof(logRecord, resealedRecord), { maxLength: 5 })
      .map((records) => ({ file: Buffer.concat([logFileMagic, ...records]) })),
    mutatedBytes(fc.array(logRecord, { maxLength: 4 }).map((records) => Buffer.concat([logFileMagic, ...records]))).map(
      (file) => ({ file }),
    ),
  ),
  check({ file }) {
    const decoded = decodeLog(file, recordBytesMax);
    if (decoded.intactBytes > file.length || decoded.tornTail !== decoded.intactBytes < file.length)
      violation('intactBytes and tornTail disagree with the file');
    // Replayed records re-encode to exactly the intact prefix: nothing is invented or reordered.
    const reencoded = decoded.records.map((record) =>
      record.kind === 'drop'
        ? encodeDropRecord(record.namespace)
        : encodeBatchRecord(record.namespace, record.operations, recordBytesMax),
    );
    const prefix = decoded.intactBytes === 0 ? new Uint8Array(0) : Buffer.concat([logFileMagic, ...reencoded]);
    if (!Buffer.from(file.subarray(0, decoded.intactBytes)).equals(prefix))
      violation('the intact prefix is not the re-encoded records');
  },
  crafted: [
    {
      name: 'record length 2^32 - 1',
      input: { file: Buffer.concat([logFileMagic, Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1)]) },
    },
    {
      name: 'record length 2^31',
      input: { file: Buffer.concat([logFileMagic, Uint8Array.of(0, 0, 0, 0x80, 0, 0, 0, 0, 1)]) },
    },
    {
      name: 'operation count 2^32 - 1',
      input: { file: Buffer.concat([logFileMagic, resealed(Uint8Array.of(1, 0, 0, 0xff, 0xff, 0xff, 0xff))]) },
    },
    {
      name: 'key length 2^32 - 1',
      input: {
        file: Buffer.concat([logFileMagic, resealed(Uint8Array.of(1, 0, 0, 1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff))]),
      },
    },
    {
      name: 'value length 2^31',
      input: {
        file: Buffer.concat([logFileMagic, resealed(Uint8Array.of(1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x80))]),
      },
    },
    { name: 'magic only', input: { file: Buffer.from(logFileMagic) } },
  ],
  describe: ({ file }) => hexPreview(file),
  ciRuns: 2000,
};

// ---------------------------------------------------------------------------------------------
// Hints

interface HintInput {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  readonly original:
    { target: string; sequence: number; namespace: number; key: Uint8Array; record: Uint8Array } | undefined;
}

const hintTarget = fc.oneof(
  fc.constantFrom('node-1', 'n/2', 'é'),
  fc.string({ minLength: 1, maxLength: 8 }).filter((target) => !target.includes('\u0000')),
);
const validHint = fc.record({
  target: hintTarget,
  sequence: fc.oneof(fc.nat(1000), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })),
  namespace: fc.nat(65279),
  key: fc.uint8Array({ maxLength: 12 }),
  record: fc.uint8Array({ maxLength: 24 }),
});

function hintInput(hint: NonNullable<HintInput['original']>): HintInput {
  return {
    key: encodeHintKey(hint.target, hint.sequence),
    value: encodeHintValue(hint.namespace, hint.key, hint.record),
    original: hint,
  };
}

function u64(value: bigint): Uint8Array {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64BE(value);
  return bytes;
}

export const hintsTarget: FuzzTarget<HintInput> = {
  name: 'hint',
  subject: 'stored hints (decodeHint)',
  arbitrary: fc.oneof(
    validHint.map(hintInput),
    fc.tuple(validHint.map(hintInput), fc.boolean()).chain(([input, editKey]) =>
      (editKey ? mutatedBytes(fc.constant(input.key)) : mutatedBytes(fc.constant(input.value))).map((edited) => ({
        key: editKey ? edited : input.key,
        value: editKey ? input.value : edited,
        original: undefined,
      })),
    ),
  ),
  check({ key, value, original }) {
    const hint = decodeHint(key, value);
    if (original !== undefined) {
      if (
        hint === undefined ||
        hint.target !== original.target ||
        hint.namespace !== original.namespace ||
        !Buffer.from(hint.key).equals(original.key) ||
        !Buffer.from(hint.record).equals(original.record)
      )
        violation('a valid hint did not decode to itself');
    }
    if (hint === undefined) return;
    // The store indexes hints by target and sequence parsed from the id, and asserts its targets.
    const sequence = Number.parseInt(hint.id.slice(hint.id.lastIndexOf('/') + 1), 16);
    if (!Number.isSafeInteger(sequence)) violation(`accepted a hint whose sequence is not a safe integer (${hint.id})`);
    if (hint.target.length === 0 || hint.target.includes('\u0000'))
      violation('accepted a hint whose target the store refuses');
    if (!Buffer.from(encodeHintKey(hint.target, sequence)).equals(key))
      violation('an accepted hint key does not re-encode to itself');
    if (!Buffer.from(encodeHintValue(hint.namespace, hint.key, hint.record)).equals(value))
      violation('an accepted hint value does not re-encode to itself');
  },
  crafted: [
    {
      name: 'sequence 2^64 - 1',
      input: {
        key: Buffer.concat([Buffer.from('n1\u0000'), u64(2n ** 64n - 1n)]),
        value: encodeHintValue(1, new Uint8Array(1), new Uint8Array(1)),
        original: undefined,
      },
    },
    {
      name: 'sequence 2^53',
      input: {
        key: Buffer.concat([Buffer.from('n1\u0000'), u64(2n ** 53n)]),
        value: encodeHintValue(1, new Uint8Array(1), new Uint8Array(1)),
        original: undefined,
      },
    },
    {
      name: 'target with NUL',
      input: {
        key: Buffer.concat([Buffer.from('a\u0000b\u0000'), u64(1n)]),
        value: encodeHintValue(1, new Uint8Array(1), new Uint8Array(1)),
        original: undefined,
      },
    },
    {
      name: 'key length 2^32 - 1',
      input: {
        key: encodeHintKey('n1', 1),
        value: Uint8Array.of(0, 1, 0xff, 0xff, 0xff, 0xff, 1, 2),
        original: undefined,
      },
    },
    {
      name: 'reserved namespace',
      input: { key: encodeHintKey('n1', 1), value: Uint8Array.of(0xff, 0xff, 0, 0, 0, 0), original: undefined },
    },
  ],
  describe: ({ key, value }) => `key ${hexPreview(key, 64)} value ${hexPreview(value, 64)}`,
  ciRuns: 3000,
};

// ---------------------------------------------------------------------------------------------
// Node metadata: bucket props entries

interface PropsInput {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  readonly original: PropsEntry | undefined;
}

const quorum = fc.integer({ min: 1, max: 7 });
const validProps: fc.Arbitrary<PropsEntry> = fc.record(
  {
    bucket: fc.oneof(fc.string({ minLength: 1, maxLength: 10 }), fc.constantFrom('__proto__', 'constructor')),
    props: fc.record(
      {
        n: quorum,
        r: quorum,
        w: quorum,
        resolver: fc.constantFrom('siblings' as const, 'lww' as const),
        durability: fc.constantFrom('durable' as const, 'buffered' as const),
      },
      { noNullPrototype: true },
    ),
    version: fc.nat(),
    origin: fc.string({ maxLength: 8 }),
    deleted: fc.constant(true as const),
  },
  { noNullPrototype: true, requiredKeys: ['bucket', 'props', 'version', 'origin'] },
);

const encoder = new TextEncoder();

export const nodeMetadataTarget: FuzzTarget<PropsInput> = {
  name: 'node-metadata',
  subject: 'bucket props entries stored in the metadata namespace (decodePropsEntry)',
  arbitrary: fc.oneof(
    validProps.map((entry) => ({
      key: propsStorageKey(entry.bucket),
      value: encoder.encode(JSON.stringify(entry)),
      original: entry,
    })),
    fc.tuple(validProps, mutatedJson(validProps.map((entry) => JSON.stringify(entry)))).map(([entry, text]) => ({
      key: propsStorageKey(entry.bucket),
      value: encoder.encode(text),
      original: undefined,
    })),
    fc
      .tuple(validProps, mutatedBytes(validProps.map((entry) => encoder.encode(JSON.stringify(entry)))))
      .map(([entry, value]) => ({ key: propsStorageKey(entry.bucket), value, original: undefined })),
  ),
  check({ key, value, original }) {
    const entry = decodePropsEntry(key, value);
    if (original !== undefined && (entry === undefined || !sameValue(entry, original)))
      violation('a valid props entry did not decode to itself');
    if (entry === undefined) return;
    const { n, r, w } = entry.props;
    if (
      ![n, r, w].every((count) => Number.isSafeInteger(count) && count >= 1) ||
      !Number.isSafeInteger(entry.version) ||
      Object.getPrototypeOf(entry) !== Object.prototype
    )
      violation('accepted a props entry the core cannot use');
  },
  crafted: [
    {
      name: 'JSON nested 10k deep',
      input: {
        key: propsStorageKey('b'),
        value: encoder.encode(`${'['.repeat(10_000)}${']'.repeat(10_000)}`),
        original: undefined,
      },
    },
    {
      name: '__proto__ props',
      input: {
        key: propsStorageKey('b'),
        value: encoder.encode(
          '{"bucket":"b","version":1,"origin":"o","props":{"__proto__":{"n":3,"r":1,"w":1,"resolver":"lww","durability":"durable"}}}',
        ),
        original: undefined,
      },
    },
    {
      name: 'version 2^53 + 2',
      input: {
        key: propsStorageKey('b'),
        value: encoder.encode(
          '{"bucket":"b","version":9007199254740994,"origin":"o","props":{"n":3,"r":1,"w":1,"resolver":"lww","durability":"durable"}}',
        ),
        original: undefined,
      },
    },
    {
      name: 'n -0',
      input: {
        key: propsStorageKey('b'),
        value: encoder.encode(
          '{"bucket":"b","version":1,"origin":"o","props":{"n":-0,"r":1,"w":1,"resolver":"lww","durability":"durable"}}',
        ),
        original: undefined,
      },
    },
    {
      name: 'lone surrogate escape',
      input: {
        key: propsStorageKey('\uD800'),
        value: encoder.encode(
          '{"bucket":"\\ud800","version":1,"origin":"o","props":{"n":3,"r":1,"w":1,"resolver":"lww","durability":"durable"}}',
        ),
        original: undefined,
      },
    },
  ],
  describe: ({ key, value }) =>
    `key ${hexPreview(key, 64)} value ${JSON.stringify(Buffer.from(value.subarray(0, 300)).toString('utf8'))}`,
  ciRuns: 3000,
};

// ---------------------------------------------------------------------------------------------
// Storage keys: a replicaPut's storageKey comes from a peer, and the replica places it (placementInput)

interface StorageKeyInput {
  readonly bytes: Uint8Array;
  readonly original: { bucket: string; key: string } | undefined;
}

const wellFormed = (text: string) => Buffer.from(text, 'utf8').toString('utf8') === text;
const storageName = fc
  .oneof(fc.string({ unit: 'binary', maxLength: 10 }), fc.constantFrom('\uFEFFbom', '__proto__', 'é'))
  .filter(wellFormed);

export const storageKeyTarget: FuzzTarget<StorageKeyInput> = {
  name: 'storage-key',
  subject: 'storage keys from peers (placementInput, decodeStorageKey)',
  arbitrary: fc.oneof(
    fc
      .record({ bucket: storageName, key: storageName })
      .map((original) => ({ bytes: Uint8Array.from(encodeStorageKey(original.bucket, original.key)), original })),
    mutatedBytes(
      fc
        .record({ bucket: storageName, key: storageName })
        .map(({ bucket, key }) => Uint8Array.from(encodeStorageKey(bucket, key))),
    ).map((bytes) => ({ bytes, original: undefined })),
  ),
  check({ bytes, original }) {
    const placement = placementInput(bytes);
    const names = refusedWith(['EVERWRITE_BAD_RECORD'], () => decodeStorageKey(bytes));
    if (original !== undefined && (names?.bucket !== original.bucket || names.key !== original.key))
      violation('a valid storage key did not decode to its names');
    if (names === undefined) return;
    if (placement === undefined || !Buffer.from(placement).equals(Buffer.from(`${names.bucket}/${names.key}`)))
      violation('placement input is not bucket/key');
    if (!Buffer.from(encodeStorageKey(names.bucket, names.key)).equals(bytes))
      violation('decoded names do not re-encode to the storage key');
  },
  crafted: [
    { name: 'bucket length 0xffff in 3 bytes', input: { bytes: Uint8Array.of(0xff, 0xff, 0x61), original: undefined } },
    { name: 'empty', input: { bytes: new Uint8Array(0), original: undefined } },
    {
      name: 'bucket starting with a byte order mark',
      input: {
        bytes: Uint8Array.from(Buffer.concat([Uint8Array.of(0, 4), Buffer.from('\uFEFFa'), Buffer.from('k')])),
        original: undefined,
      },
    },
  ],
  describe: ({ bytes }) => hexPreview(bytes),
  ciRuns: 2000,
};
