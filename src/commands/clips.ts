import { SlashCommandBuilder } from 'discord.js';
import { escapeMarkdown, joinLines, relativeTime } from '../util/markdown.js';
import { truncate } from '../util/text.js';
import { parseTikTokUsername } from '../monitor/tiktok-username.js';
import type { Command } from '../discord/command.js';
import { autocompleteStreams } from './autocomplete.js';
import { forModerators } from '../discord/permissions.js';
import type { CardView } from '../review/review-service.js';

const SHOWN = 15;

/** What moderators decided on the clip's card. */
function reviewMark(view: CardView | undefined): string {
  if (!view) return '';
  const by = view.by ? ` by ${escapeMarkdown(view.by)}` : '';
  const extended = view.extend === 'done' ? ' · ⏩ extended' : '';
  if (view.status === 'kept') return ` · ✅ kept${by}${extended}`;
  if (view.status === 'discarded') return ` · 🗑️ discarded${by}`;
  if (view.status === 'false-positive') return ` · 🚫 false positive${by}`;
  return extended;
}

export const clipsCommand = {
  data: forModerators(
    new SlashCommandBuilder()
      .setName('clips')
      .setDescription('The most recent clips and who triggered them')
      .addStringOption((o) => o.setName('stream').setDescription('only this stream').setAutocomplete(true)),
  ),

  async execute(interaction, { store, review }) {
    const raw = interaction.options.getString('stream');
    const streamer = raw ? parseTikTokUsername(raw) : undefined;
    const clips = await store.recentClips(interaction.guildId, { ...(streamer ? { streamer } : {}), limit: SHOWN });
    const views = await Promise.all(clips.map(async (c) => review?.view(interaction.guildId, c.id).catch(() => undefined)));
    const lines = clips.map((c, i) => {
      const who = c.manual ? `manual by ${c.triggeredBy}` : `"${truncate(c.keywords.join(', '), 60)}" by ${truncate(c.chatters.join(', '), 120)}`;
      const unposted = c.posted || c.manual ? '' : ' (alert not posted)';
      // CLUSTER=true: the node whose clips folder holds it (its id as /status lists it).
      const where = c.filedOn ? ` · on node \`${c.filedOn.node.replace(/`/g, "'")}\`` : '';
      return `${relativeTime(new Date(c.at))} @${escapeMarkdown(c.streamer)} — ${escapeMarkdown(who)} — \`${c.fileName}\`${where}${unposted}${reviewMark(views[i])}`;
    });
    await interaction.reply({
      content: lines.length === 0 ? `No clips${streamer ? ` of @${streamer}` : ''} yet.` : joinLines(lines),
      allowedMentions: { parse: [] },
    });
  },

  autocomplete: autocompleteStreams,
} satisfies Command;
