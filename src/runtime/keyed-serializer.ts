// Why: a read-modify-write across an await must not interleave with another on the same key (the
// second would overwrite the first's result and lose a version). Work queued under one key runs one
// after another; work under different keys runs freely. A failure does not block the queue.

export class KeyedSerializer {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs `work` after every earlier work queued under `key` has settled. */
  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(work, work);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
