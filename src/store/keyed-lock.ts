/**
 * An in-process mutex per key: `run(key, work)` waits for every earlier `run` on the same key to settle,
 * then runs `work`. Different keys never wait for each other. This is what makes read-modify-write on
 * Keyv safe inside one bot process (Keyv itself has no transactions).
 */
export class KeyedLock {
  readonly #tails = new Map<string, Promise<void>>();

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => {
      release = resolve;
    });
    // The tail settles only after this run settles, whatever the outcome, so one failure never
    // unblocks (or poisons) the runs queued behind it.
    const tail = previous.then(() => current);
    this.#tails.set(key, tail);
    try {
      await previous;
      return await work();
    } finally {
      release();
      // Forget the key once nobody queued behind us, so the map does not grow with every guild ever seen.
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }

  /** Resolves once every run started so far has settled (used by close()). */
  async drain(): Promise<void> {
    while (this.#tails.size > 0) {
      await Promise.all([...this.#tails.values()]);
    }
  }
}
