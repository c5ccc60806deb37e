import './load-env.js';
import { REST, Routes } from 'discord.js';
import { commands } from './commands/index.js';
import { loadConfig } from './config.js';
import { registerCommands } from './discord/register-commands.js';
import { isAppError } from './util/errors.js';

/**
 * `npm run deploy-commands`: registers the slash commands without starting the bot, the same way the bot
 * does at every start (src/discord/register-commands.ts). Guild-scoped when DISCORD_GUILD_ID is set.
 */
async function deploy(): Promise<void> {
  const config = loadConfig(process.env);
  const rest = new REST().setToken(config.discordToken);
  const app = (await rest.get(Routes.currentApplication())) as { id: string };
  const { count, scope } = await registerCommands(rest, app.id, commands, config.discordGuildId);
  process.stdout.write(`Registered ${count} commands (${scope}).\n`);
}

deploy().catch((err: unknown) => {
  process.stderr.write(`${isAppError(err) ? err.message : `Could not register commands: ${err instanceof Error ? err.message : String(err)}`}\n`);
  process.exit(1);
});
