import { Routes, type Client, type REST } from 'discord.js';
import type { Logger } from 'pino';
import { leanError } from '../delivery/discord-errors.js';
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

/**
 * Every start's registration: a failure is logged, never thrown, since the commands an earlier start
 * registered keep working and clips must not wait on this.
 */
export async function registerCommandsAtStart(
  client: Client<true>,
  commands: readonly Command[],
  guildId: string | undefined,
  log: Logger,
): Promise<void> {
  try {
    const { count, scope } = await registerCommands(client.rest, client.application.id, commands, guildId);
    log.info({ commands: count, scope }, 'commands registered');
  } catch (err) {
    log.error({ err: leanError(err), scope: guildId ?? 'global' }, 'could not register the slash commands; will try at the next start');
  }
}
