/** Types the triggers stage's modules and its defaults (defaults.ts) both need, so no import runs in a circle. */
export interface HypeThreshold {
  /** Recent chat must run at least this many times the stream's baseline. */
  readonly multiple: number;
  /** ...and at least this many chats a second, so a quiet stream's three messages are not hype. */
  readonly minPerSecond: number;
}
