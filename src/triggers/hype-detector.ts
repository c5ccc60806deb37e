import type { HypeSensitivity } from '../store/settings-schema.js';
import { ChatRateWindow } from './chat-rate-window.js';
import { TRIGGER_DEFAULTS } from './defaults.js';

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
   * starts that quiet period (`quietMs`, at least TRIGGER_DEFAULTS.hype.minQuietMs); else undefined. No allocation
   * unless it fires.
   */
  check(guildId: string, sensitivity: HypeSensitivity, nowMs: number, quietMs: number): HypeReading | undefined {
    if (sensitivity === 'off') return undefined;
    if (this.window.historySeconds(nowMs) < TRIGGER_DEFAULTS.hype.minHistorySeconds) return undefined;
    const threshold = TRIGGER_DEFAULTS.hype.thresholds[sensitivity];
    const recent = this.window.recentRate(nowMs);
    if (recent < threshold.minPerSecond) return undefined;
    const baseline = this.window.baselineRate(nowMs);
    if (recent < baseline * threshold.multiple) return undefined;
    if (nowMs < (this.quietUntil.get(guildId) ?? 0)) return undefined;
    this.quietUntil.set(guildId, nowMs + Math.max(quietMs, TRIGGER_DEFAULTS.hype.minQuietMs));
    return { recentPerSecond: recent, baselinePerSecond: baseline };
  }
}
