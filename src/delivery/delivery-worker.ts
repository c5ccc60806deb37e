/**
 * Delivers the outbox to Discord: each channel's entries one at a time in the order they were queued,
 * channels side by side. A transient failure (5xx, timeout, cut connection) waits with backoff capped at
 * a minute and tries the same entry again, for as long as it takes; every create carries the entry's
 * nonce with enforce_nonce, so a retry after an answer that was lost cannot post twice. A channel the
 * bot cannot post in (10003, 50001, 50013) is held: its entries stay queued, /status and /logs say so,
 * and it is tried again every few minutes or at once after `/settings channel`. An alert or notice of a
 * server with no alert channel and no stream to take the channel from waits, counted in /status, until
 * `/settings channel` (or `/stream add`) gives it one: it is never dropped for that.
 */
import path from 'node:path';
import type { Client, Message, SendableChannels } from 'discord.js';
import type { Logger } from 'pino';
import type { EventLog } from '../events/event-log.js';
import type { GuildSettingsService } from '../guilds/settings-service.js';
import type { BotStore } from '../store/bot-store.js';
import { backoffDelay } from '../util/backoff.js';
import { isAppError } from '../util/errors.js';
import { cleanMessage, errorMessage } from '../util/text.js';
import { alertEmbed, uploadLimitForTier, type ClipReplyBuilder } from './clip-message.js';
import { joinLines } from '../util/markdown.js';
import { NotSendableError, classifyFailure, describeFailure, leanError } from './discord-errors.js';
import type { FitCache } from './fit-cache.js';
import type { HighlightPoster } from './highlight-post.js';
import type { AlertTakeover } from './alert-takeover.js';
import { alertId, type OutboxEntry, type OutboxStore } from './outbox.js';
import { DELIVERY_DEFAULTS } from './defaults.js';
import type { DeliveryTimings } from './types.js';

/** A channel that cannot be posted in, as /status shows it. */
export interface ChannelProblem {
  readonly channelId: string;
  readonly reason: string;
  readonly since: Date;
  /** Entries waiting for it. */
  readonly waiting: number;
}

interface ChannelState {
  /** The guild the channel is in (a channel is in one only): `/settings channel` there retries it. */
  readonly guildId: string;
  isBusy: boolean;
  nextAttemptAt: number;
  failures: number;
  held: { reason: string; since: Date } | undefined;
  /** Entries whose target is this channel, as of the last scheduling pass. */
  waiting: number;
}

type AlertEntry = Extract<OutboxEntry, { kind: 'alert' }>;

/** Where an entry goes now: a channel, nowhere yet (it waits for one), or nowhere ever (dropped). */
type Target = { channelId: string } | { waitsForChannel: true } | { drop: string };

export class DeliveryWorker {
  private readonly timings: DeliveryTimings;
  private entries: OutboxEntry[] = [];
  private readonly channels = new Map<string, ChannelState>();
  /** Per guild: entries with no channel to go to, as of the last scheduling pass. */
  private waitingForChannel = new Map<string, number>();
  /** Entries already logged as waiting for a channel (once each, not every pass). */
  private readonly announcedWaiting = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private isRunning = false;
  private isScheduling = false;
  private isPumpedAgain = false;
  private readonly inFlight = new Set<Promise<void>>();
  /** Timeouts wanted by uploads in flight; the REST client's timeout is the largest of them. */
  private readonly uploadTimeouts = new Map<symbol, number>();

  constructor(
    private readonly deps: {
      readonly client: Client;
      readonly outbox: OutboxStore;
      /** Loaded from the store before any entry is routed (GuildSettingsService.open). */
      readonly settings: Pick<GuildSettingsService, 'load'>;
      readonly store: BotStore;
      readonly replies: ClipReplyBuilder;
      readonly fits: FitCache;
      /** Kept clips to the highlights channel, and their cards told so. */
      readonly highlights: HighlightPoster;
      readonly events: EventLog;
      readonly log: Logger;
      readonly timings?: Partial<DeliveryTimings>;
      /**
       * Which stored entries this process delivers (a cluster node: its own clips' alerts, and those it
       * took over); absent: all. With it, each attempt first reads the entry again: another node may have
       * taken it over meanwhile.
       */
      readonly isOurs?: (entry: OutboxEntry) => boolean;
      /** CLUSTER=true: alerts of a node that is gone, taken over (and our videos added to them). */
      readonly takeover?: AlertTakeover;
    },
  ) {
    this.timings = { ...DELIVERY_DEFAULTS.worker, ...deps.timings };
  }

  /** Loads what a previous run left queued and starts delivering (call once the client is ready). */
  async start(): Promise<void> {
    const isOurs = this.deps.isOurs ?? (() => true);
    const stored = (await this.deps.outbox.pending()).filter(isOurs);
    const known = new Set(this.entries.map((e) => e.id));
    this.entries = [...this.entries, ...stored.filter((e) => !known.has(e.id))].sort((a, b) => a.seq - b.seq);
    await this.deps.fits.sweep(this.entries.flatMap((e) => clipPathOf(e) ?? []));
    if (stored.length > 0) this.deps.log.info({ pending: stored.length }, 'delivering what the last run left queued');
    this.isRunning = true;
    this.pump();
    this.deps.takeover?.start({ accept: (entry) => this.accept(entry), isHeld: (id) => this.entries.some((e) => e.id === id) });
  }

  /**
   * Stops starting new attempts, ends re-encodes in flight (they take minutes; the next start fits again)
   * and waits for the rest. Queued entries stay in the store.
   */
  async stop(): Promise<void> {
    this.isRunning = false;
    clearTimeout(this.timer);
    this.deps.takeover?.stop();
    this.deps.fits.abort();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** A newly stored entry (or a stored one rewritten): deliver it in its turn. */
  accept(entry: OutboxEntry): void {
    const index = this.entries.findIndex((e) => e.id === entry.id);
    if (index >= 0) this.entries[index] = entry;
    else this.entries.push(entry);
    this.pump();
  }

  /** Something is done uploading `clipPath` (an alert, a /clip reply): its re-encodes go unless a queued alert still needs them. */
  async releaseFit(clipPath: string): Promise<void> {
    if (!this.entries.some((e) => clipPathOf(e) === clipPath)) await this.deps.fits.release(clipPath);
  }

  pendingEntry(id: string): OutboxEntry | undefined {
    return this.entries.find((e) => e.id === id);
  }

  /** `/settings channel`: try the guild's held channels and backed-off entries again now. */
  retryGuild(guildId: string): void {
    for (const [channelId, state] of this.channels) {
      if (state.guildId === guildId) {
        state.nextAttemptAt = 0;
        if (state.held) this.deps.log.info({ channelId }, 'trying a held channel again');
      }
    }
    this.pump();
  }

  /** Settings that decide where posts go changed (a stream added): route the waiting entries again. */
  reroute(): void {
    this.pump();
  }

  /** Alerts and notices of this guild that have no channel to go to yet (no alert channel, no stream). */
  waitingForAlertChannel(guildId: string): number {
    return this.waitingForChannel.get(guildId) ?? 0;
  }

  /** Channels of this guild the bot cannot post in now, and why. */
  problems(guildId: string): ChannelProblem[] {
    const problems: ChannelProblem[] = [];
    for (const [channelId, state] of this.channels) {
      if (state.guildId !== guildId || !state.held) continue;
      problems.push({ channelId, reason: state.held.reason, since: state.held.since, waiting: state.waiting });
    }
    return problems;
  }

  /** Entries still queued (all guilds), for tests and shutdown logs. */
  get pendingCount(): number {
    return this.entries.length;
  }

  // -------------------------------------------------------------------------------------------------

  /**
   * One scheduling pass at a time: passes side by side would each see the same entries (and drop one
   * twice). A pump during a pass asks for one more pass after it, which sees what changed.
   */
  private pump(): void {
    if (!this.isRunning) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.isScheduling) {
      this.isPumpedAgain = true;
      return;
    }
    this.isScheduling = true;
    this.track(this.scheduleUntilSettled());
  }

  private async scheduleUntilSettled(): Promise<void> {
    try {
      do {
        this.isPumpedAgain = false;
        clearTimeout(this.timer);
        this.timer = undefined;
        await this.schedule().catch((err: unknown) => this.deps.log.error({ err: errorMessage(err) }, 'delivery scheduling failed'));
      } while (this.isPumpedAgain && this.isRunning);
    } finally {
      this.isScheduling = false;
    }
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  /** Starts the head entry of every channel that is free and due; sets a timer for the next due one. */
  private async schedule(): Promise<void> {
    const heads = new Map<string, OutboxEntry>();
    const waiting = new Map<string, number>();
    const unrouted = new Map<string, number>();
    for (const entry of [...this.entries].sort((a, b) => a.seq - b.seq)) {
      const target = await this.targetOf(entry);
      if ('drop' in target) {
        await this.drop(entry, target.drop);
        continue;
      }
      if ('waitsForChannel' in target) {
        unrouted.set(entry.guildId, (unrouted.get(entry.guildId) ?? 0) + 1);
        this.announceWaiting(entry);
        continue;
      }
      this.announcedWaiting.delete(entry.id);
      if (!heads.has(target.channelId)) heads.set(target.channelId, entry);
      waiting.set(target.channelId, (waiting.get(target.channelId) ?? 0) + 1);
    }
    // A channel nothing waits for any more (its alerts moved with /settings channel) is forgotten: held
    // or backed off, it no longer concerns anyone. The next post to it is tried afresh.
    for (const [channelId, state] of this.channels) {
      state.waiting = waiting.get(channelId) ?? 0;
      if (state.waiting === 0 && !state.isBusy) this.channels.delete(channelId);
    }
    this.waitingForChannel = unrouted;
    if (!this.isRunning) return;
    const now = Date.now();
    // Entries waiting for a channel are looked at again now and then as well: in a cluster the channel
    // may be set through another node, which this worker hears of only through the settings.
    let nextDue = unrouted.size > 0 ? now + this.timings.heldRecheckMs : Number.POSITIVE_INFINITY;
    for (const [channelId, entry] of heads) {
      const state = this.stateOf(channelId, entry.guildId);
      // A head computed before an attempt finished may be delivered already.
      if (state.isBusy || !this.entries.includes(entry)) continue;
      if (state.nextAttemptAt > now) {
        nextDue = Math.min(nextDue, state.nextAttemptAt);
        continue;
      }
      state.isBusy = true;
      this.track(
        this.attempt(channelId, entry, state)
          .catch((err: unknown) => this.deps.log.error({ err: errorMessage(err) }, 'delivery attempt failed unexpectedly'))
          .finally(() => {
            state.isBusy = false;
            this.pump();
          }),
      );
    }
    if (Number.isFinite(nextDue) && this.isRunning) {
      this.timer = setTimeout(() => this.pump(), Math.max(0, nextDue - Date.now()));
    }
  }

  private stateOf(channelId: string, guildId: string): ChannelState {
    let state = this.channels.get(channelId);
    if (!state) {
      state = { guildId, isBusy: false, nextAttemptAt: 0, failures: 0, held: undefined, waiting: 0 };
      this.channels.set(channelId, state);
    }
    return state;
  }

  /**
   * Alerts and notices go to the guild's alert channel as it is set now; a highlight to its highlights
   * channel as set now; a credit or card edit to its alert's, and so does the video added to an alert
   * another node posted.
   */
  private async targetOf(entry: OutboxEntry): Promise<Target> {
    if (entry.kind === 'alert' && entry.takenOver?.posted) return { channelId: entry.takenOver.posted.channelId };
    if (entry.kind === 'credits' || entry.kind === 'card') {
      const sent = await this.deps.outbox.sentAlert(entry.guildId, entry.alertId);
      return sent ? { channelId: sent.channelId } : { drop: 'its alert was never posted' };
    }
    // Read as stored (the service was loaded before delivery could start), never defaults for an unread guild.
    const settings = await this.deps.settings.load(entry.guildId);
    if (entry.kind === 'highlight') {
      return settings.highlightsChannelId ? { channelId: settings.highlightsChannelId } : { drop: 'the highlights channel was unset before it went out' };
    }
    // Until `/settings channel`: where the stream was added (else where any of the guild's streams was).
    const channelId =
      settings.alertChannelId ??
      (entry.streamer ? settings.streams.find((s) => s.username === entry.streamer)?.addedChannelId : undefined) ??
      settings.streams[0]?.addedChannelId;
    return channelId ? { channelId } : { waitsForChannel: true };
  }

  /** Logged and put in /logs once per entry: it waits (in the store) until the guild has a channel. */
  private announceWaiting(entry: OutboxEntry): void {
    if (this.announcedWaiting.has(entry.id)) return;
    this.announcedWaiting.add(entry.id);
    this.deps.log.info({ entry: entry.id, guildId: entry.guildId }, 'outbox entry waits for an alert channel');
    this.deps.events.add(entry.guildId, {
      kind: 'failure',
      stream: entry.streamer,
      text: `${entry.kind === 'alert' ? 'an alert' : 'a notice'} waits: this server has no alert channel yet (set one with /settings channel)`,
    });
  }

  private async attempt(channelId: string, entry: OutboxEntry, state: ChannelState, withoutFile?: string): Promise<void> {
    try {
      await this.deliver(channelId, entry, withoutFile);
    } catch (err) {
      // Its fit was ended by stop(): nothing failed, the entry waits in the store for the next start.
      if (isAppError(err, 'ABORTED') && !this.isRunning) return;
      const kind = classifyFailure(err);
      this.deps.log.warn({ ...leanError(err), entry: entry.id, channelId, kind, attempt: state.failures + 1 }, 'posting to Discord failed');
      if (kind === 'too-large' && (entry.kind === 'alert' || entry.kind === 'highlight') && withoutFile === undefined) {
        return this.attempt(channelId, entry, state, 'Discord refused the file as too large for this server.');
      }
      if (kind === 'rejected') {
        await this.drop(entry, `Discord refused it: ${describeFailure(err)}`);
        return;
      }
      state.failures += 1;
      if (kind === 'channel') {
        if (!state.held) {
          const reason = describeFailure(err);
          state.held = { reason, since: new Date() };
          this.deps.events.add(entry.guildId, {
            kind: 'failure',
            stream: entry.streamer,
            text: `cannot post in channel ${channelId}: ${reason}; ${entry.kind === 'highlight' ? 'highlights wait until it works (fix the permissions or /settings highlights)' : 'alerts wait until it works (fix the permissions or /settings channel)'}`,
          });
        }
        state.nextAttemptAt = Date.now() + this.timings.heldRecheckMs;
        return;
      }
      if (state.failures === 3) {
        this.deps.events.add(entry.guildId, { kind: 'failure', stream: entry.streamer, text: `could not post to Discord yet (${describeFailure(err)}); retrying until it works` });
      }
      state.nextAttemptAt =
        Date.now() + backoffDelay(state.failures - 1, { initialMs: this.timings.initialBackoffMs, maxMs: this.timings.maxBackoffMs, factor: 2 });
      return;
    }
    if (state.held) {
      this.deps.events.add(entry.guildId, { kind: 'config', stream: entry.streamer, text: `channel ${channelId} works again: delivering the alerts that waited` });
    }
    state.held = undefined;
    state.failures = 0;
    state.nextAttemptAt = 0;
  }

  private async deliver(channelId: string, held: OutboxEntry, withoutFile: string | undefined): Promise<void> {
    const entry = await this.stillOurs(held);
    if (!entry) return;
    const channel = await this.deps.client.channels.fetch(channelId);
    if (!channel?.isSendable()) throw new NotSendableError();
    switch (entry.kind) {
      case 'alert': {
        if (entry.takenOver) return this.deliverTakenOver(channel, channelId, entry, withoutFile);
        const limit = uploadLimitForTier(('guild' in channel ? channel.guild?.premiumTier : undefined) ?? 0);
        const rendered = await this.deps.replies.render(entry.alert, limit, withoutFile);
        const message = await this.withUploadTimeout(rendered.fileBytes, () =>
          channel.send(cleanMessage({ ...rendered.message, nonce: entry.nonce, enforceNonce: true })) as Promise<Message>,
        );
        await this.deps.outbox.recordSent(entry.guildId, {
          alertId: entry.id,
          channelId,
          messageId: message.id,
          ...(rendered.footer ? { footer: rendered.footer } : {}),
        });
        await this.deps.store.markClipPosted(entry.guildId, entry.alert.clipId).catch((err: unknown) =>
          this.deps.log.warn({ err: errorMessage(err) }, 'could not mark the clip posted'),
        );
        this.deps.events.add(entry.guildId, {
          kind: 'posted',
          stream: entry.streamer,
          text: `alert for ${entry.alert.fileName} posted in channel ${channelId}${rendered.fileBytes === 0 ? ' (without the file)' : ''}`,
        });
        await this.finished(entry);
        await this.releaseFit(entry.alert.path);
        return;
      }
      case 'credits': {
        const sent = await this.deps.outbox.sentAlert(entry.guildId, entry.alertId);
        if (!sent) return this.drop(entry, 'its alert was never posted');
        const embed = alertEmbed(entry.alert);
        if (sent.footer) embed.setFooter({ text: sent.footer });
        await channel.messages.edit(sent.messageId, cleanMessage({ embeds: [embed] }));
        await this.finished(entry);
        return;
      }
      case 'notice': {
        await channel.send(cleanMessage({ content: joinLines([entry.text]), allowedMentions: { parse: [] }, nonce: entry.nonce, enforceNonce: true }));
        await this.finished(entry);
        return;
      }
      case 'highlight': {
        const { clipId } = entry.highlight;
        const outcome = await this.deps.highlights.post(channel, channelId, entry, withoutFile);
        if ('drop' in outcome) return this.drop(entry, outcome.drop);
        this.deps.events.add(entry.guildId, { kind: 'review', stream: entry.streamer, text: `highlight ${path.basename(entry.highlight.path)} posted in channel ${channelId}` });
        // The card said "posting to #highlights" until now: queued before this entry goes, so a kill between
        // the two leaves the highlight to be tried again (the review remembers it posted: nothing twice).
        await this.queueCardEdit(entry.guildId, entry.streamer, clipId);
        await this.finished(entry);
        await this.releaseFit(entry.highlight.path);
        return;
      }
      case 'card': {
        const sent = await this.deps.outbox.sentAlert(entry.guildId, entry.alertId);
        if (!sent) return this.drop(entry, 'its alert was never posted');
        const edit = await this.deps.highlights.card(entry.guildId, entry.clipId);
        if (edit) await channel.messages.edit(sent.messageId, edit);
        await this.finished(entry);
        return;
      }
    }
  }

  /**
   * A cluster's entry as stored now, if this node still delivers it; else it is forgotten here (another
   * node took it over, or it went). Alone: the entry as held.
   */
  private async stillOurs(entry: OutboxEntry): Promise<OutboxEntry | undefined> {
    if (!this.deps.isOurs) return entry;
    const stored = await this.deps.outbox.get(entry.id);
    const index = this.entries.findIndex((e) => e.id === entry.id);
    if (!stored || !this.deps.isOurs(stored)) {
      if (index >= 0) this.entries.splice(index, 1);
      this.announcedWaiting.delete(entry.id);
      this.deps.log.info({ entry: entry.id }, 'outbox entry is delivered by another node now');
      return undefined;
    }
    if (index >= 0) this.entries[index] = stored;
    return stored;
  }

  /**
   * An alert another node took over (its own node was gone): the taker posts it without the video (that is
   * on the filing node's disk); the filing node, once back, adds the video to that very message.
   */
  private async deliverTakenOver(channel: SendableChannels, channelId: string, entry: AlertEntry, withoutFile: string | undefined): Promise<void> {
    const takenOver = entry.takenOver!;
    const limit = uploadLimitForTier(('guild' in channel ? channel.guild?.premiumTier : undefined) ?? 0);
    const where = entry.filedOn ? `on ${entry.filedOn.host} (\`${entry.filedOn.clipsDir}\`)` : 'on the node that filed it';
    if (!takenOver.posted) {
      const sent = await this.deps.outbox.sentAlert(entry.guildId, entry.id);
      // Its node posted it (video and all) before it went, and only the removal was lost: nothing is missing.
      if (sent && !sent.withoutVideo) return this.finished(entry);
      let posted = sent;
      if (!posted) {
        const why = `The video is ${where}, a node that stopped answering; it is added to this message when that node is back.`;
        const rendered = await this.deps.replies.render(entry.alert, limit, why, { isElsewhere: true });
        const message = (await channel.send(cleanMessage({ ...rendered.message, nonce: entry.nonce, enforceNonce: true }))) as Message;
        posted = { alertId: entry.id, channelId, messageId: message.id, withoutVideo: true };
        await this.deps.outbox.recordSent(entry.guildId, posted);
        await this.deps.store.markClipPosted(entry.guildId, entry.alert.clipId).catch((err: unknown) => this.deps.log.warn({ err: errorMessage(err) }, 'could not mark the clip posted'));
        this.deps.events.add(entry.guildId, { kind: 'posted', stream: entry.streamer, text: `alert for ${entry.alert.fileName} posted in channel ${channelId} without its video (it is ${where}; it follows)` });
      }
      await this.deps.outbox.postedWithoutVideo(entry.id, { channelId: posted.channelId, messageId: posted.messageId });
      // From here the filing node delivers it: it is no longer this node's.
      this.entries = this.entries.filter((e) => e !== entry);
      return;
    }
    const rendered = await this.deps.replies.render(entry.alert, limit, withoutFile);
    const { embeds, files = [], allowedMentions } = rendered.message;
    // The card's line and buttons stay as moderators left them; the embed and files become the full alert's.
    await this.withUploadTimeout(rendered.fileBytes, () => channel.messages.edit(takenOver.posted!.messageId, cleanMessage({ embeds, files, attachments: [], allowedMentions })));
    await this.deps.outbox.recordSent(entry.guildId, { alertId: entry.id, ...takenOver.posted, ...(rendered.footer ? { footer: rendered.footer } : {}) });
    this.deps.events.add(entry.guildId, { kind: 'posted', stream: entry.streamer, text: `video of ${entry.alert.fileName} added to its alert in channel ${channelId}, which another node posted while this one was away` });
    await this.finished(entry);
    await this.releaseFit(entry.alert.path);
  }

  /** The clip's card brought up to date (its highlight posted or dropped): an edit of its alert, queued. */
  private async queueCardEdit(guildId: string, streamer: string | undefined, clipId: string): Promise<void> {
    const card = await this.deps.outbox.put({ id: `card:${guildId}:${clipId}`, kind: 'card', guildId, streamer, alertId: alertId(guildId, clipId), clipId });
    this.accept(card);
  }

  private async finished(entry: OutboxEntry): Promise<void> {
    // Accepted by Discord: from here a crash could at worst post it again, and then the nonce holds.
    this.entries = this.entries.filter((e) => e !== entry);
    this.announcedWaiting.delete(entry.id);
    if (this.deps.isOurs && entry.kind === 'alert' && !entry.takenOver) {
      // Taken over while we posted (we were thought gone): the taker's post, with the same nonce, finds
      // ours or made the one Discord kept; either way it hands the alert back and we add the video to it.
      const stored = await this.deps.outbox.get(entry.id);
      if (stored?.kind === 'alert' && stored.takenOver) return;
    }
    await this.deps.outbox.remove(entry.id);
  }

  private async drop(entry: OutboxEntry, why: string): Promise<void> {
    this.deps.log.warn({ entry: entry.id, why }, 'outbox entry dropped');
    if (entry.kind === 'highlight') {
      // The card stops saying "posting to #highlights".
      await this.deps.highlights.dropped(entry).then(
        () => this.queueCardEdit(entry.guildId, entry.streamer, entry.highlight.clipId),
        (err: unknown) => this.deps.log.warn({ err: errorMessage(err) }, 'could not tell the card its highlight was dropped'),
      );
      this.deps.events.add(entry.guildId, { kind: 'review', stream: entry.streamer, text: `highlight of ${path.basename(entry.highlight.path)} not posted: ${why}` });
    } else if (entry.kind !== 'credits' && entry.kind !== 'card') {
      this.deps.events.add(entry.guildId, { kind: 'failure', stream: entry.streamer, text: `could not post to Discord: ${why}` });
    }
    await this.finished(entry);
  }

  /**
   * discord.js has one request timeout for the whole client (15 s), short for a large upload on a slow
   * line: while uploads run it is raised to what the largest of them needs, then put back.
   */
  private async withUploadTimeout<T>(bytes: number, send: () => Promise<T>): Promise<T> {
    const rest = this.deps.client.rest as unknown as { options: { timeout: number } };
    const needed = Math.ceil(this.timings.baseRequestTimeoutMs + (bytes / this.timings.uploadBytesPerSecond) * 1000);
    const upload = Symbol('upload');
    this.uploadTimeouts.set(upload, needed);
    rest.options.timeout = Math.max(this.timings.baseRequestTimeoutMs, ...this.uploadTimeouts.values());
    try {
      return await send();
    } finally {
      this.uploadTimeouts.delete(upload);
      rest.options.timeout = Math.max(this.timings.baseRequestTimeoutMs, ...this.uploadTimeouts.values());
    }
  }
}

/** The clip file an entry uploads (its re-encodes stay while it waits), if any. */
function clipPathOf(entry: OutboxEntry): string | undefined {
  if (entry.kind === 'alert') return entry.alert.path;
  if (entry.kind === 'highlight') return entry.highlight.path;
  return undefined;
}
