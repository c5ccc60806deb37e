import type { Logger } from 'pino';
import type { ClipReporter } from '../clips/clip-service.js';
import type { Trigger, Triggers } from '../triggers/trigger.js';
import type { ClipOutcome } from '../clips/clip-outcome.js';
import type { DeliveryWorker } from './delivery-worker.js';
import { alertId, noticeId, nonceFor, toAlertContent, type FileHome, type OutboxEntry, type OutboxStore } from './outbox.js';
import type { EventLog } from '../events/event-log.js';
import type { BotStore } from '../store/bot-store.js';
import { cleanText, errorMessage, truncate } from '../util/text.js';
import { escapeMarkdown } from '../util/markdown.js';
import { DELIVERY_DEFAULTS } from './defaults.js';
import type { ReviewService } from '../review/review-service.js';

/**
 * Files every clip in the guild's archive and queues its alert in the durable outbox; the delivery
 * worker posts it. Each method resolves once what it queued is in the store (not when Discord accepted
 * it), so the clip service may forget the moment then: from there the outbox owns the delivery, across
 * restarts too. The archive record is written first, so `/clips` lists every clip with its path.
 */
export class ClipPublisher implements ClipReporter {
  constructor(
    private readonly deps: {
      readonly store: BotStore;
      readonly outbox: OutboxStore;
      readonly worker: DeliveryWorker;
      readonly events: EventLog;
      /** The card: the clip's chat file, why it fired, its row for the buttons. */
      readonly review?: Pick<ReviewService, 'prepare' | 'register'>;
      /** CLUSTER=true: this node's clips folder, recorded on its alerts (another takes them over if it dies). */
      readonly filedOn?: FileHome;
      readonly log: Logger;
    },
  ) {}

  async clipSaved(guildId: string, outcome: ClipOutcome): Promise<void> {
    const mine = this.triggersOf(guildId, outcome);
    // Written beside every clip (a /clip one too), before its alert can point at it.
    const review = await this.deps.review?.prepare(outcome).catch((err: unknown) => {
      this.deps.log.warn({ err: errorMessage(err), clip: outcome.fileName }, 'could not prepare the clip for review');
      return undefined;
    });
    await this.archive(guildId, outcome, false);
    // A manual clip is answered in the /clip reply itself; only automatic triggers post an alert. A
    // recovered one is posted either way: the /clip that asked for it is long gone.
    if (mine.every((t) => t.isManual) && !outcome.isRecovered) return;
    const id = alertId(guildId, outcome.clipId);
    if (review) {
      // Before the alert is queued: its buttons must find their row from the first press.
      await this.deps.review?.register(guildId, outcome, review).catch((err: unknown) =>
        this.deps.log.warn({ err: errorMessage(err), clip: outcome.fileName }, 'could not record the clip for review'),
      );
    }
    await this.queue(guildId, outcome.streamer, async () => {
      // Reported again (a recovery of a moment whose alert was queued or posted already): once is enough.
      if (await this.deps.outbox.sentAlert(guildId, id)) return undefined;
      const alert = { ...toAlertContent(outcome, mine), ...(review ? { review } : {}) };
      const filedOn = this.deps.filedOn;
      return this.deps.outbox.put({ id, kind: 'alert', guildId, streamer: outcome.streamer, nonce: nonceFor(id), alert, ...(filedOn ? { filedOn } : {}) });
    });
  }

  async clipJoined(guildId: string, outcome: ClipOutcome): Promise<void> {
    const id = alertId(guildId, outcome.clipId);
    const pending = this.deps.worker.pendingEntry(id);
    const sent = pending ? undefined : await this.deps.outbox.sentAlert(guildId, id).catch(() => undefined);
    await this.archive(guildId, outcome, sent !== undefined);
    // The card's lines stay on the edited alert (prepare is done once per clip; this finds it again).
    const review = await this.deps.review?.prepare(outcome).catch(() => undefined);
    const alert = { ...toAlertContent(outcome, this.triggersOf(guildId, outcome)), ...(review ? { review } : {}) };
    await this.queue(guildId, outcome.streamer, async () => {
      if (pending?.kind === 'alert') {
        // Not posted yet: the alert goes out with the new credits; no edit needed.
        return this.deps.outbox.put(pending, (existing) => (existing.kind === 'alert' ? { ...existing, alert } : undefined));
      }
      if (!sent) return undefined;
      const creditsId = `credits:${guildId}:${outcome.clipId}`;
      return this.deps.outbox.put(
        { id: creditsId, kind: 'credits', guildId, streamer: outcome.streamer, alertId: id, alert },
        (existing) => (existing.kind === 'credits' ? { ...existing, alert } : undefined),
      );
    });
  }

  async clipFailed(guildId: string, triggers: readonly Trigger[], reason: string): Promise<void> {
    const first = triggers[0];
    if (!first) return;
    const chatters = [...new Set(triggers.map((t) => cleanText(t.chatter)))];
    await this.notice(
      guildId,
      first.streamer,
      `⚠️ Could not clip @${escapeMarkdown(cleanText(first.streamer))}: ${cleanText(reason)}. "${escapeMarkdown(truncate(cleanText(first.keyword), 100))}" was called by ${escapeMarkdown(truncate(chatters.join(', '), 500))}.`,
    );
  }

  /** Queues a plain notice (going live, OBS trouble…) for the guild's alert channel. Never throws. */
  async notice(guildId: string, streamer: string | undefined, text: string): Promise<void> {
    const id = noticeId();
    await this.queue(guildId, streamer, () =>
      this.deps.outbox.put({ id, kind: 'notice', guildId, streamer, nonce: nonceFor(id), text: truncate(text, 1_900) }),
    );
  }

  /** Stores an entry and hands it to the worker. A store that cannot be written is logged and said in /logs. */
  private async queue(guildId: string, streamer: string | undefined, store: () => Promise<OutboxEntry | undefined>): Promise<void> {
    try {
      const entry = await store();
      if (entry) this.deps.worker.accept(entry);
    } catch (err) {
      this.deps.log.error({ err: errorMessage(err), guildId }, 'could not queue a post to Discord');
      this.deps.events.add(guildId, { kind: 'failure', stream: streamer, text: `could not queue a post to Discord: ${truncate(errorMessage(err), 200)}` });
    }
  }

  private triggersOf(guildId: string, outcome: ClipOutcome): Triggers {
    const [first, ...others] = outcome.triggers.filter((t) => t.guildId === guildId);
    return first ? [first, ...others] : outcome.triggers;
  }

  /**
   * Writes (or rewrites, with the latest credits) the clip's archive record, bounded like the alert.
   * A store failure is logged, never allowed to stop the alert: the clip is on disk either way.
   */
  private async archive(guildId: string, outcome: ClipOutcome, isPosted: boolean): Promise<void> {
    const mine = this.triggersOf(guildId, outcome);
    const first = mine[0];
    const text = (value: string) => cleanText(value).slice(0, DELIVERY_DEFAULTS.outbox.textChars);
    try {
      await this.deps.store.recordClip(guildId, {
        id: outcome.clipId,
        streamer: outcome.streamer,
        path: outcome.path,
        fileName: outcome.fileName,
        chatters: [...new Set(mine.map((t) => text(t.chatter)))].slice(0, DELIVERY_DEFAULTS.outbox.callers),
        keywords: [...new Set(mine.map((t) => text(t.keyword)))].slice(0, DELIVERY_DEFAULTS.outbox.callers),
        message: text(first.message),
        manual: first.isManual,
        ...(first.note ? { note: text(first.note) } : {}),
        triggeredBy: text(first.chatter),
        at: first.at.toISOString(),
        posted: isPosted,
        ...(outcome.filedOn ? { filedOn: outcome.filedOn } : {}),
      });
    } catch (err) {
      this.deps.log.error({ err: errorMessage(err), clip: outcome.fileName }, 'could not archive the clip');
      this.deps.events.add(guildId, { kind: 'failure', stream: outcome.streamer, text: `clip ${outcome.fileName} saved but not archived` });
    }
  }
}
