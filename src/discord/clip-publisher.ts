import type { Client, Message, SendableChannels } from 'discord.js';
import type { Logger } from 'pino';
import type { ClipReporter } from '../clips/clip-service.js';
import type { ClipOutcome, Trigger } from '../clips/moment.js';
import type { EventLog } from '../events/event-log.js';
import type { GuildSettingsService } from '../guilds/settings-service.js';
import { sleep } from '../util/backoff.js';
import { errorMessage } from '../util/text.js';
import type { SettingsStore } from '../store/guild-settings.js';
import { clipEmbed, uploadLimitForTier, type ClipReplyBuilder } from './clip-message.js';
import { escapeMarkdown, joinLines, truncate } from './format.js';

/** Delays between attempts at posting an alert when Discord keeps failing after its own retries. */
const POST_RETRY_DELAYS_MS = [2_000, 10_000, 30_000] as const;
/** Alerts remembered for credit updates; late joiners only ever concern the latest few clips. */
const REMEMBERED_ALERTS = 20;

/**
 * Files every clip in the guild's archive and posts its alert. The archive record is written first, so a
 * clip whose alert never reaches Discord is still listed by `/clips` with its path: no clip is lost.
 */
export class ClipPublisher implements ClipReporter {
  constructor(
    private readonly deps: {
      readonly client: Client;
      readonly settings: GuildSettingsService;
      readonly store: SettingsStore;
      readonly replies: ClipReplyBuilder;
      readonly events: EventLog;
      readonly log: Logger;
      readonly retryDelaysMs?: readonly number[];
    },
  ) {}

  private readonly alerts = new Map<string, Message>();

  async clipSaved(guildId: string, outcome: ClipOutcome): Promise<void> {
    const mine = this.triggersOf(guildId, outcome);
    await this.archive(guildId, outcome, false);
    // A manual clip is answered in the /clip reply itself; only automatic triggers post an alert. A
    // recovered one is posted either way: the /clip that asked for it is long gone.
    if (mine.every((t) => t.isManual) && !outcome.isRecovered) return;
    const channel = await this.alertChannel(guildId, outcome.streamer);
    if (!channel) return;
    const message = await this.postWithRetry(guildId, outcome.streamer, async (): Promise<Message> => {
      const limit = uploadLimitForTier(channel.guild?.premiumTier ?? 0);
      return channel.send(await this.deps.replies.build({ ...outcome, triggers: mine }, limit));
    });
    if (!message) return;
    this.remember(`${guildId}:${outcome.clipId}`, message);
    await this.deps.store.markClipPosted(guildId, outcome.clipId).catch((err: unknown) => this.deps.log.warn({ err }, 'could not mark the clip posted'));
  }

  async clipJoined(guildId: string, outcome: ClipOutcome): Promise<void> {
    const message = this.alerts.get(`${guildId}:${outcome.clipId}`);
    await this.archive(guildId, outcome, message !== undefined);
    if (!message) return;
    const embed = clipEmbed({ ...outcome, triggers: this.triggersOf(guildId, outcome) });
    // Keep the footer (e.g. "re-encoded") of the alert as posted; the attachment stays as it is.
    const footer = message.embeds[0]?.footer?.text;
    if (footer) embed.setFooter({ text: footer });
    await this.postWithRetry(guildId, outcome.streamer, async () => {
      await message.edit({ embeds: [embed] });
    });
  }

  private triggersOf(guildId: string, outcome: ClipOutcome): Trigger[] {
    const mine = outcome.triggers.filter((t) => t.guildId === guildId);
    return mine.length > 0 ? mine : [...outcome.triggers];
  }

  /**
   * Writes (or rewrites, with the latest credits) the clip's archive record. A store failure is logged,
   * never allowed to stop the alert: the clip is on disk either way.
   */
  private async archive(guildId: string, outcome: ClipOutcome, isPosted: boolean): Promise<void> {
    const mine = this.triggersOf(guildId, outcome);
    const first = mine[0]!;
    try {
      await this.deps.store.recordClip(guildId, {
        id: outcome.clipId,
        streamer: outcome.streamer,
        path: outcome.path,
        fileName: outcome.fileName,
        chatters: [...new Set(mine.map((t) => t.chatter))],
        keywords: [...new Set(mine.map((t) => t.keyword))],
        message: first.message,
        manual: first.isManual,
        ...(first.note ? { note: first.note } : {}),
        triggeredBy: first.chatter,
        at: first.at.toISOString(),
        posted: isPosted,
      });
    } catch (err) {
      this.deps.log.error({ err, clip: outcome.fileName }, 'could not archive the clip');
      this.deps.events.add(guildId, { kind: 'failure', stream: outcome.streamer, text: `clip ${outcome.fileName} saved but not archived` });
    }
  }

  private remember(key: string, message: Message): void {
    this.alerts.set(key, message);
    if (this.alerts.size > REMEMBERED_ALERTS) this.alerts.delete(this.alerts.keys().next().value as string);
  }

  async clipFailed(guildId: string, triggers: readonly Trigger[], reason: string): Promise<void> {
    const first = triggers[0];
    if (!first) return;
    const chatters = [...new Set(triggers.map((t) => t.chatter))];
    await this.notice(
      guildId,
      first.streamer,
      `⚠️ Could not clip @${escapeMarkdown(first.streamer)}: ${reason}. "${escapeMarkdown(truncate(first.keyword, 100))}" was called by ${escapeMarkdown(truncate(chatters.join(', '), 500))}.`,
    );
  }

  /** Posts a plain notice (going live, OBS trouble…) to the guild's alert channel. Never throws. */
  async notice(guildId: string, streamer: string | undefined, text: string): Promise<void> {
    const channel = await this.alertChannel(guildId, streamer);
    if (!channel) return;
    await this.postWithRetry(guildId, streamer, async () => {
      await channel.send({ content: joinLines([text]), allowedMentions: { parse: [] } });
    });
  }

  /** The configured alert channel, else the channel where the stream was added. */
  private async alertChannel(guildId: string, streamer: string | undefined): Promise<(SendableChannels & { guild?: { premiumTier: number } }) | undefined> {
    const settings = await this.deps.settings.load(guildId);
    const channelId =
      settings.alertChannelId ??
      (streamer ? settings.streams.find((s) => s.username === streamer)?.addedChannelId : undefined) ??
      settings.streams[0]?.addedChannelId;
    if (!channelId) return undefined;
    try {
      const channel = await this.deps.client.channels.fetch(channelId);
      if (channel?.isSendable()) return channel;
    } catch (err) {
      this.deps.log.warn({ err, channelId }, 'alert channel unavailable');
    }
    this.deps.events.add(guildId, { kind: 'failure', stream: streamer, text: `alert channel ${channelId} is not available to the bot` });
    return undefined;
  }

  /** Runs `post` until it succeeds or the retries run out; resolves with its result, or undefined. */
  private async postWithRetry<T>(guildId: string, streamer: string | undefined, post: () => Promise<T>): Promise<T | undefined> {
    const delays = this.deps.retryDelaysMs ?? POST_RETRY_DELAYS_MS;
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await post();
      } catch (err) {
        this.deps.log.warn({ err, attempt }, 'posting to Discord failed');
        const delay = delays[attempt];
        if (delay === undefined) {
          this.deps.events.add(guildId, { kind: 'failure', stream: streamer, text: `could not post to Discord: ${describe(err)}` });
          return undefined;
        }
        await sleep(delay);
      }
    }
  }
}

function describe(err: unknown): string {
  return truncate(errorMessage(err), 200);
}
