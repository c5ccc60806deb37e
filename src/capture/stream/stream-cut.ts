/**
 * Cuts a clip from buffered segments without re-encoding: hard links protect the segments from ffmpeg's
 * pruning while we read them, they are joined (see joinedInput), `-c copy`, `+faststart` so Discord starts
 * playing before the download ends, `-avoid_negative_ts make_zero` so the clip starts at 0. HEVC is
 * re-encoded to h264 for the post (Discord clients do not play it reliably); the copied cut is kept too.
 */
import { execFile } from 'node:child_process';
import { copyFile, link, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { AppError } from '../../util/errors.js';
import type { Segment } from './stream-buffer.js';
import { CAPTURE_DEFAULTS } from '../defaults.js';

const run = promisify(execFile);
/** execFile kills the child by its pid with SIGKILL once the time is up. */
const TOOL_LIMIT = { timeout: CAPTURE_DEFAULTS.streamCut.toolTimeoutMs, killSignal: 'SIGKILL' } as const;

export interface CutResult {
  /** The clip to post (h264). */
  readonly path: string;
  /** The copied HEVC cut when `path` had to be re-encoded. */
  readonly originalPath: string | undefined;
  readonly durationSeconds: number;
  readonly codec: string;
}

export async function cutSegments(options: {
  readonly segments: readonly Segment[];
  readonly workDir: string;
  readonly ffmpegPath: string;
  readonly ffprobePath: string;
}): Promise<CutResult> {
  const { segments, workDir, ffmpegPath } = options;
  await mkdir(workDir, { recursive: true });
  const linked: string[] = [];
  for (const [i, segment] of segments.entries()) {
    const target = join(workDir, `${i}.ts`);
    try {
      await link(segment.path, target);
    } catch {
      // Another file system (or pruned this instant): a copy still protects it; a gone segment is skipped.
      const copied = await copyFile(segment.path, target).then(() => true, () => false);
      if (!copied) continue;
    }
    linked.push(target);
  }
  if (linked.length === 0) throw new AppError('STREAM_NOT_BUFFERED', 'The buffered video was gone before it could be cut.');
  const cut = join(workDir, 'cut.mp4');
  await ffmpeg(ffmpegPath, [...(await joinedInput(segments, linked, workDir)), '-map', '0:v:0', '-map', '0:a:0?', '-c', 'copy',
    '-avoid_negative_ts', 'make_zero', '-movflags', '+faststart', cut]);
  const probed = await probe(options.ffprobePath, cut);
  await Promise.all(linked.map((p) => rm(p, { force: true })));
  if (probed.codec !== 'hevc') return { path: cut, originalPath: undefined, ...probed };
  const h264 = join(workDir, 'cut-h264.mp4');
  await ffmpeg(ffmpegPath, ['-i', cut, '-map', '0:v:0', '-map', '0:a:0?', '-c:v', 'libx264', '-preset', 'veryfast',
    '-crf', '23', '-pix_fmt', 'yuv420p', '-c:a', 'copy', '-movflags', '+faststart', h264]);
  const reencoded = await probe(options.ffprobePath, h264);
  return { path: h264, originalPath: cut, ...reencoded };
}

/**
 * Segments of one ffmpeg run are one continuous MPEG-TS cut in pieces: joined byte by byte (the `concat:`
 * protocol) they are probed once, about twice as fast as the concat demuxer, which opens and probes every
 * file. Segments of several runs (a restart between them) restart their timestamps, which only the concat
 * demuxer rebases, so they go through it; so does a path with `|`, the protocol's separator.
 */
async function joinedInput(segments: readonly Segment[], linked: readonly string[], workDir: string): Promise<string[]> {
  const runs = new Set(segments.map((s) => dirname(s.path)));
  if (runs.size === 1 && !linked.some((p) => p.includes('|'))) return ['-i', `concat:${linked.join('|')}`];
  const list = join(workDir, 'list.txt');
  await writeFile(list, linked.map((p) => `file '${p.replace(/'/g, "'\\''")}'`).join('\n') + '\n');
  return ['-f', 'concat', '-safe', '0', '-i', list];
}

async function ffmpeg(path: string, args: string[]): Promise<void> {
  try {
    await run(path, ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...args], { maxBuffer: 4 * 1024 * 1024, ...TOOL_LIMIT });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim().split('\n').pop() ?? '';
    throw new AppError('FFMPEG_FAILED', `ffmpeg could not cut the clip${stderr ? `: ${stderr}` : ''}.`, { cause: err });
  }
}

async function probe(ffprobePath: string, file: string): Promise<{ durationSeconds: number; codec: string }> {
  try {
    const { stdout } = await run(ffprobePath, ['-v', 'error', '-select_streams', 'v:0', '-show_entries',
      'stream=codec_name:format=duration', '-of', 'json', file], TOOL_LIMIT);
    const parsed = JSON.parse(stdout) as { streams?: Array<{ codec_name?: string }>; format?: { duration?: string } };
    const durationSeconds = Number.parseFloat(parsed.format?.duration ?? '');
    const codec = parsed.streams?.[0]?.codec_name;
    if (!codec || !Number.isFinite(durationSeconds)) throw new Error(`no video stream in ${file}`);
    return { durationSeconds, codec };
  } catch (err) {
    throw new AppError('FFMPEG_FAILED', 'The cut clip is not a playable video (ffprobe could not read it).', { cause: err });
  }
}
