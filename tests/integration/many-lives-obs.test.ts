import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithObs, startObs, type ObsInstance } from '../support/obs-process.js';
import { startHarness, waitFor, type Harness } from '../support/bot-harness.js';
import type { PostedMessage } from '../fakes/discord-server.js';
import { probeDuration } from '../support/media.js';

// One real OBS, several lives and two Discord servers: each stream's moment is its own clip, even when
// the moments fall inside one replay-buffer length of each other (OBS records one picture for all).
const STREAMERS = ['gina.live', 'alice.live', 'bert.live', 'carl.live'] as const;
const BUFFER_SECONDS = 10;

describeWithObs('many lives on one real OBS, each clipped as its own, across two servers', () => {
  let obs: ObsInstance;
  let h: Harness;
  let otherGuild: { id: string; channels: { general: string; alerts: string } };

  beforeAll(async () => {
    obs = await startObs({ replayBufferSeconds: BUFFER_SECONDS });
    // Merge like a user's bot does: for the replay buffer's length as OBS reports it (not the fast 0).
    h = await startHarness({ obs: { url: obs.url, password: obs.password }, tuning: { coalesceWindowMs: undefined }, otherGuilds: 1 });
    otherGuild = h.discord.otherGuilds[0]!;
    for (const streamer of STREAMERS) h.tiktok.addUser(streamer, { live: true });
    for (const streamer of STREAMERS) await h.command({ command: 'stream', subcommand: 'add', options: { username: streamer } });
    await h.command({ command: 'keyword', subcommand: 'add', options: { word: 'clip it' } });
    await h.command({ command: 'settings', subcommand: 'cooldown', options: { seconds: 0 } });
    // The second server watches gina too, with its own alert channel.
    await h.command({ guildId: otherGuild.id, command: 'stream', subcommand: 'add', options: { username: 'gina.live' } });
    await h.command({ guildId: otherGuild.id, command: 'keyword', subcommand: 'add', options: { word: 'clip it' } });
    await h.command({ guildId: otherGuild.id, command: 'settings', subcommand: 'channel', options: { channel: otherGuild.channels.alerts } });
    for (const streamer of STREAMERS) await h.waitForState(streamer, 'live');
    // Let the replay buffer fill a little: a save right after start gives a very short clip.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
  }, 120_000);

  afterAll(async () => {
    await h?.close();
    await obs?.stop();
  });

  const alertFor = (chatter: string, timeoutMs = 30_000): Promise<PostedMessage> =>
    h.discord.waitForChannelMessage((m) => m.files.some((f) => f.name.startsWith(`${chatter}_`)), timeoutMs);

  async function expectOwnClip(alert: PostedMessage, streamer: string, chatter: string): Promise<void> {
    const file = alert.files[0]!;
    expect(file.name.startsWith(`${chatter}_clip it_`), file.name).toBe(true);
    expect(JSON.stringify(alert.embeds)).toContain(streamer);
    const onDisk = path.join(h.clipsDir, streamer, file.name);
    expect(Buffer.compare(await readFile(onDisk), file.data)).toBe(0);
    expect(await probeDuration(onDisk)).toBeGreaterThan(0.5);
  }

  it('gives two streams triggering 0.5 s apart two alerts and a readable clip under each streamer', async () => {
    h.tiktok.sendChat('alice.live', { handle: 'alice.fan', text: 'clip it please' });
    await new Promise((resolve) => setTimeout(resolve, 500));
    h.tiktok.sendChat('bert.live', { handle: 'bert.fan', text: 'CLIP IT' });
    const [alice, bert] = await Promise.all([alertFor('alice.fan'), alertFor('bert.fan')]);
    await expectOwnClip(alice, 'alice.live', 'alice.fan');
    await expectOwnClip(bert, 'bert.live', 'bert.fan');
    // OBS's own file was moved away, never left behind for the next save to overwrite.
    expect((await readdir(obs.recordingDir)).filter((f) => f.endsWith('.mp4'))).toEqual([]);
  });

  it('gives a stream triggering 3 s after another stream\'s clip (inside the buffer length) its own clip, not a credit on the other', async () => {
    const editsBefore = h.discord.channelMessageEdits.length;
    h.tiktok.sendChat('carl.live', { handle: 'carl.fan', text: 'clip it now' });
    const carl = await alertFor('carl.fan');
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    h.tiktok.sendChat('gina.live', { handle: 'gina.fan', text: 'clip it!!' });
    const gina = await alertFor('gina.fan');
    await expectOwnClip(carl, 'carl.live', 'carl.fan');
    await expectOwnClip(gina, 'gina.live', 'gina.fan');
    // No alert was edited to credit gina's fan on carl's clip.
    const edits = h.discord.channelMessageEdits.slice(editsBefore);
    expect(edits.some((m) => JSON.stringify(m.embeds).includes('gina.fan') && JSON.stringify(m.embeds).includes('carl.live'))).toBe(false);
  });

  it('alerts both servers watching the same live, each in its own channel', async () => {
    const gina = h.discord.channelMessages.filter((m) => m.files.some((f) => f.name.startsWith('gina.fan_')));
    await waitFor(
      () => h.discord.channelMessages.filter((m) => m.files.some((f) => f.name.startsWith('gina.fan_'))).length >= 2,
      20_000,
      () => `gina's clip in both servers (have ${gina.length})`,
    );
    const posted = h.discord.channelMessages.filter((m) => m.files.some((f) => f.name.startsWith('gina.fan_')));
    expect(posted.map((m) => m.channelId).sort()).toEqual([h.discord.channels.general, otherGuild.channels.alerts].sort());
    expect(posted[0]!.files[0]!.name).toBe(posted[1]!.files[0]!.name);
  });

  it('edits the alert for a late caller on the same stream and starts no new clip', async () => {
    const clipsBefore = (await readdir(path.join(h.clipsDir, 'gina.live'))).length;
    const postsBefore = h.discord.channelMessages.length;
    h.tiktok.sendChat('gina.live', { handle: 'late.caller', text: 'omg clip it' });
    await waitFor(
      () => h.discord.channelMessageEdits.some((m) => JSON.stringify(m.embeds).includes('late.caller')),
      15_000,
      () => 'the alert to credit the late caller',
    );
    const edited = h.discord.channelMessageEdits.filter((m) => JSON.stringify(m.embeds).includes('late.caller'));
    for (const m of edited) expect(JSON.stringify(m.embeds)).toContain('gina.fan');
    expect((await readdir(path.join(h.clipsDir, 'gina.live'))).length).toBe(clipsBefore);
    expect(h.discord.channelMessages.slice(postsBefore).filter((m) => m.files.length > 0)).toEqual([]);
  });
});
