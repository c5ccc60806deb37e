/**
 * `stream` capture: a clip cut from the moment's own LIVE, [at - before, at + after], out of that stream's
 * rolling buffer (stream-buffer.ts). It waits out the `after` window (until a segment reaching past it is
 * complete, or a little longer at most), cuts without re-encoding (stream-cut.ts) and files the result.
 * A window reaching past what is buffered gives a shorter clip whose note says so, not a failure.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, link, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import { AppError } from '../../util/errors.js';
import type { CaptureRequest, CapturedClip, ClipCapture, Footage } from '../clip-capture.js';
import { sleep } from '../../util/sleep.js';
import { describeBufferState, type Segment, type StreamBuffer } from './stream-buffer.js';
import type { StreamBuffers } from './stream-buffers.js';
import { cutSegments } from './stream-cut.js';
import { CAPTURE_DEFAULTS } from '../defaults.js';

const run = promisify(execFile);

/** Whether ffmpeg and ffprobe run at all; stream capture is refused without them. */
export async function isFfmpegAvailable(ffmpegPath: string, ffprobePath: string): Promise<boolean> {
  try {
    await run(ffmpegPath, ['-version']);
    await run(ffprobePath, ['-version']);
    return true;
  } catch {
    return false;
  }
}

export const FFMPEG_MISSING_MESSAGE =
  'Stream capture needs ffmpeg and ffprobe (install ffmpeg, or set FFMPEG_PATH); OBS capture still works.';

export class StreamCapture implements ClipCapture {
  readonly mode = 'stream' as const;
  private readonly settings: { readonly [K in keyof typeof CAPTURE_DEFAULTS.streamCut]: number };

  constructor(
    private readonly options: {
      readonly buffers: StreamBuffers;
      readonly dir: string;
      readonly ffmpegPath: string;
      readonly ffprobePath: string;
      /** Resolved once at start-up (isFfmpegAvailable). */
      readonly hasFfmpeg: boolean;
      readonly timings?: { readonly [K in keyof typeof CAPTURE_DEFAULTS.streamCut]?: number };
      readonly log?: Logger;
    },
  ) {
    this.settings = { ...CAPTURE_DEFAULTS.streamCut, ...options.timings };
  }

  async capture(request: CaptureRequest, file: (footage: Footage) => Promise<string>): Promise<CapturedClip> {
    if (!this.options.hasFfmpeg) throw new AppError('FFMPEG_MISSING', FFMPEG_MISSING_MESSAGE);
    const buffer = this.options.buffers.get(request.streamer);
    if (!buffer) {
      const state = this.options.buffers.state(request.streamer);
      const why = state ? describeBufferState(state) : 'no buffer is running (is the user live?)';
      throw new AppError('STREAM_NOT_BUFFERED', `No video of @${request.streamer} to cut: ${why}.`);
    }
    const from = request.at.getTime() - request.beforeSeconds * 1000;
    const to = request.at.getTime() + request.afterSeconds * 1000;
    // Held from here: a LIVE that ends during the `after` window stops its buffer, whose segments must
    // stay on disk until this cut has read them (the clip then says how much it holds).
    return buffer.whileCutting(() => this.cut(buffer, request, from, to, file));
  }

  private async cut(
    buffer: StreamBuffer,
    request: CaptureRequest,
    from: number,
    to: number,
    file: (footage: Footage) => Promise<string>,
  ): Promise<CapturedClip> {
    const segments = await this.waitForSegments(buffer, to);
    // The clip ends at the segment boundary nearest to `to` (segments start at keyframes): waiting for the
    // boundary after it would cost up to a whole segment after the window for at most a second of video.
    const chosen = segments.filter((s) => s.start.getTime() < to - halfOf(s) && end(s) > from);
    if (chosen.length === 0) {
      throw new AppError('STREAM_NOT_BUFFERED', `No video of @${request.streamer} was buffered around that moment (${describeBufferState(buffer.state())}).`);
    }
    const workDir = join(this.options.dir, '.cuts', `${request.streamer}-${Date.now()}-${randomBytes(3).toString('hex')}`);
    try {
      const cut = await cutSegments({ segments: chosen, workDir, ffmpegPath: this.options.ffmpegPath, ffprobePath: this.options.ffprobePath });
      // Only a window across a switch is re-encoded; every other clip stays a copy of the live's own video.
      if (cut.switched) this.options.log?.info({ stream: request.streamer, switched: cut.switched }, 'clip spans a mid-live video switch: re-encoded into one picture');
      const asked = request.beforeSeconds + request.afterSeconds;
      const coveredFrom = Math.max(from, chosen[0]?.start.getTime() ?? from);
      const coveredTo = Math.min(to, end(chosen.at(-1) ?? chosen[0]!));
      const covered = Math.max(0, (coveredTo - coveredFrom) / 1000);
      // Segments snap to keyframes, so a full window is often a little longer; only a real gap is worth saying.
      const isShort = covered < asked - 1;
      const note = [
        isShort ? `${Math.round(covered)} s of the ${asked} s asked were buffered` : undefined,
        cut.originalPath ? 'HEVC live re-encoded to h264; the original cut is kept beside it' : undefined,
        cut.switched ? `re-encoded: the live switched its video in this window (${cut.switched})` : undefined,
      ].filter(Boolean).join('; ');
      const savedAt = new Date();
      const filed = await file({ path: cut.path, savedAt, isShared: false, ...(note ? { note } : {}) });
      if (cut.originalPath) await keepBeside(cut.originalPath, filed.replace(/\.mp4$/i, '') + '.original.mp4');
      // `-avoid_negative_ts make_zero`: the clip's 0 s is its first segment's start.
      const startedAt = chosen[0]!.start;
      return { path: filed, savedAt, startedAt, durationSeconds: cut.durationSeconds, ...(note ? { note } : {}) };
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }

  mergeWindowMs(): number {
    return this.settings.mergeWindowMs;
  }

  isFailing(streamer: string): boolean {
    const state = this.options.buffers.state(streamer);
    return state === undefined || state.kind === 'failed';
  }

  /**
   * Waits until the segment boundary nearest `to` is complete (the after window is over), the buffer has
   * stopped (no segment will come), or a little past `to` at most.
   */
  private async waitForSegments(buffer: StreamBuffer, to: number): Promise<Segment[]> {
    const deadline = to + this.settings.maxExtraWaitMs;
    for (;;) {
      const segments = await buffer.segments();
      const last = segments.at(-1);
      if ((last && end(last) >= to - halfOf(last)) || buffer.isStopped || Date.now() >= deadline) return segments;
      // Segments close in real time: none can reach the window's end before then, so sleep until it
      // instead of re-reading every playlist from the trigger on.
      const readyAt = last ? to - halfOf(last) : 0;
      await sleep(Math.max(this.settings.pollMs, Math.min(readyAt, deadline) - Date.now()));
    }
  }
}

/** Half a segment, in ms: how far the clip's end may snap to the nearer keyframe boundary. */
function halfOf(segment: Segment): number {
  return segment.durationSeconds * 500;
}

function end(segment: Segment): number {
  return segment.start.getTime() + segment.durationSeconds * 1000;
}

async function keepBeside(source: string, target: string): Promise<void> {
  await link(source, target).catch(() => copyFile(source, target));
}
