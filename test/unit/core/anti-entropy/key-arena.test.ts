// Why: the key arena is where a Merkle tree's per-key memory went from a few objects per key to a
// few typed-array elements; its contract is that slots freed by deletes are reused (no growth while
// the key count stays the same) without one key's leaf or hash bleeding into another's, and that a
// leaf's keys read back sorted by bytes whatever order they were inserted in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyArena, keyArenaInitialSlots } from '../../../../src/core/anti-entropy/key-arena.ts';

const hashLength = 4;

function hashOf(value: number): Uint8Array {
  return new Uint8Array([value, value + 1, value + 2, value + 3]);
}

function keysOfLeaf(arena: KeyArena, leaf: number): string[] {
  return arena.sortedSlotsOfLeaf(leaf).map((slot) => arena.keyOf(slot));
}

test('a leaf reads back its keys sorted by bytes, whatever the order of inserts', () => {
  const arena = new KeyArena(2, hashLength);
  for (const key of ['b', '\u00ff', 'a', 'ab', '']) arena.insert(key, 1, hashOf(1));
  arena.insert('z', 0, hashOf(2));
  assert.deepEqual(keysOfLeaf(arena, 1), ['', 'a', 'ab', 'b', '\u00ff']);
  assert.deepEqual(keysOfLeaf(arena, 0), ['z']);
  assert.equal(arena.size, 6);
});

test('slots freed by deletes are reused: the arena does not grow while the key count stays put', () => {
  const arena = new KeyArena(4, hashLength);
  for (let index = 0; index < keyArenaInitialSlots; index++) arena.insert(`first-${index}`, index % 4, hashOf(index));
  assert.equal(arena.slotCapacity, keyArenaInitialSlots);
  for (let index = 0; index < keyArenaInitialSlots; index += 2) assert.equal(arena.remove(`first-${index}`), index % 4);
  for (let index = 0; index < keyArenaInitialSlots / 2; index++) arena.insert(`other-${index}`, 3, hashOf(100 + index));
  assert.equal(arena.slotCapacity, keyArenaInitialSlots);
  for (let index = 1; index < keyArenaInitialSlots; index += 2) {
    const slot = arena.slotOf(`first-${index}`) as number;
    assert.equal(arena.leafOf(slot), index % 4);
    assert.deepEqual(arena.recordHashView(slot), hashOf(index));
  }
  for (let index = 0; index < keyArenaInitialSlots / 2; index++)
    assert.deepEqual(arena.recordHashView(arena.slotOf(`other-${index}`) as number), hashOf(100 + index));
  assert.equal(keysOfLeaf(arena, 0).length, 0);
  assert.equal(arena.isLeafEmpty(0), true);
  assert.equal(keysOfLeaf(arena, 3).length, keyArenaInitialSlots / 4 + keyArenaInitialSlots / 2);
  arena.insert('one more', 0, hashOf(7));
  assert.equal(arena.slotCapacity, keyArenaInitialSlots * 2);
});

test('a record hash of another length is held aside, compared by length, and dropped with its key', () => {
  const arena = new KeyArena(1, hashLength);
  arena.insert('key', 0, new Uint8Array([9]));
  const slot = arena.slotOf('key') as number;
  assert.deepEqual(arena.recordHashView(slot), new Uint8Array([9]));
  assert.equal(arena.holdsHash(slot, new Uint8Array([9])), true);
  assert.equal(arena.holdsHash(slot, new Uint8Array([9, 0, 0, 0])), false);
  arena.writeHash(slot, hashOf(5));
  assert.equal(arena.holdsHash(slot, hashOf(5)), true);
  arena.writeHash(slot, new Uint8Array([1, 2]));
  assert.equal(arena.remove('key'), 0);
  assert.equal(arena.remove('key'), undefined);
  arena.insert('next', 0, hashOf(3));
  assert.deepEqual(arena.recordHashView(arena.slotOf('next') as number), hashOf(3));
});
