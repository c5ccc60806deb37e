/**
 * Extend on a stream-capture card, and the chat file of a stream-capture clip: the cut is made again from
 * the live's own buffer with 10 s more before and after, replaces the clip on the alert (the first cut
 * stays beside it), and both clips carry their chat timed from the cut's own timeline. A press when the
 * buffer does not hold the wider window gets a clear private answer and changes nothing else. Real ffmpeg,
 * a local FLV live of one colour, real tiktok-live-connector and discord.js.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeFlvServer, type FakeFlvServer } from '../fakes/flv-server.js';
import type { PostedMessage } from '../fakes/discord-server.js';
import { startHarness, waitFor, type Harness } from '../support/bot-harness.js';
import { probeDuration } from '../support/media.js';

const run = promisify(execFile);
const STREAMER = 'ext.user';
const BEFORE = 3;
const AFTER = 1;

async function meanColour(file: string): Promise<number[]> {
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-ss', '1', '-i', file, '-frames:v', '1', '-vf', 'scale=1:1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { encoding: 'buffer' });
  return [...stdout.subarray(0, 3)];
}

function cueStart(srt: string, text: string): number {
  const block = srt.split(/\n\n+/).find((b) => b.includes(text));
  if (!block) throw new Error(`no cue "${text}" in:\n${srt}`);
  const [h, m, s, ms] = block.split('\n')[1]!.split(' --> ')[0]!.split(/[:,]/).map(Number) as [number, number, number, number];
  return h * 3600 + m * 60 + s + ms / 1000;
}

const buttons = (m: PostedMessage) => m.components.flatMap((row) => row.components);

describe('Extend on a stream-capture clip', () => {
  let flv: FakeFlvServer;
  let h: Harness;
  let bufferDir: string;
  /** When the bot joined the live: its buffer reaches back to about here. */
  let liveAt: number;

  beforeAll(async () => {
    flv = await startFakeFlvServer();
    bufferDir = path.join(os.tmpdir(), `review-extend-buffers-${process.pid}-${Date.now()}`);
    h = await startHarness({ env: { STREAM_BUFFER_DIR: bufferDir }, tuning: { streamBuffer: { bufferSeconds: 40, segmentSeconds: 1 } } });
    flv.addLive(STREAMER, { colour: '0x0000ff', codec: 'h264' });
    h.tiktok.addUser(STREAMER, { live: true });
    h.tiktok.setVideo(STREAMER, { url: () => flv.url(STREAMER), codec: 'h264' });
    await h.command({ command: 'settings', subcommand: 'capture', options: { mode: 'stream' } });
    await h.command({ command: 'settings', subcommand: 'window', options: { before: BEFORE, after: AFTER } });
    await h.command({ command: 'settings', subcommand: 'cooldown', options: { seconds: 0 } });
    await h.command({ command: 'keyword', subcommand: 'add', options: { word: 'clip it' } });
    await h.command({ command: 'stream', subcommand: 'add', options: { username: STREAMER } });
    await h.waitForState(STREAMER, 'live');
    liveAt = Date.now();
    // Enough for the first cut's window (3 s before, 1 s after), far from the extended one's 13 s before.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
  }, 90_000);

  afterAll(async () => {
    await h?.close();
    await flv?.close();
    await rm(bufferDir, { recursive: true, force: true });
  });

  it('answers privately that the buffer does not reach back far enough, keeps the first cut and changes nothing else', async () => {
    h.tiktok.sendChat(STREAMER, { handle: 'too.early', text: 'clip it' });
    const alert = await h.discord.waitForChannelMessage((m) => m.files.some((f) => f.name.startsWith('too.early_')), 30_000);
    const clip = alert.files.find((f) => f.name.endsWith('.mp4'))!;
    const firstCut = path.join(h.clipsDir, STREAMER, clip.name);
    const folderBefore = readdirSync(path.dirname(firstCut)).sort();

    // The wider window starts 13 s before the trigger: before this live was buffered at all.
    const press = h.discord.press({ messageId: alert.id, customId: buttons(alert).find((b) => b.label === 'Extend +10 s')!.custom_id! });
    const card = await press.final(20_000);
    await waitFor(() => press.followUps.length > 0, 10_000, () => 'the private answer');
    expect(press.followUps[0]!.content).toBe('Cannot extend: the live’s buffer has moved past this moment (it keeps the last minute or so).');
    expect(press.followUps[0]!.ephemeral).toBe(true);
    // The card keeps its clip and its other buttons; Extend says why it is off.
    expect(card.files.map((f) => f.name)).toEqual(alert.files.map((f) => f.name));
    expect(buttons(card).map((b) => [b.label, b.disabled ?? false])).toEqual([
      ['Keep', false],
      ['Discard', false],
      ['False positive', false],
      ['Extend (buffer moved on)', true],
    ]);
    expect(card.content).not.toContain('Extended by');
    expect(readdirSync(path.dirname(firstCut)).sort()).toEqual(folderBefore);
    expect(readFileSync(firstCut).equals(clip.data)).toBe(true);
    const clips = await h.command({ command: 'clips' });
    expect(clips.content).toContain('too.early');
    expect(clips.content).not.toContain('⏩ extended');
  }, 60_000);

  it('cuts the moment again with 10 s more each side and puts it on the alert, keeping the first cut', async () => {
    // The buffer must reach back further than the extended window (3 + 10 s before the trigger).
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, liveAt + 17_000 - Date.now())));
    h.tiktok.sendChat(STREAMER, { handle: 'early.fan', text: 'here we go' });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    h.tiktok.sendChat(STREAMER, { handle: 'ext.caller', text: 'clip it now' });
    const alert = await h.discord.waitForChannelMessage((m) => m.files.some((f) => f.name.startsWith('ext.caller_')), 30_000);
    const clip = alert.files.find((f) => f.name.endsWith('.mp4'))!;
    const firstCut = path.join(h.clipsDir, STREAMER, clip.name);
    const firstSeconds = await probeDuration(firstCut);

    // Stream capture: the chat is timed from the cut's own first frame, `before` seconds ahead of the trigger.
    const srt = alert.files.find((f) => f.name.endsWith('.chat.srt'))!.data.toString('utf8');
    const triggerAt = cueStart(srt, '@ext.caller: clip it now');
    expect(triggerAt).toBeGreaterThan(BEFORE - 1.5);
    expect(triggerAt).toBeLessThan(BEFORE + 1.5);
    expect(triggerAt - cueStart(srt, '@early.fan: here we go')).toBeCloseTo(1, 0);

    const extend = buttons(alert).find((b) => b.label === 'Extend +10 s')!;
    expect(extend.disabled ?? false).toBe(false);
    const extended = await h.discord.press({ messageId: alert.id, customId: extend.custom_id! }).final(40_000);
    const newClip = extended.files.find((f) => f.name.endsWith('.mp4'))!;
    expect(newClip.name).toBe(clip.name.replace(/\.mp4$/, ' (extended).mp4'));
    expect(extended.content).toContain('Extended by');
    expect(buttons(extended).find((b) => b.label === 'Extended')?.disabled).toBe(true);

    const scratch = path.join(os.tmpdir(), `extended-${process.pid}-${Date.now()}.mp4`);
    await writeFile(scratch, newClip.data);
    try {
      const extendedSeconds = await probeDuration(scratch);
      // 10 s more before and after, give or take the keyframe boundaries the cuts snap to.
      expect(extendedSeconds - firstSeconds).toBeGreaterThan(17);
      expect(extendedSeconds - firstSeconds).toBeLessThan(23);
      const [r, g, b] = await meanColour(scratch);
      expect(b).toBeGreaterThan(150);
      expect(r).toBeLessThan(80);
      expect(g).toBeLessThan(80);
    } finally {
      await rm(scratch, { force: true });
    }
    // The first cut stays where it was; the extended one carries its own chat, 10 s later in.
    expect(existsSync(firstCut)).toBe(true);
    const extendedSrt = extended.files.find((f) => f.name.endsWith('.chat.srt'))!;
    expect(extendedSrt.name).toBe(newClip.name.replace(/\.mp4$/, '.chat.srt'));
    expect(readFileSync(path.join(h.clipsDir, STREAMER, extendedSrt.name), 'utf8')).toBe(extendedSrt.data.toString('utf8'));
    expect(cueStart(extendedSrt.data.toString('utf8'), '@ext.caller: clip it now') - triggerAt).toBeCloseTo(10, 0);
    expect((await h.command({ command: 'clips' })).content).toContain('⏩ extended');
  }, 90_000);
});
