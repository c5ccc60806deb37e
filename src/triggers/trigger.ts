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

/** A moment's triggers: never empty, and the first one names the clip. */
export type Triggers = readonly [Trigger, ...Trigger[]];

/** The triggers as they are now (a moment's list grows while late callers join). */
export function snapshotTriggers(triggers: Triggers): Triggers {
  return [triggers[0], ...triggers.slice(1)];
}
