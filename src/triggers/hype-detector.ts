import type { HypeSensitivity } from '../store/settings-schema.js';
import { ChatRateWindow } from './chat-rate-window.js';

export interface HypeThreshold {
  /** Recent chat must run at least this many times the stream's baseline. */
  readonly multiple: number;
  /** ...and at least this many chats a second, so a quiet stream's three messages are not hype. */
  readonly minPerSecond: number;
}

/**
 * Thresholds per sensitivity. Clip tools for other platforms publish 1.5-3x a 30-60 s baseline over a
 * 5 s window, with a minimum rate; `high` is the most eager.
 */
export const HYPE_THRESHOLDS = {
  low: { multiple: 3, minPerSecond: 10 },
  medium: { multiple: 2, minPerSecond: 5 },
  high: { multiple: 1.5, minPerSecond: 3 },
} as const satisfies Record<Exclude<HypeSensitivity, 'off'>, HypeThreshold>;

export const HYPE_DEFAULTS = {
  /** A stream needs this much chat history before its baseline means anything. */
  minHistorySeconds: 30,
  /** Quiet at least this long after firing, even with a cooldown of 0: one spike is one moment. */
  minQuietMs: 5_000,
} as const satisfies Record<string, number>;

/** What a firing looked like, for the alert. */
export interface HypeReading {
  readonly recentPerSecond: number;
  readonly baselinePerSecond: number;
}

/**
 * One stream's hype detector: counts its chats and says, for a guild's sensitivity, whether chat right
 * now runs far above the stream's own moving baseline. A stream that has always been fast has a fast
 * baseline, so it never fires. Per-guild quiet periods are kept here so each guild fires once per spike.
 */
export class HypeDetector {
  private readonly window = new ChatRateWindow();
  /** guildId -> epoch ms until which that guild stays quiet on this stream. */
  private readonly quietUntil = new Map<string, number>();

  record(nowMs: number): void {
    this.window.record(nowMs);
  }

  recentRate(nowMs: number): number {
    return this.window.recentRate(nowMs);
  }

  /**
   * Returns the reading when the guild's threshold is crossed and it is not in its quiet period, and
   * starts that quiet period (`quietMs`, at least HYPE_DEFAULTS.minQuietMs); else undefined. No allocation
   * unless it fires.
   */
  check(guildId: string, sensitivity: HypeSensitivity, nowMs: number, quietMs: number): HypeReading | undefined {
    if (sensitivity === 'off') return undefined;
    if (this.window.historySeconds(nowMs) < HYPE_DEFAULTS.minHistorySeconds) return undefined;
    const threshold = HYPE_THRESHOLDS[sensitivity];
    const recent = this.window.recentRate(nowMs);
    if (recent < threshold.minPerSecond) return undefined;
    const baseline = this.window.baselineRate(nowMs);
    if (recent < baseline * threshold.multiple) return undefined;
    if (nowMs < (this.quietUntil.get(guildId) ?? 0)) return undefined;
    this.quietUntil.set(guildId, nowMs + Math.max(quietMs, HYPE_DEFAULTS.minQuietMs));
    return { recentPerSecond: recent, baselinePerSecond: baseline };
  }
}
