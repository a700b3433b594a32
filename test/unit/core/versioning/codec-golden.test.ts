// Why: the record and context codecs were rewritten to allocate less; these vectors were written by
// the implementation before that rewrite (commit efab0d5), so the bytes on disk, on the wire and
// under every Merkle leaf provably did not change. Encoded records and storage keys are now views
// of shared slabs, so the cases below also pin that each one is still independent of the others.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeStorageKey, encodeStorageKey } from '../../../../src/core/protocol/storage-key.ts';
import {
  decodeContext,
  decodeRecord,
  encodeContext,
  encodeRecord,
  type StoredValue,
  type VersionedRecord,
} from '../../../../src/core/versioning/index.ts';

const hex = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

const lastModifiedMs = 1_760_000_000_000;
const typicalStored: StoredValue = {
  value: Uint8Array.from({ length: 100 }, (_, i) => (i * 31) & 255),
  contentType: 'application/octet-stream',
  lastModifiedMs,
  deleted: false,
  timestamp: lastModifiedMs * 1024,
};

/** The record of a replicated SET: two actors (inserted out of order), one sibling, a 100-byte value. */
const typical: VersionedRecord = {
  context: new Map([
    ['n2.972310455', 17],
    ['n1.1834567123', 41],
  ]),
  siblings: [{ dot: { actor: 'n1.1834567123', counter: 41 }, stored: typicalStored }],
};

const typicalHex =
  '02020d6e312e31383334353637313233290c6e322e39373233313034353511010029008080b3c19c3300186170706c69636174696f6e2f6f637465742d73747265616d64' +
  '001f3e5d7c9bbad9f81736557493b2d1f00f2e4d6c8baac9e80726456483a2c1e0ff1e3d5c7b9ab9d8f71635547392b1d0ef0e2d4c6b8aa9c8e70625446382a1c0dff' +
  'e1d3c5b7a99b8d7f61534537291b0cfee0d2c4b6a89a8c7e60524436281a0bfdefd';

/** Non-ASCII and surrogate names, a lone surrogate in a content type, a tombstone behind its clock, a counter past 2^32. */
const mixed: VersionedRecord = {
  context: new Map([
    ['zé.7', 3],
    ['\uD83D\uDE00.2', 2 ** 40],
    ['a.1', 1],
    ['\uDC00lone', 5],
  ]),
  siblings: [
    {
      dot: { actor: 'a.1', counter: 1 },
      stored: { value: new Uint8Array(0), contentType: '', lastModifiedMs: 5, deleted: true, timestamp: 5 * 1024 - 3 },
    },
    {
      dot: { actor: 'zé.7', counter: 2 },
      stored: {
        value: Uint8Array.of(0, 255, 7),
        contentType: 'text/plain; charset=\uD800ü',
        lastModifiedMs: 1_700_000_000_000,
        deleted: false,
        timestamp: 1_700_000_010_000 * 1024 + 9,
      },
    },
  ],
};

const mixedHex =
  '020403612e3101057ac3a92e370306f09f98802e3280808080802007efbfbd6c6f6e6505020001030503000001020080d095ffbc318980f10419746578742f706c61696e3b20' +
  '636861727365743defbfbdc3bc0300ff07';

/** Twenty entries inserted in reverse order: past the encoder's insertion-sort bound. */
const twenty = new Map(
  Array.from(
    { length: 20 },
    (_, i) => [`node-${String(19 - i).padStart(2, '0')}.${1000 + i}`, i + 1] as [string, number],
  ),
);

const twentyToken =
  'ARQMbm9kZS0wMC4xMDE5FAxub2RlLTAxLjEwMTgTDG5vZGUtMDIuMTAxNxIMbm9kZS0wMy4xMDE2EQxub2RlLTA0LjEwMTUQDG5vZGUtMDUuMTAxNA8Mbm9kZS0wNi4xMDEzDgxub2RlLTA3LjEwMTINDG5vZGUtMDgu' +
  'MTAxMQwMbm9kZS0wOS4xMDEwCwxub2RlLTEwLjEwMDkKDG5vZGUtMTEuMTAwOAkMbm9kZS0xMi4xMDA3CAxub2RlLTEzLjEwMDYHDG5vZGUtMTQuMTAwNQYMbm9kZS0xNS4xMDA0BQxub2RlLTE2LjEwMDMEDG5vZGUt' +
  'MTcuMTAwMgMMbm9kZS0xOC4xMDAxAgxub2RlLTE5LjEwMDAB';

test('records encode to the same bytes as before the allocation rewrite', () => {
  assert.equal(hex(encodeRecord(typical)), typicalHex);
  assert.deepEqual(decodeRecord(encodeRecord(typical)), { ...typical, context: new Map([...typical.context].sort()) });
  assert.equal(hex(encodeRecord(mixed)), mixedHex);
  assert.equal(hex(encodeRecord(decodeRecord(Buffer.from(typicalHex, 'hex')))), typicalHex);
});

test('context tokens encode to the same text as before the allocation rewrite', () => {
  assert.equal(encodeContext(typical.context), 'AQINbjEuMTgzNDU2NzEyMykMbjIuOTcyMzEwNDU1EQ');
  assert.equal(encodeContext(twenty), twentyToken);
  assert.deepEqual(decodeContext(twentyToken), new Map([...twenty].sort()));
  assert.equal(encodeContext(new Map()), '');
});

test('each encoded record is its own bytes even when records share a slab', () => {
  const records = Array.from({ length: 600 }, (_, i) =>
    encodeRecord({
      ...typical,
      siblings: [{ ...typical.siblings[0]!, stored: { ...typicalStored, value: Uint8Array.of(i & 255, i >> 8) } }],
    }),
  );
  assert.ok(
    records.some((bytes) => bytes.byteOffset !== 0),
    'records are views of a shared slab',
  );
  const copies = records.map((bytes) => bytes.slice());
  records[0]!.fill(0);
  records.forEach((bytes, i) => {
    if (i === 0) return;
    assert.deepEqual(bytes, copies[i]);
    assert.deepEqual(decodeRecord(bytes).siblings[0]?.stored.value, Uint8Array.of(i & 255, i >> 8));
  });
});

test('each storage key is its own bytes even when keys share a slab', () => {
  const keys = Array.from({ length: 300 }, (_, i) => encodeStorageKey('bucket', `key-${i}`));
  keys[1]!.fill(0xff);
  keys.forEach((key, i) => {
    if (i !== 1) assert.deepEqual(decodeStorageKey(key), { bucket: 'bucket', key: `key-${i}` });
  });
  assert.deepEqual(decodeStorageKey(encodeStorageKey('bücket', 'kéy')), { bucket: 'bücket', key: 'kéy' });
});

test('a bucket or key starting with U+FEFF decodes from its storage key with it, not as another name', () => {
  assert.deepEqual(decodeStorageKey(encodeStorageKey('\uFEFFb', '\uFEFFk')), { bucket: '\uFEFFb', key: '\uFEFFk' });
});
