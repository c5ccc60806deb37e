import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PermissionFlagsBits } from 'discord.js';
import { describeWithObs, startObs, type ObsInstance } from '../support/obs-process.js';
import { startHarness, waitFor, type Harness } from '../support/bot-harness.js';
import type { InteractionInput } from '../fakes/discord-server.js';
import { probeDuration } from '../support/media.js';

// {chatter}_{keyword}_{YYYY-MM-DD_hh-mm-ss_AM|PM}.mp4
const CLIP_NAME = /^(.+)_(.+)_(\d{4}-\d{2}-\d{2}_(0[1-9]|1[0-2])-[0-5]\d-[0-5]\d_(AM|PM))( \(\d+\))?\.mp4$/;
const STREAMER = 'e2e.streamer';

describeWithObs('the bot end to end on real OBS, a local TikTok and a local Discord', () => {
  let obs: ObsInstance;
  let h: Harness;

  beforeAll(async () => {
    obs = await startObs({ replayBufferSeconds: 5 });
    h = await startHarness({ obs: { url: obs.url, password: obs.password } });
    h.tiktok.addUser(STREAMER, { live: true });
    // Let the replay buffer fill a little: a save right after start gives a very short clip.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }, 90_000);

  afterAll(async () => {
    await h?.close();
    await obs?.stop();
  });

  it('registers every command in the guild with Manage Server as the default permission', () => {
    const registration = h.discord.commandRegistrations.at(-1)!;
    expect(registration.scope).toBe(h.discord.guildId);
    const names = registration.commands.map((c: { name: string }) => c.name).sort();
    expect(names).toEqual(['clip', 'clips', 'keyword', 'logs', 'settings', 'status', 'stream', 'trigger']);
    for (const command of registration.commands) expect(command.default_member_permissions).toBe(String(PermissionFlagsBits.ManageGuild));
  });

  it('goes from a chat with a keyword to a named clip on disk and an alert with the mp4 in Discord', async () => {
    const added = await h.command({ command: 'stream', subcommand: 'add', options: { username: `https://www.tiktok.com/@${STREAMER}/live` } });
    expect(added.ephemeral).toBe(false);
    expect(added.content).toContain(`@${STREAMER}`);
    await h.command({ command: 'keyword', subcommand: 'add', options: { word: 'Clip It' } });
    await h.command({ command: 'settings', subcommand: 'cooldown', options: { seconds: 0 } });
    await h.waitForState(STREAMER, 'live');

    const sentAt = Date.now();
    h.tiktok.sendChat(STREAMER, { handle: 'viewer.one', nickname: 'Viewer One', text: 'omg CLIP IT now' });
    const alert = await h.discord.waitForChannelMessage((m) => m.files.length > 0, 30_000);
    const endToEndMs = Date.now() - sentAt;
    console.info(`end to end, chat frame to upload received: ${endToEndMs} ms`);

    // Alerts go to the channel where the stream was added until /settings channel is set.
    expect(alert.channelId).toBe(h.discord.channels.general);
    const file = alert.files[0]!;
    const match = CLIP_NAME.exec(file.name);
    expect(match, file.name).not.toBeNull();
    expect(match![1]).toBe('viewer.one');
    expect(match![2]).toBe('Clip It');
    const embedText = JSON.stringify(alert.embeds);
    expect(embedText).toContain(STREAMER);
    expect(embedText).toContain('viewer.one');
    expect(embedText).toContain('omg CLIP IT now');

    const onDisk = path.join(h.clipsDir, STREAMER, file.name);
    expect((await stat(onDisk)).size).toBe(file.data.length);
    expect(Buffer.compare(await readFile(onDisk), file.data)).toBe(0);
    expect(await probeDuration(onDisk)).toBeGreaterThan(0.5);
    // The file was moved out of OBS's folder, not copied.
    expect((await readdir(obs.recordingDir)).filter((f) => f.endsWith('.mp4'))).toEqual([]);
  });

  it('answers /clip with the clip attached, named after the member and `manual`', async () => {
    const exchange = h.discord.interact({ command: 'clip', options: { note: 'great save' } });
    expect((await exchange.initial()).type).toBe(5);
    const reply = await exchange.final(30_000);
    const file = reply.files[0];
    expect(file?.name).toMatch(CLIP_NAME);
    expect(CLIP_NAME.exec(file!.name)![2]).toBe('manual');
    expect(JSON.stringify(reply.embeds)).toContain('great save');
    expect(await probeDuration(path.join(h.clipsDir, STREAMER, file!.name))).toBeGreaterThan(0.5);
  });

  it('refuses a member without permission and changes nothing', async () => {
    const before = h.bot.settings.get(h.discord.guildId);
    const stranger = { id: '300000000000000001', username: 'stranger', permissions: PermissionFlagsBits.SendMessages };
    const attempts: InteractionInput[] = [
      { command: 'keyword', subcommand: 'add', options: { word: 'hijack' } },
      { command: 'stream', subcommand: 'remove', options: { username: STREAMER } },
      { command: 'settings', subcommand: 'cooldown', options: { seconds: 999 } },
      { command: 'clip' },
    ];
    for (const input of attempts) {
      const reply = await h.command({ ...input, member: stranger });
      expect(reply.ephemeral).toBe(true);
      expect(reply.content).toMatch(/Manage Server/);
    }
    expect(h.bot.settings.get(h.discord.guildId)).toEqual(before);
    expect(await h.discord.autocomplete({ command: 'stream', subcommand: 'remove', member: stranger, focused: 'username', options: { username: '' } })).toEqual([]);
  });

  it('lets members of the configured role in', async () => {
    await h.command({ command: 'settings', subcommand: 'role', options: { role: h.discord.roles.moderator } });
    const moderator = { id: '300000000000000002', username: 'mod', permissions: PermissionFlagsBits.SendMessages, roles: [h.discord.roles.moderator] };
    const reply = await h.command({ command: 'keyword', subcommand: 'list', member: moderator });
    expect(reply.ephemeral).toBe(false);
    expect(reply.content).toContain('Clip It');
  });

  it('refuses bad usernames and keywords with a short answer and changes nothing', async () => {
    const before = h.bot.settings.get(h.discord.guildId);
    const bad: InteractionInput[] = [
      { command: 'stream', subcommand: 'add', options: { username: '../../etc/passwd' } },
      { command: 'stream', subcommand: 'add', options: { username: 'x' } },
      { command: 'stream', subcommand: 'add', options: { username: STREAMER } },
      { command: 'stream', subcommand: 'remove', options: { username: 'not.watched' } },
      { command: 'keyword', subcommand: 'add', options: { word: '   ' } },
      { command: 'keyword', subcommand: 'add', options: { word: 'x'.repeat(101) } },
      { command: 'keyword', subcommand: 'add', options: { word: 'clip it' } },
      { command: 'keyword', subcommand: 'remove', options: { word: 'nope' } },
    ];
    for (const input of bad) {
      const reply = await h.command(input);
      expect(reply.ephemeral, JSON.stringify(input)).toBe(true);
      expect(reply.content.length).toBeLessThan(300);
    }
    expect(h.bot.settings.get(h.discord.guildId)).toEqual(before);
  });

  it('keeps its settings across a restart and resumes the stream', async () => {
    await h.command({ command: 'settings', subcommand: 'channel', options: { channel: h.discord.channels.alerts } });
    await h.restartBot();
    const keywords = await h.command({ command: 'keyword', subcommand: 'list' });
    expect(keywords.content).toContain('Clip It');
    await h.waitForState(STREAMER, 'live');
    const list = await h.command({ command: 'stream', subcommand: 'list' });
    expect(list.content).toContain(STREAMER);
    expect(list.content).toContain('live');

    h.tiktok.sendChat(STREAMER, { handle: 'after.restart', text: 'clip it please' });
    const alert = await h.discord.waitForChannelMessage((m) => m.files.some((f) => f.name.startsWith('after.restart_')), 30_000);
    expect(alert.channelId).toBe(h.discord.channels.alerts);
  });

  it('clips a burst of 100 chats as one or two clips that credit the chatters', async () => {
    // A fresh stream, so no earlier clip's cooldown applies; the default-like 30 s cooldown holds the burst.
    const BURST = 'burst.streamer';
    h.tiktok.addUser(BURST, { live: true });
    await h.command({ command: 'stream', subcommand: 'add', options: { username: BURST } });
    await h.command({ command: 'settings', subcommand: 'cooldown', options: { seconds: 30 } });
    await h.waitForState(BURST, 'live');
    const before = h.discord.channelMessages.length;
    for (let i = 0; i < 100; i += 1) h.tiktok.sendChat(BURST, { handle: `burst${i}`, text: `CLIP IT ${i}` });
    await h.discord.waitForChannelMessage((m) => m.files.some((f) => f.name.startsWith('burst')), 30_000);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const alerts = h.discord.channelMessages.slice(before).filter((m) => m.files.length > 0);
    expect(alerts.length).toBeGreaterThanOrEqual(1);
    expect(alerts.length).toBeLessThanOrEqual(2);
    const credited = JSON.stringify(alerts[0]!.embeds);
    // Named after the first chat the bot saw (frames can reach it out of order), which it credits.
    const namedAfter = CLIP_NAME.exec(alerts[0]!.files[0]!.name)![1]!;
    expect(namedAfter).toMatch(/^burst\d+$/);
    expect(credited).toContain(namedAfter);
    expect(credited).toMatch(/burst\d+, burst\d+/);
    const logs = await h.command({ command: 'logs', options: { stream: BURST } });
    expect(logs.content).toMatch(/merged|cooldown/);
  });

  it('keeps two streams triggering in the same second apart: no file overwritten, none mislabelled', async () => {
    await h.command({ command: 'settings', subcommand: 'cooldown', options: { seconds: 0 } });
    const before = h.discord.channelMessages.length;
    h.tiktok.sendChat(STREAMER, { handle: 'same.second.a', text: 'clip it' });
    h.tiktok.sendChat('burst.streamer', { handle: 'same.second.b', text: 'clip it' });
    await new Promise((resolve) => setTimeout(resolve, 150));
    h.tiktok.sendChat(STREAMER, { handle: 'same.second.c', text: 'clip it' });
    await h.discord.waitForChannelMessage((m) => m.files.some((f) => f.name.startsWith('same.second')), 30_000);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const alerts = h.discord.channelMessages.slice(before).filter((m) => m.files.length > 0);
    const credited = alerts.map((a) => JSON.stringify(a.embeds)).join('\n');
    for (const chatter of ['same.second.a', 'same.second.b', 'same.second.c']) expect(credited).toContain(chatter);
    for (const alert of alerts) {
      const name = alert.files[0]!.name;
      const chatter = CLIP_NAME.exec(name)![1]!;
      // The file is named after a chatter this alert credits, and sits in that alert's streamer folder.
      expect(JSON.stringify(alert.embeds)).toContain(chatter);
      const folder = alert.embeds[0]!.fields!.find((f) => f.name === 'Streamer')!.value.replace(/^@/, '').replace(/\\/g, '');
      const onDisk = await readFile(path.join(h.clipsDir, folder, name));
      expect(Buffer.compare(onDisk, alert.files[0]!.data)).toBe(0);
    }
    expect(new Set(alerts.map((a) => a.files[0]!.name)).size).toBe(alerts.length);
  });

  it('tells the alert channel when OBS is down, keeps serving, and clips again once OBS is back', async () => {
    await h.command({ command: 'settings', subcommand: 'cooldown', options: { seconds: 0 } });
    await obs.kill();
    await waitFor(() => h.bot.replayBuffer.status().connection !== 'connected', 10_000, () => 'OBS to be seen as down');
    h.tiktok.sendChat(STREAMER, { handle: 'while.down', text: 'clip it!!' });
    const notice = await h.discord.waitForChannelMessage((m) => m.content.includes('Could not clip') && m.content.includes('while.down'), 15_000);
    expect(notice.content).toContain('OBS is not connected');
    await h.discord.waitForChannelMessage((m) => m.content.includes('Lost the connection to OBS'), 10_000);
    const status = await h.command({ command: 'status' });
    expect(status.content).toMatch(/OBS:\*\* (disconnected|connecting)/);

    await obs.restart();
    await waitFor(() => h.bot.replayBuffer.status().connection === 'connected' && h.bot.replayBuffer.status().isBufferActive === true, 30_000, () => 'the bot to reconnect to OBS');
    await h.discord.waitForChannelMessage((m) => m.content.includes('Connected to OBS again'), 10_000);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    h.tiktok.sendChat(STREAMER, { handle: 'back.again', text: 'CLIP IT' });
    const alert = await h.discord.waitForChannelMessage((m) => m.files.some((f) => f.name.startsWith('back.again_')), 30_000);
    expect(await probeDuration(path.join(h.clipsDir, STREAMER, alert.files[0]!.name))).toBeGreaterThan(0.2);
  });
});
