import type { Logger } from 'pino';
import { cleanText } from '../util/text.js';

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
  | 'posted'
  | 'failure'
  | 'config'
  | 'review'
  | 'obs';

export interface LoggedEvent {
  readonly at: Date;
  readonly kind: EventKind;
  /** The TikTok user concerned, lower-case; undefined for bot-wide events. */
  readonly stream: string | undefined;
  readonly text: string;
}

export const EVENT_LOG_CAPACITY = 100;

/**
 * The console line for each kind: a constant message (the event's text goes in `detail`), and its level.
 * OBS changes are bot-wide: app.ts logs each once, so the per-guild copies here are debug only.
 */
const LOG_LINES = {
  state: { level: 'info', msg: 'stream state changed' },
  trigger: { level: 'info', msg: 'clip triggered' },
  merged: { level: 'info', msg: 'trigger merged into a clip' },
  cooldown: { level: 'info', msg: 'trigger held by the cooldown' },
  save: { level: 'info', msg: 'clip filed' },
  posted: { level: 'info', msg: 'alert posted' },
  failure: { level: 'warn', msg: 'failure' },
  config: { level: 'info', msg: 'settings changed' },
  review: { level: 'info', msg: 'clip reviewed' },
  obs: { level: 'debug', msg: 'OBS status changed' },
} as const satisfies Record<EventKind, { level: 'debug' | 'info' | 'warn'; msg: string }>;

export class EventLog {
  private readonly byGuild = new Map<string, LoggedEvent[]>();
  private readonly log: Logger | undefined;
  private readonly onEvent: ((kind: EventKind) => void) | undefined;
  private readonly capacity: number;
  private readonly now: () => Date;

  /**
   * With a `log`, every event is also one log line with the guild, the stream and the kind as fields;
   * `onEvent` sees every event's kind (the metrics count triggers, clips and failures from it).
   */
  constructor(options: { log?: Logger; onEvent?: (kind: EventKind) => void; capacity?: number; now?: () => Date } = {}) {
    this.log = options.log;
    this.onEvent = options.onEvent;
    this.capacity = options.capacity ?? EVENT_LOG_CAPACITY;
    this.now = options.now ?? (() => new Date());
  }

  add(guildId: string, raw: Omit<LoggedEvent, 'at'>): void {
    // Event texts quote chats, names and options; /logs shows them, and log lines should not carry controls either.
    const event = { ...raw, text: cleanText(raw.text) };
    this.onEvent?.(event.kind);
    if (this.log) {
      const line = LOG_LINES[event.kind];
      this.log[line.level]({ guild: guildId, stream: event.stream, kind: event.kind, detail: event.text }, line.msg);
    }
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
}
