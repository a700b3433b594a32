// Why: a few lists on the request path are filled and emptied many times per request (the core's
// effects, the runtime's events, a peer's outgoing messages). Emptying a JavaScript array with
// `length = 0` makes V8 drop its backing store, so the next push allocates a fresh one of 17 slots
// (~150 bytes) every time (measured with bench/alloc-per-set.ts and a sampling heap profile). This
// list keeps its array and a count instead: refilling it allocates nothing once it has grown to
// its usual size. Emptied slots are cleared, so it never keeps what it held alive.

export class ReusableList<T> {
  private readonly items: Array<T | undefined> = [];
  private length = 0;

  /** How many items it holds. */
  get count(): number {
    return this.length;
  }

  push(item: T): void {
    this.items[this.length++] = item;
  }

  /** The item at `index` (0 <= index < count). */
  at(index: number): T {
    return this.items[index] as T;
  }

  /** Empties the list and keeps its storage. */
  clear(): void {
    for (let index = 0; index < this.length; index++) this.items[index] = undefined;
    this.length = 0;
  }

  /** The items as an array of their own (for callers that keep them). */
  toArray(): T[] {
    return this.items.slice(0, this.length) as T[];
  }

  /** The backing array, whose first `count` entries are the items, for a reader that takes a count (an encoder). */
  get backing(): readonly T[] {
    return this.items as readonly T[];
  }
}
