import { ObsCapture } from '../../src/obs/obs-capture.js';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClipJournal, JOURNAL_FOLDER } from '../../src/clips/clip-journal.js';
import { ClipService } from '../../src/clips/clip-service.js';
import type { Trigger } from '../../src/triggers/trigger.js';
import { EventLog } from '../../src/events/event-log.js';
import { fileClip } from '../../src/clips/clip-filer.js';
import { clipFileName } from '../../src/clips/clip-name.js';
import { startHarness, waitFor, type Harness } from '../support/bot-harness.js';
import { FakeReplayBuffer } from '../fakes/fake-replay-buffer.js';
import { storedJournalEntries } from '../support/journal.js';

/**
 * A crash mid-clip loses no clip: a bot process that dies after OBS saved a moment but before its alert
 * went out leaves the moment in the clip journal, and the next start posts it through the real discord.js
 * client to the (local) Discord.
 */
describe('a clip interrupted by a crash', () => {
  let h: Harness;
  let replays: string;

  beforeAll(async () => {
    replays = await mkdtemp(path.join(os.tmpdir(), 'crash-replays-'));
    // OBS's recording folder is the one place besides CLIPS_DIR a journalled clip may lie.
    h = await startHarness({ replayBuffer: new FakeReplayBuffer(replays) });
    h.tiktok.addUser('crash.user', { live: false });
    await h.command({ command: 'stream', subcommand: 'add', options: { username: 'crash.user' } });
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    await rm(replays, { recursive: true, force: true });
  });

  it('is posted, marked late, when the bot starts again', async () => {
    // The dying process: the same clip pipeline on the same folders, whose alerts never go out (it is
    // killed while posting). Nothing of it is cleaned up, as after a kill.
    const dying = new ClipService({
      captures: { obs: new ObsCapture({ replayBuffer: new FakeReplayBuffer(replays) }) },
      fileClip,
      clipsDir: h.clipsDir,
      reporter: { clipSaved: () => new Promise(() => undefined), clipJoined: async () => undefined, clipFailed: async () => undefined },
      journal: new ClipJournal(h.clipsDir, pino({ level: 'silent' })),
      events: new EventLog(),
      log: pino({ level: 'silent' }),
      policyFor: () => ({ cooldownSeconds: 0, delaySeconds: 0 }),
    });
    const moment: Trigger = {
      guildId: h.discord.guildId,
      streamer: 'crash.user',
      chatter: 'last.words',
      keyword: 'clip it',
      message: 'clip it before it crashes',
      at: new Date(Date.now() - 1_000),
      isManual: false,
    };
    dying.trigger(moment);
    const isFiled = async () => (await storedJournalEntries(h.clipsDir)).some((entry) => entry.filedPath !== undefined);
    const deadline = Date.now() + 5_000;
    while (!(await isFiled())) {
      if (Date.now() > deadline) throw new Error('the dying bot never filed the clip');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }

    await h.restartBot();

    const fileName = clipFileName(moment);
    const alert = await h.discord.waitForChannelMessage((m) => m.files.some((f) => f.name === fileName), 15_000);
    const fields = alert.embeds[0]?.fields ?? [];
    expect(fields.find((f) => f.name === 'Chatter')?.value).toBe('last.words');
    expect(fields.find((f) => f.name === 'Late')?.value).toMatch(/stopped before it could post this clip/);
    expect(alert.files[0]!.data.toString()).toBe(await readFile(path.join(h.clipsDir, 'crash.user', fileName), 'utf8'));

    await waitFor(() => h.bot.events.recent(h.discord.guildId).some((e) => e.text === `recovered ${fileName} after a restart`), 5_000, () => 'the recovery in /logs');
    await waitFor(() => h.bot.delivery.pendingCount === 0, 5_000, () => 'the outbox to be empty');
    const archived = await h.command({ command: 'clips', options: { stream: 'crash.user' } });
    expect(archived.content).toContain(`\`${fileName}\``);
    expect(archived.content).not.toContain('alert not posted');
    // Told, so forgotten: a third start posts nothing, and the alert stays the only one of its clip.
    await h.bot.clips.drain();
    expect(await storedJournalEntries(h.clipsDir)).toEqual([]);
    await h.restartBot();
    await waitFor(() => h.bot.delivery.pendingCount === 0, 5_000, () => 'the outbox to be empty');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(h.discord.channelMessages.filter((m) => m.files.some((f) => f.name === fileName))).toHaveLength(1);
  });

  it('refuses a planted journal entry that names a file outside the clips folder, and uploads nothing', async () => {
    const secret = path.join(h.clipsDir, '..', '.env');
    await writeFile(secret, 'DISCORD_TOKEN=planted-secret-value');
    const journalDir = path.join(h.clipsDir, JOURNAL_FOLDER);
    await mkdir(journalDir, { recursive: true });
    const at = new Date().toISOString();
    const trigger = { guildId: h.discord.guildId, streamer: 'crash.user', chatter: 'mallory', keyword: 'clip it', message: 'x', at, isManual: false };
    await writeFile(path.join(journalDir, 'planted.json'), JSON.stringify({ clipId: 'planted', triggers: [trigger], filedPath: '../.env', obsPath: '../.env' }));
    const postsBefore = h.discord.channelMessages.length;

    await h.restartBot();
    await h.bot.clips.drain();
    expect(await readdir(journalDir)).toContain('planted.json.refused');
    await waitFor(() => h.bot.delivery.pendingCount === 0, 5_000, () => 'the outbox to be empty');
    const uploaded = h.discord.channelMessages.slice(postsBefore);
    expect(uploaded.flatMap((m) => m.files).filter((f) => f.data.toString().includes('planted-secret-value'))).toEqual([]);
    expect(uploaded.filter((m) => JSON.stringify(m).includes('mallory'))).toEqual([]);
  });
});
