// Why: a node keeps a Merkle tree per partition over every key it stores, so what the tree holds per
// key is paid a million times on a node of a million keys. A small typed array per key (its own
// object, buffer and backing store) and a per-leaf JS array made the trees ~340 bytes per key, most
// of a loaded node's live heap (docs/BENCHMARKS.md, "A node holding 1M keys"). This arena holds the
// same facts in a few flat typed arrays indexed by a slot number: the Map from key to slot is the
// only per-key JS structure left (its key string is needed anyway to find a held key without
// digesting it), and a freed slot is reused by the next insert.
//
// Per slot: the key's leaf (Uint32Array), the next slot of the same leaf (Int32Array: each leaf is a
// singly linked, unsorted chain; a freed slot links the free list instead), the record hash (one
// Uint8Array of slot * recordHashLength), and the key string (a plain array sharing the Map's
// strings). A record hash of another length than the tree's digest (possible through the API, never
// in production where both are the same digest) is kept aside in a Map by slot. The arrays double
// when full and never shrink: a partition that lost most of its keys keeps its peak capacity.
//
// Reading a leaf walks its chain and sorts it (keys compare as latin1 strings, so in byte order):
// O(k log k) for the k keys of the leaf, which is what an exchange or a re-hash of that leaf reads.

/** Slots an arena starts with; it doubles from there. */
export const keyArenaInitialSlots = 64;

const noSlot = -1;

export class KeyArena {
  readonly recordHashLength: number;
  private readonly slotsByKey = new Map<string, number>();
  /** First slot of each leaf's chain, or noSlot while the leaf is empty. */
  private readonly leafHeads: Int32Array;
  private leafOfSlot: Uint32Array;
  private nextOfSlot: Int32Array;
  private recordHashes: Uint8Array;
  private readonly keyOfSlot: string[] = [];
  /** Record hashes whose length is not recordHashLength, by slot. */
  private readonly oddHashes = new Map<number, Uint8Array>();
  private capacity: number;
  /** Slots below this have been used at least once; the free list holds the released ones. */
  private slotsUsed = 0;
  private freeHead = noSlot;

  constructor(leafCount: number, recordHashLength: number, initialSlots = keyArenaInitialSlots) {
    this.recordHashLength = recordHashLength;
    this.capacity = initialSlots;
    this.leafHeads = new Int32Array(leafCount).fill(noSlot);
    this.leafOfSlot = new Uint32Array(initialSlots);
    this.nextOfSlot = new Int32Array(initialSlots);
    this.recordHashes = new Uint8Array(initialSlots * recordHashLength);
  }

  get size(): number {
    return this.slotsByKey.size;
  }

  /** Slots the arena can hold before it grows again. */
  get slotCapacity(): number {
    return this.capacity;
  }

  slotOf(keyText: string): number | undefined {
    return this.slotsByKey.get(keyText);
  }

  leafOf(slot: number): number {
    return this.leafOfSlot[slot] as number;
  }

  keyOf(slot: number): string {
    return this.keyOfSlot[slot] as string;
  }

  /** The slot's record hash, a view into the arena: read it before the next write. */
  recordHashView(slot: number): Uint8Array {
    const odd = this.oddHashes.size === 0 ? undefined : this.oddHashes.get(slot);
    if (odd !== undefined) return odd;
    const start = slot * this.recordHashLength;
    return this.recordHashes.subarray(start, start + this.recordHashLength);
  }

  holdsHash(slot: number, recordHash: Uint8Array): boolean {
    const odd = this.oddHashes.size === 0 ? undefined : this.oddHashes.get(slot);
    if (odd !== undefined) return odd.length === recordHash.length && bytesEqualAt(odd, 0, recordHash);
    if (recordHash.length !== this.recordHashLength) return false;
    return bytesEqualAt(this.recordHashes, slot * this.recordHashLength, recordHash);
  }

  /** Overwrites the slot's record hash with a copy of `recordHash`. */
  writeHash(slot: number, recordHash: Uint8Array): void {
    if (this.oddHashes.size !== 0) this.oddHashes.delete(slot);
    if (recordHash.length === this.recordHashLength) this.recordHashes.set(recordHash, slot * this.recordHashLength);
    else this.oddHashes.set(slot, recordHash.slice());
  }

  /** Adds a key the arena does not hold, to the chain of `leaf`. */
  insert(keyText: string, leaf: number, recordHash: Uint8Array): void {
    const slot = this.takeSlot();
    this.slotsByKey.set(keyText, slot);
    this.keyOfSlot[slot] = keyText;
    this.leafOfSlot[slot] = leaf;
    this.nextOfSlot[slot] = this.leafHeads[leaf] as number;
    this.leafHeads[leaf] = slot;
    this.writeHash(slot, recordHash);
  }

  /** Removes a key; returns the leaf it was in, or undefined when the arena did not hold it. */
  remove(keyText: string): number | undefined {
    const slot = this.slotsByKey.get(keyText);
    if (slot === undefined) return undefined;
    const leaf = this.leafOfSlot[slot] as number;
    this.unlink(leaf, slot);
    this.slotsByKey.delete(keyText);
    if (this.oddHashes.size !== 0) this.oddHashes.delete(slot);
    this.keyOfSlot[slot] = '';
    this.nextOfSlot[slot] = this.freeHead;
    this.freeHead = slot;
    return leaf;
  }

  /** The slots of one leaf, sorted by key (byte order). */
  sortedSlotsOfLeaf(leaf: number): number[] {
    const slots: number[] = [];
    for (let slot = this.leafHeads[leaf] as number; slot !== noSlot; slot = this.nextOfSlot[slot] as number)
      slots.push(slot);
    if (slots.length > 1) slots.sort((a, b) => compareText(this.keyOfSlot[a] as string, this.keyOfSlot[b] as string));
    return slots;
  }

  isLeafEmpty(leaf: number): boolean {
    return this.leafHeads[leaf] === noSlot;
  }

  private unlink(leaf: number, slot: number): void {
    const next = this.nextOfSlot[slot] as number;
    let previous = this.leafHeads[leaf] as number;
    if (previous === slot) {
      this.leafHeads[leaf] = next;
      return;
    }
    while ((this.nextOfSlot[previous] as number) !== slot) previous = this.nextOfSlot[previous] as number;
    this.nextOfSlot[previous] = next;
  }

  private takeSlot(): number {
    if (this.freeHead !== noSlot) {
      const slot = this.freeHead;
      this.freeHead = this.nextOfSlot[slot] as number;
      return slot;
    }
    if (this.slotsUsed === this.capacity) this.grow();
    return this.slotsUsed++;
  }

  private grow(): void {
    const capacity = this.capacity * 2;
    this.leafOfSlot = grown(this.leafOfSlot, new Uint32Array(capacity));
    this.nextOfSlot = grown(this.nextOfSlot, new Int32Array(capacity));
    this.recordHashes = grown(this.recordHashes, new Uint8Array(capacity * this.recordHashLength));
    this.capacity = capacity;
  }
}

function grown<T extends Uint8Array | Uint32Array | Int32Array>(old: T, larger: T): T {
  larger.set(old);
  return larger;
}

function bytesEqualAt(stored: Uint8Array, start: number, bytes: Uint8Array): boolean {
  for (let index = 0; index < bytes.length; index++) if (stored[start + index] !== bytes[index]) return false;
  return true;
}

/** Latin1 strings compare by code unit, which is byte order. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
