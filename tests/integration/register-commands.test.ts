import { REST, Routes } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commands } from '../../src/commands/index.js';
import { registerCommands } from '../../src/discord/register-commands.js';
import { startFakeDiscord, type FakeDiscord } from '../fakes/discord-server.js';

const TOKEN = 'register-test-token.not-a-secret';

/**
 * The one registration path, as `npm run deploy-commands` uses it (a bare REST client, no gateway) and
 * as every start does: the local Discord ends up with exactly the bot's commands, globally or in one
 * server, and a second registration replaces the first instead of adding to it.
 */
describe('command registration', () => {
  let fake: FakeDiscord;
  let rest: REST;
  let applicationId: string;

  beforeAll(async () => {
    fake = await startFakeDiscord({ token: TOKEN });
    rest = new REST({ api: fake.apiUrl }).setToken(TOKEN);
    applicationId = ((await rest.get(Routes.currentApplication())) as { id: string }).id;
  });

  afterAll(async () => {
    await fake?.close();
  });

  const names = (listed: unknown) => (listed as Array<{ name: string }>).map((c) => c.name).sort();
  const ours = commands.map((c) => c.data.name).sort();

  it('registers every command globally without DISCORD_GUILD_ID', async () => {
    const result = await registerCommands(rest, applicationId, commands, undefined);
    expect(result).toEqual({ count: commands.length, scope: 'global' });
    expect(names(await rest.get(Routes.applicationCommands(applicationId)))).toEqual(ours);
  });

  it('registers them in one server with DISCORD_GUILD_ID, and a second run replaces the first', async () => {
    const result = await registerCommands(rest, applicationId, commands, fake.guildId);
    expect(result.scope).toBe(`guild ${fake.guildId}`);
    expect(names(await rest.get(Routes.applicationGuildCommands(applicationId, fake.guildId)))).toEqual(ours);
    // A command dropped from the bot goes from Discord too: the PUT is a bulk overwrite.
    await registerCommands(rest, applicationId, commands.slice(1), fake.guildId);
    expect(names(await rest.get(Routes.applicationGuildCommands(applicationId, fake.guildId)))).toEqual(ours.filter((n) => n !== commands[0]!.data.name));
  });
});
