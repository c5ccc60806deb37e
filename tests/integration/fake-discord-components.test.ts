/**
 * The local Discord's buttons against the real discord.js 14 client: a message with components, a press
 * arriving as MESSAGE_COMPONENT, and the three ways a bot answers it (deferUpdate then editReply, update,
 * an ephemeral reply), including an edit that drops the attachment by listing the ones to keep.
 */
import { once } from 'node:events';
import {
  ActionRowBuilder,
  AttachmentBuilder,
  ButtonBuilder,
  ButtonStyle,
  Client,
  Events,
  GatewayIntentBits,
  type Interaction,
  MessageFlags,
  PermissionFlagsBits,
  type TextChannel,
} from 'discord.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FakeDiscord, startFakeDiscord } from '../fakes/discord-server.js';

const TOKEN = 'fake-bot-token';
let fake: FakeDiscord;
let client: Client;
const errors: unknown[] = [];

beforeEach(async () => {
  fake = await startFakeDiscord({ token: TOKEN });
  client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: fake.apiUrl } });
  const ready = once(client, Events.ClientReady);
  await client.login(TOKEN);
  await ready;
});

afterEach(async () => {
  await client.destroy();
  expect(errors.splice(0)).toEqual([]);
  expect(fake.unhandledRequests).toEqual([]);
  await fake.close();
});

function onButton(handle: (interaction: Interaction) => Promise<unknown>): void {
  client.on(Events.InteractionCreate, (interaction) => void handle(interaction).catch((err: unknown) => errors.push(err)));
}

async function postCard(): Promise<string> {
  const channel = (await client.channels.fetch(fake.channels.alerts)) as TextChannel;
  const row = new ActionRowBuilder<ButtonBuilder>().addComponents(
    new ButtonBuilder().setCustomId('card:keep:1').setLabel('Keep').setStyle(ButtonStyle.Success),
    new ButtonBuilder().setCustomId('card:drop:1').setLabel('Discard').setStyle(ButtonStyle.Danger),
    new ButtonBuilder().setCustomId('card:off:1').setLabel('Off').setStyle(ButtonStyle.Secondary).setDisabled(true),
  );
  const sent = await channel.send({
    content: 'a card',
    files: [new AttachmentBuilder(Buffer.from('video'), { name: 'clip.mp4' }), new AttachmentBuilder(Buffer.from('1\n'), { name: 'clip.chat.srt' })],
    components: [row],
  });
  return sent.id;
}

describe('buttons on the local Discord', () => {
  it('stores components on a message and sends a press as MESSAGE_COMPONENT with the member and their permissions', async () => {
    const messageId = await postCard();
    const stored = fake.message(messageId)!;
    expect(stored.components[0]!.components.map((b) => b.custom_id)).toEqual(['card:keep:1', 'card:drop:1', 'card:off:1']);
    const seen: Array<{ customId: string; canManage: boolean | undefined; messageId: string; user: string }> = [];
    onButton(async (interaction) => {
      if (!interaction.isButton()) return;
      seen.push({
        customId: interaction.customId,
        canManage: interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild),
        messageId: interaction.message.id,
        user: interaction.user.username,
      });
      await interaction.reply({ content: 'no', flags: MessageFlags.Ephemeral });
    });
    const stranger = { id: '4242', username: 'stranger', permissions: PermissionFlagsBits.ViewChannel };
    const reply = await fake.press({ messageId, customId: 'card:keep:1', member: stranger }).final();
    expect(reply.ephemeral).toBe(true);
    expect(reply.content).toBe('no');
    expect(seen).toEqual([{ customId: 'card:keep:1', canManage: false, messageId, user: 'stranger' }]);
    // The card itself is unchanged.
    expect(fake.message(messageId)!.files).toHaveLength(2);
  });

  it('deferUpdate then editReply edits the pressed message: attachments not listed are removed', async () => {
    const messageId = await postCard();
    onButton(async (interaction) => {
      if (!interaction.isButton()) return;
      await interaction.deferUpdate();
      const keep = interaction.message.attachments.filter((a) => a.name.endsWith('.srt'));
      await interaction.editReply({ content: 'discarded by guild-admin', attachments: [...keep.values()], components: [] });
    });
    const exchange = fake.press({ messageId, customId: 'card:drop:1' });
    expect((await exchange.initial()).type).toBe(6);
    const updated = await exchange.final();
    expect(updated.id).toBe(messageId);
    expect(updated.content).toBe('discarded by guild-admin');
    expect(updated.files.map((f) => f.name)).toEqual(['clip.chat.srt']);
    expect(updated.components).toEqual([]);
    expect(fake.message(messageId)!.files.map((f) => f.name)).toEqual(['clip.chat.srt']);
    expect(fake.channelMessageEdits.at(-1)!.id).toBe(messageId);
  });

  it('update() answers with type 7 and edits the message at once, keeping what it does not send', async () => {
    const messageId = await postCard();
    onButton(async (interaction) => {
      if (!interaction.isButton()) return;
      await interaction.update({ content: 'kept' });
    });
    const exchange = fake.press({ messageId, customId: 'card:keep:1' });
    expect((await exchange.initial()).type).toBe(7);
    const updated = await exchange.final();
    expect(updated.content).toBe('kept');
    expect(updated.files).toHaveLength(2);
    expect(updated.components[0]!.components).toHaveLength(3);
  });

  it('cannot press a disabled button or one the message does not show, like a Discord client', async () => {
    const messageId = await postCard();
    expect(() => fake.press({ messageId, customId: 'card:off:1' })).toThrow(/disabled/);
    expect(() => fake.press({ messageId, customId: 'card:nope:1' })).toThrow(/no button/);
  });

  it('refuses a second answer and a button without a custom_id, as Discord does', async () => {
    const messageId = await postCard();
    const second: unknown[] = [];
    onButton(async (interaction) => {
      if (!interaction.isButton()) return;
      await interaction.deferUpdate();
      await client.rest.post(`/interactions/${interaction.id}/${interaction.token}/callback`, { body: { type: 6 }, auth: false }).catch((err: unknown) => second.push(err));
    });
    await fake.press({ messageId, customId: 'card:keep:1' }).initial();
    await expect.poll(() => second.length).toBe(1);
    expect(second[0]).toMatchObject({ code: 40060 });
    const channel = (await client.channels.fetch(fake.channels.alerts)) as TextChannel;
    await expect(channel.send({ content: 'x', components: [{ type: 1, components: [{ type: 2, style: 1, label: 'no id', custom_id: '' }] }] })).rejects.toMatchObject({ code: 50035 });
  });
});
