/**
 * A budget of attempts shared by every caller: at most `limit` grants in any sliding window, for each
 * window given. The stream supervisors of all guilds share one for TikTok connects, so 50 streams going
 * live together queue up instead of stampeding the signing service, and one for cheap live checks.
 *
 * The connect budget is sized from what the signing service says the key allows (sign-limits.ts): its
 * windows can change at run time (`setWindows`), a window can start partly spent (the service counted
 * connects of an earlier run), and a 429 holds every grant until the service's reset (`holdUntil`).
 * Waiters are served in order, foreground (a stream just added or just gone live) before background
 * (reconnects), and each one can be told roughly when it will be granted.
 */
export interface BudgetWindow {
  readonly limit: number;
  readonly windowMs: number;
  /**
   * What the signing service reported as already used in this window when the window was set, and when
   * (epoch ms) those uses stop counting. Our own grants inside the window at that moment are part of it.
   */
  readonly reported?: { readonly used: number; readonly untilMs: number } | undefined;
}

export type BudgetPriority = 'foreground' | 'background';

export interface AcquireOptions {
  /** Foreground waiters go before every background one; each class is first come first served. Default background. */
  readonly priority?: BudgetPriority;
  /**
   * Called when the grant cannot be given at once, with the estimated ms until it will be (undefined while
   * the budget is held with no known end), and again when that estimate moves noticeably.
   */
  readonly onQueued?: (estimateMs: number | undefined) => void;
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
  readonly priority: BudgetPriority;
  readonly signal: AbortSignal | undefined;
  readonly onQueued: ((estimateMs: number | undefined) => void) | undefined;
  onAbort?: () => void;
  /** The grant time last reported to onQueued (epoch ms), or null when reported as unknown. */
  reportedAt?: number | null;
}

interface ActiveWindow {
  readonly limit: number;
  readonly windowMs: number;
  /** Uses the signing service counted that are not our own grants, leaving the count at `untilMs`. */
  readonly external: number;
  readonly untilMs: number;
}

/** setTimeout's longest delay; longer waits are re-armed. */
const MAX_TIMER_MS = 2_147_483_647;
/** A moved estimate is reported again only past this much (and 20 % of the wait), so /logs is not flooded. */
const REPORT_CHANGE_MS = 10_000;

export class RateBudget {
  /** Grant times, oldest first; trimmed to the longest window. */
  private readonly grants: number[] = [];
  private readonly waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;
  private windows: ActiveWindow[] = [];
  private longestWindowMs = 0;
  /** No grant before this (epoch ms); Infinity while paused. */
  private heldUntil = 0;

  constructor(
    windows: readonly BudgetWindow[],
    private readonly now: () => number = Date.now,
  ) {
    this.setWindows(windows);
  }

  /** Replaces the windows (a new answer from the signing service, an override); waiters are re-planned. */
  setWindows(windows: readonly BudgetWindow[]): void {
    if (windows.length === 0 || windows.some((w) => !(w.limit >= 1) || !(w.windowMs > 0))) {
      throw new RangeError('RateBudget needs windows with limit >= 1 and windowMs > 0');
    }
    const now = this.now();
    this.windows = windows.map((w) => {
      const ours = this.grants.filter((t) => t > now - w.windowMs).length;
      const reported = w.reported && w.reported.untilMs > now ? w.reported : undefined;
      return {
        limit: Math.floor(w.limit),
        windowMs: w.windowMs,
        external: reported ? Math.max(0, Math.floor(reported.used) - ours) : 0,
        untilMs: reported ? reported.untilMs : 0,
      };
    });
    this.longestWindowMs = Math.max(...this.windows.map((w) => w.windowMs));
    this.drain();
  }

  /** The windows in force, for /status and tests. */
  limits(): ReadonlyArray<{ readonly limit: number; readonly windowMs: number }> {
    return this.windows.map(({ limit, windowMs }) => ({ limit, windowMs }));
  }

  /** No grant before `untilMs` (epoch ms): the signing service said 429 until then. Never shortens a hold. */
  holdUntil(untilMs: number): void {
    if (untilMs <= this.heldUntil) return;
    this.heldUntil = untilMs;
    this.drain();
  }

  /** Holds every grant until resume() (the limits are not known yet). */
  pause(): void {
    this.holdUntil(Infinity);
  }

  resume(): void {
    if (this.heldUntil !== Infinity) return;
    this.heldUntil = 0;
    this.drain();
  }

  get queued(): number {
    return this.waiters.length;
  }

  /**
   * Roughly how long a new waiter of this priority would wait (ms; 0: at once; undefined: held with no
   * known end). For the reply to `/stream add`.
   */
  estimateWaitMs(priority: BudgetPriority = 'background'): number | undefined {
    const ahead = priority === 'foreground' ? this.waiters.filter((w) => w.priority === 'foreground').length : this.waiters.length;
    const at = this.planGrants(ahead + 1).at(-1);
    return at === undefined ? undefined : Math.max(0, at - this.now());
  }

  /** Resolves when an attempt may be made; rejects if `signal` aborts. */
  acquire(signal?: AbortSignal, options: AcquireOptions = {}): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal, priority: options.priority ?? 'background', onQueued: options.onQueued };
      if (signal) {
        waiter.onAbort = () => {
          const index = this.waiters.indexOf(waiter);
          if (index >= 0) this.waiters.splice(index, 1);
          reject(signal.reason);
          // Those behind it move up.
          this.drain();
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      if (waiter.priority === 'foreground') {
        const firstBackground = this.waiters.findIndex((w) => w.priority === 'background');
        this.waiters.splice(firstBackground < 0 ? this.waiters.length : firstBackground, 0, waiter);
      } else {
        this.waiters.push(waiter);
      }
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
      const wait = this.msUntilFree(this.grants, this.now());
      if (wait > 0) {
        if (Number.isFinite(wait)) this.timer = setTimeout(() => this.drain(), Math.min(wait, MAX_TIMER_MS));
        this.reportEstimates();
        return;
      }
      const waiter = this.waiters.shift()!;
      this.grants.push(this.now());
      if (waiter.signal && waiter.onAbort) waiter.signal.removeEventListener('abort', waiter.onAbort);
      waiter.resolve();
    }
    this.trim();
  }

  /** Tells each waiting caller when it should be granted, the first time and when that moves noticeably. */
  private reportEstimates(): void {
    if (!this.waiters.some((w) => w.onQueued)) return;
    const now = this.now();
    const plan = this.planGrants(this.waiters.length);
    this.waiters.forEach((waiter, index) => {
      if (!waiter.onQueued) return;
      const at = plan[index] ?? null;
      const previous = waiter.reportedAt;
      const changed =
        previous === undefined ||
        (previous === null) !== (at === null) ||
        (previous !== null && at !== null && Math.abs(at - previous) > Math.max(REPORT_CHANGE_MS, 0.2 * (at - now)));
      if (!changed) return;
      waiter.reportedAt = at;
      try {
        waiter.onQueued(at === null ? undefined : Math.max(0, at - now));
      } catch {
        // A caller's status update must not stop the budget.
      }
    });
  }

  /** When the next `count` grants would be given if nothing changed (epoch ms); empty past an unknown hold. */
  private planGrants(count: number): number[] {
    const grants = [...this.grants];
    const plan: number[] = [];
    let t = this.now();
    for (let i = 0; i < count; i += 1) {
      const wait = this.msUntilFree(grants, t);
      if (!Number.isFinite(wait)) break;
      t += wait;
      grants.push(t);
      plan.push(t);
    }
    return plan;
  }

  /** 0 when a grant is possible at `at`, else the ms until every window and the hold allow one. */
  private msUntilFree(grants: readonly number[], at: number): number {
    this.trim();
    let wait = this.heldUntil > at ? this.heldUntil - at : 0;
    if (!Number.isFinite(wait)) return wait;
    // The hold ends first; windows are judged from then on.
    const from = at + wait;
    for (const { limit, windowMs, external, untilMs } of this.windows) {
      const inWindow = grants.filter((t) => t > from - windowMs);
      const externalNow = untilMs > from ? external : 0;
      let excess = inWindow.length + externalNow - limit + 1;
      if (excess <= 0) continue;
      // Walk the moments uses leave the window, soonest first, until enough have left.
      const releases = inWindow.map((t) => ({ at: t + windowMs, count: 1 }));
      if (externalNow > 0) releases.push({ at: untilMs, count: externalNow });
      releases.sort((a, b) => a.at - b.at);
      for (const release of releases) {
        excess -= release.count;
        if (excess <= 0) {
          wait = Math.max(wait, release.at - at + 1);
          break;
        }
      }
    }
    return wait;
  }

  private trim(): void {
    const horizon = this.now() - this.longestWindowMs;
    while (this.grants.length > 0 && this.grants[0]! <= horizon) this.grants.shift();
  }
}
