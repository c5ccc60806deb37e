/** One chat (or member) that asked for a clip. */
export interface Trigger {
  readonly guildId: string;
  /** The TikTok user whose LIVE it is, lower-case. */
  readonly streamer: string;
  /** The chatter's @handle, or the member's name for manual clips: used in the file name. */
  readonly chatter: string;
  /** The keyword that fired, or `manual`. */
  readonly keyword: string;
  /** The chat message, or the member's note. */
  readonly message: string;
  readonly at: Date;
  readonly isManual: boolean;
  readonly note?: string;
  /** What fired; absent means a keyword (or `manual` when isManual). */
  readonly kind?: TriggerKind;
  /** For gift and hype: what happened, in words (who sent what; how fast chat ran). */
  readonly detail?: string;
}

export type TriggerKind = 'keyword' | 'manual' | 'gift' | 'hype';

/** What a moment came to: the filed clip and everyone who called it. */
export interface ClipOutcome {
  readonly clipId: string;
  readonly path: string;
  readonly fileName: string;
  readonly streamer: string;
  /** The first trigger names the file; the others joined it. */
  readonly triggers: readonly Trigger[];
  readonly savedAt: Date;
  /** What the capture said about the footage (e.g. shorter than asked); the alert shows it. */
  readonly captureNote?: string;
  /** Saved before a crash or kill and finished by the next start; its alert says so. */
  readonly isRecovered?: boolean;
}
