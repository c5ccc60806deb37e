/**
 * Stream capture end to end below the bot: the real TikTok adapter reads room info from the fake TikTok,
 * which points at a local FLV CDN whose lives real ffmpeg encodes in real time; real ffmpeg buffers and cuts.
 * Short windows (before 3 s, after 1 s, buffer 10 s) keep it quick.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamBuffers } from '../../src/capture/stream/stream-buffers.js';
import { StreamCapture } from '../../src/capture/stream/stream-capture.js';
import { pickStreamSource } from '../../src/capture/stream/stream-url.js';
import { createTikTokConnectionFactory } from '../../src/monitor/tiktok-live-connection.js';
import { startFakeFlvServer, type FakeFlvServer } from '../fakes/flv-server.js';
import { startFakeTikTok, type FakeTikTok } from '../fakes/tiktok-server.js';
import { probeDuration } from '../support/media.js';
import { endVideoRig, fileByName } from '../support/video-rig.js';

const run = promisify(execFile);
const log = pino({ level: 'silent' });

let flv: FakeFlvServer;
let tiktok: FakeTikTok;
let root: string;
let buffers: StreamBuffers;
let capture: StreamCapture;

const COLOURS = { bert: [0, 0, 255], alba: [255, 0, 0], hev: [0, 255, 0] } as const;

async function meanColour(path: string): Promise<number[]> {
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-ss', '1', '-i', path, '-frames:v', '1', '-vf', 'scale=1:1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { encoding: 'buffer' });
  return [...stdout.subarray(0, 3)];
}

function expectColour(actual: number[], expected: readonly number[]): void {
  for (const [i, value] of expected.entries()) expect(Math.abs((actual[i] ?? -1) - value)).toBeLessThan(40);
}

async function codecOf(path: string): Promise<string> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', path]);
  return stdout.trim();
}

const filer = (name: string) => fileByName(join(root, 'clips'), name);

async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function isOurFfmpeg(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    if (/\) Z /.test(stat)) return false; // a zombie is dead, only not yet reaped
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).includes(root);
  } catch {
    return false;
  }
}

async function clipNow(streamer: string, name: string, before = 3, after = 1) {
  return capture.capture({ streamer, at: new Date(), beforeSeconds: before, afterSeconds: after }, filer(name));
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'stream-capture-'));
  flv = await startFakeFlvServer();
  tiktok = await startFakeTikTok();
  const connections = createTikTokConnectionFactory(tiktok.transport);
  for (const [name, codec] of [['bert', 'h264'], ['alba', 'h264'], ['hev', 'hevc']] as const) {
    const [r, g, b] = COLOURS[name];
    flv.addLive(name, { colour: `0x${[r, g, b].map((c) => c.toString(16).padStart(2, '0')).join('')}`, codec });
    tiktok.addUser(name, { live: true });
    tiktok.setVideo(name, { url: () => flv.url(name), codec });
  }
  buffers = new StreamBuffers({
    dir: join(root, 'buffers'),
    ffmpegPath: 'ffmpeg',
    maxBuffers: 3,
    log,
    buffer: { bufferSeconds: 10, segmentSeconds: 1, stallMs: 6_000 },
    resolveSource: async (streamer, signal) => pickStreamSource(await connections(streamer).fetchRoomInfo(signal), streamer),
  });
  capture = new StreamCapture({ buffers, dir: join(root, 'buffers'), ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe', hasFfmpeg: true });
  for (const name of ['bert', 'alba']) buffers.start(name);
  await waitFor('both buffers to hold 5 s', () => ['bert', 'alba'].every((n) => {
    const s = buffers.state(n);
    return s?.kind === 'ready' && s.seconds >= 5;
  }));
}, 60_000);

afterAll(() => endVideoRig({ buffers, flv, tiktok, root }));

describe('stream capture', () => {
  it("cuts bert's clip from bert's own live and alba's from alba's, each as long as the window", async () => {
    const [bert, alba] = await Promise.all([clipNow('bert', 'bert'), clipNow('alba', 'alba')]);
    expectColour(await meanColour(bert.path), COLOURS.bert);
    expectColour(await meanColour(alba.path), COLOURS.alba);
    for (const clip of [bert, alba]) {
      const seconds = await probeDuration(clip.path);
      // 4 s asked; the start snaps to the 1 s keyframe at or before it, the end to the nearest one (up
      // to half a segment early), and a probe rounds to the frame: 3.5 s less a frame at the least.
      expect(seconds).toBeGreaterThanOrEqual(3.45);
      expect(seconds).toBeLessThanOrEqual(6.5);
      expect(clip.note).toBeUndefined();
      expect(await codecOf(clip.path)).toBe('h264');
    }
  }, 30_000);

  it('gives a shorter clip that says so when the window reaches past what is buffered', async () => {
    const clip = await clipNow('bert', 'bert-long', 30, 1);
    const seconds = await probeDuration(clip.path);
    expect(seconds).toBeLessThan(14);
    expect(clip.note).toMatch(/^\d+ s of the 31 s asked were buffered/);
  }, 30_000);

  it('comes back with fresh room info after the video connection drops and after its URL expires', async () => {
    const requestsBefore = flv.stats.requests.get('bert') ?? 0;
    const roomInfoBefore = tiktok.stats.roomInfoRequests;
    const firstPid = buffers.get('bert')?.pid;
    flv.expireUrls('bert');
    expect(flv.dropConnections('bert')).toBe(1);
    await waitFor('a new ffmpeg for bert', () => {
      const pid = buffers.get('bert')?.pid;
      return pid !== undefined && pid !== firstPid && buffers.state('bert')?.kind === 'ready';
    }, 30_000);
    // The old URL answers 403 now, so the buffer had to read room info again to get a working one.
    expect(flv.stats.requests.get('bert') ?? 0).toBeGreaterThan(requestsBefore);
    expect(tiktok.stats.roomInfoRequests).toBeGreaterThan(roomInfoBefore);
    await new Promise((r) => setTimeout(r, 4_000));
    const clip = await clipNow('bert', 'bert-after-drop');
    expectColour(await meanColour(clip.path), COLOURS.bert);
    expect(await probeDuration(clip.path)).toBeGreaterThanOrEqual(3.45);
  }, 45_000);

  it('gives an HEVC-only live an h264 clip and keeps the original cut', async () => {
    buffers.start('hev');
    await waitFor('the HEVC buffer', () => {
      const s = buffers.state('hev');
      return s?.kind === 'ready' && s.seconds >= 4;
    }, 30_000);
    const clip = await clipNow('hev', 'hev');
    expect(await codecOf(clip.path)).toBe('h264');
    expectColour(await meanColour(clip.path), COLOURS.hev);
    expect(await codecOf(clip.path.replace(/\.mp4$/, '.original.mp4'))).toBe('hevc');
    expect(clip.note).toMatch(/re-encoded to h264/);
  }, 45_000);

  it('stops that ffmpeg (by pid) when the stream stops, and removes its segments', async () => {
    const pid = buffers.get('alba')?.pid;
    expect(pid).toBeDefined();
    expect(await isOurFfmpeg(pid!)).toBe(true);
    await buffers.stop('alba');
    await waitFor('alba ffmpeg to end', async () => !(await isOurFfmpeg(pid!)), 5_000);
    expect(await readdir(join(root, 'buffers'))).not.toContain('alba');
    await expect(clipNow('alba', 'alba-gone')).rejects.toMatchObject({ code: 'STREAM_NOT_BUFFERED' });
  }, 20_000);

  it('still clips a moment whose LIVE ends during its after window: shorter, and saying so', async () => {
    const clipping = capture.capture({ streamer: 'bert', at: new Date(), beforeSeconds: 3, afterSeconds: 4 }, filer('bert-ended'));
    await new Promise((r) => setTimeout(r, 1_000));
    const stopping = buffers.stop('bert'); // the LIVE ended: its buffer stops while the cut waits
    const clip = await clipping;
    await stopping;
    expectColour(await meanColour(clip.path), COLOURS.bert);
    expect(clip.note).toMatch(/of the 7 s asked were buffered/);
    expect(await readdir(join(root, 'buffers'))).not.toContain('bert');
  }, 20_000);
});
