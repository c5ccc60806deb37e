/**
 * The rolling buffer of one LIVE's own video: one ffmpeg pulls the FLV and copies it, never re-encoding,
 * into short MPEG-TS segments (`-f hls`, wall-clock `#EXT-X-PROGRAM-DATE-TIME` per segment, old segments
 * deleted as it goes). Why one ffmpeg per live rather than the bot parsing FLV into a ring itself: the
 * issue's figures for `-c copy -f hls` (1.3 % of a core, 14 MB private memory, libraries shared between
 * ffmpegs) are already near the goals, ffmpeg handles every FLV/HEVC/timestamp quirk, MPEG-TS on disk
 * survives a crash, and a cut is only the concat demuxer over files already there.
 *
 * Each ffmpeg run writes into its own folder (`<dir>/<streamer>/<run>/`) so a restart never overwrites
 * segments a cut may be reading. It restarts with fresh room info when ffmpeg exits (403/404 on an
 * expired URL, end of file, network) or stalls (no new segment in `stallMs`), with backoff.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { Agent, IncomingMessage } from 'node:http';
import type { Writable } from 'node:stream';
import { readdir, readFile, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { sleep } from '../../util/sleep.js';
import { errorMessage } from '../../util/text.js';
import type { FfmpegPidFile } from './ffmpeg-pids.js';
import type { StreamSource } from './stream-url.js';
import { FlvShapeSplitter, type FlvShape } from './flv-shapes.js';
import { openVideoStream } from './stream-pull.js';
import { CAPTURE_DEFAULTS } from '../defaults.js';

export type StreamBufferOptions = { readonly [K in keyof typeof CAPTURE_DEFAULTS.streamBuffer]?: number };

export type BufferState =
  | { readonly kind: 'filling' }
  | { readonly kind: 'ready'; readonly seconds: number }
  | { readonly kind: 'reconnecting'; readonly reason: string }
  | { readonly kind: 'failed'; readonly reason: string }
  | { readonly kind: 'waiting-for-slot' }
  | { readonly kind: 'stopped' };

export interface Segment {
  readonly path: string;
  readonly start: Date;
  readonly durationSeconds: number;
}

export interface StreamBufferDeps {
  readonly streamer: string;
  readonly dir: string;
  readonly ffmpegPath: string;
  readonly pids: FfmpegPidFile;
  /** Fresh room info -> the source to pull; rejects when there is none (the LIVE ended, restricted). */
  readonly resolveSource: (signal: AbortSignal) => Promise<StreamSource>;
  readonly log: Logger;
  readonly options?: StreamBufferOptions;
  /** TIKTOK_PROXY_URL's agent: the video is pulled through it too. */
  readonly agent?: Agent | undefined;
}

export class StreamBuffer {
  readonly streamer: string;
  private readonly settings: Required<StreamBufferOptions>;
  private readonly controller = new AbortController();
  /** ffmpegs of the current pull: the running shape's, and a previous shape's finishing its last segment. */
  private readonly children = new Set<ChildProcess>();
  private readonly lastStderr = new Map<ChildProcess, string>();
  private runDir: string | undefined;
  private runNumber = 0;
  private failure: { kind: 'reconnecting' | 'failed'; reason: string } | undefined;
  private lastSegmentSeenAt = Date.now();
  private lastSegmentCount = 0;
  private loop: Promise<void> | undefined;
  private lastSeconds = 0;
  /** This buffer's own run folders: stop() removes these, never a newer buffer's of the same stream. */
  private readonly runDirs = new Set<string>();
  /** Cuts reading this buffer's segments: stop() ends ffmpeg at once but keeps the files until they finish. */
  private readonly cuts = new Set<Promise<unknown>>();

  constructor(private readonly deps: StreamBufferDeps) {
    this.streamer = deps.streamer;
    this.settings = { ...CAPTURE_DEFAULTS.streamBuffer, ...deps.options };
  }

  /** Pid of the ffmpeg running now (tests check /proc with it). */
  get pid(): number | undefined {
    const newest = [...this.children].at(-1);
    return newest?.exitCode === null ? newest.pid : undefined;
  }

  start(): void {
    if (this.loop) return;
    this.loop = this.run().catch((err: unknown) => {
      this.failure = { kind: 'failed', reason: errorMessage(err) };
      this.deps.log.error({ err, stream: this.streamer }, 'stream buffer loop failed');
    });
  }

  /**
   * Ends ffmpeg (by its pid) and removes this buffer's segments, once the cuts still reading them (a
   * moment whose LIVE ended during its `after` window) are done.
   */
  async stop(): Promise<void> {
    this.controller.abort();
    this.endChild();
    await this.loop;
    await Promise.allSettled([...this.cuts]);
    await Promise.all([...this.runDirs].map((dir) => rm(dir, { recursive: true, force: true })));
    // The stream's folder goes too unless a new buffer of the same stream has started in it meanwhile.
    await rmdir(join(this.deps.dir, this.streamer)).catch(() => undefined);
  }

  /** Whether stop() was called: no segment will be added any more. */
  get isStopped(): boolean {
    return this.controller.signal.aborted;
  }

  /** Runs `cut` with this buffer's segments kept on disk until it settles, even if the buffer stops. */
  async whileCutting<T>(cut: () => Promise<T>): Promise<T> {
    const running = cut();
    this.cuts.add(running);
    try {
      return await running;
    } finally {
      this.cuts.delete(running);
    }
  }

  state(): BufferState {
    if (this.controller.signal.aborted) return { kind: 'stopped' };
    // Cleared by the first segment of a new run: until then the buffer is not really back.
    if (this.failure) return this.failure;
    if (this.lastSeconds <= 0) return { kind: 'filling' };
    return { kind: 'ready', seconds: Math.round(this.lastSeconds) };
  }

  /** Complete segments of every run still on disk, oldest first. */
  async segments(): Promise<Segment[]> {
    const root = join(this.deps.dir, this.streamer);
    let runs: string[];
    try {
      runs = (await readdir(root)).filter((r) => /^\d+$/.test(r)).sort((a, b) => Number(a) - Number(b));
    } catch {
      return [];
    }
    const all: Segment[] = [];
    for (const run of runs) all.push(...(await readPlaylist(join(root, run))));
    const horizon = Date.now() - this.settings.bufferSeconds * 1000;
    const kept = all.filter((s) => s.start.getTime() + s.durationSeconds * 1000 >= horizon);
    this.lastSeconds = kept.reduce((n, s) => n + s.durationSeconds, 0);
    return kept;
  }

  private async run(): Promise<void> {
    const signal = this.controller.signal;
    let backoff: number = this.settings.restartMinMs;
    // Runs an earlier bot left here (killed before its stop() could remove them) go once they are stale.
    await this.prune();
    while (!signal.aborted) {
      let source: StreamSource;
      try {
        source = await this.deps.resolveSource(signal);
      } catch (err) {
        if (signal.aborted) return;
        this.failure = { kind: 'failed', reason: errorMessage(err) };
        this.deps.log.warn({ err, stream: this.streamer }, 'stream buffer has no source');
        await sleep(backoff, signal).catch(() => undefined);
        backoff = Math.min(backoff * 2, this.settings.restartMaxMs);
        continue;
      }
      // Stopped while room info was read: no ffmpeg may start after stop() ended the last one.
      if (signal.aborted) return;
      const startedAt = Date.now();
      const reason = await this.pull(source, signal);
      if (signal.aborted) return;
      this.failure = { kind: 'reconnecting', reason };
      this.deps.log.warn({ stream: this.streamer, reason }, 'stream buffer restarting with fresh room info');
      // A run that buffered for a while earns a quick restart; one that died at once backs off.
      backoff = Date.now() - startedAt > 30_000 ? this.settings.restartMinMs : Math.min(backoff * 2, this.settings.restartMaxMs);
      await this.prune();
      await sleep(backoff === this.settings.restartMinMs ? 0 : backoff, signal).catch(() => undefined);
    }
  }

  /**
   * Reads the video until it ends, fails or stalls, feeding each of its shapes (flv-shapes.ts) to its own
   * ffmpeg run; resolves with why the pull ended.
   */
  private async pull(source: StreamSource, signal: AbortSignal): Promise<string> {
    let res: IncomingMessage;
    try {
      res = await openVideoStream(source.url, { headers: source.headers, agent: this.deps.agent, signal, idleMs: this.settings.stallMs });
    } catch (err) {
      return signal.aborted ? 'stopped' : errorMessage(err);
    }
    const splitter = new FlvShapeSplitter();
    let current: ChildProcess | undefined;
    // Writes to ffmpeg are gathered for WRITE_BATCH_MS and go as one writev: a live arrives in many small
    // reads, and each write is a syscall here and a wake-up of ffmpeg there.
    let batch: { stdin: Writable; parts: Buffer[]; bytes: number } | undefined;
    let batchTimer: NodeJS.Timeout | undefined;
    /** Sends the batch; false when ffmpeg has not taken the earlier ones yet (its stdin is backed up). */
    const sendBatch = (): boolean => {
      clearTimeout(batchTimer);
      batchTimer = undefined;
      const sent = batch;
      batch = undefined;
      if (!sent || sent.stdin.destroyed) return true;
      sent.stdin.cork();
      for (const part of sent.parts) sent.stdin.write(part);
      sent.stdin.uncork();
      return sent.stdin.writableLength <= MAX_UNSENT_BYTES;
    };
    const write = (stdin: Writable, bytes: Buffer) => {
      if (batch?.stdin !== stdin) {
        sendBatch();
        batch = { stdin, parts: [], bytes: 0 };
        batchTimer = setTimeout(onBatchTime, WRITE_BATCH_MS);
      }
      batch.parts.push(bytes);
      batch.bytes += bytes.length;
    };
    const onBatchTime = () => {
      const stdin = batch?.stdin;
      if (sendBatch() || !stdin || res.isPaused()) return;
      // ffmpeg is behind: hold the socket rather than buffer the live in memory.
      res.pause();
      stdin.once('drain', () => res.resume());
    };
    return new Promise<string>((resolve) => {
      let isFinished = false;
      const finish = (why: string) => {
        if (isFinished) return;
        isFinished = true;
        clearInterval(watchdog);
        sendBatch();
        res.destroy();
        current?.stdin?.end();
        // Every run writes its last segment and playlist end when its input ends; then the pull is over.
        void Promise.all([...this.children].map(exitOf)).then(() => resolve(signal.aborted ? 'stopped' : why));
      };
      const startRun = (shape: FlvShape, prefix: Buffer, reason: string) => {
        sendBatch();
        if (current) {
          this.deps.log.info({ stream: this.streamer, reason, shape }, 'the live switched its video mid-stream: new segment run');
          current.stdin?.end();
        }
        const child = this.spawnRun(shape, reason, splitter.isFlv);
        current = child;
        if (child.stdin) write(child.stdin, prefix);
        child.once('exit', (code, sig) => {
          if (child !== current || isFinished) return;
          finish(this.lastStderr.get(child) || `ffmpeg exited (${code ?? sig ?? '?'})`);
        });
      };
      res.on('data', (chunk: Buffer) => {
        for (const event of splitter.push(chunk)) {
          if (event.kind === 'run') startRun(event.shape, event.prefix, event.reason);
          else if (current?.stdin) write(current.stdin, event.bytes);
        }
      });
      res.once('end', () => finish('the video ended'));
      res.once('error', (err) => finish(errorMessage(err)));
      res.once('close', () => finish('the video connection closed'));
      const watchdog = setInterval(() => {
        // An audio-only pause adds no segment (they split at keyframes) but is no stalled pull.
        if (splitter.lastVideoAt !== undefined && Date.now() - splitter.lastVideoAt > 1_000) this.lastSegmentSeenAt = Date.now();
        if (!this.runDir) return;
        void this.checkProgress(this.runDir).then((isStalled) => {
          if (isStalled) finish(`no video for ${Math.round(this.settings.stallMs / 1000)} s`);
        }).catch((err: unknown) => this.deps.log.warn({ err }, 'stream buffer progress check failed'));
      }, 1_000);
    });
  }

  /** One ffmpeg copying one shape of the video, from its stdin, into its own run folder. */
  private spawnRun(shape: FlvShape, reason: string, isFlv: boolean): ChildProcess {
    this.runNumber += 1;
    const runDir = join(this.deps.dir, this.streamer, String(Date.now() * 100 + this.runNumber));
    mkdirSync(runDir, { recursive: true });
    // What the cut compares to know whether segments of two runs can be joined without re-encoding.
    writeFileSync(join(runDir, SHAPE_FILE), JSON.stringify({ ...shape, reason }));
    this.runDir = runDir;
    this.runDirs.add(runDir);
    this.lastSegmentCount = 0;
    this.lastSegmentSeenAt = Date.now();
    const child = spawn(this.deps.ffmpegPath, ffmpegArgs(runDir, this.settings, isFlv), { stdio: ['pipe', 'ignore', 'pipe'] });
    this.children.add(child);
    if (child.pid !== undefined) this.deps.pids.add(child.pid);
    // ffmpeg gone (killed, failed) while we write: the exit handler reports it, the write error is noise.
    child.stdin?.on('error', () => undefined);
    child.stderr?.on('data', (chunk: Buffer) => {
      this.lastStderr.set(child, ((this.lastStderr.get(child) ?? '') + chunk.toString()).slice(-400).trim().split('\n').pop() ?? '');
    });
    const forget = () => {
      this.children.delete(child);
      this.lastStderr.delete(child);
      if (child.pid !== undefined) this.deps.pids.remove(child.pid);
    };
    child.once('error', forget);
    child.once('exit', forget);
    return child;
  }

  /** True when no new segment appeared for stallMs (one read of the playlists also updates lastSeconds). */
  private async checkProgress(runDir: string): Promise<boolean> {
    const newest = (await this.segments()).filter((s) => dirname(s.path) === runDir).at(-1)?.path;
    const count = newest === undefined ? 0 : Number(/(\d+)\.ts$/.exec(newest)?.[1] ?? 0) + 1;
    if (count !== this.lastSegmentCount) {
      this.lastSegmentCount = count;
      this.lastSegmentSeenAt = Date.now();
      this.failure = undefined;
    }
    // The first segment also waits for ffmpeg to probe the input and for a whole GOP: give it longer.
    const limit = this.lastSegmentCount === 0 ? this.settings.stallMs + this.settings.firstSegmentGraceMs : this.settings.stallMs;
    return Date.now() - this.lastSegmentSeenAt > limit;
  }

  /** Removes runs whose newest segment is older than the buffer (ffmpeg prunes within its own run). */
  private async prune(): Promise<void> {
    const root = join(this.deps.dir, this.streamer);
    const horizon = Date.now() - this.settings.bufferSeconds * 1000 - 10_000;
    for (const run of await readdir(root).catch(() => [] as string[])) {
      const path = join(root, run);
      if (path === this.runDir && this.children.size > 0) continue;
      const info = await stat(path).catch(() => undefined);
      if (info && info.mtimeMs < horizon) await rm(path, { recursive: true, force: true });
    }
  }

  private endChild(): void {
    for (const child of this.children) {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }
}

function ffmpegArgs(runDir: string, settings: Required<StreamBufferOptions>, isFlv: boolean): string[] {
  // Segments beyond the window stay a little (hls_delete_threshold) so a cut that just linked them is safe.
  const listSize = Math.ceil(settings.bufferSeconds / settings.segmentSeconds) + 2;
  return [
    '-hide_banner', '-loglevel', 'error', '-nostdin',
    '-fflags', '+genpts+discardcorrupt',
    // Probing 5 s (the default for MPEG-TS input) delays the first segment and skews its wall-clock time.
    '-analyzeduration', '2000000', '-probesize', '1000000',
    ...(isFlv ? ['-f', 'flv'] : []),
    '-i', 'pipe:0',
    '-map', '0:v:0', '-map', '0:a:0?', '-c', 'copy',
    // A muted or paused stretch leaves one track without packets: hold the other at most 2 s for it, not
    // the default 10 s, so segments keep closing on time.
    '-max_interleave_delta', '2000000',
    '-f', 'hls',
    '-hls_time', String(settings.segmentSeconds),
    '-hls_list_size', String(listSize),
    '-hls_delete_threshold', '3',
    '-hls_flags', 'delete_segments+program_date_time+temp_file',
    '-hls_segment_filename', join(runDir, '%d.ts'),
    join(runDir, 'index.m3u8'),
  ];
}

/** How long writes to a run's ffmpeg are gathered into one (a segment closes at most this much later). */
const WRITE_BATCH_MS = 100;
/** More than this still in ffmpeg's stdin (it is behind): the video socket is held until it drains. */
const MAX_UNSENT_BYTES = 1024 * 1024;

/** Beside each run's playlist: the FLV shape (flv-shapes.ts) that run holds. */
export const SHAPE_FILE = 'shape.json';

/** Resolves when the process has exited (at once if it already has). */
function exitOf(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Segments listed in a run's playlist, each with its wall-clock start: `#EXT-X-PROGRAM-DATE-TIME`, shifted
 * to when the video really arrived (see anchorToArrival).
 */
export async function readPlaylist(runDir: string): Promise<Segment[]> {
  let text: string;
  try {
    text = await readFile(join(runDir, 'index.m3u8'), 'utf8');
  } catch {
    return [];
  }
  const out: Segment[] = [];
  let start: number | undefined;
  let duration: number | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) start = Date.parse(line.slice('#EXT-X-PROGRAM-DATE-TIME:'.length));
    else if (line.startsWith('#EXTINF:')) duration = Number.parseFloat(line.slice('#EXTINF:'.length));
    else if (line !== '' && !line.startsWith('#')) {
      if (start !== undefined && duration !== undefined && Number.isFinite(start)) {
        out.push({ path: join(runDir, line), start: new Date(start), durationSeconds: duration });
        start += duration * 1000;
      }
      duration = undefined;
    }
  }
  return anchorToArrival(runDir, out);
}

/**
 * ffmpeg stamps `#EXT-X-PROGRAM-DATE-TIME` from its clock when its output starts, which is after it probed
 * the input (up to `-analyzeduration`, 2 s): every label of the run is that much later than the video
 * arrived, and a cut by the labels alone would end about 2 s before the `after` window does. A segment's
 * file is last written when it closes, i.e. when its last frame arrived, so the run's timeline is shifted
 * by the median of (file time - labelled end): one shift for the run keeps the segments contiguous.
 */
async function anchorToArrival(runDir: string, segments: Segment[]): Promise<Segment[]> {
  // A listed segment is complete and never rewritten: its offset is read once (a live's buffer is read
  // every second; stat-ing its 30 segments each time would be most of the bot's share of the CPU).
  const known = offsetsByRun.get(runDir) ?? new Map<string, number>();
  const current = new Map<string, number>();
  await Promise.all(segments.map(async (s) => {
    const cached = known.get(s.path);
    if (cached !== undefined) return void current.set(s.path, cached);
    const info = await stat(s.path).catch(() => undefined);
    if (info) current.set(s.path, info.mtimeMs - (s.start.getTime() + s.durationSeconds * 1000));
  }));
  offsetsByRun.delete(runDir);
  if (current.size > 0) offsetsByRun.set(runDir, current);
  while (offsetsByRun.size > MAX_RUNS_REMEMBERED) offsetsByRun.delete(offsetsByRun.keys().next().value!);
  const offsets = [...current.values()].sort((a, b) => a - b);
  const offset = offsets[Math.floor(offsets.length / 2)];
  if (offset === undefined) return segments;
  return segments.map((s) => ({ ...s, start: new Date(s.start.getTime() + offset) }));
}

/** Offsets of each run's listed segments (file time - labelled end), most recently read run last. */
const offsetsByRun = new Map<string, Map<string, number>>();
const MAX_RUNS_REMEMBERED = 500;

export function describeBufferState(state: BufferState): string {
  switch (state.kind) {
    case 'filling':
      return 'buffer filling';
    case 'ready':
      return `buffer ready (${state.seconds} s)`;
    case 'reconnecting':
      return `buffer reconnecting (${state.reason})`;
    case 'failed':
      return `buffer failed: ${state.reason}`;
    case 'waiting-for-slot':
      return 'waiting for a buffer slot';
    case 'stopped':
      return 'buffer stopped';
  }
}
