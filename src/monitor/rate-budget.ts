import type { BudgetWindow } from './types.js';

/** When the answer that `setWindows` applies was counted by the service, for telling our grants apart. */
export interface WindowReport {
  /** When the read was sent (epoch ms): our grants over by then are in the service's count. */
  readonly countedAtMs: number;
  /** Clocks differ: a reported use may count this much past the moment our clock gives it. */
  readonly slackMs?: number;
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

/** One granted attempt. */
export interface BudgetGrant {
  /**
   * The attempt is over (its request made, or never to be made): the use counts one window from now at
   * most. Until then it counts as if it ended `inFlightMs` after the grant. Calling it again does nothing.
   */
  done(): void;
}

export interface RateBudgetOptions {
  readonly now?: () => number;
  /**
   * How long after its grant an attempt can still reach the service (its bound, e.g. the connect
   * timeout). 0 (default): a grant counts as used at the moment it is given, and done() changes nothing.
   */
  readonly inFlightMs?: number;
}

interface Waiter {
  readonly resolve: (grant: BudgetGrant) => void;
  readonly reject: (err: unknown) => void;
  readonly priority: BudgetPriority;
  readonly signal: AbortSignal | undefined;
  readonly onQueued: ((estimateMs: number | undefined) => void) | undefined;
  onAbort?: () => void;
  /** The grant time last reported to onQueued (epoch ms), or null when reported as unknown. */
  reportedAt?: number | null;
}

interface OwnUse {
  readonly at: number;
  /** When the attempt was over (done()); undefined while in flight. */
  doneAt: number | undefined;
}

interface ActiveWindow {
  readonly limit: number;
  readonly windowMs: number;
  /** Latest leave times (epoch ms) of the reported uses that are not our grants, soonest first. */
  readonly external: readonly number[];
  /**
   * Some reported uses leave at unknown moments (counted at their latest): a read after this (epoch ms,
   * the reported reset) tells the next one. Undefined: nothing more to learn.
   */
  readonly rereadAfterMs: number | undefined;
}

/** setTimeout's longest delay; longer waits are re-armed. */
const MAX_TIMER_MS = 2_147_483_647;
/** A moved estimate is reported again only past this much (and 20 % of the wait), so /logs is not flooded. */
const REPORT_CHANGE_MS = 10_000;

/**
 * A budget of attempts shared by every caller: at most `limit` uses in any sliding window, for each
 * window given. The stream supervisors of all guilds share one for TikTok connects, so 50 streams going
 * live together queue up instead of stampeding the signing service, and one for cheap live checks.
 *
 * The connect budget is sized from what the signing service says the key allows (sign-limits.ts): its
 * windows can change at run time (`setWindows`), a window can start partly spent (the service counted
 * connects of an earlier run or of another process on the key), and a 429 holds every grant until the
 * service's reset (`holdUntil`). Waiters are served in order, foreground (a stream just added or just
 * gone live) before background (reconnects), and each one can be told roughly when it will be granted.
 *
 * Every window slides, here as on the signing service: a use counts until one window length after the
 * service saw it, so uses leave one at a time. Each use in the budget has the latest moment it can
 * leave the service's window, and a grant is given only when fewer than `limit` are still inside:
 * - our own grants leave one window after the attempt was over (`BudgetGrant.done()`): the service saw
 *   the request somewhere between the grant and then, so it cannot count it any longer than that;
 * - uses the service reported that are not ours leave one at a time: the oldest at the reported reset,
 *   each later one at the latest it can (a window after the read), until a new read tells when
 *   (`rereadDueMs`). Our grants the service had already counted are not counted a second time.
 */

export class RateBudget {
  /** Our grants, oldest first; trimmed once they have left the longest window. */
  private readonly grants: OwnUse[] = [];
  private readonly waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;
  private windows: ActiveWindow[] = [];
  private longestWindowMs = 0;
  /** No grant before this (epoch ms); Infinity while paused. */
  private heldUntil = 0;
  private readonly now: () => number;
  private readonly inFlightMs: number;

  constructor(windows: readonly BudgetWindow[], options: RateBudgetOptions = {}) {
    this.now = options.now ?? Date.now;
    this.inFlightMs = Math.max(0, options.inFlightMs ?? 0);
    this.setWindows(windows);
  }

  /**
   * Replaces the windows (a new answer from the signing service, an override); waiters are re-planned.
   * A window's `reported` spending replaces what an earlier answer said; `report` says when it was counted.
   */
  setWindows(windows: readonly BudgetWindow[], report?: WindowReport): void {
    if (windows.length === 0 || windows.some((w) => !(w.limit >= 1) || !(w.windowMs > 0))) {
      throw new RangeError('RateBudget needs windows with limit >= 1 and windowMs > 0');
    }
    const countedAt = report?.countedAtMs ?? this.now();
    const slackMs = Math.max(0, report?.slackMs ?? 0);
    this.windows = windows.map((w) => ({
      limit: Math.floor(w.limit),
      windowMs: w.windowMs,
      ...this.externalUses(w, countedAt, slackMs),
    }));
    this.longestWindowMs = Math.max(...this.windows.map((w) => w.windowMs));
    this.drain();
  }

  /** The windows in force, for /status and tests. */
  limits(): ReadonlyArray<{ readonly limit: number; readonly windowMs: number }> {
    return this.windows.map(({ limit, windowMs }) => ({ limit, windowMs }));
  }

  /**
   * When a new read of the service's limits would tell more (epoch ms): some reported uses are counted
   * at their latest, and after this the oldest of them has left and the service can say when the next
   * one does. Undefined: nothing to learn.
   */
  rereadDueMs(): number | undefined {
    this.trim();
    const due = this.windows
      .filter((w) => w.external.length > 0)
      .map((w) => w.rereadAfterMs)
      .filter((at): at is number => at !== undefined);
    return due.length === 0 ? undefined : Math.min(...due);
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

  /** Resolves when an attempt may be made (call done() on the grant once it is over); rejects if `signal` aborts. */
  acquire(signal?: AbortSignal, options: AcquireOptions = {}): Promise<BudgetGrant> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<BudgetGrant>((resolve, reject) => {
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

  /**
   * The reported uses of one window that are not our grants, each at the latest it can leave.
   *
   * The service counted `used` uses when the read was sent; our grants over by then are among them
   * (subtracting them keeps them from counting twice). Ours still in flight may or may not be: they stay
   * counted as ours only, and the rest counts once more, to be safe. The reported reset is when the
   * oldest use of all leaves: if that can be one of ours, every other use leaves at an unknown moment.
   */
  private externalUses(w: BudgetWindow, countedAt: number, slackMs: number): Pick<ActiveWindow, 'external' | 'rereadAfterMs'> {
    if (!w.reported || !(w.reported.used >= 1)) return { external: [], rereadAfterMs: undefined };
    const { untilMs } = w.reported;
    const counted = this.grants.filter((g) => {
      const end = this.endOf(g);
      return end !== undefined && end <= countedAt && g.at > countedAt - w.windowMs;
    });
    const count = Math.max(0, Math.floor(w.reported.used) - counted.length);
    if (count === 0) return { external: [], rereadAfterMs: undefined };
    // Any use the service counted was made by the read, so it is gone a window after it at the latest.
    const latest = Math.max(untilMs, countedAt + w.windowMs + slackMs);
    const isOldestOurs = counted.some((g) => untilMs >= g.at + w.windowMs);
    const external = Array.from({ length: count }, (_, i) => (i === 0 && !isOldestOurs ? untilMs : latest));
    const isAllKnown = (count === 1 && !isOldestOurs) || latest <= untilMs;
    return { external, rereadAfterMs: isAllKnown ? undefined : untilMs };
  }

  /** When our attempt was over: done(), or at once when attempts are not tracked; undefined while in flight. */
  private endOf(grant: OwnUse): number | undefined {
    return grant.doneAt ?? (this.inFlightMs === 0 ? grant.at : undefined);
  }

  private grant(): BudgetGrant {
    const use: OwnUse = { at: this.now(), doneAt: undefined };
    this.grants.push(use);
    return {
      done: () => {
        if (use.doneAt !== undefined || this.inFlightMs === 0) return;
        use.doneAt = this.now();
        // Usually sooner than its in-flight bound: those waiting may go earlier.
        this.drain();
      },
    };
  }

  private drain(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.trim();
    while (this.waiters.length > 0) {
      const wait = this.msUntilFree(this.leaveTimes(false), this.now());
      if (wait > 0) {
        if (Number.isFinite(wait)) this.timer = setTimeout(() => this.drain(), Math.min(wait, MAX_TIMER_MS));
        this.reportEstimates();
        return;
      }
      const waiter = this.waiters.shift()!;
      if (waiter.signal && waiter.onAbort) waiter.signal.removeEventListener('abort', waiter.onAbort);
      waiter.resolve(this.grant());
    }
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

  /**
   * When the next `count` grants would be given if nothing changed (epoch ms); empty past an unknown hold.
   * An estimate: attempts are taken to be over as soon as they are granted (they usually are within a second).
   */
  private planGrants(count: number): number[] {
    const leaves = this.leaveTimes(true);
    const plan: number[] = [];
    let t = this.now();
    for (let i = 0; i < count; i += 1) {
      const wait = this.msUntilFree(leaves, t);
      if (!Number.isFinite(wait)) break;
      t += wait;
      const at = t;
      leaves.forEach((times, w) => times.push(at + this.windows[w]!.windowMs));
      plan.push(t);
    }
    return plan;
  }

  /**
   * For each window, the latest moment each use it counts can leave it (epoch ms). An attempt in flight
   * counts until a window after its bound, or, for an estimate, a window after now.
   */
  private leaveTimes(isEstimate: boolean): number[][] {
    const now = this.now();
    return this.windows.map(({ windowMs, external }) => [
      ...external,
      ...this.grants.map((g) => (this.endOf(g) ?? (isEstimate ? Math.max(now, g.at) : g.at + this.inFlightMs)) + windowMs),
    ]);
  }

  /** 0 when a grant is possible at `at`, else the ms until every window and the hold allow one. */
  private msUntilFree(leaves: readonly number[][], at: number): number {
    let wait = this.heldUntil > at ? this.heldUntil - at : 0;
    if (!Number.isFinite(wait)) return wait;
    // The hold ends first; windows are judged from then on. A window's count only falls with time, so
    // the latest of the windows' own earliest moments suits them all.
    const from = at + wait;
    this.windows.forEach(({ limit }, w) => {
      const inside = (leaves[w] ?? []).filter((t) => t > from).sort((a, b) => a - b);
      // Once this many have left, one more use fits.
      const excess = inside.length - limit + 1;
      if (excess > 0) wait = Math.max(wait, inside[excess - 1]! - at + 1);
    });
    return wait;
  }

  /** Forgets our grants that have left every window, and reported uses that have left theirs. */
  private trim(): void {
    const now = this.now();
    const end = (g: OwnUse) => this.endOf(g) ?? g.at + this.inFlightMs;
    for (let i = this.grants.length - 1; i >= 0; i -= 1) {
      if (end(this.grants[i]!) + this.longestWindowMs <= now) this.grants.splice(i, 1);
    }
    if (this.windows.some((w) => w.external.some((t) => t <= now))) {
      this.windows = this.windows.map((w) => ({ ...w, external: w.external.filter((t) => t > now) }));
    }
  }
}
