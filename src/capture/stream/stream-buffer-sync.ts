import type { Logger } from 'pino';
import type { CaptureMode } from '../clip-capture.js';
import type { StreamBuffers } from './stream-buffers.js';

export interface StreamBufferSyncDeps {
  readonly buffers: Pick<StreamBuffers, 'start' | 'stop'>;
  /** False without ffmpeg: then no buffer ever starts (stream capture is refused). */
  readonly hasFfmpeg: boolean;
  readonly captureOf: (guildId: string, streamer: string) => CaptureMode;
  readonly log: Logger;
}

/**
 * Keeps a rolling buffer running for exactly the streams that need one: live (or reconnecting its chat)
 * and watched by at least one server that uses `stream` capture for it. Told of every stream state
 * change, and of every capture change (which re-checks the streams with the guilds last seen watching).
 */
export class StreamBufferSync {
  /** The guilds watching each stream, as the monitor last said. */
  readonly #watchers = new Map<string, readonly string[]>();

  constructor(private readonly deps: StreamBufferSyncDeps) {}

  stateChanged(streamer: string, stateName: string, guildIds: readonly string[]): void {
    if (stateName === 'stopped') this.#watchers.delete(streamer);
    else this.#watchers.set(streamer, guildIds);
    // A reconnecting chat socket does not stop the video: the buffer keeps its own connection.
    const isOn = stateName === 'live' || stateName === 'reconnecting';
    const wantsBuffer = this.deps.hasFfmpeg && isOn && guildIds.some((g) => this.deps.captureOf(g, streamer) === 'stream');
    if (wantsBuffer) this.deps.buffers.start(streamer);
    else void this.deps.buffers.stop(streamer).catch((err: unknown) => this.deps.log.error({ err, stream: streamer }, 'stream buffer stop failed'));
  }

  /** A guild changed its capture (server default or one stream's): re-check its streams. */
  captureChanged(guildId: string, streams: readonly string[], stateOf: (streamer: string) => string): void {
    for (const streamer of streams) this.stateChanged(streamer, stateOf(streamer), this.#watchers.get(streamer) ?? [guildId]);
  }
}
