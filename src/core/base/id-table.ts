// Why: a node routes every completion (store answer, peer reply, timer, client reply) through a
// table keyed by an id it allocated, and nearly every entry lives for one request. A Map used that
// way churns: it rehashes as entries come and go and shrinks (allocating a new table) whenever it
// empties; a busy coordinator's allocation profile had those tables among its top sites. Ids are
// allocated in increasing order and never reused, so the entries alive at once are a window of
// nearby ids: a direct-mapped array indexed by `id mod capacity` holds them with no hashing, no
// probing and no allocation. An id whose slot is still held by an older, long-lived entry (a hint
// waiting for its disk, say) goes to a small overflow Map instead; when the overflow grows, the
// array doubles, so a heavier load settles on a capacity that holds its window.
import { assert } from './assert.ts';

const emptySlot = 0;
const initialCapacity = 1024;

export class IdTable<V> {
  private ids: Float64Array;
  private values: (V | undefined)[];
  private readonly overflow = new Map<number, V>();
  private live = 0;

  constructor(capacity = initialCapacity) {
    assert(
      Number.isInteger(capacity) && capacity >= 1 && (capacity & (capacity - 1)) === 0,
      'IdTable capacity is a power of two',
    );
    this.ids = new Float64Array(capacity);
    this.values = new Array<V | undefined>(capacity).fill(undefined);
  }

  get size(): number {
    return this.live;
  }

  /** Adds an entry for a fresh id: a positive safe integer not in the table (ids are never reused). */
  add(id: number, value: V): void {
    assert(Number.isSafeInteger(id) && id > 0, 'IdTable ids are positive safe integers');
    this.live += 1;
    const slot = this.slotOf(id);
    if (this.ids[slot] === emptySlot) {
      this.ids[slot] = id;
      this.values[slot] = value;
      return;
    }
    this.overflow.set(id, value);
    if (this.overflow.size * 8 > this.ids.length) this.grow();
  }

  get(id: number): V | undefined {
    const slot = this.slotOf(id);
    if (this.ids[slot] === id) return this.values[slot];
    return this.overflow.size === 0 ? undefined : this.overflow.get(id);
  }

  has(id: number): boolean {
    return this.ids[this.slotOf(id)] === id || (this.overflow.size > 0 && this.overflow.has(id));
  }

  /** Removes the entry and returns its value (undefined when there was none). */
  take(id: number): V | undefined {
    const slot = this.slotOf(id);
    if (this.ids[slot] === id) {
      const value = this.values[slot];
      this.ids[slot] = emptySlot;
      this.values[slot] = undefined;
      this.live -= 1;
      return value;
    }
    if (this.overflow.size === 0) return undefined;
    const value = this.overflow.get(id);
    if (this.overflow.delete(id)) this.live -= 1;
    return value;
  }

  delete(id: number): boolean {
    const before = this.live;
    this.take(id);
    return this.live < before;
  }

  *entries(): IterableIterator<[number, V]> {
    for (let slot = 0; slot < this.ids.length; slot++) {
      const id = this.ids[slot] as number;
      if (id !== emptySlot) yield [id, this.values[slot] as V];
    }
    yield* this.overflow;
  }

  clear(): void {
    this.ids.fill(emptySlot);
    this.values.fill(undefined);
    this.overflow.clear();
    this.live = 0;
  }

  /** The slot an id maps to; ids that can never have been added (0, negative, fractional) map to none. */
  private slotOf(id: number): number {
    // `%` is exact for any safe integer, and the result of a bad id indexes no slot (NaN, negative or fractional).
    return id === emptySlot ? -1 : id % this.ids.length;
  }

  /** Doubles the array and moves every entry that now has a free slot out of the overflow. */
  private grow(): void {
    const entries = [...this.entries()];
    const capacity = this.ids.length * 2;
    this.ids = new Float64Array(capacity);
    this.values = new Array<V | undefined>(capacity).fill(undefined);
    this.overflow.clear();
    this.live = 0;
    for (const [id, value] of entries) this.add(id, value);
  }
}
