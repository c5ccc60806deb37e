/**
 * Stream capture through the whole bot, with no OBS at all (the harness's OBS address refuses): a keyword
 * in bert's chat gives an alert in the local Discord with a clip of bert's own video, alba's of alba's.
 * `/stream remove` ends that live's ffmpeg. Real tiktok-live-connector, real ffmpeg, real discord.js.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeFlvServer, type FakeFlvServer } from '../fakes/flv-server.js';
import type { PostedMessage } from '../fakes/discord-server.js';
import { startHarness, type Harness } from '../support/bot-harness.js';
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
      tuning: { streamBuffer: { bufferSeconds: 10, segmentSeconds: 1 } },
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
    const file = alert.files[0]!;
    expect(JSON.stringify(alert.embeds)).toContain(streamer);
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

  it('leaves no ffmpeg of its own running once stopped', async () => {
    await h.bot.stop();
    expect(await ffmpegsUsing(bufferDir)).toEqual([]);
  });
});
