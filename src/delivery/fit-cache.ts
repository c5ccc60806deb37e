/**
 * Fit once: one re-encode per clip and upload limit, shared by every retry and every server posting the
 * same clip, kept in a folder of its own (never beside the clip) and removed once nothing waits on it.
 * A fit finished before a restart is found again by its name; a half-written one never has that name.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { FitVideoOptions, FittedVideo } from './video-fitter.js';
import { DELIVERY_DEFAULTS } from './defaults.js';

export type FitVideoFn = (options: FitVideoOptions) => Promise<FittedVideo>;

export function fitTargetBytes(uploadLimitBytes: number): number {
  return Math.floor(uploadLimitBytes * (1 - DELIVERY_DEFAULTS.fit.marginRatio));
}

export class FitCache {
  private readonly fits = new Map<string, Promise<FittedVideo>>();
  private folderMade: Promise<unknown> | undefined;
  /** Aborted at shutdown: a re-encode takes minutes, and its ffmpeg must not outlive or hold up the bot. */
  private readonly stopping = new AbortController();

  constructor(
    private readonly deps: { dir: string; fitVideo: FitVideoFn; ffmpegPath: string; log: Logger },
  ) {}

  /** The clip as it can be uploaded under `uploadLimitBytes`: itself when it fits, else one shared re-encode. */
  fit(clipPath: string, uploadLimitBytes: number): Promise<FittedVideo> {
    const maxBytes = fitTargetBytes(uploadLimitBytes);
    const key = `${path.resolve(clipPath)}|${maxBytes}`;
    let fit = this.fits.get(key);
    if (!fit) {
      fit = this.run(clipPath, maxBytes);
      this.fits.set(key, fit);
      // A failure is not cached: the next attempt (ffmpeg installed meanwhile) tries again.
      fit.catch(() => this.fits.delete(key));
    }
    return fit;
  }

  /** Nothing will upload this clip again: remove its re-encodes. The clip itself is never touched. */
  async release(clipPath: string): Promise<void> {
    const stem = stemOf(clipPath);
    for (const key of [...this.fits.keys()].filter((k) => k.startsWith(`${path.resolve(clipPath)}|`))) this.fits.delete(key);
    const names = await readdir(this.deps.dir).catch(() => [] as string[]);
    await Promise.all(names.filter((n) => n.startsWith(`${stem}-`)).map((n) => rm(path.join(this.deps.dir, n), { force: true })));
  }

  /** Shutdown: ends every fit in flight (each ffmpeg killed by its pid) and starts none. Its entry stays queued. */
  abort(): void {
    this.stopping.abort();
  }

  /** At start-up: removes re-encodes of clips nothing waits on any more (left by a crash). */
  async sweep(keepClipPaths: readonly string[]): Promise<void> {
    const keep = new Set(keepClipPaths.map(stemOf));
    const names = await readdir(this.deps.dir).catch(() => [] as string[]);
    await Promise.all(
      names.filter((n) => !keep.has(n.split('-')[0] ?? '')).map((n) => rm(path.join(this.deps.dir, n), { force: true })),
    );
  }

  private async run(clipPath: string, maxBytes: number): Promise<FittedVideo> {
    const outputPath = path.join(this.deps.dir, `${stemOf(clipPath)}-${maxBytes}.mp4`);
    const done = await stat(outputPath).catch(() => undefined);
    if (done && done.size <= maxBytes) return { path: outputPath, reencoded: true, bytes: done.size };
    this.folderMade ??= mkdir(this.deps.dir, { recursive: true });
    await this.folderMade;
    return this.deps.fitVideo({ inputPath: clipPath, maxBytes, ffmpegPath: this.deps.ffmpegPath, log: this.deps.log, outputPath, signal: this.stopping.signal });
  }
}

/** A short stable name per clip path (paths may hold anything; names here must not). */
function stemOf(clipPath: string): string {
  return createHash('sha256').update(path.resolve(clipPath)).digest('hex').slice(0, 20);
}
