// Why: a read-modify-write across an await must not interleave with another on the same key (the
// second would overwrite the first's result and lose a version). Work queued under one key runs one
// after another; work under different keys runs freely. A failure does not block the queue.
// Nearly always nothing else is queued under the key (keys are many, writes to one key rare), so
// then the work starts at once, with one promise to learn when the key is free again.

export class KeyedSerializer {
  /** Per busy key, the last work queued under it, settled or not. */
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs `work` after every earlier work queued under `key` has settled. `work` reports failure by rejecting (an async function), never by throwing. */
  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key);
    const result = previous === undefined ? work() : previous.then(work, work);
    this.tails.set(key, result);
    const release = (): void => {
      if (this.tails.get(key) === result) this.tails.delete(key);
    };
    result.then(release, release);
    return result;
  }

  /** Keys with work queued or running; for tests. */
  get busyKeys(): number {
    return this.tails.size;
  }
}
