/** The adapter's current ReplayBufferStatus, and the listeners told about each change. */
import type { Logger } from 'pino';
import { Listeners } from '../util/listeners.js';
import type { ReplayBufferStatus } from './replay-buffer.js';

export type StatusListener = (status: ReplayBufferStatus, reason: string) => void;

export type StatusPatch = Partial<Pick<ReplayBufferStatus, 'connection' | 'isBufferActive' | 'lastError'>>;

export class ObsStatusTracker {
  private current: ReplayBufferStatus = Object.freeze({
    connection: 'disconnected',
    isBufferActive: undefined,
    since: new Date(),
    lastError: undefined,
  });
  private readonly listeners: Listeners<{ change: StatusListener }>;

  constructor(log: Logger) {
    this.listeners = new Listeners((err) => log.error({ err }, 'OBS status listener threw'));
  }

  get(): ReplayBufferStatus {
    return this.current;
  }

  onChange(listener: StatusListener): () => void {
    return this.listeners.on('change', listener);
  }

  removeAllListeners(): void {
    this.listeners.clear();
  }

  /**
   * Applies `patch` (a key present with `undefined` clears that field) and tells every listener, with
   * `reason`, if anything changed. `since` moves only when the connection state does.
   */
  set(patch: StatusPatch, reason: string): void {
    const previous = this.current;
    const next: ReplayBufferStatus = {
      connection: patch.connection ?? previous.connection,
      isBufferActive: 'isBufferActive' in patch ? patch.isBufferActive : previous.isBufferActive,
      lastError: 'lastError' in patch ? patch.lastError : previous.lastError,
      since: patch.connection !== undefined && patch.connection !== previous.connection ? new Date() : previous.since,
    };
    if (
      next.connection === previous.connection &&
      next.isBufferActive === previous.isBufferActive &&
      next.lastError === previous.lastError
    ) {
      return;
    }
    this.current = Object.freeze(next);
    this.listeners.emit('change', this.current, reason);
  }
}
