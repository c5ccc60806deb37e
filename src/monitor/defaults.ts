import type { BudgetWindow, MonitorBudgets, SupervisorTimings, TikTokTransport } from './types.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

/**
 * About what the signing service allows per IP without a key (5 connects a minute, 30 an hour), with room
 * for a manual restart: the connect budget until the service says what the key allows, or when it can't.
 */
const KEYLESS_CONNECTS = [
  { limit: 4, windowMs: MINUTE_MS },
  { limit: 25, windowMs: HOUR_MS },
] as const satisfies readonly BudgetWindow[];

/** Every default of the source stage (src/monitor/): what a user gets without a knob. */
export const TIKTOK_DEFAULTS = {
  transport: {
    signApiUrl: 'https://api.eulerstream.com',
    webHost: 'www.tiktok.com',
    webcastHost: 'webcast.tiktok.com',
    requestTimeoutMs: 10_000,
    operationTimeoutMs: 45_000,
  },
  /**
   * Live checks go to TikTok's web page, which has no published limit; ten a second still spreads a
   * 50-stream restart over five seconds, where one a second would hold fifty lives back for most of a
   * minute whatever the connect budget allows.
   */
  budgets: {
    connects: KEYLESS_CONNECTS,
    checks: [{ limit: 10, windowMs: 1_000 }],
  },
  signLimits: {
    /** Used while the service cannot be reached. */
    fallback: KEYLESS_CONNECTS,
    /** A key's limits change when its plan does: read them again this often. */
    refreshMs: HOUR_MS,
    /** After a failed read, try again sooner. */
    retryMs: 5 * MINUTE_MS,
    /** Clocks differ: a reported window is trusted to reset this much later than it says. */
    resetSlackMs: 1_000,
    /**
     * Reads made to learn when reported spending leaves (sliding windows) are at least this far apart, so
     * a key with hundreds of uses a minute is not read hundreds of times.
     */
    rereadGapMs: 5_000,
    /**
     * A connect can reach the signing service this long after its grant (the whole connect is bounded by
     * the transport's 45 s operation timeout): until it is over, it counts as made this late.
     */
    connectInFlightMs: 60_000,
  },
  supervisor: {
    offlinePollMs: MINUTE_MS,
    pollJitterRatio: 0.2,
    reconnect: { initialMs: 5_000, maxMs: 5 * MINUTE_MS, factor: 2 },
    // The library heartbeats every 10 s and TikTok answers each one: three missed answers mean a dead socket.
    silenceTimeoutMs: 30_000,
    // Why these numbers: src/monitor/silent-room.ts (and the README's "How it keeps going").
    silentRoom: {
      floors: [
        { minViewers: 1_000, ms: MINUTE_MS },
        { minViewers: 100, ms: 2 * MINUTE_MS },
        { minViewers: 10, ms: 5 * MINUTE_MS },
        { minViewers: 0, ms: 10 * MINUTE_MS },
      ],
      gapMultiplier: 3,
      ceilingMs: 30 * MINUTE_MS,
      maxLimitMs: 2 * HOUR_MS,
      checkEveryMs: 5_000,
    },
    stableAfterMs: 2 * MINUTE_MS,
    errorRetryMs: 30 * MINUTE_MS,
    rateLimitFallbackMs: MINUTE_MS,
    // A blocked or stumbling live check: 10 s doubling to 5 min, each wait ±40 %, shown after 3 in a row.
    unclearRetry: { initialMs: 10_000, maxMs: 5 * MINUTE_MS, factor: 2 },
    unclearJitterRatio: 0.4,
    unclearShownAfter: 3,
  },
  /** Chat ids the supervisor remembers, to drop the chats TikTok replays after a reconnect. */
  recentChatIds: 5_000,
} as const satisfies {
  transport: Partial<TikTokTransport>;
  budgets: MonitorBudgets;
  signLimits: { fallback: readonly BudgetWindow[]; refreshMs: number; retryMs: number; resetSlackMs: number; rereadGapMs: number; connectInFlightMs: number };
  supervisor: SupervisorTimings;
  recentChatIds: number;
};
