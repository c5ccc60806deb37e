import { SlashCommandBuilder } from 'discord.js';
import { explainFailure } from '../clips/clip-service.js';
import { parseTikTokUsername } from '../monitor/tiktok-username.js';
import { AppError, UserError } from '../util/errors.js';
import { cleanText } from '../util/text.js';
import type { Command, GuildCommandInteraction, CommandContext } from '../discord/command.js';
import { autocompleteStreams } from './autocomplete.js';
import { forModerators } from '../discord/permissions.js';

const MAX_NOTE_LENGTH = 500;

export const clipCommand = {
  data: forModerators(
    new SlashCommandBuilder()
      .setName('clip')
      .setDescription('Save the replay buffer now')
      .addStringOption((o) => o.setName('stream').setDescription('whose LIVE this is (default: the one live now)').setAutocomplete(true))
      .addStringOption((o) => o.setName('note').setDescription('a note for the alert').setMaxLength(MAX_NOTE_LENGTH)),
  ),
  // Saving waits on OBS and the upload on ffmpeg: answer Discord at once, then edit the reply.
  deferred: [''],

  async execute(interaction, context) {
    const streamer = pickStreamer(interaction, context);
    // Controls and bidi overrides out: the note is echoed in the public reply and the alert.
    const note = cleanText(interaction.options.getString('note') ?? '').trim().slice(0, MAX_NOTE_LENGTH) || undefined;
    const memberName = interaction.member && 'displayName' in interaction.member ? interaction.member.displayName : interaction.user.username;
    let outcome;
    try {
      outcome = await context.clips.clipNow({
        guildId: interaction.guildId,
        streamer,
        chatter: memberName,
        keyword: 'manual',
        message: note ?? 'manual clip',
        at: new Date(),
        isManual: true,
        ...(note ? { note } : {}),
      });
    } catch (err) {
      throw new UserError(err instanceof AppError ? err.code : 'INTERNAL', `Could not save a clip: ${explainFailure(err)}.`);
    }
    try {
      await interaction.editReply(await context.clipReplies.build(outcome, interaction.attachmentSizeLimit));
    } finally {
      // The reply carries the clip (re-encoded to fit when need be); its re-encode is not kept for ever.
      await context.delivery.releaseFit(outcome.path);
    }
  },

  autocomplete: autocompleteStreams,
} satisfies Command;

/** The named stream (must be watched here), else the one live now, else the first watched one. */
function pickStreamer(interaction: GuildCommandInteraction, { settings, monitor }: CommandContext): string {
  const streams = settings.get(interaction.guildId).streams.map((s) => s.username);
  const requested = interaction.options.getString('stream');
  if (requested) {
    const username = parseTikTokUsername(requested);
    if (!streams.includes(username)) {
      throw new UserError('NOT_FOUND', `@${username} is not watched here. \`/stream list\` shows the streams.`);
    }
    return username;
  }
  return streams.find((s) => monitor.state(s)?.name === 'live') ?? streams[0] ?? 'manual';
}
