import { SlashCommandBuilder } from 'discord.js';
import { UserError } from '../util/errors.js';
import { escapeMarkdown, joinLines } from '../util/markdown.js';
import type { KeywordMode } from '../store/settings-schema.js';
import type { Command } from '../discord/command.js';
import { suggest } from './autocomplete.js';
import { readReviewCounts, reviewTally } from './review-tally.js';
import { forModerators } from '../discord/permissions.js';

const MODE_CHOICES = [
  { name: 'contains (anywhere in the message)', value: 'contains' },
  { name: 'word (whole words only)', value: 'word' },
] as const;

export const keywordCommand = {
  data: forModerators(
    new SlashCommandBuilder()
      .setName('keyword')
      .setDescription('Chat keywords that trigger a clip')
      .addSubcommand((sub) =>
        sub
          .setName('add')
          .setDescription('Add a trigger keyword')
          .addStringOption((o) => o.setName('word').setDescription('the keyword (case-insensitive)').setRequired(true))
          .addStringOption((o) => o.setName('match').setDescription('how it matches (default: contains)').addChoices(...MODE_CHOICES)),
      )
      .addSubcommand((sub) =>
        sub
          .setName('remove')
          .setDescription('Remove a keyword')
          .addStringOption((o) => o.setName('word').setDescription('the keyword').setRequired(true).setAutocomplete(true)),
      )
      .addSubcommand((sub) => sub.setName('list').setDescription('The keywords'))
      .addSubcommand((sub) =>
        sub
          .setName('test')
          .setDescription('Which keywords would fire on a message (nothing is saved)')
          .addStringOption((o) => o.setName('message').setDescription('a chat message').setRequired(true)),
      ),
  ),

  async execute(interaction, { settings, review }) {
    const guildId = interaction.guildId;
    switch (interaction.options.getSubcommand()) {
      case 'add': {
        const mode = (interaction.options.getString('match') ?? 'contains') as KeywordMode;
        const word = await settings.addKeyword(guildId, interaction.options.getString('word', true), mode);
        await interaction.reply({ content: `Keyword added: \`${word}\` (${mode}).`, allowedMentions: { parse: [] } });
        return;
      }
      case 'remove': {
        const word = await settings.removeKeyword(guildId, interaction.options.getString('word', true));
        await interaction.reply({ content: `Keyword removed: \`${word}\`.`, allowedMentions: { parse: [] } });
        return;
      }
      case 'test': {
        const message = interaction.options.getString('message', true);
        const { keywords } = settings.get(guildId);
        if (keywords.length === 0) throw new UserError('NOT_FOUND', 'There are no keywords yet. Add one with `/keyword add`.');
        // The matcher is built with the keywords (settings-service remember()), so it is there when they are.
        const hits = settings.matcherFor(guildId)?.match(message) ?? [];
        await interaction.reply({
          content:
            hits.length === 0
              ? 'No keyword would fire on that message.'
              : joinLines([`Would fire (${hits.length}):`, ...hits.map((h) => `• \`${h.keyword.word}\` (${h.keyword.mode})`)]),
          flags: 'Ephemeral',
          allowedMentions: { parse: [] },
        });
        return;
      }
      default: {
        const { keywords } = settings.get(guildId);
        // How each keyword did on the alert cards: moderators see which are noise.
        const counts = await readReviewCounts(review, guildId);
        const tally = (word: string) => reviewTally(counts, `keyword:${word}`);
        await interaction.reply({
          content:
            keywords.length === 0
              ? 'No keywords yet. Add one with `/keyword add`.'
              : joinLines([`Keywords (${keywords.length}):`, ...keywords.map((k) => `• \`${escapeMarkdown(k.word)}\` (${k.mode})${tally(k.word)}`)]),
          allowedMentions: { parse: [] },
        });
      }
    }
  },

  async autocomplete(interaction, { settings }) {
    const words = settings.get(interaction.guildId!).keywords.map((k) => k.word);
    await interaction.respond(suggest(words, interaction.options.getFocused()));
  },
} satisfies Command;
