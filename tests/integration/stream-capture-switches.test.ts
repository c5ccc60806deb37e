/**
 * Lives whose video changes shape mid-stream, as TikTok's do when a guest joins, a battle starts or the
 * streamer pauses (tests/fakes/flv-splice.ts splices real ffmpeg encodes into one FLV with new sequence
 * headers at each switch). Stream capture with the defaults a user gets (60 s buffer, 2 s segments, the
 * 20 s before / 5 s after window), real ffmpeg buffering and cutting, the real TikTok adapter reading room
 * info from the fake TikTok. Every clip is decoded whole: no error may be reported.
 */
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamBuffers } from '../../src/capture/stream/stream-buffers.js';
import { StreamCapture } from '../../src/capture/stream/stream-capture.js';
import { pickStreamSource } from '../../src/capture/stream/stream-url.js';
import { createTikTokConnectionFactory } from '../../src/monitor/tiktok-live-connection.js';
import { SETTINGS_DEFAULTS } from '../../src/store/settings-schema.js';
import { startFakeFlvServer, type FakeFlvServer } from '../fakes/flv-server.js';
import { startFakeTikTok, type FakeTikTok } from '../fakes/tiktok-server.js';
import { probeDuration } from '../support/media.js';
import { endVideoRig, fileByName } from '../support/video-rig.js';

const run = promisify(execFile);
const BEFORE = SETTINGS_DEFAULTS.windowBeforeSeconds;
const AFTER = SETTINGS_DEFAULTS.windowAfterSeconds;
/** Long enough that the default window before the trigger is all buffered. */
const LEAD_SECONDS = BEFORE + 6;

const RGB = { red: [255, 0, 0], blue: [0, 0, 255], green: [0, 128, 0], yellow: [255, 255, 0], magenta: [255, 0, 255], white: [255, 255, 255] } as const;

let flv: FakeFlvServer;
let tiktok: FakeTikTok;
let root: string;
let buffers: StreamBuffers;
let capture: StreamCapture;
const logLines: Array<Record<string, unknown>> = [];

/** The colour at the centre of the frame `at` seconds into the clip (the centre is picture, never padding). */
async function colourAt(path: string, at: number): Promise<number[]> {
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-ss', String(at), '-i', path, '-frames:v', '1',
    '-vf', 'crop=8:8:(iw-8)/2:(ih-8)/2,scale=1:1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { encoding: 'buffer' });
  return [...stdout.subarray(0, 3)];
}

function expectColour(actual: number[], expected: readonly number[]): void {
  for (const [i, value] of expected.entries()) expect(Math.abs((actual[i] ?? -1) - value), `${actual.join(',')} vs ${expected.join(',')}`).toBeLessThan(50);
}

/** What a viewer's player meets: every frame and sample decoded, and what ffmpeg complained about. */
async function decodeErrors(path: string): Promise<string> {
  const { stderr } = await run('ffmpeg', ['-v', 'error', '-i', path, '-f', 'null', '-'], { maxBuffer: 16 * 1024 * 1024 });
  return stderr.trim();
}

async function streamsOf(path: string): Promise<Array<{ codec_type: string; width?: number; height?: number }>> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type,width,height', '-of', 'json', path]);
  return (JSON.parse(stdout) as { streams: Array<{ codec_type: string; width?: number; height?: number }> }).streams;
}

async function trackSeconds(path: string, track: 'a' | 'v'): Promise<number> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', `${track}:0`, '-show_entries', 'stream=duration', '-of', 'csv=p=0', path]);
  return Number.parseFloat(stdout.trim());
}

const filer = (name: string) => fileByName(join(root, 'clips'), name);

async function waitFor(what: string, check: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Wall-clock ms when phase `index` of the streamer's live began (waits for it). */
async function phaseStart(streamer: string, index: number): Promise<number> {
  await waitFor(`${streamer} phase ${index}`, () => flv.phaseStartedAt(streamer)[index] !== undefined, (LEAD_SECONDS + 40) * 1000);
  return flv.phaseStartedAt(streamer)[index]!;
}

/** Clips the moment `at` with the default window, as a keyword at that time would. */
async function clipAt(streamer: string, name: string, at: number, before: number = BEFORE, after: number = AFTER) {
  const wait = at - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  return capture.capture({ streamer, at: new Date(at), beforeSeconds: before, afterSeconds: after }, filer(name));
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'stream-switches-'));
  flv = await startFakeFlvServer();
  tiktok = await startFakeTikTok();
  const connections = createTikTokConnectionFactory(tiktok.transport);
  const lives = {
    // A guest joins: the landscape solo picture becomes TikTok's portrait split screen (new SPS/PPS).
    guest: [{ seconds: LEAD_SECONDS, width: 640, height: 360, colour: 'red' }, { seconds: 0, width: 720, height: 1280, colour: 'blue' }],
    // The streamer pauses: 10 s of sound only, then the same picture again.
    paused: [{ seconds: LEAD_SECONDS, width: 640, height: 360, colour: 'green' }, { seconds: 10, tracks: 'audio' }, { seconds: 0, width: 640, height: 360, colour: 'yellow' }],
    // The streamer mutes: 10 s of picture only.
    muted: [{ seconds: LEAD_SECONDS, width: 640, height: 360, colour: 'magenta' }, { seconds: 10, tracks: 'video', width: 640, height: 360, colour: 'white' }, { seconds: 0, width: 640, height: 360, colour: 'magenta' }],
  } as const;
  for (const [name, phases] of Object.entries(lives)) {
    flv.addLive(name, { colour: 'black', phases });
    tiktok.addUser(name, { live: true });
    tiktok.setVideo(name, { url: () => flv.url(name), codec: 'h264' });
  }
  const log = pino({ level: 'info' }, { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) });
  buffers = new StreamBuffers({
    dir: join(root, 'buffers'),
    ffmpegPath: 'ffmpeg',
    maxBuffers: 3,
    log,
    resolveSource: async (streamer, signal) => pickStreamSource(await connections(streamer).fetchRoomInfo(signal), streamer),
  });
  capture = new StreamCapture({ buffers, dir: join(root, 'buffers'), ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe', hasFfmpeg: true, log });
  for (const name of Object.keys(lives)) buffers.start(name);
}, 30_000);

afterAll(() => endVideoRig({ buffers, flv, tiktok, root }));

describe('stream capture across mid-live switches (defaults)', () => {
  it('gives a moment right after a guest joins one clean clip of the whole window, before and after the switch', async () => {
    const switchedAt = await phaseStart('guest', 1);
    const clip = await clipAt('guest', 'guest', switchedAt + 3_000);
    expect(await decodeErrors(clip.path)).toBe('');
    const streams = await streamsOf(clip.path);
    expect(streams.filter((s) => s.codec_type === 'video')).toEqual([{ codec_type: 'video', width: 720, height: 1280 }]);
    expect(streams.some((s) => s.codec_type === 'audio')).toBe(true);
    const seconds = await probeDuration(clip.path);
    expect(seconds).toBeGreaterThan(BEFORE + AFTER - 3);
    expectColour(await colourAt(clip.path, 1), RGB.red); // before the guest: the solo picture, fitted in
    expectColour(await colourAt(clip.path, seconds - 1), RGB.blue); // after: the split screen
    expect(clip.note).toMatch(/re-encoded: the live switched its video in this window \(the picture changed 640x360 -> 720x1280\)/);
    expect(logLines.some((l) => l.msg === 'clip spans a mid-live video switch: re-encoded into one picture' && l.stream === 'guest')).toBe(true);
    // The buffer went on across the switch, in a new run for the new shape, and is still buffering.
    expect(logLines.some((l) => l.msg === 'the live switched its video mid-stream: new segment run' && l.stream === 'guest')).toBe(true);
    expect(buffers.state('guest')?.kind).toBe('ready');
  }, 120_000);

  it('does not re-encode a clip that stays on one side of the switch', async () => {
    const switchedAt = await phaseStart('guest', 1);
    const clip = await clipAt('guest', 'guest-after', Math.max(Date.now(), switchedAt + 8_000), 4, 1);
    expect(await decodeErrors(clip.path)).toBe('');
    expect(clip.note).toBeUndefined();
    expect((await streamsOf(clip.path)).find((s) => s.codec_type === 'video')).toMatchObject({ width: 720, height: 1280 });
    expectColour(await colourAt(clip.path, 1), RGB.blue);
    const reencoded = logLines.filter((l) => l.msg === 'clip spans a mid-live video switch: re-encoded into one picture');
    expect(reencoded).toHaveLength(1);
  }, 60_000);

  it('clips a moment during a 10 s audio-only pause: the sound throughout, the picture before and after', async () => {
    const pausedAt = await phaseStart('paused', 1);
    const resumedAt = await phaseStart('paused', 2);
    expect(resumedAt - pausedAt).toBeGreaterThanOrEqual(10_000);
    // A chat a second before the picture comes back: the window holds the pause and what follows.
    const clip = await clipAt('paused', 'paused', resumedAt - 1_000);
    expect(await decodeErrors(clip.path)).toBe('');
    const seconds = await probeDuration(clip.path);
    expect(seconds).toBeGreaterThan(BEFORE + AFTER - 3);
    expectColour(await colourAt(clip.path, 1), RGB.green);
    expectColour(await colourAt(clip.path, seconds - 1), RGB.yellow);
    const streams = await streamsOf(clip.path);
    expect(streams.map((s) => s.codec_type).sort()).toEqual(['audio', 'video']);
    expect(await trackSeconds(clip.path, 'a')).toBeGreaterThan(seconds - 1); // the sound never stopped
    expect(clip.note).toBeUndefined(); // same picture before and after: copied, not re-encoded
  }, 120_000);

  it('clips a moment during a 10 s muted stretch: the picture throughout', async () => {
    const mutedAt = await phaseStart('muted', 1);
    const unmutedAt = await phaseStart('muted', 2);
    expect(unmutedAt - mutedAt).toBeGreaterThanOrEqual(10_000);
    const clip = await clipAt('muted', 'muted', unmutedAt - 1_000);
    expect(await decodeErrors(clip.path)).toBe('');
    const seconds = await probeDuration(clip.path);
    expect(seconds).toBeGreaterThan(BEFORE + AFTER - 3);
    expectColour(await colourAt(clip.path, 1), RGB.magenta);
    expectColour(await colourAt(clip.path, seconds - 5), RGB.white); // the muted stretch
    expectColour(await colourAt(clip.path, seconds - 1), RGB.magenta);
    expect(await trackSeconds(clip.path, 'v')).toBeGreaterThan(seconds - 1); // the picture never stopped
    expect(clip.note).toBeUndefined();
  }, 120_000);
});
