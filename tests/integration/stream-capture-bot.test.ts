/**
 * Stream capture through the whole bot, with no OBS at all (the harness's OBS address refuses): a keyword
 * in bert's chat gives an alert in the local Discord with a clip of bert's own video, alba's of alba's.
 * A dropped chat whose live checks TikTok will not answer keeps its buffer; `/stream remove` and the
 * LIVE's end stop that live's ffmpeg. Real tiktok-live-connector, real ffmpeg, real discord.js.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeFlvServer, type FakeFlvServer } from '../fakes/flv-server.js';
import type { PostedMessage } from '../fakes/discord-server.js';
import { FAST_TUNING, startHarness, waitFor, type Harness } from '../support/bot-harness.js';
import { probeDuration } from '../support/media.js';

const run = promisify(execFile);
const COLOURS = { bert: [0, 0, 255], alba: [255, 0, 0] } as const;

async function meanColour(file: string): Promise<number[]> {
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-ss', '1', '-i', file, '-frames:v', '1', '-vf', 'scale=1:1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { encoding: 'buffer' });
  return [...stdout.subarray(0, 3)];
}

/** Pids of running ffmpegs whose command line names `dir` (ours: the test's own buffer folder). */
async function ffmpegsUsing(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      if (/\) Z /.test(stat)) continue;
      const cmdline = await readFile(`/proc/${name}/cmdline`, 'utf8');
      if (cmdline.startsWith('ffmpeg') && cmdline.includes(dir)) pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

describe('stream capture through the bot, without OBS', () => {
  let flv: FakeFlvServer;
  let h: Harness;
  let bufferDir: string;

  beforeAll(async () => {
    flv = await startFakeFlvServer();
    bufferDir = path.join(os.tmpdir(), `stream-bot-buffers-${process.pid}-${Date.now()}`);
    h = await startHarness({
      env: { STREAM_BUFFER_DIR: bufferDir },
      tuning: {
        streamBuffer: { bufferSeconds: 10, segmentSeconds: 1 },
        // Unclear live checks show as `checking` at once and are retried quickly (defaults: unit tests).
        supervisorTimings: { ...FAST_TUNING.supervisorTimings, unclearRetry: { initialMs: 300, maxMs: 600, factor: 2 }, unclearShownAfter: 1 },
      },
    });
    for (const name of ['bert', 'alba'] as const) {
      const [r, g, b] = COLOURS[name];
      flv.addLive(name, { colour: `0x${[r, g, b].map((c) => c.toString(16).padStart(2, '0')).join('')}`, codec: 'h264' });
      h.tiktok.addUser(name, { live: true });
      h.tiktok.setVideo(name, { url: () => flv.url(name), codec: 'h264' });
    }
    await h.command({ command: 'settings', subcommand: 'capture', options: { mode: 'stream' } });
    await h.command({ command: 'settings', subcommand: 'window', options: { before: 3, after: 1 } });
    await h.command({ command: 'settings', subcommand: 'cooldown', options: { seconds: 0 } });
    await h.command({ command: 'keyword', subcommand: 'add', options: { word: 'clip it' } });
    for (const name of ['bert', 'alba']) await h.command({ command: 'stream', subcommand: 'add', options: { username: name } });
    for (const name of ['bert', 'alba']) await h.waitForState(name, 'live');
    // Let each buffer hold more than the 4 s window.
    await new Promise((resolve) => setTimeout(resolve, 7_000));
  }, 90_000);

  afterAll(async () => {
    await h?.close();
    await flv?.close();
  });

  const alertFor = (chatter: string): Promise<PostedMessage> =>
    h.discord.waitForChannelMessage((m) => m.files.some((f) => f.name.startsWith(`${chatter}_`)), 30_000);

  async function expectClipOf(alert: PostedMessage, streamer: 'bert' | 'alba'): Promise<void> {
    const file = alert.files.find((f) => f.name.endsWith('.mp4'))!;
    expect(JSON.stringify([alert.content, alert.embeds])).toContain(streamer);
    const local = path.join(h.clipsDir, streamer, file.name);
    expect(Buffer.compare(await readFile(local), file.data)).toBe(0);
    const colour = await meanColour(local);
    for (const [i, value] of COLOURS[streamer].entries()) expect(Math.abs((colour[i] ?? -1) - value), `${streamer} colour ${colour.join(',')}`).toBeLessThan(40);
    // The window is 3 s before and 1 s after; segments are 1 s, so the edges snap by about a segment.
    const seconds = await probeDuration(local);
    expect(seconds).toBeGreaterThan(2.5);
    expect(seconds).toBeLessThan(6.5);
  }

  it('shows each stream\'s capture and buffer state in /stream list', async () => {
    const list = await h.command({ command: 'stream', subcommand: 'list' });
    for (const name of ['bert', 'alba']) expect(list.content).toMatch(new RegExp(`@${name}.*capture stream, buffer ready \\(\\d+ s\\)`));
  });

  it('clips bert\'s own video for a keyword in bert\'s chat, and alba\'s for alba\'s, with OBS absent', async () => {
    expect(h.bot.replayBuffer.status().connection).not.toBe('connected');
    h.tiktok.sendChat('bert', { handle: 'bert.fan', text: 'clip it bert' });
    h.tiktok.sendChat('alba', { handle: 'alba.fan', text: 'CLIP IT alba' });
    const [bert, alba] = await Promise.all([alertFor('bert.fan'), alertFor('alba.fan')]);
    await expectClipOf(bert, 'bert');
    await expectClipOf(alba, 'alba');
  }, 60_000);

  async function ffmpegOf(streamer: string): Promise<number[]> {
    const pids: number[] = [];
    for (const pid of await ffmpegsUsing(bufferDir)) {
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (cmdline.includes(path.join(bufferDir, streamer) + path.sep)) pids.push(pid);
    }
    return pids;
  }

  it('keeps bert\'s buffer (the same ffmpeg) while bert\'s chat is down and TikTok will not say whether bert is live, and /clip still cuts bert\'s video', async () => {
    const before = await ffmpegOf('bert');
    expect(before).toHaveLength(1);
    const faults = ['page', 'api', 'roomInfo'] as const;
    h.tiktok.failChecks('page', 'waf', { users: ['bert'] });
    h.tiktok.failChecks('api', 429, { users: ['bert'] });
    h.tiktok.failChecks('roomInfo', 503, { users: ['bert'] });
    try {
      h.tiktok.dropConnections('bert');
      await h.waitForState('bert', 'checking');
      const pages = h.tiktok.stats.pageRequests;
      await waitFor(() => h.tiktok.stats.pageRequests >= pages + 2, 10_000, () => 'two more unclear checks');
      expect(h.bot.monitor.state('bert')?.name).toBe('checking');
      const list = await h.command({ command: 'stream', subcommand: 'list' });
      expect(list.content).toMatch(/@bert.*checking.*capture stream, buffer ready \(\d+ s\)/);
      expect(await ffmpegOf('bert')).toEqual(before);

      const reply = await h.command({ command: 'clip', options: { stream: 'bert' } }, 30_000);
      expect(reply.files.filter((f) => f.name.endsWith('.mp4'))).toHaveLength(1);
      await expectClipOf(reply, 'bert');
    } finally {
      for (const route of faults) h.tiktok.failChecks(route, false, { users: ['bert'] });
    }
    await h.waitForState('bert', 'live');
    expect(await ffmpegOf('bert')).toEqual(before);
  }, 60_000);

  it('ends that live\'s ffmpeg on /stream remove, and keeps the other', async () => {
    expect((await ffmpegsUsing(bufferDir)).length).toBe(2);
    await h.command({ command: 'stream', subcommand: 'remove', options: { username: 'alba' } });
    const deadline = Date.now() + 10_000;
    let left = await ffmpegsUsing(bufferDir);
    while (left.length !== 1 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      left = await ffmpegsUsing(bufferDir);
    }
    expect(left).toHaveLength(1);
    const cmdline = await readFile(`/proc/${left[0]}/cmdline`, 'utf8');
    expect(cmdline).toContain('bert');
  });

  it('ends bert\'s ffmpeg when bert\'s LIVE ends', async () => {
    h.tiktok.endStream('bert');
    await h.waitForState('bert', 'offline');
    const deadline = Date.now() + 10_000;
    while ((await ffmpegOf('bert')).length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await ffmpegOf('bert')).toEqual([]);
  });

  it('leaves no ffmpeg of its own running once stopped', async () => {
    await h.bot.stop();
    expect(await ffmpegsUsing(bufferDir)).toEqual([]);
  });
});
