import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../src/util/errors.js';
import type { ReplayBuffer, ReplayBufferStatus, SavedReplay } from '../../src/obs/replay-buffer.js';

/**
 * A stand-in for OBS where the video does not matter (clip policy, TikTok supervision, Discord faults):
 * counts saves, can be "down", can hold saves in flight, and with a `dir` writes a small file per save
 * so filing works for real. The real OBS is covered by the end-to-end and adapter tests.
 */
export class FakeReplayBuffer implements ReplayBuffer {
  saves = 0;
  isDown = false;
  /** While true, each save waits for `release()` (a save "in flight"). */
  isHeld = false;
  private held: Array<() => void> = [];

  /** `sampleVideo`: a real video copied for each save (tests that probe the clip), else a few bytes. */
  constructor(
    private readonly dir?: string,
    private readonly sampleVideo?: string,
  ) {}

  async save<T>(onSaved: (replay: SavedReplay) => Promise<T>): Promise<T> {
    if (this.isDown) throw new AppError('OBS_UNAVAILABLE', 'OBS is not connected');
    this.saves += 1;
    if (this.isHeld) await new Promise<void>((resolve) => this.held.push(resolve));
    let file = `/obs/Replay ${this.saves}.mp4`;
    if (this.dir) {
      await mkdir(this.dir, { recursive: true });
      file = path.join(this.dir, `Replay ${this.saves}.mp4`);
      if (this.sampleVideo) await copyFile(this.sampleVideo, file);
      else await writeFile(file, `replay ${this.saves}`);
    }
    return onSaved({ path: file, savedAt: new Date() });
  }

  release(): void {
    for (const resolve of this.held.splice(0)) resolve();
  }

  status(): ReplayBufferStatus {
    return { connection: this.isDown ? 'disconnected' : 'connected', isBufferActive: !this.isDown, since: new Date(0), lastError: undefined };
  }

  bufferSeconds(): number | undefined {
    return 5;
  }

  /** Like OBS's recording folder: where the clip journal accepts the files this buffer saves. */
  recordDirectory(): string | undefined {
    return this.dir;
  }

  onStatusChange(): () => void {
    return () => undefined;
  }

  async start(): Promise<void> {}
  async close(): Promise<void> {}
}
