/**
 * Every live buffered in `stream` capture, at most `maxBuffers` at once (MAX_STREAM_BUFFERS): beyond that a
 * stream waits for a slot and gets the first one freed. Also owns the pid file, so leftovers of a crashed
 * run are ended before the first buffer starts.
 */
import { mkdirSync } from 'node:fs';
import type { Agent } from 'node:http';
import { cpus, totalmem } from 'node:os';
import type { Logger } from 'pino';
import { FfmpegPidFile } from './ffmpeg-pids.js';
import { StreamBuffer, type BufferState, type StreamBufferOptions } from './stream-buffer.js';
import type { StreamSource } from './stream-url.js';

/**
 * From the figures: ~1.3 % of a core and ~14 MB private per buffered live. Keep a quarter of the
 * CPU and of the memory for everything else: 25 lives a core, 40 MB budgeted a live.
 */
export function defaultMaxStreamBuffers(cores = cpus().length, memoryBytes = totalmem()): number {
  const byCpu = Math.max(1, cores) * 25;
  const byMemory = Math.floor((memoryBytes * 0.25) / (40 * 1024 * 1024));
  return Math.max(1, Math.min(byCpu, byMemory));
}

export interface StreamBuffersOptions {
  readonly dir: string;
  readonly ffmpegPath: string;
  readonly maxBuffers: number;
  readonly resolveSource: (streamer: string, signal: AbortSignal) => Promise<StreamSource>;
  readonly log: Logger;
  readonly buffer?: StreamBufferOptions;
  /** TIKTOK_PROXY_URL's agent for the video pulls. */
  readonly agent?: Agent | undefined;
}

export class StreamBuffers {
  private readonly running = new Map<string, StreamBuffer>();
  /** Waiting for a slot, oldest first. */
  private readonly waiting = new Set<string>();
  readonly pids: FfmpegPidFile;

  constructor(private readonly options: StreamBuffersOptions) {
    mkdirSync(options.dir, { recursive: true });
    this.pids = new FfmpegPidFile(options.dir);
  }

  /** Ends ffmpegs a crashed run of the bot left (by recorded pid, verified). Call once at start-up. */
  async endLeftovers(): Promise<number[]> {
    const ended = await this.pids.endLeftovers();
    if (ended.length > 0) this.options.log.warn({ pids: ended }, 'ended ffmpeg left running by a previous run');
    return ended;
  }

  start(streamer: string): void {
    if (this.running.has(streamer) || this.waiting.has(streamer)) return;
    if (this.running.size >= this.options.maxBuffers) {
      this.waiting.add(streamer);
      this.options.log.info({ stream: streamer, max: this.options.maxBuffers }, 'stream waits for a buffer slot');
      return;
    }
    const buffer = new StreamBuffer({
      streamer,
      dir: this.options.dir,
      ffmpegPath: this.options.ffmpegPath,
      pids: this.pids,
      resolveSource: (signal) => this.options.resolveSource(streamer, signal),
      log: this.options.log,
      agent: this.options.agent,
      ...(this.options.buffer ? { options: this.options.buffer } : {}),
    });
    this.running.set(streamer, buffer);
    buffer.start();
  }

  async stop(streamer: string): Promise<void> {
    this.waiting.delete(streamer);
    const buffer = this.running.get(streamer);
    if (!buffer) return;
    this.running.delete(streamer);
    await buffer.stop();
    const next = this.waiting.values().next().value;
    if (next !== undefined) {
      this.waiting.delete(next);
      this.start(next);
    }
  }

  async stopAll(): Promise<void> {
    this.waiting.clear();
    await Promise.all([...this.running.keys()].map((s) => this.stop(s)));
  }

  get(streamer: string): StreamBuffer | undefined {
    return this.running.get(streamer);
  }

  state(streamer: string): BufferState | undefined {
    if (this.waiting.has(streamer)) return { kind: 'waiting-for-slot' };
    return this.running.get(streamer)?.state();
  }
}
