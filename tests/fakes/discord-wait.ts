/**
 * Waiting for something the bot does to the fake. Every recorder (channel messages, interaction
 * exchanges) owns a ChangeFeed, calls notify() after it records, and tests wait on a probe.
 *
 * Timers are cleared on resolve and on cancel, so a finished wait never keeps the process alive.
 */
export class ChangeFeed {
  readonly #waiters = new Set<{ check: () => void; cancel: (reason: Error) => void }>();

  /** Re-run every pending probe; call after each recorded change. */
  notify(): void {
    for (const waiter of [...this.#waiters]) waiter.check();
  }

  /**
   * Resolves with the first defined value `probe` returns, now or after a later notify();
   * rejects after `timeoutMs` with `describe()` in the message so a failing test says what was missing.
   */
  waitFor<T>(probe: () => T | undefined, timeoutMs: number, describe: () => string): Promise<T> {
    const current = probe();
    if (current !== undefined) return Promise.resolve(current);

    return new Promise<T>((resolve, reject) => {
      const waiter = {
        check: () => {
          const value = probe();
          if (value === undefined) return;
          finish();
          resolve(value);
        },
        cancel: (reason: Error) => {
          finish();
          reject(reason);
        },
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`fake Discord: timed out after ${timeoutMs} ms waiting for ${describe()}`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
      };
      this.#waiters.add(waiter);
    });
  }

  /** Reject every pending wait (the fake is closing). */
  cancelAll(reason: Error): void {
    for (const waiter of [...this.#waiters]) waiter.cancel(reason);
  }
}
