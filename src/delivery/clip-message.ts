import path from 'node:path';
import { AttachmentBuilder, EmbedBuilder, type BaseMessageOptions } from 'discord.js';
import type { Logger } from 'pino';
import type { ClipOutcome } from '../clips/clip-outcome.js';
import { toAlertContent, type AlertContent } from './outbox.js';
import type { FitCache } from './fit-cache.js';
import { isAppError } from '../util/errors.js';
import { cleanText, errorMessage, truncate } from '../util/text.js';
import { absoluteTime, escapeMarkdown } from '../util/markdown.js';
import { DELIVERY_DEFAULTS } from './defaults.js';
import { access } from 'node:fs/promises';
import { srtPathFor } from '../review/chat-srt.js';
import { cardComponents } from '../review/review-card.js';
import { initialCardView } from '../review/review-service.js';

/** Upload limits by boost tier (discord-api-docs: 10 MiB default since 2025-01-16, 50 and 100 MiB). */
export function uploadLimitForTier(premiumTier: number): number {
  const MiB = 1024 * 1024;
  if (premiumTier >= 3) return 100 * MiB;
  if (premiumTier === 2) return 50 * MiB;
  return 10 * MiB;
}

/** A rendered alert, with what delivery needs to know about it. */
export interface RenderedAlert {
  readonly message: BaseMessageOptions;
  /** Bytes of the attached file (0 without one): the upload's timeout grows with it. */
  readonly fileBytes: number;
  /** The footer as posted, kept by later credit edits. */
  readonly footer?: string;
}

/**
 * Builds the alert for a clip: an embed with streamer, chatters, keywords, the chat message and the
 * time, with the clip attached. A clip over the upload limit is re-encoded to fit (once: FitCache); if
 * that fails too, the alert says so and where the file is.
 */
export class ClipReplyBuilder {
  constructor(private readonly deps: { fits: FitCache; log: Logger }) {}

  /** The /clip reply: the limit is the interaction's attachment_size_limit. */
  async build(outcome: ClipOutcome, uploadLimitBytes: number): Promise<BaseMessageOptions> {
    return (await this.render(toAlertContent(outcome, outcome.triggers), uploadLimitBytes)).message;
  }

  /** A clip as it can be uploaded under the limit (itself, or its shared re-encode): a card's Restore and Extend. */
  async fitted(clipPath: string, uploadLimitBytes: number): Promise<{ path: string; bytes: number }> {
    return this.deps.fits.fit(clipPath, uploadLimitBytes);
  }

  /**
   * `withoutFile`: post no video and say why (Discord refused it as too large; it is on another node).
   * `isElsewhere`: the clip's files are on another machine: attach none, not even its chat file.
   */
  async render(alert: AlertContent, uploadLimitBytes: number, withoutFile?: string, { isElsewhere = false } = {}): Promise<RenderedAlert> {
    const embed = alertEmbed(alert);
    // The card's buttons (alerts only: a /clip reply is not reviewed) and the moment's chat beside the clip.
    const components = alert.review ? cardComponents(initialCardView(alert.clipId, alert.review)) : [];
    const chatFile = isElsewhere ? undefined : await chatAttachment(alert);
    const noFile = (why: string): RenderedAlert => {
      embed.addFields({ name: 'File', value: truncate(`${why} It is saved at \`${alert.path}\``, 1024) });
      return { message: { embeds: [embed], components, ...(chatFile ? { files: [chatFile] } : {}), allowedMentions: { parse: [] } }, fileBytes: 0 };
    };
    if (withoutFile !== undefined) return noFile(withoutFile);
    try {
      const fitted = await this.deps.fits.fit(alert.path, uploadLimitBytes);
      const footer = fitted.reencoded ? truncate(`Re-encoded to fit Discord's upload limit. Original: ${alert.path}`, 2048) : undefined;
      if (footer) embed.setFooter({ text: footer });
      return {
        message: {
          embeds: [embed],
          files: [new AttachmentBuilder(fitted.path, { name: alert.fileName }), ...(chatFile ? [chatFile] : [])],
          components,
          allowedMentions: { parse: [] },
        },
        fileBytes: fitted.bytes,
        ...(footer ? { footer } : {}),
      };
    } catch (err) {
      // Stopped mid-fit (shutdown): not a reason to post without the file; the entry stays queued.
      if (isAppError(err, 'ABORTED')) throw err;
      this.deps.log.warn({ err: errorMessage(err), path: alert.path }, 'clip not attached');
      return noFile(whyNotAttached(err));
    }
  }
}

/** `{clip name}.chat.srt` when it was written beside the clip (small: chats as subtitles). */
async function chatAttachment(alert: AlertContent): Promise<AttachmentBuilder | undefined> {
  const srtPath = alert.review?.srtPath ?? srtPathFor(alert.path);
  const isThere = await access(srtPath).then(() => true, () => false);
  return isThere ? new AttachmentBuilder(srtPath, { name: path.basename(srtPath) }) : undefined;
}

/** In words for the alert: too large even after re-encoding, ffmpeg missing or failing, file gone. */
export function whyNotAttached(err: unknown): string {
  if (isAppError(err, 'CLIP_TOO_LARGE')) return 'The clip is too large for this server’s upload limit even after re-encoding.';
  if (isAppError(err, 'FFMPEG_FAILED')) {
    return `The clip is over this server’s upload limit and could not be re-encoded: ${truncate(cleanText(err.message), 300)}.`;
  }
  if (isAppError(err, 'CLIP_FILE_FAILED')) return 'The clip file could not be read.';
  return 'The clip could not be prepared for upload.';
}

/** User text for an embed: controls and bidi overrides removed, Markdown made inert. */
function shown(text: string): string {
  return escapeMarkdown(cleanText(text));
}

export function alertEmbed(alert: AlertContent): EmbedBuilder {
  const first = alert.callers[0];
  const isManual = first?.isManual ?? false;
  const chatters = unique(alert.callers.map((t) => t.chatter));
  const keywords = unique(alert.callers.map((t) => t.keyword));
  const note = alert.callers.find((t) => t.note)?.note;
  const streamer = shown(alert.streamer);
  const total = chatters.length + alert.moreCallers;
  const embed = new EmbedBuilder()
    .setTitle(truncate(isManual ? `Clip of @${cleanText(alert.streamer)}` : `Clip: "${cleanText(first?.keyword ?? '')}" on @${cleanText(alert.streamer)}'s LIVE`, 256))
    .setColor(isManual ? 0x5865f2 : 0xfe2c55)
    .addFields(
      { name: 'Streamer', value: `@${streamer}`, inline: true },
      { name: 'Keyword', value: truncate(keywords.map(shown).join(', ') || '-', 1024), inline: true },
      { name: 'Time', value: absoluteTime(new Date(first?.at ?? alert.savedAt)), inline: true },
      {
        name: total > 1 ? `Called by ${total} chatters` : 'Chatter',
        value: truncate(creditList(chatters, alert.moreCallers) || '-', 1024),
      },
    );
  if (first && !isManual) {
    embed.setDescription(truncate(`> ${shown(first.message)}`, 4096));
  }
  if (alert.review) {
    embed.addFields({ name: 'Why it fired', value: truncate(shown(alert.review.reason), 1024) });
    if (alert.review.chats.length > 0) {
      embed.addFields({ name: 'Chat around it', value: truncate(alert.review.chats.map(shown).join('\n'), 1024) });
    }
  }
  if (note) embed.addFields({ name: 'Note', value: truncate(shown(note), 1024) });
  embed.addFields({ name: 'File', value: truncate(`\`${path.basename(alert.path)}\``, 1024) });
  if (alert.captureNote) embed.addFields({ name: 'Capture', value: truncate(cleanText(alert.captureNote), 1024) });
  if (alert.isRecovered) {
    embed.addFields({ name: 'Late', value: 'The bot stopped before it could post this clip; it was finished at the next start.' });
  }
  return embed;
}

function creditList(chatters: readonly string[], moreCallers: number): string {
  const shownNames = chatters.slice(0, DELIVERY_DEFAULTS.maxCredited).map(shown);
  const more = chatters.length - shownNames.length + moreCallers;
  return more > 0 ? `${shownNames.join(', ')} and ${more} more` : shownNames.join(', ');
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
