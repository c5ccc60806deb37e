/**
 * The bounded in-memory log behind `/logs`, like the old app's dashboard log: the last 100 events per
 * guild, each tagged with the stream it concerns (or none for bot-wide events such as OBS).
 */
export type EventKind =
  | 'state'
  | 'trigger'
  | 'merged'
  | 'cooldown'
  | 'save'
  | 'failure'
  | 'config'
  | 'obs';

export interface LoggedEvent {
  readonly at: Date;
  readonly kind: EventKind;
  /** The TikTok user concerned, lower-case; undefined for bot-wide events. */
  readonly stream: string | undefined;
  readonly text: string;
}

export const EVENT_LOG_CAPACITY = 100;

export class EventLog {
  private readonly byGuild = new Map<string, LoggedEvent[]>();

  constructor(
    private readonly capacity: number = EVENT_LOG_CAPACITY,
    private readonly now: () => Date = () => new Date(),
  ) {}

  add(guildId: string, event: Omit<LoggedEvent, 'at'>): void {
    let entries = this.byGuild.get(guildId);
    if (!entries) {
      entries = [];
      this.byGuild.set(guildId, entries);
    }
    entries.push({ ...event, at: this.now() });
    if (entries.length > this.capacity) entries.splice(0, entries.length - this.capacity);
  }

  /** Newest first; bot-wide events are included when filtering by stream, since they affect it too. */
  recent(guildId: string, options: { stream?: string; limit?: number } = {}): LoggedEvent[] {
    const entries = this.byGuild.get(guildId) ?? [];
    const { stream, limit = this.capacity } = options;
    const matching = stream === undefined
      ? entries
      : entries.filter((e) => e.stream === stream || e.stream === undefined);
    return matching.slice(-limit).reverse();
  }

  forget(guildId: string): void {
    this.byGuild.delete(guildId);
  }
}
