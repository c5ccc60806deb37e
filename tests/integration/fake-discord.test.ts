/**
 * The fake Discord against the real discord.js 14 client: if these pass, the bot's end-to-end tests can
 * trust that what the fake records is what Discord would have received.
 */
import { once } from 'node:events';
import {
  AttachmentBuilder,
  ChannelType,
  Client,
  DiscordAPIError,
  Events,
  GatewayIntentBits,
  HTTPError,
  type Interaction,
  MessageFlags,
  PermissionFlagsBits,
  Routes,
  SlashCommandBuilder,
  type TextChannel,
} from 'discord.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FakeDiscord, startFakeDiscord } from '../fakes/discord-server.js';

const TOKEN = 'fake-bot-token';

/** Bytes that are not valid UTF-8, so any text round trip in the multipart path would corrupt them. */
const CLIP_BYTES = Buffer.from([0x00, 0x00, 0x00, 0x18, 0x66, 0x74, 0x79, 0x70, 0xff, 0xfe, 0x80, 0x81, 0x0a, 0x0d]);

const commands = [
  new SlashCommandBuilder()
    .setName('keyword')
    .setDescription('Manage trigger keywords')
    .setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild)
    .addSubcommand((sub) =>
      sub
        .setName('add')
        .setDescription('Add a keyword')
        .addStringOption((o) => o.setName('word').setDescription('The keyword').setRequired(true))
        .addStringOption((o) =>
          o
            .setName('match')
            .setDescription('How to match')
            .addChoices({ name: 'contains', value: 'contains' }, { name: 'word', value: 'word' }),
        ),
    )
    .addSubcommand((sub) =>
      sub
        .setName('remove')
        .setDescription('Remove a keyword')
        .addStringOption((o) => o.setName('word').setDescription('The keyword').setRequired(true).setAutocomplete(true)),
    ),
  new SlashCommandBuilder()
    .setName('settings')
    .setDescription('Bot settings')
    .addSubcommand((sub) =>
      sub
        .setName('channel')
        .setDescription('Alert channel')
        .addChannelOption((o) => o.setName('channel').setDescription('Where').setRequired(true)),
    )
    .addSubcommand((sub) =>
      sub
        .setName('role')
        .setDescription('Bot role')
        .addRoleOption((o) => o.setName('role').setDescription('Who').setRequired(true)),
    )
    .addSubcommand((sub) =>
      sub
        .setName('cooldown')
        .setDescription('Cooldown')
        .addIntegerOption((o) => o.setName('seconds').setDescription('How long').setRequired(true)),
    ),
  new SlashCommandBuilder().setName('clip').setDescription('Save the replay buffer now'),
].map((command) => command.toJSON());

let fake: FakeDiscord;
const clients: Client[] = [];

async function logIn(token = TOKEN): Promise<Client<true>> {
  const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: fake.apiUrl } });
  clients.push(client);
  const ready = once(client, Events.ClientReady);
  await client.login(token);
  await ready;
  return client as Client<true>;
}

/** Run `handle` for every interaction, keeping failures for the test to assert on (no unhandled rejections). */
function onInteraction(client: Client, handle: (interaction: Interaction) => Promise<unknown>): unknown[] {
  const errors: unknown[] = [];
  client.on(Events.InteractionCreate, (interaction) => {
    void handle(interaction).catch((error: unknown) => errors.push(error));
  });
  return errors;
}

beforeEach(async () => {
  fake = await startFakeDiscord({ token: TOKEN });
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.destroy()));
  expect(fake.unhandledRequests).toEqual([]);
  await fake.close();
});

describe('login', () => {
  it('reaches ready and sees the guild with both text channels, its roles and itself', async () => {
    const client = await logIn();

    expect(client.user.id).toBe(fake.botUserId);
    expect(client.application.id).toBe(fake.applicationId);
    const guild = client.guilds.cache.get(fake.guildId);
    expect(guild?.available).toBe(true);
    expect(guild?.channels.cache.get(fake.channels.general)?.type).toBe(ChannelType.GuildText);
    expect(guild?.channels.cache.get(fake.channels.alerts)?.type).toBe(ChannelType.GuildText);
    expect(guild?.roles.everyone.id).toBe(fake.roles.everyone);
    expect(guild?.roles.cache.get(fake.roles.moderator)?.permissions.has(PermissionFlagsBits.ManageGuild)).toBe(false);
    expect(guild?.members.me?.id).toBe(fake.botUserId);
    const alerts = guild?.channels.cache.get(fake.channels.alerts) as TextChannel;
    expect(alerts.permissionsFor(client.user)?.has(PermissionFlagsBits.AttachFiles)).toBe(true);
    expect(guild?.premiumTier).toBe(0);
    expect(fake.connectedClients).toBe(1);
  });

  it('rejects a wrong token the way Discord does', async () => {
    await expect(logIn('not-the-token')).rejects.toMatchObject({ code: 'TokenInvalid' });
    expect(fake.connectedClients).toBe(0);
  });

  it('acknowledges heartbeats', async () => {
    await fake.close();
    fake = await startFakeDiscord({ token: TOKEN, heartbeatIntervalMs: 30 });
    const client = await logIn();

    await expect.poll(() => client.ws.ping, { timeout: 2_000 }).toBeGreaterThanOrEqual(0);
  });

  it('serves a restarted bot: a new client logs in after the old one is destroyed', async () => {
    const first = await logIn();
    await first.destroy();
    await expect.poll(() => fake.connectedClients).toBe(0);

    fake.setPremiumTier(2);
    const second = await logIn();
    expect(second.guilds.cache.get(fake.guildId)?.premiumTier).toBe(2);
    expect(fake.connectedClients).toBe(1);
  });

  it('lets a client resume its session after Discord asks it to reconnect', async () => {
    const client = await logIn();
    const resumed = once(client, Events.ShardResume);
    const errors = onInteraction(client, async (interaction) => {
      if (interaction.isChatInputCommand()) await interaction.reply('still here');
    });

    fake.reconnectClients();
    await resumed;

    expect(fake.connectedClients).toBe(1);
    expect((await fake.interact({ command: 'clip' }).final()).content).toBe('still here');
    expect(errors).toEqual([]);
  });

  it('sends GUILD_UPDATE to connected clients when the boost tier changes', async () => {
    const client = await logIn();
    const updated = once(client, Events.GuildUpdate);

    fake.setPremiumTier(3);

    await updated;
    expect(client.guilds.cache.get(fake.guildId)?.premiumTier).toBe(3);
  });
});

describe('command registration', () => {
  it('records a bulk guild PUT and echoes the commands with ids', async () => {
    const client = await logIn();

    const registered = await client.application.commands.set(commands, fake.guildId);

    expect(fake.commandRegistrations).toHaveLength(1);
    expect(fake.commandRegistrations[0]?.scope).toBe(fake.guildId);
    expect(fake.commandRegistrations[0]?.commands.map((c: { name: string }) => c.name)).toEqual([
      'keyword',
      'settings',
      'clip',
    ]);
    expect(fake.commandRegistrations[0]?.commands[0].default_member_permissions).toBe('32');
    expect([...registered.values()].map((command) => command.name).sort()).toEqual(['clip', 'keyword', 'settings']);
    expect(registered.every((command) => command.guildId === fake.guildId)).toBe(true);
  });

  it('records a global PUT made through REST directly (the deploy-commands script)', async () => {
    const client = await logIn();

    await client.rest.put(Routes.applicationCommands(fake.applicationId), { body: commands });

    expect(fake.commandRegistrations).toEqual([{ scope: 'global', commands }]);
  });
});

describe('interactions', () => {
  it('arrive as ChatInputCommandInteraction with subcommand, options and member permissions', async () => {
    const client = await logIn();
    await client.application.commands.set(commands, fake.guildId);
    const seen: Array<Record<string, unknown>> = [];
    const errors = onInteraction(client, async (interaction) => {
      if (!interaction.isChatInputCommand()) return;
      seen.push({
        command: interaction.commandName,
        subcommand: interaction.options.getSubcommand(),
        word: interaction.options.getString('word'),
        match: interaction.options.getString('match'),
        canManage: interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild),
        channelId: interaction.channelId,
        guildId: interaction.guildId,
        limit: interaction.attachmentSizeLimit,
        commandId: interaction.commandId,
      });
      await interaction.reply({ content: 'added', flags: MessageFlags.Ephemeral });
    });

    const exchange = fake.interact({
      command: 'keyword',
      subcommand: 'add',
      options: { word: 'wow', match: 'word' },
    });

    expect(await exchange.initial()).toMatchObject({ type: 4, ephemeral: true, data: { content: 'added' } });
    expect(await exchange.final()).toMatchObject({ content: 'added', ephemeral: true, channelId: fake.channels.general });
    expect(errors).toEqual([]);
    const registeredId = [...(await client.application.commands.fetch({ guildId: fake.guildId })).values()].find(
      (command) => command.name === 'keyword',
    )?.id;
    expect(seen).toEqual([
      {
        command: 'keyword',
        subcommand: 'add',
        word: 'wow',
        match: 'word',
        canManage: true,
        channelId: fake.channels.general,
        guildId: fake.guildId,
        limit: 10 * 1024 * 1024,
        commandId: registeredId,
      },
    ]);
  });

  it('types channel, role and integer options from the registered definition and resolves them', async () => {
    const client = await logIn();
    await client.application.commands.set(commands, fake.guildId);
    const seen: unknown[] = [];
    const errors = onInteraction(client, async (interaction) => {
      if (!interaction.isChatInputCommand()) return;
      const sub = interaction.options.getSubcommand();
      if (sub === 'channel') seen.push(interaction.options.getChannel('channel', true).id);
      if (sub === 'role') seen.push(interaction.options.getRole('role', true).name);
      if (sub === 'cooldown') seen.push(interaction.options.getInteger('seconds', true));
      await interaction.reply('ok');
    });

    const moderator = { id: '4242', username: 'mod', permissions: 0n, roles: [fake.roles.moderator] };
    await fake.interact({ command: 'settings', subcommand: 'channel', options: { channel: fake.channels.alerts } }).final();
    await fake.interact({ command: 'settings', subcommand: 'role', options: { role: fake.roles.moderator } }).final();
    await fake
      .interact({ command: 'settings', subcommand: 'cooldown', options: { seconds: 30 }, member: moderator })
      .final();

    expect(errors).toEqual([]);
    expect(seen).toEqual([fake.channels.alerts, 'Moderator', 30]);
  });

  it('return a reply with an attached file with its bytes intact', async () => {
    const client = await logIn();
    const errors = onInteraction(client, async (interaction) => {
      if (!interaction.isChatInputCommand()) return;
      await interaction.reply({
        content: 'clip saved',
        files: [new AttachmentBuilder(CLIP_BYTES, { name: 'chatter_wow_2025-01-01_01-02-03_PM.mp4' })],
      });
    });

    const reply = await fake.interact({ command: 'clip' }).final();

    expect(errors).toEqual([]);
    expect(reply.content).toBe('clip saved');
    expect(reply.ephemeral).toBe(false);
    expect(reply.files).toHaveLength(1);
    expect(reply.files[0]?.name).toBe('chatter_wow_2025-01-01_01-02-03_PM.mp4');
    expect(Buffer.compare(reply.files[0]?.data ?? Buffer.alloc(0), CLIP_BYTES)).toBe(0);
  });

  it('return deferReply then editReply with a file, then a follow-up', async () => {
    const client = await logIn();
    const fetched: string[] = [];
    const errors = onInteraction(client, async (interaction) => {
      if (!interaction.isChatInputCommand()) return;
      await interaction.deferReply();
      const edited = await interaction.editReply({
        content: 'here it is',
        embeds: [{ title: 'Clip', description: 'wow' }],
        files: [new AttachmentBuilder(CLIP_BYTES, { name: 'clip.mp4' })],
      });
      fetched.push(edited.attachments.first()?.name ?? 'none', String(edited.attachments.first()?.size));
      await interaction.followUp({ content: 'only you see this', flags: MessageFlags.Ephemeral });
    });

    const exchange = fake.interact({ command: 'clip' });

    expect(await exchange.initial()).toMatchObject({ type: 5, ephemeral: false });
    const reply = await exchange.final();
    expect(reply.content).toBe('here it is');
    expect(reply.embeds).toEqual([{ title: 'Clip', description: 'wow' }]);
    expect(Buffer.compare(reply.files[0]?.data ?? Buffer.alloc(0), CLIP_BYTES)).toBe(0);
    await expect.poll(() => exchange.followUps.length).toBe(1);
    expect(exchange.followUps[0]).toMatchObject({ content: 'only you see this', ephemeral: true });
    expect(fetched).toEqual(['clip.mp4', String(CLIP_BYTES.length)]);
    expect(errors).toEqual([]);
  });

  it('answer withResponse replies with the callback resource', async () => {
    const client = await logIn();
    const ids: Array<string | undefined> = [];
    const errors = onInteraction(client, async (interaction) => {
      if (!interaction.isChatInputCommand()) return;
      const response = await interaction.reply({ content: 'saved', withResponse: true });
      ids.push(response.resource?.message?.content);
    });

    await fake.interact({ command: 'clip' }).final();

    await expect.poll(() => ids).toEqual(['saved']);
    expect(errors).toEqual([]);
  });

  it('refuse a file over the interaction attachment limit with 413 / 40005', async () => {
    const client = await logIn();
    const errors = onInteraction(client, async (interaction) => {
      if (!interaction.isChatInputCommand()) return;
      await interaction.deferReply();
      await interaction.editReply({ files: [new AttachmentBuilder(Buffer.alloc(2048), { name: 'big.mp4' })] });
    });

    await fake.interact({ command: 'clip', attachmentSizeLimit: 1024 }).initial();

    await expect.poll(() => errors.length).toBe(1);
    expect(errors[0]).toBeInstanceOf(DiscordAPIError);
    expect(errors[0]).toMatchObject({ status: 413, code: 40005 });
  });

  it('refuse a second callback with 40060, like Discord', async () => {
    const client = await logIn();
    const errors = onInteraction(client, async (interaction) => {
      if (!interaction.isChatInputCommand()) return;
      await interaction.reply('one');
      // Bypass discord.js's own `replied` guard to reach the server twice.
      await client.rest.post(Routes.interactionCallback(interaction.id, interaction.token), {
        body: { type: 4, data: { content: 'two' } },
        auth: false,
      });
    });

    await fake.interact({ command: 'clip' }).final();

    await expect.poll(() => errors.length).toBe(1);
    expect(errors[0]).toMatchObject({ code: 40060 });
  });

  it('complete an autocomplete round trip', async () => {
    const client = await logIn();
    await client.application.commands.set(commands, fake.guildId);
    const errors = onInteraction(client, async (interaction) => {
      if (!interaction.isAutocomplete()) return;
      const focused = interaction.options.getFocused(true);
      const words = ['wow', 'wowza', 'clip it'].filter((word) => word.startsWith(focused.value));
      await interaction.respond(words.map((word) => ({ name: `${focused.name}: ${word}`, value: word })));
    });

    const choices = await fake.autocomplete({
      command: 'keyword',
      subcommand: 'remove',
      options: { word: 'wo' },
      focused: 'word',
    });

    expect(errors).toEqual([]);
    expect(choices).toEqual([
      { name: 'word: wow', value: 'wow' },
      { name: 'word: wowza', value: 'wowza' },
    ]);
  });
});

describe('channel messages', () => {
  it('records channel.send with a file and an embed', async () => {
    const client = await logIn();
    const channel = client.channels.cache.get(fake.channels.alerts) as TextChannel;

    const sent = await channel.send({
      content: 'wow from @chatter',
      embeds: [{ title: 'Keyword hit', fields: [{ name: 'Streamer', value: 'someone' }] }],
      files: [new AttachmentBuilder(CLIP_BYTES, { name: 'clip.mp4' })],
    });

    const posted = await fake.waitForChannelMessage((message) => message.channelId === fake.channels.alerts);
    expect(posted.content).toBe('wow from @chatter');
    expect(posted.embeds[0]?.title).toBe('Keyword hit');
    expect(posted.files[0]?.name).toBe('clip.mp4');
    expect(Buffer.compare(posted.files[0]?.data ?? Buffer.alloc(0), CLIP_BYTES)).toBe(0);
    expect(sent.attachments.first()?.size).toBe(CLIP_BYTES.length);
    expect(sent.author.id).toBe(fake.botUserId);
    // The attachment URL points back at the fake, which serves the bytes.
    const download = await fetch(sent.attachments.first()?.url ?? '');
    expect(Buffer.compare(Buffer.from(await download.arrayBuffer()), CLIP_BYTES)).toBe(0);
  });

  it('refuses a message over 2000 characters with 50035', async () => {
    const client = await logIn();
    const channel = client.channels.cache.get(fake.channels.general) as TextChannel;

    await expect(channel.send('x'.repeat(2001))).rejects.toMatchObject({ code: 50035, status: 400 });
    expect(fake.channelMessages).toEqual([]);
  });

  it('applies the boost tier upload limit to channel posts', async () => {
    const client = await logIn();
    const channel = client.channels.cache.get(fake.channels.general) as TextChannel;
    const elevenMiB = Buffer.alloc(11 * 1024 * 1024);

    await expect(
      channel.send({ files: [new AttachmentBuilder(elevenMiB, { name: 'big.mp4' })] }),
    ).rejects.toMatchObject({ status: 413, code: 40005 });
    fake.setPremiumTier(2);
    await channel.send({ files: [new AttachmentBuilder(elevenMiB, { name: 'big.mp4' })] });

    expect(fake.channelMessages[0]?.files[0]?.data.length).toBe(elevenMiB.length);
  });
});

describe('injected failures', () => {
  it('a 429 with retry_after is waited out and retried by discord.js', async () => {
    const client = await logIn();
    const channel = client.channels.cache.get(fake.channels.general) as TextChannel;
    const path = `/channels/${fake.channels.general}/messages`;
    fake.failNextRequests({ method: 'POST', pathIncludes: path }, [
      { status: 429, body: { message: 'You are being rate limited.', retry_after: 0.2, global: false } },
    ]);

    const started = Date.now();
    await channel.send('after the rate limit');

    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(fake.channelMessages.map((message) => message.content)).toEqual(['after the rate limit']);
    expect(fake.requests.filter((request) => request.path.endsWith(path)).map((request) => request.status)).toEqual([
      429, 200,
    ]);
  });

  it('a 500 is retried at once (discord.js retries 5xx up to 3 times)', async () => {
    const client = await logIn();
    const channel = client.channels.cache.get(fake.channels.general) as TextChannel;
    const path = `/channels/${fake.channels.general}/messages`;
    fake.failNextRequests({ pathIncludes: path }, [{ status: 500 }, { status: 502 }]);

    await channel.send('after two server errors');

    expect(fake.channelMessages.map((message) => message.content)).toEqual(['after two server errors']);
    expect(fake.requests.filter((request) => request.path.endsWith(path)).map((request) => request.status)).toEqual([
      500, 502, 200,
    ]);
  });

  it('four 500s in a row surface as an HTTPError', async () => {
    const client = await logIn();
    const channel = client.channels.cache.get(fake.channels.general) as TextChannel;
    fake.failNextRequests({ pathIncludes: '/messages' }, Array.from({ length: 4 }, () => ({ status: 500 })));

    const sending = channel.send('never arrives');

    await expect(sending).rejects.toBeInstanceOf(HTTPError);
    await expect(sending).rejects.toMatchObject({ status: 500 });
    expect(fake.channelMessages).toEqual([]);
  });

  it('a failure can target interaction callbacks too', async () => {
    const client = await logIn();
    const errors = onInteraction(client, async (interaction) => {
      if (interaction.isChatInputCommand()) await interaction.reply('eventually');
    });
    fake.failNextRequests({ pathIncludes: '/callback' }, [{ status: 503 }]);

    const reply = await fake.interact({ command: 'clip' }).final();

    expect(reply.content).toBe('eventually');
    expect(errors).toEqual([]);
  });
});

describe('unknown routes', () => {
  it('are answered 404 and listed in unhandledRequests', async () => {
    const client = await logIn();

    await expect(client.rest.get(Routes.guildBans(fake.guildId))).rejects.toMatchObject({ status: 404 });

    expect(fake.unhandledRequests).toEqual([`GET /api/v10/guilds/${fake.guildId}/bans`]);
    fake.unhandledRequests.length = 0; // expected here; afterEach asserts it is empty
  });
});

describe('shutdown', () => {
  it('leaves no sockets, servers or timers behind after client.destroy() and fake.close()', async () => {
    const count = (kind: string) =>
      process.getActiveResourcesInfo().filter((resource) => resource.startsWith(kind)).length;
    await fake.close();
    // Sockets of earlier tests finish closing asynchronously: start from a settled state.
    await expect.poll(() => count('TCP'), { timeout: 2_000 }).toBe(0);
    const timersBefore = count('Timeout');

    fake = await startFakeDiscord({ token: TOKEN });
    const client = await logIn();
    await client.channels.fetch(fake.channels.general, { force: true });
    expect(count('TCP')).toBeGreaterThan(0);
    await client.destroy();
    await fake.close();

    await expect.poll(() => count('TCP'), { timeout: 2_000 }).toBe(0);
    await expect.poll(() => count('Timeout'), { timeout: 2_000 }).toBeLessThanOrEqual(timersBefore);
    expect(fake.connectedClients).toBe(0);
  });
});
