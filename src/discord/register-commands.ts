import { Routes, type REST } from 'discord.js';
import type { Command } from './command.js';

export interface Registration {
  readonly count: number;
  /** `global`, or `guild <id>` when DISCORD_GUILD_ID scopes the commands to one server (instant). */
  readonly scope: string;
}

/**
 * The one way the slash commands reach Discord, used by every start-up and by `npm run deploy-commands`:
 * a bulk overwrite (PUT) of the application's commands, so a renamed or removed command goes too.
 * Guild-scoped commands show at once; global ones can take up to an hour to reach every client.
 */
export async function registerCommands(
  rest: REST,
  applicationId: string,
  commands: readonly Command[],
  guildId: string | undefined,
): Promise<Registration> {
  const body = commands.map((command) => command.data.toJSON());
  const route = guildId ? Routes.applicationGuildCommands(applicationId, guildId) : Routes.applicationCommands(applicationId);
  await rest.put(route, { body });
  return { count: body.length, scope: guildId ? `guild ${guildId}` : 'global' };
}
