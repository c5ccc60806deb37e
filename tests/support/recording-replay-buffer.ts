import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../src/errors.js';
import type { ReplayBuffer, ReplayBufferStatus, SavedReplay } from '../../src/obs/replay-buffer.js';

/**
 * A stand-in for OBS in tests about TikTok supervision and Discord, where the video does not matter:
 * each save writes a small file into `dir` and is counted.
 */
export class RecordingReplayBuffer implements ReplayBuffer {
  saves = 0;
  isDown = false;

  constructor(private readonly dir: string) {}

  async save<T>(onSaved: (replay: SavedReplay) => Promise<T>): Promise<T> {
    if (this.isDown) throw new AppError('OBS_UNAVAILABLE', 'OBS is not connected');
    this.saves += 1;
    await mkdir(this.dir, { recursive: true });
    const file = path.join(this.dir, `Replay ${this.saves}.mp4`);
    await writeFile(file, `replay ${this.saves}`);
    return onSaved({ path: file, savedAt: new Date() });
  }

  status(): ReplayBufferStatus {
    return { connection: this.isDown ? 'disconnected' : 'connected', isBufferActive: !this.isDown, since: new Date(0), lastError: undefined };
  }

  bufferSeconds(): number | undefined {
    return 5;
  }

  onStatusChange(): () => void {
    return () => undefined;
  }

  async start(): Promise<void> {}
  async close(): Promise<void> {}
}
