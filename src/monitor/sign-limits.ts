import type { Logger } from 'pino';
import { errorMessage } from '../util/text.js';
import type { BudgetWindow, RateBudget } from './rate-budget.js';
import { TIKTOK_DEFAULTS } from './defaults.js';

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
 * starts with that spending, which leaves at its `reset_at`.
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
 */
export class ConnectBudgetSizer {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private hasAnswer = false;
  private isClosed = false;
  private currentSource: BudgetSource = 'reading the signing service';

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

  private async read(): Promise<void> {
    const { budget, overrides, log } = this.options;
    const now = this.options.now ?? Date.now;
    let nextMs: number = TIKTOK_DEFAULTS.signLimits.refreshMs;
    try {
      const limits = await this.options.fetchLimits();
      if (this.isClosed) return;
      budget.setWindows(connectWindows(limits, overrides, now()));
      this.hasAnswer = true;
      this.currentSource = 'signing service';
      log.info({ limits, windows: budget.limits() }, 'connect budget sized from the signing service');
    } catch (err) {
      if (this.isClosed) return;
      nextMs = TIKTOK_DEFAULTS.signLimits.retryMs;
      // An earlier answer stays (its spending has expired by now); with none, the conservative keyless budget.
      if (!this.hasAnswer) {
        budget.setWindows(connectWindows(undefined, overrides, now()));
        this.currentSource = 'fallback (signing service unreachable)';
      }
      log.warn({ err: errorMessage(err), windows: budget.limits() }, 'could not read the signing service limits');
    } finally {
      budget.resume();
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.refresh(), nextMs);
    this.timer.unref();
  }
}
