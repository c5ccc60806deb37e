/**
 * Exponential backoff with "equal jitter": half the delay is fixed, half random, so retries of many
 * streams spread out but none retries sooner than half the nominal delay.
 */
export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor: number;
}

export function backoffDelay(
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  const nominal = Math.min(options.maxMs, options.initialMs * options.factor ** Math.max(0, attempt));
  return Math.round(nominal / 2 + (random() * nominal) / 2);
}

/** `base` moved by up to ±`ratio` of itself, for polling intervals. */
export function withJitter(base: number, ratio: number, random: () => number = Math.random): number {
  return Math.round(base * (1 - ratio + 2 * ratio * random()));
}
