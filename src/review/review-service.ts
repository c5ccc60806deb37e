import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { ClipCapture } from '../capture/clip-capture.js';
import type { ClipOutcome } from '../clips/clip-outcome.js';
import type { EventLog } from '../events/event-log.js';
import { KeyedLock } from '../store/keyed-lock.js';
import type { Trigger } from '../triggers/trigger.js';
import { UserError, isAppError } from '../util/errors.js';
import { cleanText, errorMessage, truncate } from '../util/text.js';
import type { ChatLog, ChatLogEntry } from './chat-log.js';
import { chatLine, chatSrt, srtPathFor } from './chat-srt.js';
import { discardedDirOf, exists, freePath, moveFile, restoredDirOf } from './clip-files.js';
import { REVIEW_DEFAULTS } from './defaults.js';
import { triggerKey, type ClipReview, type GuildReview, type ReviewRecords, type TriggerCounts } from './review-records.js';

/** What a clip's alert says beyond the clip itself: why it fired, the chats around it, its chat file. */
export interface AlertReview {
  /** One line: the keyword and message; hype: chat rate against the baseline; gift: who sent what. */
  readonly reason: string;
  /** The few chats nearest the trigger, as lines (`@bob: that was wow`), oldest first. */
  readonly chats: readonly string[];
  /** `{clip name}.chat.srt` beside the clip, when it could be written. */
  readonly srtPath?: string;
  readonly capture: ClipReview['capture'];
}

export type ReviewAction = 'keep' | 'discard' | 'restore' | 'false-positive' | 'extend';

/** A server's card as it should look now. */
export interface CardView {
  readonly clipId: string;
  readonly status: GuildReview['status'];
  readonly by?: string;
  readonly restored: boolean;
  readonly extendedBy?: string;
  /** `available`, or why Extend cannot work (`obs`, `gone`, `done`, `unknown`). */
  readonly extend: 'available' | 'obs' | 'gone' | 'done' | 'unknown';
  /** What fired, and the command that lists its counts, for the False positive line. */
  readonly triggerLabel: string;
  readonly countedIn: '/keyword list' | '/trigger list';
  /** Kept with a highlights channel: where its highlight goes, and whether it is there yet. */
  readonly highlight?: { readonly channelId: string; readonly isPosted: boolean };
  readonly streamer?: string;
  /** CLUSTER=true: the node that filed the clip (its presses run there). */
  readonly filedOn?: ClipReview['filedOn'];
}

/** What a press changed, for the buttons router to show. */
export interface PressResult {
  readonly view: CardView;
  /** A short private answer to the member (nothing changed, or why Extend cannot work). */
  readonly note?: string;
  /** The card's clip changes: `remove` (discarded), or attach this file (restored, extended). */
  readonly clip?: 'remove' | { readonly path: string; readonly fileName: string; readonly srtPath?: string };
  /**
   * To call once the card shows this result (the press answered): hands a queued highlight to delivery.
   * Not sooner, so the card's "posted" edit can never land before the press's own "posting" answer.
   */
  readonly afterReply?: () => void;
}

/** A kept clip's highlight as it is queued (the delivery stage's outbox: a `highlight` entry). */
export interface HighlightRequest {
  readonly clipId: string;
  readonly path: string;
  readonly text: string;
}

export interface ReviewServiceDeps {
  readonly records: ReviewRecords;
  readonly chatLog: ChatLog;
  readonly events: Pick<EventLog, 'add'>;
  readonly log: Logger;
  /** A video's length in seconds (ffprobe); OBS clips are timed from their save time back by it. */
  readonly probeSeconds: (file: string) => Promise<number>;
  /** OBS's replay buffer length, when its file cannot be probed. */
  readonly obsBufferSeconds: () => number | undefined;
  /** Stream capture, for Extend; absent without ffmpeg. */
  readonly streamCapture?: ClipCapture;
  /** The wall-clock start of the live's oldest buffered video, or undefined when it has no buffer. */
  readonly bufferStartMs?: (streamer: string) => Promise<number | undefined>;
  readonly highlightsChannelOf: (guildId: string) => string | undefined;
  /**
   * Stores a kept clip's highlight in the durable outbox (once per clip and server, however often asked);
   * resolves once stored, with what hands it to the delivery worker.
   */
  readonly queueHighlight: (guildId: string, streamer: string, highlight: HighlightRequest) => Promise<() => void>;
}

const DONE_STATUSES: ReadonlySet<GuildReview['status']> = new Set(['discarded', 'false-positive']);

/**
 * The review of clips: each alert is a card a moderator acts on. It writes the moment's chat beside every
 * clip, says on the alert why it fired, and carries out Keep, Discard, Restore, False positive and Extend.
 * Presses on one clip run one at a time in this process (a keyed lock), and every change is a
 * compare-and-set on the clip's row, so two moderators pressing at once (or two bots on one database) give
 * one effect. Files only ever move (to `discarded/` and back); the bot deletes no clip.
 */
export class ReviewService {
  private readonly lock = new KeyedLock();
  /** One chat file per clip, however many servers' alerts ask for it. */
  private readonly prepared = new Map<string, Promise<AlertReview>>();

  constructor(private readonly deps: ReviewServiceDeps) {}

  /** Writes the clip's `.chat.srt` (once) and works out what its alert says. Never throws. */
  prepare(outcome: ClipOutcome): Promise<AlertReview> {
    let done = this.prepared.get(outcome.clipId);
    if (!done) {
      done = this.writeChat(outcome);
      this.prepared.set(outcome.clipId, done);
      // A clip is prepared for every server within seconds of each other; later asks are rare (recovery).
      if (this.prepared.size > 200) this.prepared.delete(this.prepared.keys().next().value!);
    }
    return done;
  }

  /** The clip's alert in this server becomes a card: its row gets the server, and what fired counts once. */
  async register(guildId: string, outcome: ClipOutcome, review: AlertReview): Promise<void> {
    const first = outcome.triggers.find((t) => t.guildId === guildId) ?? outcome.triggers[0];
    let isNew = false;
    await this.deps.records.modify(outcome.clipId, (current) => {
      isNew = false;
      if (current?.guilds[guildId]) return undefined;
      isNew = true;
      const base: ClipReview = current ?? {
        v: 1,
        clipId: outcome.clipId,
        streamer: outcome.streamer,
        clipPath: outcome.path,
        ...(review.srtPath ? { srtPath: review.srtPath } : {}),
        isDiscarded: false,
        capture: outcome.capture ?? 'unknown',
        at: first.at.toISOString(),
        ...(outcome.window ? { window: outcome.window } : {}),
        trigger: { kind: first.kind ?? (first.isManual ? 'manual' : 'keyword'), keyword: first.keyword },
        guilds: {},
        ...(outcome.filedOn ? { filedOn: outcome.filedOn } : {}),
      };
      return { ...base, guilds: { ...base.guilds, [guildId]: { status: 'new' } } };
    });
    if (isNew) {
      const trigger = { kind: first.kind ?? (first.isManual ? 'manual' : 'keyword'), keyword: first.keyword } as const;
      await this.deps.records.count(guildId, triggerKey(trigger), { fired: 1 });
    }
  }

  /** The card of a clip in this server as it stands (for an alert being posted, or a press). */
  async view(guildId: string, clipId: string): Promise<CardView | undefined> {
    const record = await this.deps.records.get(clipId);
    return record && this.viewOf(record, guildId);
  }

  async counts(guildId: string): Promise<Readonly<Record<string, TriggerCounts>>> {
    return this.deps.records.counts(guildId);
  }

  /** A moderator pressed a button on the clip's card in this server. */
  async press(guildId: string, clipId: string, action: ReviewAction, member: string): Promise<PressResult> {
    return this.lock.run(clipId, async () => {
      const record = await this.deps.records.get(clipId);
      if (!record?.guilds[guildId]) {
        throw new UserError('NOT_FOUND', 'The bot has no record of this clip any more, so nothing was changed.');
      }
      switch (action) {
        case 'keep':
          return this.keep(record, guildId, member);
        case 'discard':
        case 'false-positive':
          return this.discard(record, guildId, member, action === 'false-positive');
        case 'restore':
          return this.restore(record, guildId, member);
        case 'extend':
          return this.extend(record, guildId, member);
      }
    });
  }

  // ---- the buttons ----

  private async keep(record: ClipReview, guildId: string, member: string): Promise<PressResult> {
    const mine = record.guilds[guildId]!;
    if (DONE_STATUSES.has(mine.status)) return { view: this.viewOf(record, guildId), note: 'This clip is discarded: press Restore first.' };
    const channelId = this.deps.highlightsChannelOf(guildId);
    // Stored before the card says kept: a kill in between leaves at worst a queued highlight of a clip
    // not marked kept, which delivery then drops (and the next Keep queues again), never a kept clip whose
    // highlight was lost. The entry's id is the clip's: a second press (or bot) queues nothing more.
    const clipPath = mine.extended && record.extendedPath ? record.extendedPath : record.clipPath;
    const send =
      channelId && !mine.highlightMessageId
        ? await this.deps.queueHighlight(guildId, record.streamer, {
            clipId: record.clipId,
            path: clipPath,
            text: `⭐ Highlight from @${cleanText(record.streamer)}: "${truncate(cleanText(record.trigger.keyword), 100)}", kept by ${cleanText(member)}.`,
          })
        : undefined;
    const afterReply = send ? { afterReply: send } : {};
    let updated = record;
    const at = new Date().toISOString();
    if (mine.status !== 'kept') {
      const written = await this.changeGuild(record.clipId, guildId, (g) =>
        g.status === 'kept' || DONE_STATUSES.has(g.status) ? undefined : { ...g, status: 'kept', by: member, at, restored: false, ...(send ? { highlightQueuedAt: at } : {}) },
      );
      if (!written.changed) return { view: this.viewOf(written.record, guildId), note: 'Someone else changed this clip at the same moment; nothing more was done.', ...afterReply };
      updated = written.record;
      await this.count(guildId, record, { kept: 1 });
      this.deps.events.add(guildId, { kind: 'review', stream: record.streamer, text: `kept ${fileNameOf(record, mine)} (by ${member})` });
    } else if (send && !mine.highlightQueuedAt) {
      // Kept before a highlights channel was set (or its highlight was dropped): it goes now.
      updated = (await this.changeGuild(record.clipId, guildId, (g) => (g.highlightQueuedAt || g.highlightMessageId ? undefined : { ...g, highlightQueuedAt: at }))).record;
    }
    const note = mine.status === 'kept' ? `Already kept by ${mine.by ?? 'a moderator'}.` : undefined;
    return { view: this.viewOf(updated, guildId), ...(note ? { note } : {}), ...afterReply };
  }

  /**
   * For delivery: where a kept clip's file is now (its highlight goes out), `posted` once it went, or why
   * it goes no more (discarded or restored meanwhile, or never marked kept: a kill between queue and card).
   */
  async highlightOf(guildId: string, clipId: string): Promise<{ path: string } | 'posted' | { drop: string }> {
    const record = await this.deps.records.get(clipId);
    const g = record?.guilds[guildId];
    if (!record || !g) return { drop: 'the bot has no record of the clip any more' };
    if (g.highlightMessageId) return 'posted';
    if (g.status !== 'kept') return { drop: `the clip is ${g.status === 'new' ? 'not marked kept' : 'discarded'}` };
    return { path: g.extended && record.extendedPath ? record.extendedPath : record.clipPath };
  }

  async highlightDropped(guildId: string, clipId: string): Promise<void> {
    await this.deps.records.modify(clipId, (current) => {
      const g = current?.guilds[guildId];
      if (!current || !g?.highlightQueuedAt || g.highlightMessageId) return undefined;
      const { highlightQueuedAt: _dropped, ...rest } = g;
      return { ...current, guilds: { ...current.guilds, [guildId]: rest } };
    });
  }

  /** For delivery: the highlight is posted; Keep never posts it again, and the card says where it is. */
  async highlightPosted(guildId: string, clipId: string, channelId: string, messageId: string): Promise<void> {
    await this.deps.records.modify(clipId, (current) => {
      const g = current?.guilds[guildId];
      if (!current || !g || g.highlightMessageId) return undefined;
      return { ...current, guilds: { ...current.guilds, [guildId]: { ...g, highlightMessageId: messageId, highlightChannelId: channelId } } };
    });
  }

  private async discard(record: ClipReview, guildId: string, member: string, isFalsePositive: boolean): Promise<PressResult> {
    const mine = record.guilds[guildId]!;
    const wanted: GuildReview['status'] = isFalsePositive ? 'false-positive' : 'discarded';
    if (mine.status === wanted || (mine.status === 'false-positive' && !isFalsePositive)) {
      return { view: this.viewOf(record, guildId), note: `Already ${mine.status === 'false-positive' ? 'marked a false positive' : 'discarded'} by ${mine.by ?? 'a moderator'}.` };
    }
    const othersDone = Object.entries(record.guilds).every(([id, g]) => id === guildId || DONE_STATUSES.has(g.status));
    // The file is shared by every server that got the moment: it moves only once none of them wants it.
    const moves = othersDone && !record.isDiscarded ? await this.plannedMoves(record, (p) => discardedDirOf(p)) : undefined;
    const at = new Date().toISOString();
    const written = await this.deps.records.modify(record.clipId, (current) => {
      const g = current?.guilds[guildId];
      if (!current || !g || g.status === wanted || (g.status === 'false-positive' && !isFalsePositive)) return undefined;
      const next = { ...current, guilds: { ...current.guilds, [guildId]: { ...g, status: wanted, by: member, at, restored: false } } };
      return moves && !current.isDiscarded ? { ...next, ...moves.paths, isDiscarded: true } : next;
    });
    const after = written?.guilds[guildId];
    if (!written || after?.status !== wanted || after.at !== at) {
      return { view: this.viewOf(written ?? record, guildId), note: 'Someone else changed this clip at the same moment; nothing more was done.' };
    }
    if (moves && written.isDiscarded) await this.applyMoves(moves.pairs, record.streamer, guildId);
    if (mine.status === 'kept') await this.count(guildId, record, { kept: -1 });
    if (isFalsePositive) await this.count(guildId, record, { falsePositive: 1 });
    const where = written.isDiscarded ? `moved to ${discardedDirOf(record.clipPath)}` : 'kept on disk: another server still has it';
    this.deps.events.add(guildId, {
      kind: 'review',
      stream: record.streamer,
      text: `${isFalsePositive ? `false positive ("${record.trigger.keyword}")` : 'discarded'} ${fileNameOf(record, mine)} (by ${member}); ${where}`,
    });
    return { view: this.viewOf(written, guildId), clip: 'remove' };
  }

  private async restore(record: ClipReview, guildId: string, member: string): Promise<PressResult> {
    const mine = record.guilds[guildId]!;
    if (!DONE_STATUSES.has(mine.status)) return { view: this.viewOf(record, guildId), note: 'This clip is not discarded.' };
    const moves = record.isDiscarded ? await this.plannedMoves(record, (p) => restoredDirOf(p)) : undefined;
    const at = new Date().toISOString();
    const written = await this.deps.records.modify(record.clipId, (current) => {
      const g = current?.guilds[guildId];
      if (!current || !g || !DONE_STATUSES.has(g.status)) return undefined;
      const next = { ...current, guilds: { ...current.guilds, [guildId]: { ...g, status: 'new' as const, by: member, at, restored: true } } };
      return moves && current.isDiscarded ? { ...next, ...moves.paths, isDiscarded: false } : next;
    });
    const after = written?.guilds[guildId];
    if (!written || after?.at !== at) {
      return { view: this.viewOf(written ?? record, guildId), note: 'Someone else changed this clip at the same moment; nothing more was done.' };
    }
    if (moves && !written.isDiscarded) await this.applyMoves(moves.pairs, record.streamer, guildId);
    if (mine.status === 'false-positive') await this.count(guildId, record, { falsePositive: -1 });
    this.deps.events.add(guildId, { kind: 'review', stream: record.streamer, text: `restored ${fileNameOf(record, mine)} (by ${member})` });
    return { view: this.viewOf(written, guildId), clip: this.cardClip(written, guildId) };
  }

  private async extend(record: ClipReview, guildId: string, member: string): Promise<PressResult> {
    const mine = record.guilds[guildId]!;
    const view = this.viewOf(record, guildId);
    if (DONE_STATUSES.has(mine.status)) return { view, note: 'This clip is discarded: press Restore first.' };
    if (mine.extended) return { view, note: `Already extended by ${mine.extendedBy ?? 'a moderator'}.` };
    if (record.capture !== 'stream' || !record.window || !this.deps.streamCapture) {
      return { view, note: 'Extend works on stream-capture clips only: an OBS clip holds what its replay buffer held, and nothing more is kept.' };
    }
    if (!record.extendedPath) {
      const extra = REVIEW_DEFAULTS.extend.extraSeconds;
      const atMs = Date.parse(record.at);
      const fromMs = atMs - (record.window.beforeSeconds + extra) * 1000;
      const oldest = await this.deps.bufferStartMs?.(record.streamer);
      // A second of slack: segments start at keyframes, never exactly on the second.
      if (oldest === undefined || oldest > fromMs + 1_000) {
        const gone = oldest === undefined ? 'the live is no longer buffered' : 'the live’s buffer has moved past this moment';
        const written = await this.deps.records.modify(record.clipId, (current) => (current && !current.extendGone ? { ...current, extendGone: gone } : undefined));
        return { view: this.viewOf(written ?? record, guildId), note: `Cannot extend: ${gone} (it keeps the last minute or so).` };
      }
      const folder = path.dirname(record.clipPath);
      const extendedName = `${path.basename(record.clipPath).replace(/\.mp4$/i, '')} (extended).mp4`;
      let placed: string | undefined;
      const captured = await this.deps.streamCapture.capture(
        { streamer: record.streamer, at: new Date(atMs), beforeSeconds: record.window.beforeSeconds + extra, afterSeconds: record.window.afterSeconds + extra },
        async (footage) => {
          placed = await moveOrCopy(footage.path, await freePath(folder, extendedName));
          return placed;
        },
      );
      const extendedPath = placed ?? captured.path;
      const srtPath = await this.writeSrt(record.streamer, extendedPath, captured.startedAt?.getTime(), captured.durationSeconds);
      await this.deps.records.modify(record.clipId, (current) =>
        current && !current.extendedPath ? { ...current, extendedPath, ...(srtPath ? { extendedSrtPath: srtPath } : {}) } : undefined,
      );
      this.deps.events.add(guildId, { kind: 'review', stream: record.streamer, text: `extended ${path.basename(record.clipPath)}: ${path.basename(extendedPath)} (by ${member}; the first cut is kept)` });
    }
    const { record: updated } = await this.changeGuild(record.clipId, guildId, (g) => (g.extended ? undefined : { ...g, extended: true, extendedBy: member }));
    return { view: this.viewOf(updated, guildId), clip: this.cardClip(updated, guildId) };
  }

  // ---- helpers ----

  private async changeGuild(
    clipId: string,
    guildId: string,
    change: (g: GuildReview) => GuildReview | undefined,
  ): Promise<{ record: ClipReview; changed: boolean }> {
    let changed = false;
    const record = await this.deps.records.modify(clipId, (current) => {
      changed = false;
      const g = current?.guilds[guildId];
      if (!current || !g) return undefined;
      const next = change(g);
      if (!next) return undefined;
      changed = true;
      return { ...current, guilds: { ...current.guilds, [guildId]: next } };
    });
    if (!record) throw new UserError('NOT_FOUND', 'The bot has no record of this clip any more, so nothing was changed.');
    return { record, changed };
  }

  private async count(guildId: string, record: ClipReview, delta: Partial<TriggerCounts>): Promise<void> {
    await this.deps.records.count(guildId, triggerKey(record.trigger), delta).catch((err: unknown) =>
      this.deps.log.warn({ err: errorMessage(err), clipId: record.clipId }, 'could not update the trigger counts'),
    );
  }

  /** Every file of the clip, each with where it goes (a free name there) and the record's fields after it. */
  private async plannedMoves(record: ClipReview, dirFor: (file: string) => string) {
    const fields = ['clipPath', 'srtPath', 'extendedPath', 'extendedSrtPath'] as const;
    const pairs: Array<[string, string]> = [];
    const paths: { -readonly [K in (typeof fields)[number]]?: string } = {};
    for (const field of fields) {
      const from = record[field];
      if (!from) continue;
      const to = await freePath(dirFor(from), path.basename(from));
      pairs.push([from, to]);
      paths[field] = to;
    }
    // An HEVC live's copied cut (`.original.mp4`) travels with its clip, unrecorded.
    const original = `${record.clipPath.replace(/\.mp4$/i, '')}.original.mp4`;
    if (await exists(original)) pairs.push([original, await freePath(dirFor(original), path.basename(original))]);
    return { pairs, paths };
  }

  private async applyMoves(pairs: ReadonlyArray<[string, string]>, streamer: string, guildId: string): Promise<void> {
    for (const [from, to] of pairs) {
      try {
        await moveFile(from, to);
      } catch (err) {
        // Never fatal, never a deletion: the file stays where it was, and /logs says where.
        this.deps.log.warn({ err: errorMessage(err), from, to }, 'could not move a clip file');
        this.deps.events.add(guildId, { kind: 'failure', stream: streamer, text: `could not move ${path.basename(from)}: ${errorMessage(err)}` });
      }
    }
  }

  private cardClip(record: ClipReview, guildId: string): PressResult['clip'] {
    const isExtended = record.guilds[guildId]?.extended === true && record.extendedPath !== undefined;
    const clipPath = isExtended && record.extendedPath ? record.extendedPath : record.clipPath;
    const srtPath = isExtended ? record.extendedSrtPath : record.srtPath;
    return { path: clipPath, fileName: path.basename(clipPath), ...(srtPath ? { srtPath } : {}) };
  }

  private viewOf(record: ClipReview, guildId: string): CardView {
    const g = record.guilds[guildId] ?? { status: 'new' as const };
    const extend: CardView['extend'] = g.extended
      ? 'done'
      : record.capture === 'obs'
        ? 'obs'
        : record.capture !== 'stream'
          ? 'unknown'
          : record.extendGone && !record.extendedPath
            ? 'gone'
            : 'available';
    const queuedTo = g.status === 'kept' && g.highlightQueuedAt ? this.deps.highlightsChannelOf(guildId) : undefined;
    const posted = g.highlightMessageId ? (g.highlightChannelId ?? this.deps.highlightsChannelOf(guildId)) : undefined;
    const highlight = posted ? { channelId: posted, isPosted: true } : queuedTo ? { channelId: queuedTo, isPosted: false } : undefined;
    return {
      clipId: record.clipId,
      status: g.status,
      ...(g.by ? { by: g.by } : {}),
      restored: g.restored === true,
      ...(g.extendedBy ? { extendedBy: g.extendedBy } : {}),
      extend,
      triggerLabel: triggerLabel(record.trigger),
      countedIn: record.trigger.kind === 'gift' || record.trigger.kind === 'hype' ? '/trigger list' : '/keyword list',
      ...(highlight ? { highlight } : {}),
      streamer: record.streamer,
      ...(record.filedOn ? { filedOn: record.filedOn } : {}),
    };
  }

  private async writeChat(outcome: ClipOutcome): Promise<AlertReview> {
    const first = outcome.triggers[0];
    const atMs = first.at.getTime();
    const around = this.deps.chatLog.between(outcome.streamer, atMs - REVIEW_DEFAULTS.card.chatsAroundMs, atMs + REVIEW_DEFAULTS.card.chatsAroundMs);
    const chats = nearest(around, atMs, REVIEW_DEFAULTS.card.chatsAround).map((e) => chatLine(e, REVIEW_DEFAULTS.card.chatLineChars));
    let startMs = outcome.startedAt?.getTime();
    let seconds = outcome.durationSeconds;
    if (startMs === undefined) {
      // OBS saves what its buffer held up to the save: the clip ends at the save and starts its length before.
      seconds = await this.deps.probeSeconds(outcome.path).catch(() => this.deps.obsBufferSeconds());
      if (seconds !== undefined) startMs = outcome.savedAt.getTime() - seconds * 1000;
    }
    const srtPath = await this.writeSrt(outcome.streamer, outcome.path, startMs, seconds);
    return { reason: reasonOf(first), chats, ...(srtPath ? { srtPath } : {}), capture: outcome.capture ?? 'unknown' };
  }

  /** Writes the chat of [startMs, startMs + seconds] beside `clipPath`; undefined when it cannot be timed or written. */
  private async writeSrt(streamer: string, clipPath: string, startMs: number | undefined, seconds: number | undefined): Promise<string | undefined> {
    if (startMs === undefined || seconds === undefined) return undefined;
    const durationMs = seconds * 1000;
    const srt = chatSrt(this.deps.chatLog.between(streamer, startMs, startMs + durationMs), startMs, durationMs);
    const srtPath = srtPathFor(clipPath);
    try {
      // Never over another file: a second alert of the same clip (recovery) finds it written already.
      await writeFile(srtPath, srt, { flag: 'wx' });
      return srtPath;
    } catch (err) {
      if ((err as { code?: string }).code === 'EEXIST') return srtPath;
      this.deps.log.warn({ err: errorMessage(err), srtPath }, 'could not write the chat file');
      return undefined;
    }
  }
}

/** The first card of a new alert: nobody pressed anything yet. */
export function initialCardView(clipId: string, review: Pick<AlertReview, 'capture'>): CardView {
  const extend = review.capture === 'stream' ? 'available' : review.capture === 'obs' ? 'obs' : 'unknown';
  return { clipId, status: 'new', restored: false, extend, triggerLabel: '', countedIn: '/keyword list' };
}

/** The `count` chats nearest `atMs`, oldest first. */
function nearest(entries: readonly ChatLogEntry[], atMs: number, count: number): ChatLogEntry[] {
  return [...entries]
    .sort((a, b) => Math.abs(a.atMs - atMs) - Math.abs(b.atMs - atMs))
    .slice(0, count)
    .sort((a, b) => a.atMs - b.atMs);
}

/** Why the clip was made, in one line. */
export function reasonOf(trigger: Trigger): string {
  if (trigger.isManual) return truncate(`Clipped by hand by ${cleanText(trigger.chatter)}${trigger.note ? `: ${cleanText(trigger.note)}` : ''}`, 300);
  if (trigger.kind === 'gift' || trigger.kind === 'hype') return truncate(cleanText(trigger.detail ?? trigger.message), 300);
  return truncate(`"${cleanText(trigger.keyword)}" in @${cleanText(trigger.chatter)}'s message: "${cleanText(trigger.message)}"`, 300);
}

export function triggerLabel(trigger: ClipReview['trigger']): string {
  if (trigger.kind === 'gift') return 'the gift trigger';
  if (trigger.kind === 'hype') return 'the hype trigger';
  return `"${trigger.keyword}"`;
}

function fileNameOf(record: ClipReview, g: GuildReview): string {
  return path.basename(g.extended && record.extendedPath ? record.extendedPath : record.clipPath);
}

/** The cut lives in the capture's work folder, which it removes afterwards: move it out (or copy across drives). */
async function moveOrCopy(source: string, target: string): Promise<string> {
  try {
    return await moveFile(source, target);
  } catch (err) {
    if (isAppError(err, 'CLIP_FILE_FAILED')) throw err;
    throw new UserError('CLIP_FILE_FAILED', `The extended clip could not be filed: ${errorMessage(err)}`);
  }
}
