import type { HypeSensitivity } from '../store/settings-schema.js';
import type { CompileOptions } from './keywords/types.js';
import type { HypeThreshold } from './types.js';

/** Every default of the triggers stage (src/triggers/): what a user gets without a knob. */
export const TRIGGER_DEFAULTS = {
  /**
   * A stream's chat rate: `recent` is what chat is doing now, `baseline` the stream's own moving pace
   * just before it.
   */
  chatRate: {
    recentSeconds: 5,
    baselineSeconds: 55,
  },
  hype: {
    /**
     * Thresholds per sensitivity. Clip tools for other platforms publish 1.5-3x a 30-60 s baseline over
     * a 5 s window, with a minimum rate; `high` is the most eager.
     */
    thresholds: {
      low: { multiple: 3, minPerSecond: 10 },
      medium: { multiple: 2, minPerSecond: 5 },
      high: { multiple: 1.5, minPerSecond: 3 },
    },
    /** A stream needs this much chat history before its baseline means anything. */
    minHistorySeconds: 30,
    /** Quiet at least this long after firing, even with a cooldown of 0: one spike is one moment. */
    minQuietMs: 5_000,
  },
  gift: {
    /** Gifts below the threshold from the same stream within this long add up. */
    sumWindowMs: 10_000,
  },
  keywords: {
    // 2^21 Int32 entries = 8 MiB; 1,000 Latin keywords need well under 1 MiB.
    maxTableEntries: 1 << 21,
  },
} as const satisfies {
  chatRate: { recentSeconds: number; baselineSeconds: number };
  hype: { thresholds: Record<Exclude<HypeSensitivity, 'off'>, HypeThreshold>; minHistorySeconds: number; minQuietMs: number };
  gift: { sumWindowMs: number };
  keywords: Required<CompileOptions>;
};
