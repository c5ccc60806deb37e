/**
 * The port between a moment and its footage. Two captures implement it:
 * - `obs` (src/obs/obs-capture.ts): OBS's replay buffer, one picture for every stream. Moments of
 *   different streams that ask while a save is waiting or running share that one save; each still gets
 *   its own file (the first moves OBS's file, the others link or copy the first's clip).
 * - `stream` (src/capture/stream/): a rolling buffer of the LIVE's own video, cut per moment.
 *
 * The clip service never knows which one it talks to: it asks for footage and files what it gets.
 */
export type CaptureMode = 'obs' | 'stream';

export interface CaptureRequest {
  /** The TikTok user whose moment this is, lower-case. */
  readonly streamer: string;
  /** When the moment happened (the first trigger's time): a stream capture cuts around it. */
  readonly at: Date;
  /** Stream capture: seconds kept before and after `at`. OBS ignores them (its buffer length rules). */
  readonly beforeSeconds: number;
  readonly afterSeconds: number;
}

export interface Footage {
  /** Absolute path of the video file to file under the moment's name. */
  readonly path: string;
  readonly savedAt: Date;
  /**
   * True when `path` is another moment's filed clip (an OBS save shared by several streams): file it by
   * a hard link or a copy and never move or delete it.
   */
  readonly isShared: boolean;
  /** Something the alert should say about the footage (e.g. "12 s of the 25 s asked were buffered"). */
  readonly note?: string;
}

export interface ClipCapture {
  readonly mode: CaptureMode;
  /**
   * Captures footage for one moment and hands it to `file`, which files it and resolves with the filed
   * path. Resolves with that path and when the footage was saved. The capture may run `file` only once
   * its footage is complete (OBS: after ReplayBufferSaved; stream: after the `after` window).
   * Rejects with an AppError saying why nothing could be captured (OBS_UNAVAILABLE, STREAM_NOT_BUFFERED…).
   */
  capture(request: CaptureRequest, file: (footage: Footage) => Promise<string>, signal?: AbortSignal): Promise<CapturedClip>;
  /** Triggers on the same stream within this long after a capture join it instead of starting another. */
  mergeWindowMs(streamer: string): number;
  /**
   * Whether a failure is still ongoing for this stream (OBS down): while it is, later triggers join the
   * failed moment and one "could not clip" notice speaks for the burst.
   */
  isFailing(streamer: string): boolean;
}

export interface CapturedClip {
  readonly path: string;
  readonly savedAt: Date;
  readonly note?: string;
  /**
   * Stream capture: the wall-clock time of the clip's first frame (its first segment's start) and its
   * probed length, so the moment's chat can be timed within the clip. OBS does not know them here.
   */
  readonly startedAt?: Date;
  readonly durationSeconds?: number;
}
