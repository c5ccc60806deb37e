import type { Logger } from 'pino';
import { errorMessage } from '../util/text.js';
import type { RateBudget } from './rate-budget.js';
import { TIKTOK_DEFAULTS } from './defaults.js';
import type { BudgetWindow } from './types.js';

/** One window of the signing service's `GET /accounts/me/rate_limits` answer. */
export interface SignLimitWindow {
  readonly max: number;
  readonly remaining: number;
  /** When the window's count goes back to zero (epoch ms); undefined when the service said null. */
  readonly resetAtMs: number | undefined;
}

/** What the signing service allows this key (or an anonymous caller) for webcast connects. */
export interface SignLimits {
  readonly minute?: SignLimitWindow | undefined;
  readonly hour?: SignLimitWindow | undefined;
  readonly day?: SignLimitWindow | undefined;
}

/** `TIKTOK_CONNECTS_PER_MINUTE` / `TIKTOK_CONNECTS_PER_HOUR`: the user's own limits win over the service's. */
export interface ConnectOverrides {
  readonly perMinute?: number | undefined;
  readonly perHour?: number | undefined;
}

const WINDOW_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;

/**
 * The connect budget's windows from the service's answer (undefined: unreachable) and the user's
 * overrides. A window the service reports partly spent (an earlier run, another process on the key)
 * starts with that spending; the service's windows slide, so only its oldest use leaves at `reset_at`
 * (the budget frees the rest one at a time: rate-budget.ts).
 */
export function connectWindows(limits: SignLimits | undefined, overrides: ConnectOverrides, now: number): BudgetWindow[] {
  const windows: BudgetWindow[] = [];
  const fromService = limits !== undefined && (limits.minute ?? limits.hour ?? limits.day) !== undefined;
  for (const name of ['minute', 'hour', 'day'] as const) {
    const windowMs = WINDOW_MS[name];
    const override = name === 'minute' ? overrides.perMinute : name === 'hour' ? overrides.perHour : undefined;
    const reported = fromService ? limits?.[name] : undefined;
    const fallback = fromService ? undefined : TIKTOK_DEFAULTS.signLimits.fallback.find((w) => w.windowMs === windowMs)?.limit;
    const limit = override ?? (reported && reported.max >= 1 ? reported.max : fallback);
    if (limit === undefined) continue;
    const used = reported ? Math.max(0, reported.max - reported.remaining) : 0;
    windows.push({
      limit,
      windowMs,
      ...(reported && used > 0
        ? { reported: { used, untilMs: (reported.resetAtMs ?? now + windowMs) + TIKTOK_DEFAULTS.signLimits.resetSlackMs } }
        : {}),
    });
  }
  return windows;
}

/** Where the connect budget's size came from, for /status and logs. */
export type BudgetSource = 'signing service' | 'fallback (signing service unreachable)' | 'reading the signing service';

/**
 * Keeps the shared connect budget sized to what the signing service allows: reads its limits at start,
 * every hour and after any 429; falls back to the keyless budget while it cannot be reached. Until the
 * first answer (or failure) the budget grants nothing, so a 3-a-minute key is never sent 4 at start.
 *
 * The service's windows slide and its answer names only when the oldest use leaves (`reset_at`). While a
 * window holds uses of others whose leaving is not known yet (an earlier run, another process on the key)
 * and someone waits for the budget, the limits are read again once that oldest use has left, which tells
 * when the next one does: the spending comes back one use at a time, as the service frees it.
 */
export class ConnectBudgetSizer {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private hasAnswer = false;
  private isClosed = false;
  private currentSource: BudgetSource = 'reading the signing service';
  /** When the next routine read is due (epoch ms): hourly, or sooner after a failure. */
  private refreshAt = 0;
  /** When the last read was sent (epoch ms). */
  private lastReadAt = 0;

  constructor(
    private readonly options: {
      readonly budget: RateBudget;
      readonly fetchLimits: () => Promise<SignLimits>;
      readonly overrides: ConnectOverrides;
      readonly log: Logger;
      readonly now?: () => number;
    },
  ) {}

  get source(): BudgetSource {
    return this.currentSource;
  }

  start(): void {
    this.options.budget.pause();
    void this.refresh();
  }

  /** Reads the limits again now (after a 429); a read already under way is shared. */
  refresh(): Promise<void> {
    if (this.isClosed) return Promise.resolve();
    this.running ??= this.read().finally(() => (this.running = undefined));
    return this.running;
  }

  close(): void {
    this.isClosed = true;
    clearTimeout(this.timer);
  }

  private nowMs(): number {
    return (this.options.now ?? Date.now)();
  }

  private async read(): Promise<void> {
    const { budget, overrides, log } = this.options;
    const sentAt = this.nowMs();
    this.lastReadAt = sentAt;
    let nextMs: number = TIKTOK_DEFAULTS.signLimits.refreshMs;
    try {
      const limits = await this.options.fetchLimits();
      if (this.isClosed) return;
      budget.setWindows(connectWindows(limits, overrides, this.nowMs()), { countedAtMs: sentAt, slackMs: TIKTOK_DEFAULTS.signLimits.resetSlackMs });
      this.hasAnswer = true;
      this.currentSource = 'signing service';
      log.info({ limits, windows: budget.limits() }, 'connect budget sized from the signing service');
    } catch (err) {
      if (this.isClosed) return;
      nextMs = TIKTOK_DEFAULTS.signLimits.retryMs;
      // An earlier answer stays (its spending has expired by now); with none, the conservative keyless budget.
      if (!this.hasAnswer) {
        budget.setWindows(connectWindows(undefined, overrides, this.nowMs()));
        this.currentSource = 'fallback (signing service unreachable)';
      }
      log.warn({ err: errorMessage(err), windows: budget.limits() }, 'could not read the signing service limits');
    } finally {
      budget.resume();
    }
    this.refreshAt = this.nowMs() + nextMs;
    this.arm();
  }

  /** Sets the one timer: the routine read, or sooner the re-read that frees reported spending. */
  private arm(): void {
    if (this.isClosed) return;
    clearTimeout(this.timer);
    const now = this.nowMs();
    const reread = this.options.budget.rereadDueMs();
    const minGap = TIKTOK_DEFAULTS.signLimits.rereadGapMs;
    const at = reread === undefined ? this.refreshAt : Math.min(this.refreshAt, Math.max(reread, this.lastReadAt + minGap));
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, at - now));
    this.timer.unref();
  }

  private onTimer(): void {
    const now = this.nowMs();
    const reread = this.options.budget.rereadDueMs();
    const isRereadUseful = reread !== undefined && reread <= now && this.options.budget.queued > 0;
    if (now >= this.refreshAt || isRereadUseful) {
      void this.refresh();
      return;
    }
    // Spending whose leaving is unknown, but nobody waits for it: look again shortly, without asking the service.
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.onTimer(), Math.min(TIKTOK_DEFAULTS.signLimits.rereadGapMs, Math.max(0, this.refreshAt - now)));
    this.timer.unref();
  }
}
