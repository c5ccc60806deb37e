import path from 'node:path';
import { AttachmentBuilder, EmbedBuilder, type BaseMessageOptions } from 'discord.js';
import type { Logger } from 'pino';
import type { ClipOutcome } from '../clips/moment.js';
import { isAppError } from '../errors.js';
import { absoluteTime, escapeMarkdown, truncate } from './format.js';

export type FitVideo = (input: {
  inputPath: string;
  maxBytes: number;
  ffmpegPath: string;
  log: Logger;
}) => Promise<{ path: string; reencoded: boolean; bytes: number }>;

/** Upload limits by boost tier (discord-api-docs: 10 MiB default since 2025-01-16, 50 and 100 MiB). */
export function uploadLimitForTier(premiumTier: number): number {
  const MiB = 1024 * 1024;
  if (premiumTier >= 3) return 100 * MiB;
  if (premiumTier === 2) return 50 * MiB;
  return 10 * MiB;
}

/** Leaves room for the multipart envelope and the JSON payload next to the file. */
const UPLOAD_HEADROOM_BYTES = 64 * 1024;
const MAX_CREDITED = 20;

/**
 * Builds the alert for a clip: an embed with streamer, chatters, keywords, the chat message and the
 * time, with the clip attached. A clip over the upload limit is re-encoded to fit; if that fails too, the
 * alert says so and where the file is.
 */
export class ClipReplyBuilder {
  constructor(private readonly deps: { fitVideo: FitVideo; ffmpegPath: string; log: Logger }) {}

  async build(outcome: ClipOutcome, uploadLimitBytes: number): Promise<BaseMessageOptions> {
    const embed = clipEmbed(outcome);
    try {
      const fitted = await this.deps.fitVideo({
        inputPath: outcome.path,
        maxBytes: uploadLimitBytes - UPLOAD_HEADROOM_BYTES,
        ffmpegPath: this.deps.ffmpegPath,
        log: this.deps.log,
      });
      if (fitted.reencoded) embed.setFooter({ text: `Re-encoded to fit Discord's upload limit. Original: ${outcome.path}` });
      return {
        embeds: [embed],
        files: [new AttachmentBuilder(fitted.path, { name: outcome.fileName })],
        allowedMentions: { parse: [] },
      };
    } catch (err) {
      const why = isAppError(err, 'CLIP_TOO_LARGE')
        ? 'The clip is too large for this server’s upload limit even after re-encoding.'
        : 'The clip could not be prepared for upload.';
      this.deps.log.warn({ err, path: outcome.path }, 'clip not attached');
      embed.addFields({ name: 'File', value: truncate(`${why} It is saved at \`${outcome.path}\``, 1024) });
      return { embeds: [embed], allowedMentions: { parse: [] } };
    }
  }
}

export function clipEmbed(outcome: ClipOutcome): EmbedBuilder {
  const first = outcome.triggers[0]!;
  const chatters = unique(outcome.triggers.map((t) => t.chatter));
  const keywords = unique(outcome.triggers.map((t) => t.keyword));
  const note = outcome.triggers.find((t) => t.note)?.note;
  const embed = new EmbedBuilder()
    .setTitle(truncate(first.isManual ? `Clip of @${outcome.streamer}` : `Clip: "${first.keyword}" on @${outcome.streamer}'s LIVE`, 256))
    .setColor(first.isManual ? 0x5865f2 : 0xfe2c55)
    .addFields(
      { name: 'Streamer', value: `@${escapeMarkdown(outcome.streamer)}`, inline: true },
      { name: 'Keyword', value: truncate(keywords.map(escapeMarkdown).join(', '), 1024), inline: true },
      { name: 'Time', value: absoluteTime(first.at), inline: true },
      {
        name: chatters.length > 1 ? `Called by ${chatters.length} chatters` : 'Chatter',
        value: truncate(creditList(chatters), 1024),
      },
    );
  if (!first.isManual) {
    embed.setDescription(truncate(`> ${escapeMarkdown(first.message)}`, 4096));
  }
  if (note) embed.addFields({ name: 'Note', value: truncate(escapeMarkdown(note), 1024) });
  embed.addFields({ name: 'File', value: truncate(`\`${path.basename(outcome.path)}\``, 1024) });
  if (outcome.isRecovered) {
    embed.addFields({ name: 'Late', value: 'The bot stopped before it could post this clip; it was finished at the next start.' });
  }
  return embed;
}

function creditList(chatters: readonly string[]): string {
  const shown = chatters.slice(0, MAX_CREDITED).map((c) => escapeMarkdown(c));
  const more = chatters.length - shown.length;
  return more > 0 ? `${shown.join(', ')} and ${more} more` : shown.join(', ');
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
