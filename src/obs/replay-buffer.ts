/**
 * The port the clip pipeline uses to save "the last N seconds". The OBS adapter implements it; unit tests
 * use fakes.
 */
export interface SavedReplay {
  /** Absolute path of the file OBS wrote (from `ReplayBufferSaved.savedReplayPath`). */
  readonly path: string;
  readonly savedAt: Date;
}

export type ObsConnectionState = 'connecting' | 'connected' | 'disconnected';

export interface ReplayBufferStatus {
  readonly connection: ObsConnectionState;
  /** `undefined` while not connected: we do not know. */
  readonly isBufferActive: boolean | undefined;
  readonly since: Date;
  /** Plain-words reason for the last failure, if any. */
  readonly lastError: string | undefined;
}

export interface ReplayBuffer {
  /**
   * Asks OBS to save its replay buffer, then runs `onSaved` with the file it wrote and resolves with
   * its result. Saves are serialized and the next save starts only after `onSaved` settled: OBS reuses a
   * path for two saves in the same second, so the file must be moved away before the next one.
   * Rejects with an AppError coded OBS_UNAVAILABLE, OBS_BUFFER_NOT_RUNNING, OBS_TIMEOUT or
   * OBS_REQUEST_FAILED (or whatever `onSaved` threw).
   */
  save<T>(onSaved: (replay: SavedReplay) => Promise<T>, signal?: AbortSignal): Promise<T>;
  status(): ReplayBufferStatus;
  /** The replay buffer's length in seconds as OBS is configured, once known (read at connect). */
  bufferSeconds(): number | undefined;
  /**
   * The folder OBS saves replays to, once known (read at connect). Crash recovery accepts journalled
   * replays only from here and the clips folder.
   */
  recordDirectory(): string | undefined;
  /** Fires on every change of connection or buffer state, with a plain-words reason. */
  onStatusChange(listener: (status: ReplayBufferStatus, reason: string) => void): () => void;
  /** Connects and keeps the connection alive (reconnecting with backoff) until `close()`. */
  start(): Promise<void>;
  close(): Promise<void>;
}
