import type { Logger } from 'pino';
import { deriveFfprobePath } from '../../util/ffprobe-path.js';
import type { StreamBufferOptions } from './stream-buffer.js';
import { StreamBufferSync, type StreamBufferSyncDeps } from './stream-buffer-sync.js';
import { StreamBuffers } from './stream-buffers.js';
import { FFMPEG_MISSING_MESSAGE, isFfmpegAvailable, StreamCapture } from './stream-capture.js';
import { pickStreamSource, type StreamSource } from './stream-url.js';
import { sessionCookieHeader, tiktokSession } from '../../monitor/tiktok-session.js';
import { createProxyAgent } from '../../util/proxy-agent.js';

/** What stream capture reads from the bot's configuration. */
export interface StreamCaptureConfig {
  readonly ffmpegPath: string;
  readonly streamBufferDir: string;
  readonly maxStreamBuffers: number;
  /** A logged-in TikTok session: restricted lives' video wants its cookies too. */
  readonly tiktokSessionId?: string | undefined;
  readonly tiktokTtTargetIdc?: string | undefined;
  /** TIKTOK_PROXY_URL: the video is pulled through it like every other TikTok request. */
  readonly tiktokProxyUrl?: string | undefined;
}

export interface StreamCaptureStage {
  readonly buffers: StreamBuffers;
  readonly capture: StreamCapture;
  /** Starts and stops each live's buffer as its state and its servers' captures change. */
  readonly sync: StreamBufferSync;
  /** Why `stream` capture cannot be chosen here (no ffmpeg), or undefined. */
  refusal(): string | undefined;
}

/**
 * Stream capture: a rolling buffer of each live's own video while it is live and some server watching it
 * uses `stream` capture. Without ffmpeg it is refused with one clear message and OBS capture goes on.
 */
export async function createStreamCapture(
  config: StreamCaptureConfig,
  deps: {
    readonly fetchRoomInfo: (streamer: string, signal: AbortSignal) => Promise<unknown>;
    readonly captureOf: StreamBufferSyncDeps['captureOf'];
    readonly buffer?: StreamBufferOptions;
    readonly log: Logger;
  },
): Promise<StreamCaptureStage> {
  const log = deps.log.child({ component: 'stream-buffer' });
  const ffprobePath = deriveFfprobePath(config.ffmpegPath);
  const hasFfmpeg = await isFfmpegAvailable(config.ffmpegPath, ffprobePath);
  const buffers = new StreamBuffers({
    dir: config.streamBufferDir,
    ffmpegPath: config.ffmpegPath,
    maxBuffers: config.maxStreamBuffers,
    log,
    // The bot pulls the video itself (stream-pull.ts), so any proxy kind works, socks5 included; ffmpeg's own
    // -http_proxy would take only an http proxy.
    ...(config.tiktokProxyUrl === undefined ? {} : { agent: createProxyAgent(config.tiktokProxyUrl) }),
    resolveSource: async (streamer, signal) => withSession(pickStreamSource(await deps.fetchRoomInfo(streamer, signal), streamer), config),
    ...(deps.buffer ? { buffer: deps.buffer } : {}),
  });
  return {
    buffers,
    capture: new StreamCapture({ buffers, dir: config.streamBufferDir, ffmpegPath: config.ffmpegPath, ffprobePath, hasFfmpeg, log }),
    sync: new StreamBufferSync({ buffers, hasFfmpeg, captureOf: deps.captureOf, log }),
    refusal: () => (hasFfmpeg ? undefined : FFMPEG_MISSING_MESSAGE),
  };
}

/** The pull carries the session cookies when there is a session (a header of the bot's own request; redacted from logs by value). */
function withSession(source: StreamSource, config: StreamCaptureConfig): StreamSource {
  const session = tiktokSession({ tiktokSessionId: config.tiktokSessionId, tiktokTtTargetIdc: config.tiktokTtTargetIdc });
  return session ? { ...source, headers: { ...source.headers, Cookie: sessionCookieHeader(session) } } : source;
}
