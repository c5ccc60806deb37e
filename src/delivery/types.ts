/** Types the delivery stage's modules and its defaults (defaults.ts) both need, so no import runs in a circle. */
export interface DeliveryTimings {
  /** First wait after a transient failure; doubles up to maxBackoffMs, each wait half fixed, half random (backoffDelay). */
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  /** How often a held channel (no access, no permission) is tried again on its own. */
  readonly heldRecheckMs: number;
  /** Upload request timeout: this much plus the file at uploadBytesPerSecond (a slow line). */
  readonly baseRequestTimeoutMs: number;
  readonly uploadBytesPerSecond: number;
}
