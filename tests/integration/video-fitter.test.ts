import { deriveFfprobePath } from '../../src/util/ffprobe-path.js';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAppError } from '../../src/util/errors.js';
import {
  encodeArgs,
  fitVideo,
  parseFfmpegBanner,
  planEncode,
} from '../../src/delivery/video-fitter.js';
import { FitCache, fitTargetBytes } from '../../src/delivery/fit-cache.js';
import { toAlertContent } from '../../src/delivery/outbox.js';
import type { ClipOutcome } from '../../src/clips/clip-outcome.js';
import { ClipReplyBuilder } from '../../src/delivery/clip-message.js';

const run = promisify(execFile);
const log = pino({ level: 'silent' });
const isPosix = process.platform !== 'win32';

let dir: string;
let clipPath: string;
let clipBytes: number;
let clipHash: string;

async function sha256(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

async function durationOf(path: string): Promise<number> {
  const { stdout } = await run('ffprobe', [
    '-v', 'error', '-show_entries', 'format=duration', '-of', 'default=noprint_wrappers=1:nokey=1', path,
  ]);
  return Number(stdout.trim());
}

async function expectOriginalIntact(): Promise<void> {
  expect(await sha256(clipPath)).toBe(clipHash);
}

/** The folder holds the original plus exactly `extra` (no leftover attempts). */
async function expectFolder(extra: string[] = []): Promise<void> {
  expect((await readdir(dir)).sort()).toEqual(['bob\'s "wow" clip.mp4', ...extra].sort());
}

const toolDirs: string[] = [];

/** A shell script standing in for a tool, in a folder whose name has a space. */
async function fakeTool(name: string, script: string): Promise<string> {
  const toolDir = await mkdtemp(join(tmpdir(), 'fake tool '));
  toolDirs.push(toolDir);
  const path = join(toolDir, name);
  await writeFile(path, `#!/bin/sh\n${script}\n`);
  await chmod(path, 0o755);
  return path;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "video fitter 'it' "));
  clipPath = join(dir, 'bob\'s "wow" clip.mp4');
  // Noise keeps the picture from compressing away, so the clip is ~6 MB like a real capture would be.
  await run('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30:duration=8',
    '-f', 'lavfi', '-i', 'sine=frequency=440:duration=8',
    '-vf', 'noise=alls=30:allf=t',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '6M', '-maxrate', '6M', '-bufsize', '3M',
    '-c:a', 'aac', '-b:a', '128k', '-shortest', clipPath,
  ]);
  clipBytes = (await stat(clipPath)).size;
  clipHash = await sha256(clipPath);
});

afterAll(async () => {
  await Promise.all([dir, ...toolDirs].map((path) => rm(path, { recursive: true, force: true })));
});

describe('fitVideo with real ffmpeg', () => {
  it('generated a clip large enough to need fitting', () => {
    expect(clipBytes).toBeGreaterThan(3_000_000);
  });

  it('returns a clip that already fits unchanged', async () => {
    const fitted = await fitVideo({ inputPath: clipPath, maxBytes: clipBytes, ffmpegPath: 'ffmpeg', log });
    expect(fitted).toEqual({ path: clipPath, reencoded: false, bytes: clipBytes });
    await expectFolder();
  });

  it('re-encodes a clip over the limit into a new file that fits and plays as long', async () => {
    const maxBytes = 1_000_000;
    const fitted = await fitVideo({ inputPath: clipPath, maxBytes, ffmpegPath: 'ffmpeg', log });
    try {
      expect(fitted.reencoded).toBe(true);
      expect(fitted.path).toBe(join(dir, 'bob\'s "wow" clip.discord.mp4'));
      expect(fitted.bytes).toBe((await stat(fitted.path)).size);
      expect(fitted.bytes).toBeLessThanOrEqual(maxBytes);
      // Not absurdly small either: the budget was used.
      expect(fitted.bytes).toBeGreaterThan(maxBytes * 0.5);
      expect(Math.abs((await durationOf(fitted.path)) - 8)).toBeLessThan(0.5);
      await expectOriginalIntact();
      await expectFolder(['bob\'s "wow" clip.discord.mp4']);

      // A second fit never overwrites the first copy.
      const again = await fitVideo({ inputPath: clipPath, maxBytes, ffmpegPath: 'ffmpeg', log });
      expect(again.path).toBe(join(dir, 'bob\'s "wow" clip.discord-2.mp4'));
      await rm(again.path);
    } finally {
      await rm(fitted.path, { force: true });
    }
  }, 120_000);

  it('re-encodes only the picture when the AAC track already fits, into h264 yuv420p with the index first', async () => {
    // 3 MB over 8 s is ~2.7 Mbps: the 128 kbps mono AAC is under a tenth of it, so it is copied, not re-encoded.
    const maxBytes = 3_000_000;
    const fitted = await fitVideo({ inputPath: clipPath, maxBytes, ffmpegPath: 'ffmpeg', log });
    try {
      expect(fitted.bytes).toBeLessThanOrEqual(maxBytes);
      const { stdout } = await run('ffprobe', [
        '-v', 'error', '-show_entries', 'stream=codec_type,codec_name,pix_fmt,channels,bit_rate', '-of', 'json', fitted.path,
      ]);
      const { stdout: sourceOut } = await run('ffprobe', [
        '-v', 'error', '-select_streams', 'a:0', '-show_entries', 'stream=bit_rate', '-of', 'json', clipPath,
      ]);
      const streams = (JSON.parse(stdout) as { streams: Record<string, unknown>[] }).streams;
      expect(streams.find((s) => s.codec_type === 'video')).toMatchObject({ codec_name: 'h264', pix_fmt: 'yuv420p' });
      const audio = streams.find((s) => s.codec_type === 'audio');
      const sourceAudio = (JSON.parse(sourceOut) as { streams: { bit_rate: string }[] }).streams[0];
      // Copied: still mono, still the source's bitrate (a re-encode would be 96 kbps).
      expect(audio).toMatchObject({ codec_name: 'aac', channels: 1 });
      expect(Math.abs(Number(audio?.bit_rate) - Number(sourceAudio?.bit_rate))).toBeLessThan(2_000);
      // +faststart: the index (moov) comes before the media (mdat), so Discord plays it while downloading.
      const head = (await readFile(fitted.path)).subarray(0, 64 * 1024).toString('latin1');
      expect(head.indexOf('moov')).toBeGreaterThan(-1);
      expect(head.indexOf('moov')).toBeLessThan(head.indexOf('mdat'));
      await expectOriginalIntact();
    } finally {
      await rm(fitted.path, { force: true });
    }
  }, 120_000);

  it('reads the duration with ffmpeg when there is no ffprobe', async () => {
    const fitted = await fitVideo({
      inputPath: clipPath,
      maxBytes: 2_000_000,
      ffmpegPath: 'ffmpeg',
      ffprobePath: join(dir, 'no-such-ffprobe'),
      log,
    });
    try {
      expect(fitted.reencoded).toBe(true);
      expect(fitted.bytes).toBeLessThanOrEqual(2_000_000);
    } finally {
      await rm(fitted.path, { force: true });
    }
  }, 120_000);

  it('reports CLIP_TOO_LARGE for an impossible limit and leaves only the original', async () => {
    const attempt = fitVideo({ inputPath: clipPath, maxBytes: 2_048, ffmpegPath: 'ffmpeg', log });
    await expect(attempt).rejects.toSatisfy((err) => isAppError(err, 'CLIP_TOO_LARGE'));
    await expectOriginalIntact();
    await expectFolder();
  });

  it('reports FFMPEG_FAILED for a missing ffmpeg', async () => {
    const attempt = fitVideo({ inputPath: clipPath, maxBytes: 1_000_000, ffmpegPath: join(dir, 'nope', 'ffmpeg'), log });
    await expect(attempt).rejects.toSatisfy((err) => isAppError(err, 'FFMPEG_FAILED') && /not found/.test(err.message));
    await expectFolder();
  });

  it('removes the reserved output when the encode cannot start', async () => {
    const attempt = fitVideo({
      inputPath: clipPath,
      maxBytes: 1_000_000,
      ffmpegPath: join(dir, 'nope', 'ffmpeg'),
      ffprobePath: 'ffprobe',
      log,
    });
    await expect(attempt).rejects.toSatisfy((err) => isAppError(err, 'FFMPEG_FAILED'));
    await expectFolder();
    await expectOriginalIntact();
  });

  // A stand-in ffmpeg that writes `bytes` to its output (the last argument), where `bytes` is a shell
  // expression that may use $kbps (the -b:v it was given): it makes the size outcome deterministic.
  function sizedFfmpeg(bytes: string): Promise<string> {
    return fakeTool(
      'ffmpeg',
      [
        'out=""; kbps=0; prev=""',
        'for a in "$@"; do if [ "$prev" = "-b:v" ]; then kbps=${a%k}; fi; prev="$a"; out="$a"; done',
        `echo "$kbps" >> "$0.calls"`,
        `head -c $(( ${bytes} )) /dev/zero > "$out"`,
      ].join('\n'),
    );
  }

  it.runIf(isPosix)('retries once at a lower bitrate when the first encode overshoots', async () => {
    // Overshoots the video bitrate by 30 %: the first attempt is over 1 MB, the corrected retry is not.
    const ffmpegPath = await sizedFfmpeg('kbps * 1000 * 13 / 10');
    const fitted = await fitVideo({ inputPath: clipPath, maxBytes: 1_000_000, ffmpegPath, ffprobePath: 'ffprobe', log });
    try {
      const calls = (await readFile(`${ffmpegPath}.calls`, 'utf8')).trim().split('\n').map(Number);
      expect(calls).toHaveLength(2);
      expect(calls[1]).toBeLessThan((calls[0] ?? 0) * 0.8);
      expect(fitted).toMatchObject({ reencoded: true, path: join(dir, 'bob\'s "wow" clip.discord.mp4') });
      expect(fitted.bytes).toBeLessThanOrEqual(1_000_000);
      await expectFolder(['bob\'s "wow" clip.discord.mp4']);
    } finally {
      await rm(fitted.path, { force: true });
    }
  });

  it.runIf(isPosix)('gives up with CLIP_TOO_LARGE after two oversized encodes and removes both', async () => {
    const ffmpegPath = await sizedFfmpeg('2000000');
    const attempt = fitVideo({ inputPath: clipPath, maxBytes: 1_000_000, ffmpegPath, ffprobePath: 'ffprobe', log });
    await expect(attempt).rejects.toSatisfy((err) => isAppError(err, 'CLIP_TOO_LARGE'));
    expect((await readFile(`${ffmpegPath}.calls`, 'utf8')).trim().split('\n')).toHaveLength(2);
    await expectFolder();
    await expectOriginalIntact();
  });

  it.runIf(isPosix)('reports the tail of stderr when ffmpeg fails', async () => {
    const ffmpegPath = await fakeTool('ffmpeg', 'echo "frame=1" >&2\necho "Conversion failed: boom" >&2\nexit 1');
    const attempt = fitVideo({ inputPath: clipPath, maxBytes: 1_000_000, ffmpegPath, ffprobePath: 'ffprobe', log });
    await expect(attempt).rejects.toSatisfy(
      (err) => isAppError(err, 'FFMPEG_FAILED') && err.message.includes('Conversion failed: boom'),
    );
    await expectFolder();
  });

  it.runIf(isPosix)('kills an ffmpeg that hangs and cleans up', async () => {
    const ffmpegPath = await fakeTool('ffmpeg', 'exec sleep 60');
    const started = Date.now();
    const attempt = fitVideo({
      inputPath: clipPath,
      maxBytes: 1_000_000,
      ffmpegPath,
      ffprobePath: 'ffprobe',
      log,
      timeoutMs: 1_500,
    });
    await expect(attempt).rejects.toSatisfy((err) => isAppError(err, 'FFMPEG_FAILED') && /longer than/.test(err.message));
    expect(Date.now() - started).toBeLessThan(8_000);
    await expectFolder();
  });

  it('rejects with ABORTED when the signal fires', async () => {
    const controller = new AbortController();
    controller.abort();
    const attempt = fitVideo({ inputPath: clipPath, maxBytes: 1_000_000, ffmpegPath: 'ffmpeg', log, signal: controller.signal });
    await expect(attempt).rejects.toSatisfy((err) => isAppError(err, 'ABORTED'));
    await expectFolder();
  });

  it('reports CLIP_FILE_FAILED for a missing input', async () => {
    const attempt = fitVideo({ inputPath: join(dir, 'missing.mp4'), maxBytes: 1_000, ffmpegPath: 'ffmpeg', log });
    await expect(attempt).rejects.toSatisfy((err) => isAppError(err, 'CLIP_FILE_FAILED'));
  });
});

describe('fitting once for Discord (FitCache)', () => {
  const limit = 100 * 1024;
  let shortClip: string;
  let fitDir: string;

  beforeAll(async () => {
    fitDir = join(dir, '.fitted');
    shortClip = join(dir, 'short.mp4');
    // 5 s that do not compress: about 1 MB, ten times the limit, yet a 140 kbps re-encode fits.
    await run('ffmpeg', [
      '-hide_banner', '-loglevel', 'error', '-y',
      '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25:duration=5', '-f', 'lavfi', '-i', 'sine=duration=5',
      '-vf', 'noise=alls=20:allf=t', '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '1500k', '-c:a', 'aac', '-shortest', shortClip,
    ]);
  }, 60_000);

  it('re-encodes a clip over a 100 KiB limit once for every retry and server, and it fits', async () => {
    const before = await sha256(shortClip);
    expect((await stat(shortClip)).size).toBeGreaterThan(limit * 5);
    let encodes = 0;
    const fits = new FitCache({
      dir: fitDir,
      ffmpegPath: 'ffmpeg',
      log,
      fitVideo: (options) => {
        encodes += 1;
        return fitVideo(options);
      },
    });
    // Two servers at once, then a retry of one of them.
    const [a, b] = await Promise.all([fits.fit(shortClip, limit), fits.fit(shortClip, limit)]);
    const retry = await fits.fit(shortClip, limit);
    expect(encodes).toBe(1);
    expect(a).toEqual(b);
    expect(retry.path).toBe(a.path);
    expect(a.reencoded).toBe(true);
    expect(a.bytes).toBeLessThanOrEqual(fitTargetBytes(limit));
    expect(Math.abs((await durationOf(a.path)) - 5)).toBeLessThan(0.5);
    // A restarted bot finds the finished fit instead of encoding again.
    const restarted = new FitCache({ dir: fitDir, ffmpegPath: 'ffmpeg', log, fitVideo: () => Promise.reject(new Error('encoded again')) });
    expect((await restarted.fit(shortClip, limit)).path).toBe(a.path);

    await fits.release(shortClip);
    expect(await readdir(fitDir)).toEqual([]);
    expect(await sha256(shortClip)).toBe(before);
  }, 120_000);

  it('posts the alert without the file, saying why and where it is, when ffmpeg is missing', async () => {
    const fits = new FitCache({ dir: fitDir, ffmpegPath: join(dir, 'no-such-ffmpeg'), log, fitVideo });
    const replies = new ClipReplyBuilder({ fits, log });
    const at = new Date('2026-11-24T18:30:05Z');
    const outcome: ClipOutcome = {
      clipId: 'c1',
      path: shortClip,
      fileName: 'short.mp4',
      streamer: 'alice',
      triggers: [{ guildId: 'g', streamer: 'alice', chatter: 'bob', keyword: 'wow', message: 'wow', at, isManual: false }],
      savedAt: at,
    };
    const rendered = await replies.render(toAlertContent(outcome, outcome.triggers), limit);
    expect(rendered.message.files ?? []).toHaveLength(0);
    const fileField = JSON.stringify(rendered.message.embeds);
    expect(fileField).toContain('could not be re-encoded');
    expect(fileField).toContain('ffmpeg was not found');
    expect(fileField).toContain(shortClip);
  });
});

describe('video fitter helpers', () => {
  it('finds ffprobe next to ffmpeg', () => {
    expect(deriveFfprobePath('ffmpeg')).toBe('ffprobe');
    expect(deriveFfprobePath('/opt/ff mpeg/bin/ffmpeg')).toBe('/opt/ff mpeg/bin/ffprobe');
    expect(deriveFfprobePath('C:\\Tools\\ffmpeg\\bin\\ffmpeg.exe')).toBe('C:\\Tools\\ffmpeg\\bin\\ffprobe.exe');
    expect(deriveFfprobePath('/usr/local/bin/avconv')).toBe('/usr/local/bin/ffprobe');
  });

  it('shrinks the picture as the bitrate budget drops', () => {
    const media = { durationSeconds: 60, hasAudio: true, width: 1920, height: 1080 };
    const roomy = planEncode({ maxBytes: 500 * 1024 * 1024, media });
    expect(roomy).toMatchObject({ audioKbps: 96, shortSide: undefined });
    const medium = planEncode({ maxBytes: 12 * 1024 * 1024, media });
    expect(medium).toMatchObject({ audioKbps: 96, shortSide: 720 });
    expect(medium.videoKbps).toBeLessThan((12 * 1024 * 1024 * 8) / 60 / 1000 - 96);
    const tight = planEncode({ maxBytes: 5 * 1024 * 1024, media });
    expect(tight).toMatchObject({ audioKbps: 64, shortSide: 360 });
    const portrait = planEncode({ maxBytes: 3 * 1024 * 1024, media: { ...media, width: 1080, height: 1920 } });
    expect(portrait.shortSide).toBe(360);
    expect(encodeArgs('/in.mp4', '/out.mp4', portrait)).toEqual(expect.arrayContaining(['-vf', 'scale=360:-2']));
    // Stereo AAC under the budget is copied; surround or another codec is re-encoded, mono is never upmixed.
    const aac = { codec: 'aac', kbps: 160, channels: 2 };
    const copied = planEncode({ maxBytes: 30 * 1024 * 1024, media: { ...media, audio: aac } });
    expect(copied).toMatchObject({ copyAudio: true, audioKbps: 160 });
    expect(encodeArgs('/in.mp4', '/out.mp4', copied)).toEqual(expect.arrayContaining(['-c:a', 'copy']));
    expect(planEncode({ maxBytes: 5 * 1024 * 1024, media: { ...media, audio: aac } }).copyAudio).toBe(false);
    expect(planEncode({ maxBytes: 30 * 1024 * 1024, media: { ...media, audio: { ...aac, codec: 'opus' } } }).copyAudio).toBe(false);
    const surround = planEncode({ maxBytes: 30 * 1024 * 1024, media: { ...media, audio: { ...aac, channels: 6 } } });
    expect(encodeArgs('/in.mp4', '/out.mp4', surround)).toEqual(expect.arrayContaining(['-ac', '2']));
    const mono = planEncode({ maxBytes: 30 * 1024 * 1024, media: { ...media, audio: { codec: 'mp3', kbps: 128, channels: 1 } } });
    expect(encodeArgs('/in.mp4', '/out.mp4', mono)).not.toContain('-ac');
    const silent = planEncode({ maxBytes: 10 * 1024 * 1024, media: { ...media, hasAudio: false } });
    expect(silent.audioKbps).toBe(0);
    expect(encodeArgs('/in.mp4', '/out.mp4', silent)).toContain('-an');
  });

  it('reads duration and streams from the ffmpeg banner', () => {
    const banner = [
      "Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'x.mp4':",
      '  Duration: 00:01:02.50, start: 0.000000, bitrate: 6000 kb/s',
      '  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 1280x720, 5000 kb/s, 30 fps',
      '  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, stereo, fltp, 128 kb/s',
    ].join('\n');
    expect(parseFfmpegBanner(banner)).toEqual({ durationSeconds: 62.5, hasAudio: true, width: 1280, height: 720 });
    expect(parseFfmpegBanner('nothing here')).toBeUndefined();
  });
});
