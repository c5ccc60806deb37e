import type { Logger } from 'pino';
import type { StreamStateName } from '../../monitor/stream-supervisor.js';
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
 * What each stream state says about the LIVE's video, which is all a buffer cares about (it pulls the
 * video over its own connection, with fresh room info on every restart, whatever the chat socket does):
 * - `on`: the chat is up, or it dropped or failed to connect and is retried: the LIVE is taken to go on.
 * - `off`: the video is gone or was never there for us: ended, not live, unknown user, not watched.
 * - `unchanged`: the chat is between connections and nothing says the LIVE ended (an unclear check,
 *   a restricted answer after a refused session, waiting for the connect budget or the signing service).
 *   A buffer already running keeps running (and restarting on its own); none starts on these alone, since
 *   a stream just added shows them before anyone knows it is live.
 */
const VIDEO_BY_STATE = {
  live: 'on',
  reconnecting: 'on',
  checking: 'unchanged',
  restricted: 'unchanged',
  queued: 'unchanged',
  connecting: 'unchanged',
  'rate-limited': 'unchanged',
  offline: 'off',
  error: 'off',
  idle: 'off',
  stopped: 'off',
} as const satisfies Record<StreamStateName, 'on' | 'off' | 'unchanged'>;

/**
 * Keeps a rolling buffer running for exactly the streams that need one: on air as far as anyone knows
 * (see VIDEO_BY_STATE) and watched by at least one server that uses `stream` capture for it. Told of every
 * stream state change, and of every capture change (which re-checks the streams with the guilds last seen
 * watching).
 */
export class StreamBufferSync {
  /** The guilds watching each stream, as the monitor last said. */
  readonly #watchers = new Map<string, readonly string[]>();
  /** Streams TikTok said were live and that nothing has said ended since. */
  readonly #onAir = new Set<string>();

  constructor(private readonly deps: StreamBufferSyncDeps) {}

  stateChanged(streamer: string, stateName: StreamStateName, guildIds: readonly string[]): void {
    if (stateName === 'stopped') this.#watchers.delete(streamer);
    else this.#watchers.set(streamer, guildIds);
    const video = VIDEO_BY_STATE[stateName];
    if (video === 'on') this.#onAir.add(streamer);
    else if (video === 'off') this.#onAir.delete(streamer);
    const wantsBuffer = this.deps.hasFfmpeg && this.#onAir.has(streamer) && guildIds.some((g) => this.deps.captureOf(g, streamer) === 'stream');
    if (wantsBuffer) this.deps.buffers.start(streamer);
    else void this.deps.buffers.stop(streamer).catch((err: unknown) => this.deps.log.error({ err, stream: streamer }, 'stream buffer stop failed'));
  }

  /** A guild changed its capture (server default or one stream's): re-check its streams. */
  captureChanged(guildId: string, streams: readonly string[], stateOf: (streamer: string) => StreamStateName): void {
    for (const streamer of streams) this.stateChanged(streamer, stateOf(streamer), this.#watchers.get(streamer) ?? [guildId]);
  }
}
