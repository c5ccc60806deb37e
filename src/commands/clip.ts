import { SlashCommandBuilder } from 'discord.js';
import { explainFailure } from '../clips/clip-service.js';
import { parseTikTokUsername } from '../monitor/tiktok-username.js';
import { AppError, UserError } from '../util/errors.js';
import { cleanText } from '../util/text.js';
import type { Command, GuildCommandInteraction, CommandContext, RoutedCommand } from '../discord/command.js';
import { answerOf } from '../discord/routed.js';
import { autocompleteStreams } from './autocomplete.js';
import { forModerators } from '../discord/permissions.js';

const MAX_NOTE_LENGTH = 500;

/** A /clip as JSON: what the node watching the live needs to save it and answer (CLUSTER=true: another node). */
interface ClipArgs {
  readonly guildId: string;
  readonly streamer: string;
  readonly chatter: string;
  readonly note?: string;
  /** ISO time of the command: the clip is around it, wherever it is cut. */
  readonly at: string;
  readonly attachmentSizeLimit: number;
}

/** Saving waits on OBS or the live's buffer and the upload on ffmpeg: the router defers, then this edits the reply. */
const clipWork: RoutedCommand<ClipArgs> = {
  async prepare(interaction, context) {
    const streamer = await pickStreamer(interaction, context);
    // Controls and bidi overrides out: the note is echoed in the public reply and the alert.
    const note = cleanText(interaction.options.getString('note') ?? '').trim().slice(0, MAX_NOTE_LENGTH) || undefined;
    const chatter = interaction.member && 'displayName' in interaction.member ? interaction.member.displayName : interaction.user.username;
    const args = { guildId: interaction.guildId, streamer, chatter, ...(note ? { note } : {}), at: new Date().toISOString(), attachmentSizeLimit: interaction.attachmentSizeLimit };
    return { live: streamer, args };
  },

  async run(args, answer, context) {
    let outcome;
    try {
      outcome = await context.clips.clipNow({
        guildId: args.guildId,
        streamer: args.streamer,
        chatter: args.chatter,
        keyword: 'manual',
        message: args.note ?? 'manual clip',
        at: new Date(args.at),
        isManual: true,
        ...(args.note ? { note: args.note } : {}),
      });
    } catch (err) {
      throw new UserError(err instanceof AppError ? err.code : 'INTERNAL', `Could not save a clip: ${explainFailure(err)}.`);
    }
    try {
      await answer.edit(await context.clipReplies.build(outcome, args.attachmentSizeLimit));
    } finally {
      // The reply carries the clip (re-encoded to fit when need be); its re-encode is not kept for ever.
      await context.delivery.releaseFit(outcome.path);
    }
  },
};

export const clipCommand = {
  data: forModerators(
    new SlashCommandBuilder()
      .setName('clip')
      .setDescription('Save the replay buffer now')
      .addStringOption((o) => o.setName('stream').setDescription('whose LIVE this is (default: the one live now)').setAutocomplete(true))
      .addStringOption((o) => o.setName('note').setDescription('a note for the alert').setMaxLength(MAX_NOTE_LENGTH)),
  ),
  deferred: [''],
  // In a cluster the work runs on the node watching the live (the router forwards it): see clipWork.
  routed: clipWork,

  async execute(interaction, context) {
    await clipWork.run((await clipWork.prepare(interaction, context)).args, answerOf(interaction), context);
  },

  autocomplete: autocompleteStreams,
} satisfies Command;

/** The named stream (must be watched here), else the one live now, else the first watched one. */
async function pickStreamer(interaction: GuildCommandInteraction, { settings, monitor, cluster }: CommandContext): Promise<string> {
  const streams = settings.get(interaction.guildId).streams.map((s) => s.username);
  const requested = interaction.options.getString('stream');
  if (requested) {
    const username = parseTikTokUsername(requested);
    if (!streams.includes(username)) {
      throw new UserError('NOT_FOUND', `@${username} is not watched here. \`/stream list\` shows the streams.`);
    }
    return username;
  }
  // In a cluster each live's state is known on the node watching it, which says so in its record.
  const nodes = (await cluster?.nodes()) ?? [];
  const stateOf = (s: string) => nodes.find((n) => s in n.lives)?.lives[s] ?? monitor.state(s)?.name;
  return streams.find((s) => stateOf(s) === 'live') ?? streams[0] ?? 'manual';
}
