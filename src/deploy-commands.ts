import './load-env.js';
import { REST, Routes } from 'discord.js';
import { commands } from './commands/index.js';
import { loadConfig } from './config.js';
import { isAppError } from './errors.js';

/**
 * `npm run deploy-commands`: registers the slash commands without starting the bot (the bot also does
 * this at every start). Guild-scoped when DISCORD_GUILD_ID is set (instant), else global.
 */
async function deploy(): Promise<void> {
  const config = loadConfig(process.env);
  const rest = new REST().setToken(config.discordToken);
  const app = (await rest.get(Routes.currentApplication())) as { id: string };
  const body = commands.map((c) => c.data.toJSON());
  const route = config.discordGuildId
    ? Routes.applicationGuildCommands(app.id, config.discordGuildId)
    : Routes.applicationCommands(app.id);
  await rest.put(route, { body });
  process.stdout.write(`Registered ${body.length} commands ${config.discordGuildId ? `in guild ${config.discordGuildId}` : 'globally'}.\n`);
}

deploy().catch((err: unknown) => {
  process.stderr.write(`${isAppError(err) ? err.message : `Could not register commands: ${err instanceof Error ? err.message : String(err)}`}\n`);
  process.exit(1);
});
