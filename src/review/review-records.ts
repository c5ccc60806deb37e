import { KEEP_ROW, type StoreRows } from '../store/bot-store.js';
import type { CaptureMode } from '../capture/clip-capture.js';
import type { TriggerKind } from '../triggers/trigger.js';
import type { FiledOn } from '../store/settings-schema.js';

/**
 * What moderators decided about each clip, in the store beside the settings (src/store: `rows()`), so
 * buttons work on alerts posted before a restart: one row per clip (`review:clip:{clipId}`, shared by the
 * servers that got the clip, each with its own state) and one row of counts per server
 * (`review:stats:{guildId}`). Both change only by the store's compare-and-set.
 */
export type ReviewStatus = 'new' | 'kept' | 'discarded' | 'false-positive';

export interface GuildReview {
  readonly status: ReviewStatus;
  /** Who made the last change, and when (ISO). */
  readonly by?: string;
  readonly at?: string;
  /** The last change was a Restore (the card says so). */
  readonly restored?: boolean;
  /** Keep queued the clip for the highlights channel (ISO): the card says "posting" until it is there. */
  readonly highlightQueuedAt?: string;
  /** The highlights post, once made (Keep posts it once however often pressed), and where. */
  readonly highlightMessageId?: string;
  readonly highlightChannelId?: string;
  /** This server's card shows the extended cut. */
  readonly extended?: boolean;
  readonly extendedBy?: string;
}

export interface ClipReview {
  readonly v: 1;
  readonly clipId: string;
  readonly streamer: string;
  /** The first cut's current path (in the streamer's folder, or its `discarded/` folder). */
  readonly clipPath: string;
  readonly srtPath?: string;
  /** The cut with 10 s more before and after, once some server pressed Extend. */
  readonly extendedPath?: string;
  readonly extendedSrtPath?: string;
  /** Every file of the clip is in `discarded/` (only when every server that got it discarded it). */
  readonly isDiscarded: boolean;
  readonly capture: CaptureMode | 'unknown';
  /** The first trigger's time (ISO) and the stream capture's window: what Extend cuts again. */
  readonly at: string;
  readonly window?: { readonly beforeSeconds: number; readonly afterSeconds: number };
  /** Why Extend cannot work any more (the buffer moved on), once a press found out. */
  readonly extendGone?: string;
  /** What fired: counted against it on False positive. */
  readonly trigger: { readonly kind: TriggerKind; readonly keyword: string };
  readonly guilds: Readonly<Record<string, GuildReview>>;
  /** CLUSTER=true: the node whose clips folder holds the files (a press is carried out there). */
  readonly filedOn?: FiledOn;
}

/** Per keyword (or gift / hype trigger) of one server: how often it fired, was kept, was a false positive. */
export interface TriggerCounts {
  readonly fired: number;
  readonly kept: number;
  readonly falsePositive: number;
}

interface StatsRow {
  readonly v: 1;
  readonly counts: Readonly<Record<string, TriggerCounts>>;
}

const KEYS = {
  clip: (clipId: string) => `review:clip:${clipId}`,
  stats: (guildId: string) => `review:stats:${guildId}`,
} as const;

/** The stats key of what fired: `keyword:{word}` (as stored in the settings), or `gift` / `hype`. */
export function triggerKey(trigger: ClipReview['trigger']): string {
  return trigger.kind === 'gift' || trigger.kind === 'hype' ? trigger.kind : `keyword:${trigger.keyword}`;
}

export class ReviewRecords {
  constructor(private readonly rows: StoreRows) {}

  async get(clipId: string): Promise<ClipReview | undefined> {
    return parseReview(await this.rows.get(KEYS.clip(clipId)));
  }

  /**
   * Compare-and-set on the clip's row: `change` sees the current record (undefined when none) and returns
   * the next one, or undefined to write nothing. It may run more than once (another process wrote in
   * between), so it must be a pure function of its argument. Resolves with the record as stored now.
   */
  async modify(clipId: string, change: (current: ClipReview | undefined) => ClipReview | undefined): Promise<ClipReview | undefined> {
    let kept: ClipReview | undefined;
    const written = await this.rows.modify(KEYS.clip(clipId), (raw) => {
      const current = parseReview(raw);
      kept = current;
      return change(current) ?? KEEP_ROW;
    });
    return written ?? kept;
  }

  async counts(guildId: string): Promise<Readonly<Record<string, TriggerCounts>>> {
    return parseStats(await this.rows.get(KEYS.stats(guildId))).counts;
  }

  /** Adds `delta` to one trigger's counts (never below zero). */
  async count(guildId: string, key: string, delta: Partial<TriggerCounts>): Promise<void> {
    await this.rows.modify(KEYS.stats(guildId), (raw) => {
      const stats = parseStats(raw);
      const now = stats.counts[key] ?? { fired: 0, kept: 0, falsePositive: 0 };
      const next: TriggerCounts = {
        fired: Math.max(0, now.fired + (delta.fired ?? 0)),
        kept: Math.max(0, now.kept + (delta.kept ?? 0)),
        falsePositive: Math.max(0, now.falsePositive + (delta.falsePositive ?? 0)),
      };
      return { v: 1, counts: { ...stats.counts, [key]: next } } satisfies StatsRow;
    });
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Lenient like every stored row: an unreadable one is as good as none (the card then starts afresh). */
function parseReview(raw: unknown): ClipReview | undefined {
  if (!isRecord(raw) || typeof raw.clipId !== 'string' || typeof raw.clipPath !== 'string' || typeof raw.streamer !== 'string') return undefined;
  if (!isRecord(raw.guilds) || !isRecord(raw.trigger)) return undefined;
  return raw as unknown as ClipReview;
}

function parseStats(raw: unknown): StatsRow {
  if (!isRecord(raw) || !isRecord(raw.counts)) return { v: 1, counts: {} };
  const counts: Record<string, TriggerCounts> = {};
  for (const [key, value] of Object.entries(raw.counts)) {
    if (!isRecord(value)) continue;
    const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
    counts[key] = { fired: n(value.fired), kept: n(value.kept), falsePositive: n(value.falsePositive) };
  }
  return { v: 1, counts };
}
