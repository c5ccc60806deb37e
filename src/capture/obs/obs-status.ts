/** The adapter's current ReplayBufferStatus, and the listeners told about each change. */
import type { Logger } from 'pino';
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
  private readonly listeners = new Set<StatusListener>();

  constructor(private readonly log: Logger) {}

  get(): ReplayBufferStatus {
    return this.current;
  }

  onChange(listener: StatusListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
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
    for (const listener of this.listeners) {
      try {
        listener(this.current, reason);
      } catch (err) {
        this.log.error({ err }, 'OBS status listener threw');
      }
    }
  }
}
