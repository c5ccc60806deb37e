/**
 * A budget of attempts shared by every caller: at most `limit` grants in any sliding window, for each
 * window given. The stream supervisors of all guilds share one for TikTok connects, so 50 offline streams
 * coming online together queue up instead of stampeding the signing service (which allowed about
 * 5 connects a minute and 30 an hour per IP without a key).
 */
export interface BudgetWindow {
  readonly limit: number;
  readonly windowMs: number;
}

export class RateBudget {
  /** Grant times, oldest first; trimmed to the longest window. */
  private readonly grants: number[] = [];
  private readonly waiters: Array<{ resolve: () => void; reject: (err: unknown) => void; signal?: AbortSignal; onAbort?: () => void }> = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly longestWindowMs: number;

  constructor(
    private readonly windows: readonly BudgetWindow[],
    private readonly now: () => number = Date.now,
  ) {
    if (windows.length === 0 || windows.some((w) => w.limit < 1 || w.windowMs <= 0)) {
      throw new RangeError('RateBudget needs windows with limit >= 1 and windowMs > 0');
    }
    this.longestWindowMs = Math.max(...windows.map((w) => w.windowMs));
  }

  /** How many grants were given in the last `windowMs` (for status and tests). */
  grantedWithin(windowMs: number): number {
    const since = this.now() - windowMs;
    return this.grants.filter((t) => t > since).length;
  }

  get queued(): number {
    return this.waiters.length;
  }

  /** Resolves when an attempt may be made, first come first served; rejects if `signal` aborts. */
  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const waiter: (typeof this.waiters)[number] = { resolve, reject, signal };
      if (signal) {
        waiter.onAbort = () => {
          const index = this.waiters.indexOf(waiter);
          if (index >= 0) this.waiters.splice(index, 1);
          reject(signal.reason);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.waiters.push(waiter);
      this.drain();
    });
  }

  /** Stops the internal timer; pending waiters stay pending (their signals end them). */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private drain(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.waiters.length > 0) {
      const wait = this.msUntilFree();
      if (wait > 0) {
        this.timer = setTimeout(() => this.drain(), wait);
        return;
      }
      const waiter = this.waiters.shift()!;
      this.grants.push(this.now());
      if (waiter.signal && waiter.onAbort) waiter.signal.removeEventListener('abort', waiter.onAbort);
      waiter.resolve();
    }
    this.trim();
  }

  /** 0 when a grant is possible now, else the ms until the earliest window has room. */
  private msUntilFree(): number {
    this.trim();
    const now = this.now();
    let wait = 0;
    for (const { limit, windowMs } of this.windows) {
      const inWindow = this.grants.filter((t) => t > now - windowMs);
      if (inWindow.length >= limit) {
        // The oldest grant that still counts must leave the window first.
        const oldest = inWindow[inWindow.length - limit]!;
        wait = Math.max(wait, oldest + windowMs - now + 1);
      }
    }
    return wait;
  }

  private trim(): void {
    const horizon = this.now() - this.longestWindowMs;
    while (this.grants.length > 0 && this.grants[0]! <= horizon) this.grants.shift();
  }
}
