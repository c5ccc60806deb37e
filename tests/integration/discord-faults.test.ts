import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, waitFor, type Harness } from '../support/bot-harness.js';
import { probeDuration } from '../support/media.js';
import { FakeReplayBuffer } from '../support/fake-replay-buffer.js';

const run = promisify(execFile);

/**
 * Discord answering 429 and 5xx, and clips over the upload limit: the clip is never lost, the bot keeps
 * serving, and the alert gets through or says where the file is.
 */
describe('Discord faults and upload limits', () => {
  let h: Harness;
  let obs: FakeReplayBuffer;
  let bigClip: string;

  beforeAll(async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'faults-'));
    obs = new FakeReplayBuffer(path.join(dir, 'replays'));
    h = await startHarness({ replayBuffer: obs });
    h.tiktok.addUser('fault.user', { live: true });
    await h.command({ command: 'stream', subcommand: 'add', options: { username: 'fault.user' } });
    await h.command({ command: 'keyword', subcommand: 'add', options: { word: 'clip it' } });
    await h.command({ command: 'settings', subcommand: 'cooldown', options: { seconds: 0 } });
    await h.waitForState('fault.user', 'live');
    // Noise does not compress: about 12 MiB for 4 s, over the default 10 MiB upload limit.
    bigClip = path.join(dir, 'big.mp4');
    await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'nullsrc=s=640x360:d=4,geq=random(1)*255:128:128', '-f', 'lavfi', '-i', 'sine=d=4',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '24M', '-minrate', '24M', '-maxrate', '24M', '-bufsize', '24M', '-c:a', 'aac', '-shortest', bigClip]);
  }, 60_000);

  afterAll(async () => {
    await h?.close();
  });

  it('gets the alert through a 429 with retry-after', async () => {
    h.discord.failNextRequests({ method: 'POST', pathIncludes: '/messages' }, [
      { status: 429, body: { message: 'You are being rate limited.', retry_after: 0.3, global: false } },
    ]);
    h.tiktok.sendChat('fault.user', { handle: 'after.429', text: 'clip it' });
    const alert = await h.discord.waitForChannelMessage((m) => m.files.some((f) => f.name.startsWith('after.429_')), 15_000);
    expect(alert.files).toHaveLength(1);
  });

  it('retries past a run of 5xx answers that outlasts discord.js’s own retries', async () => {
    h.discord.failNextRequests({ method: 'POST', pathIncludes: '/messages' }, Array.from({ length: 5 }, () => ({ status: 502 })));
    h.tiktok.sendChat('fault.user', { handle: 'after.5xx', text: 'clip it' });
    await h.discord.waitForChannelMessage((m) => m.files.some((f) => f.name.startsWith('after.5xx_')), 15_000);
  });

  it('keeps the clip and says so when Discord never accepts the alert, and keeps serving', async () => {
    h.discord.failNextRequests({ method: 'POST', pathIncludes: '/messages' }, Array.from({ length: 30 }, () => ({ status: 500 })));
    const saves = obs.saves;
    h.tiktok.sendChat('fault.user', { handle: 'never.posted', text: 'clip it' });
    const gaveUp = () => h.bot.events.recent(h.discord.guildId).some((e) => e.text.startsWith('could not post to Discord'));
    await waitFor(gaveUp, 15_000, () => 'the bot to give up posting');
    h.discord.clearFailures();
    expect(obs.saves).toBe(saves + 1);

    // Commands still answer, the log says what happened, and the archive lists the clip with its file.
    const logs = await h.command({ command: 'logs', options: { stream: 'fault.user' } });
    expect(logs.content).toMatch(/could not post to Discord/);
    const archived = await h.command({ command: 'clips', options: { stream: 'fault.user' } });
    expect(archived.content).toMatch(/never\\?\.posted.*\(alert not posted\)/);
    const fileName = /`(never\.posted_[^`]+\.mp4)`/.exec(archived.content)![1]!;
    expect((await stat(path.join(h.clipsDir, 'fault.user', fileName))).size).toBeGreaterThan(0);
  });

  it('re-encodes a clip over the upload limit to fit, keeping the original', async () => {
    const original = (await stat(bigClip)).size;
    expect(original).toBeGreaterThan(10 * 1024 * 1024);
    const save = obs.save.bind(obs);
    obs.save = async (onSaved) => save(async (replay) => {
      await copyFile(bigClip, replay.path);
      return onSaved(replay);
    });
    try {
      h.tiktok.sendChat('fault.user', { handle: 'big.clip', text: 'clip it' });
      const alert = await h.discord.waitForChannelMessage((m) => m.files.some((f) => f.name.startsWith('big.clip_')), 90_000);
      const uploaded = alert.files[0]!;
      expect(uploaded.data.length).toBeLessThanOrEqual(10 * 1024 * 1024);
      expect(JSON.stringify(alert.embeds)).toContain('Re-encoded');
      const kept = path.join(h.clipsDir, 'fault.user', uploaded.name);
      expect((await stat(kept)).size).toBe(original);
      expect(await probeDuration(kept)).toBeGreaterThan(3);
    } finally {
      obs.save = save;
    }
  }, 120_000);

  it('starts and serves even when Discord refuses the command registration', async () => {
    h.discord.failNextRequests({ method: 'PUT', pathIncludes: '/commands' }, Array.from({ length: 4 }, () => ({ status: 503 })));
    await h.restartBot();
    const list = await h.command({ command: 'stream', subcommand: 'list' });
    expect(list.content).toContain('fault.user');
    h.discord.clearFailures();
  });
});
