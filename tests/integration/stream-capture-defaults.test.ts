/**
 * Stream capture as a user gets it: no timing knobs (the 60 s buffer of 2 s segments, the 20 s + 5 s
 * window), three lives at once, two Discord servers (one with `stream` as its default, one choosing it per
 * stream with `/stream add … capture:stream`), and no OBS at all. Each keyword gives each server a clip of
 * that streamer's own video, about 25 s long; `/clip stream:` cuts that stream's buffer; `/healthz` is
 * healthy without OBS until a stream in `obs` capture is added. Slow (~45 s): it waits until 20 s are
 * buffered.
 */
import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostedMessage } from '../fakes/discord-server.js';
import { startFakeFlvServer, type FakeFlvServer } from '../fakes/flv-server.js';
import { startHarness, type Harness } from '../support/bot-harness.js';
import { probeDuration } from '../support/media.js';

const run = promisify(execFile);
const COLOURS = { alba: [255, 0, 0], bert: [0, 0, 255], cleo: [0, 255, 0] } as const;
type Streamer = keyof typeof COLOURS;
const STREAMERS = Object.keys(COLOURS) as Streamer[];

async function colourAt(file: string, seconds: number): Promise<number[]> {
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-ss', String(seconds), '-i', file, '-frames:v', '1', '-vf', 'scale=1:1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { encoding: 'buffer' });
  return [...stdout.subarray(0, 3)];
}

describe('stream capture with the defaults, several lives and two servers, no OBS', () => {
  let flv: FakeFlvServer;
  let h: Harness;
  let other: { id: string; channels: { general: string } };
  const bufferDir = path.join(os.tmpdir(), `stream-defaults-${process.pid}-${Date.now()}`);

  beforeAll(async () => {
    flv = await startFakeFlvServer();
    h = await startHarness({
      otherGuilds: 1,
      env: { STREAM_BUFFER_DIR: bufferDir, HTTP_PORT: '0' },
    });
    other = h.discord.otherGuilds[0]!;
    for (const name of STREAMERS) {
      const hex = COLOURS[name].map((c) => c.toString(16).padStart(2, '0')).join('');
      flv.addLive(name, { colour: `0x${hex}`, codec: 'h264' });
      h.tiktok.addUser(name, { live: true });
      h.tiktok.setVideo(name, { url: () => flv.url(name), codec: 'h264' });
    }
    h.tiktok.addUser('dora', { live: false });
    // The main server: `stream` as its default. The other: OBS by default, `stream` chosen per stream.
    await h.command({ command: 'settings', subcommand: 'capture', options: { mode: 'stream' } });
    const inOther = { guildId: other.id, channelId: other.channels.general };
    for (const name of STREAMERS) {
      await h.command({ command: 'stream', subcommand: 'add', options: { username: name } });
      await h.command({ command: 'stream', subcommand: 'add', options: { username: name, capture: 'stream' }, ...inOther });
    }
    await h.command({ command: 'keyword', subcommand: 'add', options: { word: 'clip it' } });
    await h.command({ command: 'keyword', subcommand: 'add', options: { word: 'clip it' }, ...inOther });
    for (const name of STREAMERS) await h.waitForState(name, 'live');
    // The whole 20 s before a chat must be buffered, as in a LIVE watched for a while.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const list = (await h.command({ command: 'stream', subcommand: 'list' })).content;
      const seconds = STREAMERS.map((name) => Number(new RegExp(`@${name}.*buffer ready \\((\\d+) s\\)`).exec(list)?.[1] ?? 0));
      if (seconds.every((s) => s >= 22)) break;
      if (Date.now() > deadline) throw new Error(`buffers never held 22 s: ${list}`);
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
  }, 120_000);

  afterAll(async () => {
    await h?.close();
    await flv?.close();
    await rm(bufferDir, { recursive: true, force: true });
  });

  const healthz = async () => {
    const response = await fetch(`${h.bot.httpUrl()}/healthz`);
    return { status: response.status, body: (await response.json()) as { obs: { connection: string; needed: boolean } } };
  };

  async function expectClipOf(file: string, streamer: Streamer): Promise<void> {
    const seconds = await probeDuration(file);
    // 20 s before and 5 s after; the edges snap to 2 s segments.
    expect(seconds, `${streamer}'s clip length`).toBeGreaterThan(23);
    expect(seconds).toBeLessThan(29.5);
    for (const at of [1, seconds - 1]) {
      const colour = await colourAt(file, at);
      for (const [i, value] of COLOURS[streamer].entries()) {
        expect(Math.abs((colour[i] ?? -1) - value), `${streamer} colour at ${at} s: ${colour.join(',')}`).toBeLessThan(40);
      }
    }
  }

  it('is healthy with OBS absent while every stream uses stream capture', async () => {
    expect(h.bot.replayBuffer.status().connection).not.toBe('connected');
    const { status, body } = await healthz();
    expect(status).toBe(200);
    expect(body.obs).toMatchObject({ needed: false });
  });

  it('gives each server a clip of each streamer\'s own video, 20 s before and 5 s after the chat', async () => {
    for (const name of STREAMERS) h.tiktok.sendChat(name, { handle: `fan.${name}`, text: `clip it ${name}!` });
    const alertIn = (channelId: string, name: Streamer): Promise<PostedMessage> =>
      h.discord.waitForChannelMessage((m) => m.channelId === channelId && m.files.some((f) => f.name.startsWith(`fan.${name}_`)), 40_000);
    for (const name of STREAMERS) {
      const [main, second] = await Promise.all([alertIn(h.discord.channels.general, name), alertIn(other.channels.general, name)]);
      expect(JSON.stringify(main.embeds)).toContain(name);
      // Nothing was missing from the window: no "shorter than asked" note.
      expect(JSON.stringify(main.embeds)).not.toMatch(/s of the \d+ s asked/);
      const file = main.files[0]!;
      expect(Buffer.compare(second.files[0]!.data, file.data), 'both servers get the same clip').toBe(0);
      const local = path.join(h.clipsDir, name, file.name);
      expect(Buffer.compare(await readFile(local), file.data)).toBe(0);
      await expectClipOf(local, name);
    }
  }, 90_000);

  it('cuts that stream\'s buffer for /clip stream:<name>, with OBS absent', async () => {
    const reply = await h.command({ command: 'clip', options: { stream: 'bert', note: 'by hand' } }, 40_000);
    const file = reply.files[0];
    expect(file, `a clip in the reply: ${reply.content}`).toBeDefined();
    const local = path.join(h.clipsDir, 'bert', file!.name);
    expect(Buffer.compare(await readFile(local), file!.data)).toBe(0);
    await expectClipOf(local, 'bert');
    expect(h.bot.replayBuffer.status().connection).not.toBe('connected');
  }, 60_000);

  it('needs OBS (503 while it is absent) once a stream in obs capture is watched, and not after it goes', async () => {
    const inOther = { guildId: other.id, channelId: other.channels.general };
    await h.command({ command: 'stream', subcommand: 'add', options: { username: 'dora' }, ...inOther });
    const down = await healthz();
    expect(down.status).toBe(503);
    expect(down.body.obs).toMatchObject({ needed: true });
    await h.command({ command: 'stream', subcommand: 'remove', options: { username: 'dora' }, ...inOther });
    expect((await healthz()).status).toBe(200);
  });
});
