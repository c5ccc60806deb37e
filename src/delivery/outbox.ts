/**
 * The durable outbox: every alert, credit edit and notice is written to the store before its first
 * attempt and removed only once Discord accepted it, so an outage, a restart or a SIGKILL loses none.
 * It lives in the settings store (Keyv: sqlite, Redis or Postgres alike) as one row per entry plus an
 * index row holding their order, and the message ids of posted alerts, so a credit edit still finds
 * its alert after a restart.
 *
 * Entry ids are derived from what they deliver (`alert:{guild}:{clip}`), so a clip reported twice (the
 * crash journal recovering a moment whose alert was already queued) is queued once, and its nonce, derived
 * from the id, is the same in every process that ever tries it.
 */
import { createHash, randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Trigger } from '../triggers/trigger.js';
import type { ClipOutcome } from '../clips/clip-outcome.js';
import { KEEP_ROW, type StoreRows } from '../store/bot-store.js';
import type { AlertReview } from '../review/review-service.js';
import { DELIVERY_DEFAULTS } from './defaults.js';

/** A trigger as an alert shows it (the guild and streamer are the entry's). */
export interface AlertCaller {
  readonly chatter: string;
  readonly keyword: string;
  readonly message: string;
  readonly at: string;
  readonly isManual: boolean;
  readonly note?: string;
}

/** What an alert says about its clip, as stored. */
export interface AlertContent {
  readonly clipId: string;
  readonly path: string;
  readonly fileName: string;
  readonly streamer: string;
  /** The first DELIVERY_DEFAULTS.outbox.callers callers; the first names the file. */
  readonly callers: readonly AlertCaller[];
  /** Callers beyond those kept ("and 120 more"). */
  readonly moreCallers: number;
  readonly savedAt: string;
  readonly captureNote?: string;
  readonly isRecovered?: boolean;
  /** The card: why it fired, the chats around it, its chat file, and its capture (Extend or not). */
  readonly review?: AlertReview;
}

interface EntryBase {
  readonly id: string;
  /** Order of creation: a channel's entries are delivered in this order. */
  readonly seq: number;
  readonly guildId: string;
  readonly streamer: string | undefined;
  readonly createdAt: string;
}

/** A clip kept on its card (Keep), to be posted to the server's highlights channel. */
export interface HighlightContent {
  readonly clipId: string;
  /** The file as it was kept (the extended cut where the card shows it); its current place is the review's. */
  readonly path: string;
  /** The line above it ("⭐ Highlight from @…, kept by …"). */
  readonly text: string;
}

/**
 * CLUSTER=true: a node's clips folder on its machine, where a clip's file is. Node ids change at every
 * start; host and folder do not, so a node started again finds its own entries by them.
 */
export interface FileHome {
  readonly host: string;
  readonly clipsDir: string;
}

/**
 * An alert whose node (its `filedOn`) was gone too long: another node posts it without the video, then
 * the filing node, once back, adds the video to that message. Changed only by compare-and-set.
 */
export interface TakenOver {
  /** The node posting it (without the video). */
  readonly by: FileHome;
  readonly at: string;
  /** Posted so: from here the filing node delivers it again, as an edit of this message. */
  readonly posted?: { readonly channelId: string; readonly messageId: string };
}

export type OutboxEntry =
  | (EntryBase & {
      readonly kind: 'alert';
      readonly nonce: string;
      readonly alert: AlertContent;
      /** CLUSTER=true: the node whose clips folder holds the clip. */
      readonly filedOn?: FileHome;
      readonly takenOver?: TakenOver;
    })
  | (EntryBase & { readonly kind: 'credits'; readonly alertId: string; readonly alert: AlertContent })
  | (EntryBase & { readonly kind: 'notice'; readonly nonce: string; readonly text: string })
  | (EntryBase & { readonly kind: 'highlight'; readonly nonce: string; readonly highlight: HighlightContent })
  /** The card's line and buttons brought up to date (a highlight posted): an edit of its alert. */
  | (EntryBase & { readonly kind: 'card'; readonly alertId: string; readonly clipId: string });

/** An entry before the outbox numbers it. */
export type OutboxDraft = OutboxEntry extends infer E ? (E extends OutboxEntry ? Omit<E, 'seq' | 'createdAt'> : never) : never;

/** Where a delivered alert went, for its credit edits. */
export interface SentAlert {
  readonly alertId: string;
  readonly channelId: string;
  readonly messageId: string;
  /** The footer as posted ("re-encoded…"), kept by credit edits. */
  readonly footer?: string;
  /** Posted by another node without the video (TakenOver): the filing node still adds it. */
  readonly withoutVideo?: true;
}

const KEYS = {
  index: 'outbox:index',
  entry: (id: string) => `outbox:entry:${id}`,
  sent: (guildId: string) => `outbox:sent:${guildId}`,
} as const;

interface IndexRow {
  readonly v: 1;
  readonly seq: number;
  readonly ids: readonly string[];
}

/** The node that delivers an alert now: the one that filed it, or the one that took it over until posted. */
export function delivererOf(entry: OutboxEntry): FileHome | undefined {
  if (entry.kind !== 'alert') return undefined;
  if (entry.takenOver && !entry.takenOver.posted) return entry.takenOver.by;
  return entry.filedOn;
}

export function isSameHome(a: FileHome, b: FileHome): boolean {
  return a.host === b.host && path.resolve(a.clipsDir) === path.resolve(b.clipsDir);
}

export function alertId(guildId: string, clipId: string): string {
  return `alert:${guildId}:${clipId}`;
}

/** One highlight per clip and server: Keep pressed twice (or in two processes) queues one entry. */
export function highlightId(guildId: string, clipId: string): string {
  return `highlight:${guildId}:${clipId}`;
}

/** Discord takes a nonce of up to 25 characters (discord-api-docs: Create Message). */
export function nonceFor(entryId: string): string {
  return createHash('sha256').update(entryId).digest('base64url').slice(0, 25);
}

export function toAlertContent(outcome: ClipOutcome, triggers: readonly Trigger[]): AlertContent {
  const kept = triggers.slice(0, DELIVERY_DEFAULTS.outbox.callers);
  return {
    clipId: outcome.clipId,
    path: outcome.path,
    fileName: outcome.fileName,
    streamer: outcome.streamer,
    callers: kept.map((t) => ({
      chatter: t.chatter.slice(0, DELIVERY_DEFAULTS.outbox.textChars),
      keyword: t.keyword.slice(0, DELIVERY_DEFAULTS.outbox.textChars),
      message: t.message.slice(0, DELIVERY_DEFAULTS.outbox.textChars),
      at: t.at.toISOString(),
      isManual: t.isManual,
      ...(t.note ? { note: t.note.slice(0, DELIVERY_DEFAULTS.outbox.textChars) } : {}),
    })),
    moreCallers: Math.max(0, new Set(triggers.map((t) => t.chatter)).size - new Set(kept.map((t) => t.chatter)).size),
    savedAt: outcome.savedAt.toISOString(),
    ...(outcome.captureNote ? { captureNote: outcome.captureNote } : {}),
    ...(outcome.isRecovered ? { isRecovered: true } : {}),
  };
}

/**
 * The outbox's rows. Every method resolves once the store holds the change. The index and the sent list
 * change only through the store's compare-and-set (`rows().modify`), atomic across processes: two bots on
 * one Redis or Postgres, or a restart racing a worker still writing, cannot lose each other's entries.
 */
export class OutboxStore {
  constructor(private readonly rows: StoreRows) {}

  /** Every pending entry, oldest first. Ids whose row is missing or unreadable are skipped. */
  async pending(): Promise<OutboxEntry[]> {
    const index = parseIndex(await this.rows.get(KEYS.index));
    const entries: OutboxEntry[] = [];
    for (const id of index.ids) {
      const row = await this.rows.get(KEYS.entry(id));
      if (isEntry(row)) entries.push(row);
    }
    return entries.sort((a, b) => a.seq - b.seq);
  }

  /**
   * Adds an entry, or with `replace` rewrites the pending one of the same id in place (its position
   * kept). Resolves with the stored entry, or the pending one untouched when `replace` says no.
   */
  async put(
    draft: OutboxDraft,
    replace: (existing: OutboxEntry) => OutboxEntry | undefined = () => undefined,
  ): Promise<OutboxEntry> {
    if (parseIndex(await this.rows.get(KEYS.index)).ids.includes(draft.id)) {
      let kept: OutboxEntry | undefined;
      // A compare-and-set on the entry's own row: a rewrite racing another keeps the later credits.
      const written = await this.rows.modify(KEYS.entry(draft.id), (current) => {
        kept = undefined;
        // Gone (delivered meanwhile, maybe by another process): nothing to rewrite, nothing written.
        if (!isEntry(current)) return KEEP_ROW;
        const next = replace(current);
        if (!next) kept = current;
        return next ?? KEEP_ROW;
      });
      if (kept) return kept;
      if (isEntry(written)) return written;
      // Its row is gone (delivered meanwhile): queue it afresh below.
    }
    // Three steps, each safe to crash after: a sequence number is reserved, the row written, then its id
    // listed. A crash leaves at worst a burned number or an orphan row, never an id without its row.
    const { seq } = await this.rows.modify(KEYS.index, (current) => {
      const index = parseIndex(current);
      return { ...index, seq: index.seq + 1 } satisfies IndexRow;
    });
    const entry = { ...draft, seq, createdAt: new Date().toISOString() } as OutboxEntry;
    await this.rows.set(KEYS.entry(entry.id), entry);
    await this.rows.modify(KEYS.index, (current) => {
      const index = parseIndex(current);
      return (index.ids.includes(entry.id) ? index : { ...index, ids: [...index.ids, entry.id] }) satisfies IndexRow;
    });
    return entry;
  }

  async get(id: string): Promise<OutboxEntry | undefined> {
    const row = await this.rows.get(KEYS.entry(id));
    return isEntry(row) ? row : undefined;
  }

  /**
   * Compare-and-set on the entry's row: the alert passes to `to` only while `from` still delivers it and it
   * is not posted yet, so of every node trying at once exactly one gets it. Resolves with it if this one did.
   */
  async takeOver(id: string, from: FileHome, to: FileHome): Promise<OutboxEntry | undefined> {
    let taken: OutboxEntry | undefined;
    await this.rows.modify(KEYS.entry(id), (current) => {
      taken = undefined;
      if (!isEntry(current) || current.kind !== 'alert' || current.takenOver?.posted) return KEEP_ROW;
      const deliverer = delivererOf(current);
      if (!deliverer || !isSameHome(deliverer, from)) return KEEP_ROW;
      taken = { ...current, takenOver: { by: to, at: new Date().toISOString() } };
      return taken;
    });
    return taken;
  }

  /** A taken-over alert is posted (without its video): its filing node delivers the rest. */
  async postedWithoutVideo(id: string, posted: { channelId: string; messageId: string }): Promise<void> {
    await this.rows.modify(KEYS.entry(id), (current) => {
      if (!isEntry(current) || current.kind !== 'alert' || !current.takenOver || current.takenOver.posted) return KEEP_ROW;
      return { ...current, takenOver: { ...current.takenOver, posted } };
    });
  }

  async remove(id: string): Promise<void> {
    await this.rows.modify(KEYS.index, (current) => {
      const index = parseIndex(current);
      return { ...index, ids: index.ids.filter((i) => i !== id) } satisfies IndexRow;
    });
    await this.rows.delete(KEYS.entry(id));
  }

  async sentAlert(guildId: string, id: string): Promise<SentAlert | undefined> {
    return parseSent(await this.rows.get(KEYS.sent(guildId))).find((s) => s.alertId === id);
  }

  async recordSent(guildId: string, sent: SentAlert): Promise<void> {
    await this.rows.modify(KEYS.sent(guildId), (current) => {
      const previous = parseSent(current).filter((s) => s.alertId !== sent.alertId);
      return { v: 1, sent: [sent, ...previous].slice(0, DELIVERY_DEFAULTS.outbox.sentPerGuild) };
    });
  }
}

/** The index row as stored, or an empty one for a row that is absent or unreadable. */
function parseIndex(raw: unknown): IndexRow {
  const row = (typeof raw === 'object' && raw !== null ? raw : {}) as Partial<IndexRow>;
  const ids = Array.isArray(row.ids) ? row.ids.filter((id): id is string => typeof id === 'string') : [];
  return { v: 1, seq: typeof row.seq === 'number' ? row.seq : 0, ids };
}

function parseSent(raw: unknown): SentAlert[] {
  const row = (typeof raw === 'object' && raw !== null ? raw : {}) as { sent?: unknown };
  return Array.isArray(row.sent) ? (row.sent as SentAlert[]) : [];
}

export function noticeId(): string {
  return `notice:${randomUUID()}`;
}

function isEntry(row: unknown): row is OutboxEntry {
  if (typeof row !== 'object' || row === null) return false;
  const r = row as Record<string, unknown>;
  return typeof r.id === 'string' && typeof r.seq === 'number' && typeof r.guildId === 'string' && ['alert', 'credits', 'notice', 'highlight', 'card'].includes(r.kind as string);
}
