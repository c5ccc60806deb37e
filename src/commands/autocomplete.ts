import type { AutocompleteInteraction } from 'discord.js';
import { cleanText } from '../util/text.js';
import type { CommandContext } from '../discord/command.js';

/** Discord shows at most 25 suggestions. */
const MAX_CHOICES = 25;

/** Values containing what the member typed (case-insensitive), as autocomplete choices. */
export function suggest(values: readonly string[], typed: string): Array<{ name: string; value: string }> {
  const needle = typed.trim().replace(/^@/, '').toLowerCase();
  return values
    .filter((v) => v.toLowerCase().includes(needle))
    .slice(0, MAX_CHOICES)
    // The shown name is cleaned; the value stays as stored so it still names the keyword or stream.
    .map((v) => ({ name: cleanText(v).slice(0, 100) || '-', value: v.slice(0, 100) }));
}

/** Autocomplete for options naming one of the guild's watched streams. */
export async function autocompleteStreams(interaction: AutocompleteInteraction, { settings }: CommandContext): Promise<void> {
  const streams = settings.get(interaction.guildId!).streams.map((s) => s.username);
  await interaction.respond(suggest(streams, interaction.options.getFocused()));
}
