import { SlashCommandBuilder } from 'discord.js';
import { describeStream } from '../discord/format.js';
import { escapeMarkdown, joinLines } from '../util/markdown.js';
import { formatWait } from '../monitor/stream-supervisor.js';
import { UserError } from '../util/errors.js';
import { isCaptureMode } from '../store/settings-schema.js';
import type { Command } from '../discord/command.js';
import { autocompleteStreams } from './autocomplete.js';
import { forModerators } from '../discord/permissions.js';

export const streamCommand = {
  data: forModerators(
    new SlashCommandBuilder()
      .setName('stream')
      .setDescription('Watch TikTok LIVEs')
      .addSubcommand((sub) =>
        sub
          .setName('add')
          .setDescription('Watch a TikTok user’s LIVE')
          .addStringOption((o) =>
            o.setName('username').setDescription('name, @name or a tiktok.com/@name/live link').setRequired(true).setMaxLength(200),
          )
          .addStringOption((o) =>
            o.setName('capture').setDescription("obs or stream (the LIVE's own video); else the server's default")
              .addChoices({ name: 'obs', value: 'obs' }, { name: 'stream', value: 'stream' }),
          ),
      )
      .addSubcommand((sub) =>
        sub
          .setName('remove')
          .setDescription('Stop watching a TikTok user')
          .addStringOption((o) => o.setName('username').setDescription('the watched user').setRequired(true).setAutocomplete(true)),
      )
      .addSubcommand((sub) => sub.setName('list').setDescription('The watched streams and their state')),
  ),

  async execute(interaction, { settings, monitor, streamBuffers, delivery }) {
    const guildId = interaction.guildId;
    switch (interaction.options.getSubcommand()) {
      case 'add': {
        const capture = interaction.options.getString('capture') ?? undefined;
        if (capture !== undefined && !isCaptureMode(capture)) throw new UserError('INVALID_SETTING', 'The capture must be `obs` or `stream`.');
        const username = await settings.addStream(guildId, interaction.options.getString('username', true), interaction.channelId, interaction.user.id, capture);
        const alertChannel = settings.get(guildId).alertChannelId ?? interaction.channelId;
        // Posts that waited for a channel (no alert channel, no stream) now have this one.
        delivery.reroute();
        await interaction.reply(`Watching **@${escapeMarkdown(username)}**. Alerts go to <#${alertChannel}>.${budgetNote(username, monitor.connectWaitMs('foreground'))}`);
        return;
      }
      case 'remove': {
        const username = await settings.removeStream(guildId, interaction.options.getString('username', true));
        await interaction.reply(`Stopped watching **@${escapeMarkdown(username)}**.`);
        return;
      }
      default: {
        const streams = settings.get(guildId).streams;
        const lines = streams.map((s) => `**@${escapeMarkdown(s.username)}** — ${describeStream({ settings, monitor, streamBuffers }, guildId, s.username)}`);
        await interaction.reply({
          content: lines.length > 0 ? joinLines(lines) : 'No streams yet. Add one with `/stream add`.',
          allowedMentions: { parse: [] },
        });
      }
    }
  },

  autocomplete: autocompleteStreams,
} satisfies Command;

/**
 * When the shared connect budget cannot let a stream in at once, the moderator hears it in the reply
 * instead of wondering why a live user is not joined yet.
 */
function budgetNote(username: string, waitMs: number | undefined): string {
  if (waitMs !== undefined && waitMs < 5_000) return '';
  const when = waitMs === undefined ? 'once the signing service has told its limits' : `in ${formatWait(waitMs)}`;
  return ` TikTok connects are rationed by the signing service: if @${escapeMarkdown(username)} is live, it is queued for the connect budget and joins the chat ${when} (\`/stream list\` shows it).`;
}

