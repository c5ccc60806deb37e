/** When to try connecting to OBS again: exponential backoff with equal jitter, capped. */
import { backoffDelay } from '../util/backoff.js';

/** Exponential backoff with equal jitter: half the delay fixed, half random, never above `maxMs`. */
export function reconnectDelay(
  failedAttempts: number,
  initialMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  return backoffDelay(failedAttempts, { initialMs, maxMs, factor: 2 }, random);
}

export interface ReconnectScheduleOptions {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly random: () => number;
  /** Runs when the delay is over. */
  readonly onDue: () => void;
}

/** At most one pending reconnect; each scheduled one waits longer until `succeeded()`. */
export class ReconnectSchedule {
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;

  constructor(private readonly options: ReconnectScheduleOptions) {}

  /** Attempts that failed since the last success (including the one just scheduled for). */
  get failedAttempts(): number {
    return this.failures;
  }

  /** Replaces any pending reconnect with one after the next backoff delay. Returns the delay. */
  schedule(): number {
    clearTimeout(this.timer);
    const { initialDelayMs, maxDelayMs, random, onDue } = this.options;
    const delayMs = reconnectDelay(this.failures, initialDelayMs, maxDelayMs, random);
    this.failures += 1;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      onDue();
    }, delayMs);
    return delayMs;
  }

  /** Connected: the next failure starts again from the initial delay. */
  succeeded(): void {
    this.failures = 0;
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
