import { AppError } from '../../../src/errors.js';
import type { ReplayBuffer, ReplayBufferStatus, SavedReplay } from '../../../src/obs/replay-buffer.js';

/** A ReplayBuffer that "saves" instantly (or fails) and counts saves. */
export class FakeReplayBuffer implements ReplayBuffer {
  saves = 0;
  isDown = false;
  /** Resolves each save only when the test calls `release()` (to hold a save "in flight"). */
  isManual = false;
  private pending: Array<() => void> = [];

  async save<T>(onSaved: (replay: SavedReplay) => Promise<T>): Promise<T> {
    if (this.isDown) throw new AppError('OBS_UNAVAILABLE', 'OBS is not connected');
    this.saves += 1;
    if (this.isManual) await new Promise<void>((resolve) => this.pending.push(resolve));
    return onSaved({ path: `/obs/Replay ${this.saves}.mp4`, savedAt: new Date() });
  }

  release(): void {
    for (const resolve of this.pending.splice(0)) resolve();
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
