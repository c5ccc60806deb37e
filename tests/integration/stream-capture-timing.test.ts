/**
 * A stream clip holds the moment it was asked for: the live shows a white flash at a known wall-clock
 * time, and a clip of "4 s before to 2 s after" that time has the flash about 4 s in (the start snaps to
 * the keyframe before). ffmpeg labels its segments from when its output starts, after probing the input
 * for up to 2 s; cut by those labels alone the flash would land ~2 s later and the clip end early.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp } from 'node:fs/promises';
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
import { endVideoRig } from '../support/video-rig.js';

const run = promisify(execFile);
const FPS = 15;

let flv: FakeFlvServer;
let tiktok: FakeTikTok;
let root: string;
let buffers: StreamBuffers;
let flashAt: number;

/** Seconds into the clip of its first bright frame (frames decoded to one grey pixel each). */
async function firstBrightSecond(file: string): Promise<number> {
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-i', file, '-vf', 'scale=1:1,format=gray', '-f', 'rawvideo', '-'], { encoding: 'buffer', maxBuffer: 1 << 20 });
  const index = [...stdout].findIndex((luma) => luma > 128);
  return index === -1 ? Number.NaN : index / FPS;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'stream-timing-'));
  flv = await startFakeFlvServer();
  tiktok = await startFakeTikTok();
  flashAt = Date.now() + 14_000;
  flv.addLive('flash', { colour: 'black', codec: 'h264', flashAt });
  tiktok.addUser('flash', { live: true });
  tiktok.setVideo('flash', { url: () => flv.url('flash'), codec: 'h264' });
  const connections = createTikTokConnectionFactory(tiktok.transport);
  buffers = new StreamBuffers({
    dir: join(root, 'buffers'),
    ffmpegPath: 'ffmpeg',
    maxBuffers: 1,
    log: pino({ level: 'silent' }),
    buffer: { bufferSeconds: 20, segmentSeconds: 1 },
    resolveSource: async (streamer, signal) => pickStreamSource(await connections(streamer).fetchRoomInfo(signal), streamer),
  });
  buffers.start('flash');
}, 30_000);

afterAll(() => endVideoRig({ buffers, flv, tiktok, root }));

describe('stream capture timing', () => {
  it('puts a wall-clock moment where the window says: 4 s before it and 2 s after', async () => {
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, flashAt - Date.now())));
    const capture = new StreamCapture({ buffers, dir: join(root, 'buffers'), ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe', hasFfmpeg: true });
    const clip = await capture.capture({ streamer: 'flash', at: new Date(flashAt), beforeSeconds: 4, afterSeconds: 2 }, async (footage) => {
      const target = join(root, 'clip.mp4');
      await copyFile(footage.path, target);
      return target;
    });
    const flash = await firstBrightSecond(clip.path);
    // 4 s, plus up to one 1 s segment of snapping at the start and the encoder's start-up (~0.3 s).
    expect(flash, 'the flash is where the window puts it').toBeGreaterThan(3.5);
    expect(flash).toBeLessThan(5.7);
    // ...and the clip goes on about 2 s past it (less the start-up; its end snaps to the nearest keyframe).
    const seconds = await probeDuration(clip.path);
    expect(seconds - flash).toBeGreaterThan(0.9);
    expect(clip.note).toBeUndefined();
  }, 40_000);
});
