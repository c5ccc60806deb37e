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
  /** CLUSTER=true: a node gone from the node registry this long has its queued alerts taken over by another. */
  readonly takeoverAfterMs: number;
  /** CLUSTER=true: how often a node looks for such alerts (and for its own videos to add to them). */
  readonly takeoverCheckMs: number;
}
