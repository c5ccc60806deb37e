/** ObsReplayBuffer's options, their defaults, and their validation (every problem reported at once). */
import OBSWebSocket from 'obs-websocket-js';
import type { Logger } from 'pino';
import { AppError } from '../util/errors.js';
import type { ObsSocket } from './obs-socket.js';
import { CAPTURE_DEFAULTS } from '../capture/defaults.js';

export interface ObsReplayBufferOptions {
  /** obs-websocket address, e.g. `ws://127.0.0.1:4455`. */
  readonly url: string;
  /** Never logged. */
  readonly password?: string | undefined;
  readonly log: Logger;
  /** Upper bound for every request (and for `disconnect()`). */
  readonly requestTimeoutMs?: number;
  /** Upper bound for the websocket handshake (Hello/Identify). */
  readonly connectTimeoutMs?: number;
  /** How long to wait for `ReplayBufferSaved` after OBS accepted `SaveReplayBuffer`. */
  readonly savedEventTimeoutMs?: number;
  readonly reconnect?: { readonly initialDelayMs?: number; readonly maxDelayMs?: number };
  /** A new client per connection attempt; defaults to obs-websocket-js's `OBSWebSocket`. */
  readonly createSocket?: () => ObsSocket;
  /** Jitter source in [0, 1); injectable so tests can pin the backoff. */
  readonly random?: () => number;
}

/** The options with defaults filled in, checked. The logger stays with the adapter. */
export interface ObsSettings {
  readonly url: string;
  readonly password: string | undefined;
  readonly requestTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly savedEventTimeoutMs: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly createSocket: () => ObsSocket;
  readonly random: () => number;
}

/** Fills in defaults; throws CONFIG_INVALID listing every problem. */
export function resolveObsSettings(options: ObsReplayBufferOptions): ObsSettings {
  const defaults = CAPTURE_DEFAULTS.obs;
  const settings: ObsSettings = {
    url: options.url,
    password: options.password,
    requestTimeoutMs: options.requestTimeoutMs ?? defaults.requestTimeoutMs,
    connectTimeoutMs: options.connectTimeoutMs ?? defaults.connectTimeoutMs,
    savedEventTimeoutMs: options.savedEventTimeoutMs ?? defaults.savedEventTimeoutMs,
    initialDelayMs: options.reconnect?.initialDelayMs ?? defaults.reconnect.initialDelayMs,
    maxDelayMs: options.reconnect?.maxDelayMs ?? defaults.reconnect.maxDelayMs,
    createSocket: options.createSocket ?? (() => new OBSWebSocket()),
    random: options.random ?? Math.random,
  };

  const problems: string[] = [];
  for (const [name, value] of Object.entries({
    requestTimeoutMs: settings.requestTimeoutMs,
    connectTimeoutMs: settings.connectTimeoutMs,
    savedEventTimeoutMs: settings.savedEventTimeoutMs,
    'reconnect.initialDelayMs': settings.initialDelayMs,
    'reconnect.maxDelayMs': settings.maxDelayMs,
  })) {
    if (!Number.isFinite(value) || value <= 0) problems.push(`${name} must be a positive number`);
  }
  if (settings.maxDelayMs < settings.initialDelayMs) problems.push('reconnect.maxDelayMs must be >= initialDelayMs');
  if (!/^wss?:\/\//.test(settings.url)) problems.push(`url must start with ws:// or wss:// (got "${settings.url}")`);
  if (problems.length > 0) {
    throw new AppError('CONFIG_INVALID', `invalid OBS options: ${problems.join('; ')}`);
  }
  return Object.freeze(settings);
}
