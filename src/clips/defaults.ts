/** Every default of the clip stage (src/clips/): the moment and the filing. */
export const CLIP_DEFAULTS = {
  moment: {
    /** Late joiners arrive in bursts: update an alert's credits at most this often. */
    creditUpdateDelayMs: 1_500,
    /** How many merges per moment get their own log line; the rest are summed up. */
    mergeLogLimit: 5,
  },
  filing: {
    /** While the file is locked (Windows: OBS or antivirus still holds it). The old app retried 5 × 0.5 s. */
    retry: { attempts: 6, delayMs: 500 },
    /** `name (2).mp4`, `name (3).mp4`...: far more than any real burst, a bound so a broken folder cannot loop forever. */
    maxSuffix: 10_000,
  },
} as const satisfies {
  moment: { creditUpdateDelayMs: number; mergeLogLimit: number };
  filing: { retry: { attempts: number; delayMs: number }; maxSuffix: number };
};
