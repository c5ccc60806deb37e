import { SlashCommandBuilder } from 'discord.js';
import { escapeMarkdown, joinLines, relativeTime } from '../util/markdown.js';
import { truncate } from '../util/text.js';
import { parseTikTokUsername } from '../monitor/tiktok-username.js';
import type { Command } from '../discord/command.js';
import { autocompleteStreams } from './autocomplete.js';
import { forModerators } from '../discord/permissions.js';

const SHOWN = 25;

export const logsCommand = {
  data: forModerators(
    new SlashCommandBuilder()
      .setName('logs')
      .setDescription('The most recent events')
      .addStringOption((o) => o.setName('stream').setDescription('only this stream').setAutocomplete(true)),
  ),

  async execute(interaction, { events }) {
    const raw = interaction.options.getString('stream');
    const stream = raw ? parseTikTokUsername(raw) : undefined;
    const entries = events.recent(interaction.guildId, { ...(stream ? { stream } : {}), limit: SHOWN });
    const lines = entries.map((e) => `${relativeTime(e.at)} \`${e.kind}\`${e.stream ? ` @${escapeMarkdown(e.stream)}` : ''} ${escapeMarkdown(truncate(e.text, 300))}`);
    await interaction.reply({
      content: lines.length === 0 ? `No events${stream ? ` for @${stream}` : ''} yet.` : joinLines(lines),
      flags: 'Ephemeral',
      allowedMentions: { parse: [] },
    });
  },

  autocomplete: autocompleteStreams,
} satisfies Command;
