import { spawn } from 'node:child_process';
import { open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { deriveFfprobePath } from '../util/ffprobe-path.js';
import { AppError, isAppError } from '../util/errors.js';
import { DELIVERY_DEFAULTS } from './defaults.js';

/**
 * Makes a clip fit Discord's upload limit. A clip that fits is returned as is; a larger one is re-encoded
 * (H.264 + AAC, sized from the byte budget) into a NEW file beside it. The original is never touched:
 * the bot never deletes or overwrites a clip. Only a failed re-encode attempt of our own is removed.
 *
 * Size targeting is single-pass ABR (two-pass would double the wait on a live alert); the headroom below
 * plus one retry at a bitrate corrected by the measured overshoot is enough in practice.
 *
 * It costs little more than the one x264 encode it needs: an AAC track that already fits the budget
 * (OBS records 160 kbps AAC) is copied, not re-encoded, and a mono track is not upmixed to stereo.
 */

export interface FitVideoOptions {
  readonly inputPath: string;
  /** The upload limit in bytes; the result is at most this big. */
  readonly maxBytes: number;
  /** `ffmpeg` (looked up on PATH) or a path to the binary. */
  readonly ffmpegPath: string;
  /** Defaults to ffprobe next to ffmpegPath; if none is there, durations are read from `ffmpeg -i`. */
  readonly ffprobePath?: string;
  readonly log: Logger;
  /** Deadline for the whole fit, probes and encodes together; processes still running are killed. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /**
   * Where the re-encode goes (the delivery's fit cache names it); written as `.part` and renamed when
   * complete, so a file at this path is always a finished fit. Default: `clip.discord.mp4` beside the clip.
   */
  readonly outputPath?: string;
}

export interface FittedVideo {
  readonly path: string;
  readonly reencoded: boolean;
  readonly bytes: number;
}

export async function fitVideo(options: FitVideoOptions): Promise<FittedVideo> {
  const { maxBytes, ffmpegPath, log, signal } = options;
  if (!Number.isFinite(maxBytes) || maxBytes <= 0) {
    throw new AppError('INTERNAL', `fitVideo needs a positive maxBytes, got ${maxBytes}`);
  }
  // Absolute paths never start with `-`, so ffmpeg cannot mistake a file name for an option.
  const inputPath = resolve(options.inputPath);
  const originalBytes = await fileSize(inputPath);
  if (originalBytes <= maxBytes) return { path: inputPath, reencoded: false, bytes: originalBytes };

  const deadline = Date.now() + (options.timeoutMs ?? DELIVERY_DEFAULTS.fit.timeoutMs);
  const run = (command: string, args: readonly string[], tool: string): Promise<ToolResult> =>
    runTool(command, args, { tool, deadline, ...(signal ? { signal } : {}) });

  const media = await probe(inputPath, ffmpegPath, options.ffprobePath ?? deriveFfprobePath(ffmpegPath), run);
  log.info({ inputPath, bytes: originalBytes, maxBytes, durationSeconds: media.durationSeconds }, 'clip too large; re-encoding');

  let plan = planEncode({ maxBytes, media });
  for (let attempt = 1; attempt <= 2; attempt += 1) {
    if (plan.videoKbps < DELIVERY_DEFAULTS.fit.minVideoKbps) {
      throw tooLarge(inputPath, originalBytes, maxBytes, `it would need a video bitrate under ${DELIVERY_DEFAULTS.fit.minVideoKbps} kbps`);
    }
    const outputPath = options.outputPath === undefined ? await reserveOutputPath(inputPath) : `${resolve(options.outputPath)}.part`;
    let bytes: number;
    try {
      const result = await run(ffmpegPath, encodeArgs(inputPath, outputPath, plan), 'ffmpeg');
      if (result.exitCode !== 0) throw ffmpegFailed(`ffmpeg exited with ${describeExit(result)}`, result.stderrTail);
      bytes = await fileSize(outputPath);
    } catch (err) {
      await removeQuietly(outputPath, log);
      throw err;
    }
    log.info({ outputPath, attempt, bytes, maxBytes, videoKbps: plan.videoKbps, audio: plan.copyAudio ? 'copied' : `${plan.audioKbps} kbps`, shortSide: plan.shortSide }, 'clip re-encoded');
    if (bytes <= maxBytes) {
      if (options.outputPath === undefined) return { path: outputPath, reencoded: true, bytes };
      const finalPath = resolve(options.outputPath);
      await rename(outputPath, finalPath);
      return { path: finalPath, reencoded: true, bytes };
    }

    await removeQuietly(outputPath, log);
    plan = retryPlan(plan, { maxBytes, bytes, media });
  }
  throw tooLarge(inputPath, originalBytes, maxBytes, 'two re-encodes were still over the limit');
}

// ---------------------------------------------------------------------------------------------------
// Planning (pure)

export interface MediaInfo {
  readonly durationSeconds: number;
  readonly hasAudio: boolean;
  readonly width: number | undefined;
  readonly height: number | undefined;
  /** The first audio track's codec, bitrate and channels, when ffprobe says (the ffmpeg banner fallback does not). */
  readonly audio?: { readonly codec: string; readonly kbps: number | undefined; readonly channels: number | undefined };
}

export interface EncodePlan {
  readonly videoKbps: number;
  /** 0 when the input has no audio; the source's bitrate when it is copied. */
  readonly audioKbps: number;
  /** The source's AAC track is copied into the result instead of re-encoded. */
  readonly copyAudio: boolean;
  /** Largest short side of the output picture; undefined keeps the source size. */
  readonly shortSide: number | undefined;
  readonly media: MediaInfo;
}

export function planEncode({ maxBytes, media }: { maxBytes: number; media: MediaInfo }): EncodePlan {
  const totalKbps = (maxBytes * 8 * DELIVERY_DEFAULTS.fit.headroom) / media.durationSeconds / 1000;
  const copyKbps = copyableAudioKbps(media, totalKbps);
  if (copyKbps !== undefined) return withVideoKbps({ audioKbps: copyKbps, copyAudio: true, media, videoKbps: Math.floor(totalKbps - copyKbps) });
  const audioKbps = !media.hasAudio
    ? 0
    : totalKbps < DELIVERY_DEFAULTS.fit.lowAudioBelowKbps
      ? DELIVERY_DEFAULTS.fit.lowAudioKbps
      : DELIVERY_DEFAULTS.fit.audioKbps;
  return withVideoKbps({ audioKbps, copyAudio: false, media, videoKbps: Math.floor(totalKbps - audioKbps) });
}

/** The source audio's bitrate when copying it is cheaper and fits: AAC (Discord plays it), known, small. */
function copyableAudioKbps(media: MediaInfo, totalKbps: number): number | undefined {
  const audio = media.audio;
  if (!media.hasAudio || audio?.codec !== 'aac' || audio.kbps === undefined) return undefined;
  if (audio.channels !== undefined && audio.channels > 2) return undefined;
  const { copyAudioMaxKbps, copyAudioShare } = DELIVERY_DEFAULTS.fit;
  return audio.kbps <= copyAudioMaxKbps && audio.kbps <= totalKbps * copyAudioShare ? Math.ceil(audio.kbps) : undefined;
}

/** After an attempt of `bytes` overshot `maxBytes`: scale the video bitrate by the overshoot, with margin. */
export function retryPlan(previous: EncodePlan, { maxBytes, bytes, media }: { maxBytes: number; bytes: number; media: MediaInfo }): EncodePlan {
  // A copied track is already small and its size is fixed: only the video gives way.
  const audioKbps = previous.copyAudio ? previous.audioKbps : media.hasAudio ? DELIVERY_DEFAULTS.fit.lowAudioKbps : 0;
  const videoKbps = Math.floor(previous.videoKbps * (maxBytes / bytes) * DELIVERY_DEFAULTS.fit.retryMargin);
  return withVideoKbps({ audioKbps, copyAudio: previous.copyAudio, media, videoKbps });
}

function withVideoKbps({
  audioKbps,
  copyAudio,
  media,
  videoKbps,
}: {
  audioKbps: number;
  copyAudio: boolean;
  media: MediaInfo;
  videoKbps: number;
}): EncodePlan {
  const cap = DELIVERY_DEFAULTS.fit.scaleLadder.find(([minKbps]) => videoKbps >= minKbps)?.[1] ?? 240;
  const sourceShortSide =
    media.width !== undefined && media.height !== undefined ? Math.min(media.width, media.height) : undefined;
  const shortSide = sourceShortSide !== undefined && sourceShortSide > cap ? cap : undefined;
  return { videoKbps, audioKbps, copyAudio, shortSide, media };
}

export function encodeArgs(inputPath: string, outputPath: string, plan: EncodePlan): string[] {
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-i', inputPath, '-map', '0:v:0'];
  if (plan.audioKbps > 0) args.push('-map', '0:a:0?');
  if (plan.shortSide !== undefined) {
    const { width = 0, height = 0 } = plan.media;
    // -2 keeps the aspect ratio with an even size (yuv420p needs it); portrait clips cap their width.
    args.push('-vf', width >= height ? `scale=-2:${plan.shortSide}` : `scale=${plan.shortSide}:-2`);
  }
  args.push(
    '-c:v', 'libx264',
    '-preset', 'veryfast',
    '-b:v', `${plan.videoKbps}k`,
    '-maxrate', `${plan.videoKbps}k`,
    '-bufsize', `${plan.videoKbps * 2}k`,
    '-pix_fmt', 'yuv420p',
  );
  if (plan.copyAudio) args.push('-c:a', 'copy');
  else if (plan.audioKbps > 0) {
    args.push('-c:a', 'aac', '-b:a', `${plan.audioKbps}k`);
    // Surround (or unknown) is mixed down to stereo for Discord's player; mono stays mono (half the work).
    const channels = plan.media.audio?.channels;
    if (channels === undefined || channels > 2) args.push('-ac', '2');
  } else args.push('-an');
  // +faststart moves the index to the front so Discord can play the clip before it is fully downloaded.
  args.push('-movflags', '+faststart', '-sn', '-dn', '-f', 'mp4', outputPath);
  return args;
}

// ---------------------------------------------------------------------------------------------------
// Probing

type Run = (command: string, args: readonly string[], tool: string) => Promise<ToolResult>;

async function probe(inputPath: string, ffmpegPath: string, ffprobePath: string, run: Run): Promise<MediaInfo> {
  let result: ToolResult;
  try {
    result = await run(
      ffprobePath,
      ['-v', 'error', '-show_entries', 'format=duration:stream=codec_type,codec_name,width,height,channels,bit_rate', '-of', 'json', inputPath],
      'ffprobe',
    );
  } catch (err) {
    // No ffprobe beside ffmpeg (some Windows builds ship ffmpeg alone): ffmpeg's own banner has the facts.
    if (isToolMissing(err)) return probeWithFfmpeg(inputPath, ffmpegPath, run);
    throw err;
  }
  if (result.exitCode !== 0) throw ffmpegFailed(`ffprobe could not read the clip (${describeExit(result)})`, result.stderrTail);
  const media = parseFfprobeJson(result.stdout);
  if (media === undefined) throw ffmpegFailed('ffprobe reported no duration for the clip', result.stderrTail);
  return media;
}

async function probeWithFfmpeg(inputPath: string, ffmpegPath: string, run: Run): Promise<MediaInfo> {
  // Exits 1 ("At least one output file must be specified") by design; the stream summary is on stderr.
  const result = await run(ffmpegPath, ['-hide_banner', '-nostdin', '-i', inputPath], 'ffmpeg');
  const media = parseFfmpegBanner(result.stderrTail);
  if (media === undefined) throw ffmpegFailed('ffmpeg could not read the clip duration', result.stderrTail);
  return media;
}

export function parseFfprobeJson(text: string): MediaInfo | undefined {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return undefined;
  }
  const root = (data ?? {}) as { format?: { duration?: unknown }; streams?: unknown };
  const durationSeconds = Number(root.format?.duration);
  if (!Number.isFinite(durationSeconds) || durationSeconds <= 0) return undefined;
  const streams = (Array.isArray(root.streams) ? root.streams : []) as {
    codec_type?: unknown;
    codec_name?: unknown;
    width?: unknown;
    height?: unknown;
    channels?: unknown;
    bit_rate?: unknown;
  }[];
  const video = streams.find((s) => s.codec_type === 'video');
  const audio = streams.find((s) => s.codec_type === 'audio');
  // ffprobe prints bit_rate as a string of bits per second ("127916"), or "N/A".
  const audioBps = Number(audio?.bit_rate);
  return {
    durationSeconds,
    hasAudio: audio !== undefined,
    width: typeof video?.width === 'number' ? video.width : undefined,
    height: typeof video?.height === 'number' ? video.height : undefined,
    ...(audio !== undefined && typeof audio.codec_name === 'string'
      ? {
          audio: {
            codec: audio.codec_name,
            kbps: Number.isFinite(audioBps) && audioBps > 0 ? audioBps / 1000 : undefined,
            channels: typeof audio.channels === 'number' ? audio.channels : undefined,
          },
        }
      : {}),
  };
}

export function parseFfmpegBanner(text: string): MediaInfo | undefined {
  const duration = /Duration:\s*(\d+):(\d{2}):(\d{2}(?:\.\d+)?)/.exec(text);
  if (!duration) return undefined;
  const durationSeconds = Number(duration[1]) * 3600 + Number(duration[2]) * 60 + Number(duration[3]);
  if (!Number.isFinite(durationSeconds) || durationSeconds <= 0) return undefined;
  const size = /Stream #[^\n]*?: Video: [^\n]*?(\d{2,5})x(\d{2,5})/.exec(text);
  return {
    durationSeconds,
    hasAudio: /Stream #[^\n]*?: Audio: /.test(text),
    width: size ? Number(size[1]) : undefined,
    height: size ? Number(size[2]) : undefined,
  };
}

// ---------------------------------------------------------------------------------------------------
// Files

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (err) {
    throw new AppError('CLIP_FILE_FAILED', `cannot read the clip file ${path}`, { cause: err });
  }
}

/**
 * `clip.mp4` → `clip.discord.mp4` (or `clip.discord-2.mp4`, … when taken), created empty with `wx` so that
 * no existing file is ever overwritten, even by a concurrent fit of the same clip.
 */
async function reserveOutputPath(inputPath: string): Promise<string> {
  const folder = dirname(inputPath);
  const stem = basename(inputPath, extname(inputPath));
  for (let n = 1; n <= 100; n += 1) {
    const candidate = join(folder, `${stem}.discord${n === 1 ? '' : `-${n}`}.mp4`);
    try {
      const handle = await open(candidate, 'wx');
      await handle.close();
      return candidate;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new AppError('CLIP_FILE_FAILED', `cannot create the re-encoded file ${candidate}`, { cause: err });
      }
    }
  }
  throw new AppError('CLIP_FILE_FAILED', `too many re-encoded copies of ${inputPath} already exist`);
}

async function removeQuietly(path: string, log: Logger): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn({ err, path }, 'could not remove a failed re-encode');
  }
}

// ---------------------------------------------------------------------------------------------------
// Processes

interface ToolResult {
  readonly exitCode: number | null;
  readonly exitSignal: NodeJS.Signals | null;
  readonly stdout: string;
  /** The end of stderr, where ffmpeg puts the reason it failed. */
  readonly stderrTail: string;
}

const MAX_STDOUT = 1024 * 1024;
const MAX_STDERR = 16 * 1024;
/** After SIGKILL, how long to wait for the exit before giving up on the process entirely. */
const KILL_GRACE_MS = 5_000;

/**
 * Runs a tool with an argument array (no shell: paths with spaces and quotes pass through untouched).
 * Resolves with the exit status; rejects with AppError('FFMPEG_FAILED') when the tool cannot start or
 * passes the deadline, and AppError('ABORTED') on abort. A process that overstays is killed.
 */
function runTool(
  command: string,
  args: readonly string[],
  { tool, deadline, signal }: { tool: string; deadline: number; signal?: AbortSignal },
): Promise<ToolResult> {
  return new Promise<ToolResult>((resolvePromise, reject) => {
    if (signal?.aborted) {
      reject(new AppError('ABORTED', `${tool} was not started: aborted`, { cause: signal.reason }));
      return;
    }
    const remainingMs = deadline - Date.now();
    if (remainingMs <= 0) {
      reject(ffmpegFailed(`${tool} was not started: the time limit for fitting the clip has passed`, ''));
      return;
    }

    let stdout = '';
    let stderr = '';
    let failure: AppError | undefined;
    let isSettled = false;
    let graceTimer: NodeJS.Timeout | undefined;

    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true, shell: false });
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      if (stdout.length < MAX_STDOUT) stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-MAX_STDERR);
    });

    const settle = (outcome: () => void): void => {
      if (isSettled) return;
      isSettled = true;
      clearTimeout(timer);
      clearTimeout(graceTimer);
      signal?.removeEventListener('abort', onAbort);
      outcome();
    };
    const kill = (reason: AppError): void => {
      failure ??= reason;
      child.kill('SIGKILL');
      // Normally 'close' follows at once; never wait on a process that will not die.
      graceTimer = setTimeout(() => settle(() => reject(failure)), KILL_GRACE_MS);
    };
    const onAbort = (): void => kill(new AppError('ABORTED', `${tool} was aborted`, { cause: signal?.reason }));
    const timer = setTimeout(
      () => kill(ffmpegFailed(`${tool} took longer than the ${Math.round(remainingMs / 1000)} s left and was stopped`, stderr)),
      remainingMs,
    );
    signal?.addEventListener('abort', onAbort, { once: true });

    child.on('error', (err: NodeJS.ErrnoException) => {
      const reason =
        err.code === 'ENOENT'
          ? `${tool} was not found at "${command}" (set FFMPEG_PATH or install ffmpeg)`
          : err.code === 'EACCES'
            ? `${tool} at "${command}" is not executable`
            : `${tool} could not be started: ${err.message}`;
      settle(() => reject(new AppError('FFMPEG_FAILED', reason, { cause: err })));
    });
    child.on('close', (exitCode, exitSignal) => {
      settle(() => (failure ? reject(failure) : resolvePromise({ exitCode, exitSignal, stdout, stderrTail: stderr })));
    });
  });
}

function isToolMissing(err: unknown): boolean {
  return isAppError(err, 'FFMPEG_FAILED') && (err.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

function describeExit(result: ToolResult): string {
  return result.exitSignal ? `signal ${result.exitSignal}` : `code ${String(result.exitCode)}`;
}

/** A short reason: ffmpeg's last few stderr lines, trimmed, so alerts and logs stay readable. */
function ffmpegFailed(summary: string, stderr: string): AppError {
  const tail = stderr
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .slice(-3)
    .join(' | ')
    .slice(-400);
  return new AppError('FFMPEG_FAILED', tail ? `${summary}: ${tail}` : summary);
}

function tooLarge(inputPath: string, bytes: number, maxBytes: number, why: string): AppError {
  return new AppError(
    'CLIP_TOO_LARGE',
    `${basename(inputPath)} (${formatMb(bytes)}) cannot be made to fit ${formatMb(maxBytes)}: ${why}`,
  );
}

function formatMb(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
