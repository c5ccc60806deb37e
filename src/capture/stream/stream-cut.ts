/**
 * Cuts a clip from buffered segments without re-encoding: hard links protect the segments from ffmpeg's
 * pruning while we read them, they are joined (see joinedInput), `-c copy`, `+faststart` so Discord starts
 * playing before the download ends, `-avoid_negative_ts make_zero` so the clip starts at 0. HEVC is
 * re-encoded to h264 for the post (Discord clients do not play it reliably); the copied cut is kept too.
 */
import { execFile } from 'node:child_process';
import { copyFile, link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { AppError } from '../../util/errors.js';
import { SHAPE_FILE, type Segment } from './stream-buffer.js';
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
  /** Set when the window spans a mid-live switch and the clip was re-encoded into one picture: what changed. */
  readonly switched?: string;
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
  const kept = segments.filter((_, i) => linked.includes(join(workDir, `${i}.ts`)));
  const groups = await groupByShape(kept, linked, options.ffprobePath);
  if (groups.length > 1) return joinShapes(groups, cut, workDir, options);
  await ffmpeg(ffmpegPath, [...(await joinedInput(kept, linked, workDir)), '-map', '0:v:0', '-map', '0:a:0?', '-c', 'copy',
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

/** Consecutive segments of one video shape (a run, or several runs of the same shape). */
interface ShapeGroup {
  readonly segments: Segment[];
  readonly linked: string[];
  readonly key: string;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly hasAudio: boolean;
}

/**
 * Splits the window where the video changes shape. Within one run the shape is fixed (flv-shapes.ts gives
 * each its own run), so only the first segment of each run is looked at: its run's shape file and an
 * ffprobe of it, which is only paid for when the window holds more than one run.
 */
async function groupByShape(segments: readonly Segment[], linked: readonly string[], ffprobePath: string): Promise<ShapeGroup[]> {
  const runs = new Set(segments.map((s) => dirname(s.path)));
  if (runs.size <= 1) return [];
  const groups: ShapeGroup[] = [];
  let runDir: string | undefined;
  let shape: Omit<ShapeGroup, 'segments' | 'linked'> | undefined;
  for (const [i, segment] of segments.entries()) {
    if (dirname(segment.path) !== runDir || !shape) {
      runDir = dirname(segment.path);
      shape = await shapeOf(runDir, linked[i]!, ffprobePath);
    }
    const last = groups.at(-1);
    if (last && last.key === shape.key) {
      last.segments.push(segment);
      last.linked.push(linked[i]!);
    } else {
      groups.push({ ...shape, segments: [segment], linked: [linked[i]!] });
    }
  }
  return groups;
}

async function shapeOf(runDir: string, firstSegment: string, ffprobePath: string): Promise<Omit<ShapeGroup, 'segments' | 'linked'>> {
  const declared = await readFile(join(runDir, SHAPE_FILE), 'utf8').then((text) => JSON.parse(text) as Record<string, unknown>, () => undefined);
  const { stdout } = await run(ffprobePath, ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name,width,height,r_frame_rate,pix_fmt,profile',
    '-of', 'json', firstSegment], TOOL_LIMIT).catch(() => ({ stdout: '{}' }));
  const streams = (JSON.parse(stdout) as { streams?: Array<Record<string, unknown>> }).streams ?? [];
  const video = streams.find((st) => st.codec_type === 'video') ?? {};
  const rate = typeof video.r_frame_rate === 'string' ? video.r_frame_rate : '30/1';
  const [num, den] = rate.split('/').map(Number);
  const fps = num && den ? Math.min(60, Math.max(1, num / den)) : 30;
  const width = Number(video.width) || 0;
  const height = Number(video.height) || 0;
  const probed = [video.codec_name, width, height, video.pix_fmt, video.profile].join(':');
  const flv = declared && declared.videoCodec !== 'unknown' ? `${String(declared.videoCodec)}:${String(declared.videoConfig)}` : '';
  return { key: `${flv}|${probed}`, width, height, fps, hasAudio: streams.some((st) => st.codec_type === 'audio') };
}

/**
 * A window across a mid-live switch: the shapes cannot share one mp4 track as they are, so each group is
 * scaled into one picture (the largest of them; the others fit inside it, padded, their aspect kept) and the
 * groups are joined by the concat filter, re-encoded to h264/AAC. A group without audio gets silence, so the
 * sound stays in step with the picture.
 */
async function joinShapes(groups: readonly ShapeGroup[], cut: string, workDir: string, options: { readonly ffmpegPath: string; readonly ffprobePath: string }): Promise<CutResult> {
  const canvas = groups.reduce((best, g) => (g.width * g.height >= best.width * best.height ? g : best));
  const width = even(canvas.width || 720);
  const height = even(canvas.height || 1280);
  const fps = Math.max(...groups.map((g) => g.fps));
  const inputs: string[] = [];
  const filters: string[] = [];
  const pairs: string[] = [];
  let next = 0;
  for (const [i, group] of groups.entries()) {
    inputs.push(...(await joinedInput(group.segments, group.linked, join(workDir, `group-${i}`))));
    const videoInput = next++;
    let audioInput = videoInput;
    if (!group.hasAudio) {
      const seconds = group.segments.reduce((n, s) => n + s.durationSeconds, 0).toFixed(3);
      inputs.push('-f', 'lavfi', '-t', seconds, '-i', 'anullsrc=r=48000:cl=stereo');
      audioInput = next++;
    }
    filters.push(`[${videoInput}:v:0]setpts=PTS-STARTPTS,scale=${width}:${height}:force_original_aspect_ratio=decrease,` +
      `pad=${width}:${height}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps=${fps},format=yuv420p[v${i}]`);
    filters.push(`[${audioInput}:a:0]asetpts=PTS-STARTPTS,aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo[a${i}]`);
    pairs.push(`[v${i}][a${i}]`);
  }
  const graph = [...filters, `${pairs.join('')}concat=n=${groups.length}:v=1:a=1[v][a]`].join(';');
  await ffmpeg(options.ffmpegPath, [...inputs, '-filter_complex', graph, '-map', '[v]', '-map', '[a]',
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '128k',
    '-movflags', '+faststart', cut]);
  const probed = await probe(options.ffprobePath, cut);
  const sizes = [...new Set(groups.map((g) => `${g.width}x${g.height}`))];
  const switched = sizes.length > 1 ? `the picture changed ${sizes.join(' -> ')}` : 'the video parameters changed';
  return { path: cut, originalPath: undefined, ...probed, switched };
}

function even(n: number): number {
  return Math.max(2, Math.round(n / 2) * 2);
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
  await mkdir(workDir, { recursive: true });
  const list = join(workDir, 'list.txt');
  await writeFile(list, linked.map((p) => `file '${p.replace(/'/g, "'\\''")}'`).join('\n') + '\n');
  return ['-f', 'concat', '-safe', '0', '-i', list];
}

/**
 * ffmpeg treats a jump of more than 10 s in MPEG-TS input as a broken clock and closes it up, one track at a
 * time: the picture after a 10+ s audio-only pause would be pulled forward over the pause while the sound
 * stays, out of step by the whole pause. A gap inside one buffer run is real time the live spent without
 * that track (the bot's own pull keeps one clock per run), so only a jump longer than the buffer itself is
 * a broken clock.
 */
const MAX_REAL_GAP_SECONDS = String(CAPTURE_DEFAULTS.streamBuffer.bufferSeconds);

async function ffmpeg(path: string, args: string[]): Promise<void> {
  try {
    await run(path, ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-dts_delta_threshold', MAX_REAL_GAP_SECONDS, ...args], { maxBuffer: 4 * 1024 * 1024, ...TOOL_LIMIT });
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
