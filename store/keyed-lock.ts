/**
 * An in-process lock per key: `run(key, fn)` starts `fn` once every earlier `run` with the same key
 * has settled, in call order; different keys never wait for each other. Enough wherever one process
 * is the only writer (the embedded database, which the owner lock keeps to one process).
 */
export class KeyedLock {
  readonly #tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(fn);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    try {
      return await result;
    } finally {
      // The last holder leaves no entry behind.
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }

  /** Keys held or waited for now (tests). */
  get size(): number {
    return this.#tails.size;
  }
}
