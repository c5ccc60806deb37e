/**
 * Fitting a clip under Discord's upload limit: `fit_speed` is seconds of video fitted per second of wall
 * time for a 30 s 1280x720 clip over 10 MiB (ffmpeg test sources with noise, so it does not compress
 * away), through the bot's own path (FitCache: probe, plan, encode, size check); `fit_speed_vs_ffmpeg`
 * is plain ffmpeg (x264 veryfast at the same target bitrates) divided by the bot's time, same clip, same
 * run: how little the bot's probing and checks cost. Sizes are reported too.
 *
 * Run alone with `npx tsx bench/fit.ts`; bench/run.ts imports `benchFit`.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import pino from 'pino';
import { fitVideo, planEncode } from '../src/delivery/video-fitter.js';
import { FitCache, fitTargetBytes } from '../src/delivery/fit-cache.js';
import type { BenchResult } from './result.js';

const run = promisify(execFile);
const SECONDS = 30;
const LIMIT = 10 * 1024 * 1024;
const MB = 1024 * 1024;

export async function benchFit(ffmpegPath = process.env.FFMPEG_PATH ?? 'ffmpeg'): Promise<BenchResult[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-fit-'));
  try {
    const clip = path.join(dir, 'clip.mp4');
    await run(ffmpegPath, [
      '-hide_banner', '-loglevel', 'error', '-y',
      '-f', 'lavfi', '-i', `testsrc2=size=1280x720:rate=30:duration=${SECONDS}`,
      '-f', 'lavfi', '-i', `sine=frequency=440:duration=${SECONDS}`,
      '-vf', 'noise=alls=12:allf=t', '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '5M', '-maxrate', '5M', '-bufsize', '5M',
      '-c:a', 'aac', '-b:a', '128k', '-shortest', clip,
    ]);
    const originalBytes = (await stat(clip)).size;

    const fits = new FitCache({ dir: path.join(dir, 'fitted'), fitVideo, ffmpegPath, log: pino({ level: 'silent' }) });
    const botStart = performance.now();
    const fitted = await fits.fit(clip, LIMIT);
    const botSeconds = (performance.now() - botStart) / 1000;

    // Plain ffmpeg at the bitrates the bot planned, so the two do the same encode: the same picture, and
    // the AAC track copied where the bot copies it (a 128 kbps mono track fits this budget).
    const plan = planEncode({
      maxBytes: fitTargetBytes(LIMIT),
      media: { durationSeconds: SECONDS, hasAudio: true, width: 1280, height: 720, audio: { codec: 'aac', kbps: 128, channels: 1 } },
    });
    const plain = path.join(dir, 'plain.mp4');
    const plainStart = performance.now();
    await run(ffmpegPath, [
      '-hide_banner', '-loglevel', 'error', '-y', '-i', clip,
      ...(plan.shortSide !== undefined ? ['-vf', `scale=-2:${plan.shortSide}`] : []),
      '-c:v', 'libx264', '-preset', 'veryfast', '-b:v', `${plan.videoKbps}k`, '-maxrate', `${plan.videoKbps}k`, '-bufsize', `${plan.videoKbps * 2}k`,
      '-pix_fmt', 'yuv420p', ...(plan.copyAudio ? ['-c:a', 'copy'] : ['-c:a', 'aac', '-b:a', `${plan.audioKbps}k`]),
      '-movflags', '+faststart', plain,
    ]);
    const plainSeconds = (performance.now() - plainStart) / 1000;

    return [
      { name: 'fit_speed', value: round(SECONDS / botSeconds), unit: 'x real time' },
      { name: 'fit_speed_vs_ffmpeg', value: round(plainSeconds / botSeconds), unit: 'x' },
      { name: 'fit_original_size', value: round(originalBytes / MB), unit: 'MiB' },
      { name: 'fit_result_size', value: round(fitted.bytes / MB), unit: 'MiB' },
      { name: 'fit_plain_ffmpeg_size', value: round((await stat(plain)).size / MB), unit: 'MiB' },
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  void benchFit()
    .then((results) => {
      for (const { name, value, unit } of results) console.log(`${name}: ${value} ${unit}`);
    })
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    });
}
