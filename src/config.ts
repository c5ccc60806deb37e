import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type { MonitorConfig } from './monitor/create-monitor.js';
import { defaultMaxStreamBuffers } from './capture/stream/stream-buffers.js';
import { AppError } from './util/errors.js';
import { proxyPassword, proxyUrlProblem } from './util/proxy-agent.js';
import { videosFolder, type VideosFolderSystem } from './videos-folder.js';

/** The bot's settings from the environment, validated once at start-up and frozen; the TikTok keys are the monitor's (MonitorConfig). */
export interface Config extends MonitorConfig {
  readonly discordToken: string;
  readonly discordGuildId: string | undefined;
  readonly obsUrl: string;
  readonly obsPassword: string | undefined;
  readonly clipsDir: string;
  readonly databaseUrl: string;
  readonly ffmpegPath: string;
  /** STREAM_BUFFER_DIR: where stream capture keeps each live's rolling segments (a RAM disk is ideal). */
  readonly streamBufferDir: string;
  /** MAX_STREAM_BUFFERS: at most this many lives buffered at once (default from cores and memory). */
  readonly maxStreamBuffers: number;
  readonly logLevel: LogLevel;
  /** `pretty` or `json`; undefined: pretty when stdout is a terminal, else JSON. */
  readonly logFormat: LogFormat | undefined;
  /** Also write logs (JSON) to this file, rotated. */
  readonly logFile: string | undefined;
  /** Serve /healthz and /metrics on 127.0.0.1 at this port (0: any free one); undefined: off. */
  readonly httpPort: number | undefined;
  /** CLUSTER: this process is one node of several sharing the lives on the Redis or Postgres DATABASE_URL. */
  readonly cluster: boolean;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export const CONFIG_DEFAULTS = {
  obsUrl: 'ws://127.0.0.1:4455',
  databaseUrl: 'sqlite://data/bot.sqlite',
  ffmpegPath: 'ffmpeg',
  logLevel: 'info',
} as const satisfies Partial<Config>;

/**
 * `tiktok-clips` in the user's Videos folder (where Explorer shows it on Windows, also when OneDrive moved
 * it; `~/Movies` on macOS; `~/Videos` elsewhere).
 */
export function defaultClipsDir(system?: VideosFolderSystem): string {
  return path.join(videosFolder(system), 'tiktok-clips');
}

// Discord snowflakes are 17-20 digit integers.
const SNOWFLAKE = /^\d{17,20}$/;

/**
 * Parses the environment. Every problem is collected and reported together in one AppError
 * ('CONFIG_INVALID') whose message names each bad key, so a user fixes their .env in one go.
 */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const problems: string[] = [];
  const read = (key: string): string | undefined => {
    const value = env[key]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };

  const discordToken = read('DISCORD_TOKEN');
  if (discordToken === undefined) {
    problems.push('DISCORD_TOKEN is required (the bot token from the Discord developer portal)');
  } else if (/\s/.test(discordToken)) {
    problems.push('DISCORD_TOKEN must not contain spaces');
  }

  const discordGuildId = read('DISCORD_GUILD_ID');
  if (discordGuildId !== undefined && !SNOWFLAKE.test(discordGuildId)) {
    problems.push('DISCORD_GUILD_ID must be a server id (17-20 digits)');
  }

  const obsUrl = read('OBS_URL') ?? CONFIG_DEFAULTS.obsUrl;
  if (!isWebSocketUrl(obsUrl)) {
    problems.push('OBS_URL must be a ws:// or wss:// address such as ws://127.0.0.1:4455');
  }

  const databaseUrl = read('DATABASE_URL') ?? CONFIG_DEFAULTS.databaseUrl;
  if (!/^[a-z][a-z0-9+.-]*:\/\/./i.test(databaseUrl)) {
    problems.push('DATABASE_URL must be a URL such as sqlite://data/bot.sqlite');
  }

  const logLevel = (read('LOG_LEVEL') ?? CONFIG_DEFAULTS.logLevel).toLowerCase();
  if (!isLogLevel(logLevel)) {
    problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);
  }

  const logFormat = read('LOG_FORMAT')?.toLowerCase();
  if (logFormat !== undefined && !(LOG_FORMATS as readonly string[]).includes(logFormat)) {
    problems.push(`LOG_FORMAT must be one of ${LOG_FORMATS.join(', ')} (or unset: pretty in a terminal, else json)`);
  }

  const httpPortText = read('HTTP_PORT');
  const httpPort = httpPortText === undefined ? undefined : Number(httpPortText);
  if (httpPort !== undefined && !(/^\d+$/.test(httpPortText!) && httpPort <= 65_535)) {
    problems.push('HTTP_PORT must be a port number up to 65535 (0: any free port; unset: no /healthz)');
  }

  /** A whole number from `min` to `max`, or undefined when unset; a bad value is reported with `rule`. */
  const wholeNumber = (key: string, min: number, max: number, rule: string): number | undefined => {
    const text = read(key);
    if (text === undefined) return undefined;
    if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
      problems.push(`${key} must be ${rule}`);
      return undefined;
    }
    return Number(text);
  };
  const connectsRule = 'a whole number of connects, at least 1 (unset: what the signing service allows)';
  const tiktokConnectsPerMinute = wholeNumber('TIKTOK_CONNECTS_PER_MINUTE', 1, 1_000_000, connectsRule);
  const tiktokConnectsPerHour = wholeNumber('TIKTOK_CONNECTS_PER_HOUR', 1, 1_000_000, connectsRule);

  const tiktokProxyUrl = read('TIKTOK_PROXY_URL');
  const proxyProblem = tiktokProxyUrl === undefined ? undefined : proxyUrlProblem(tiktokProxyUrl);
  if (proxyProblem) problems.push(`TIKTOK_PROXY_URL ${proxyProblem}`);
  const proxySigningText = read('TIKTOK_PROXY_SIGNING')?.toLowerCase() ?? 'false';
  const tiktokProxySigning = proxySigningText === 'true' || proxySigningText === '1';
  if (!['true', 'false', '1', '0'].includes(proxySigningText)) problems.push('TIKTOK_PROXY_SIGNING must be true or false');
  else if (tiktokProxySigning && tiktokProxyUrl === undefined) problems.push('TIKTOK_PROXY_SIGNING=true needs TIKTOK_PROXY_URL');

  const clusterText = read('CLUSTER')?.toLowerCase() ?? 'false';
  const cluster = clusterText === 'true' || clusterText === '1';
  if (!['true', 'false', '1', '0'].includes(clusterText)) {
    problems.push('CLUSTER must be true or false');
  } else if (cluster && !/^(rediss?|postgres(ql)?):\/\//i.test(databaseUrl)) {
    // The nodes coordinate through BullMQ, on Redis or on its Postgres backend; a SQLite file is one machine's.
    problems.push('CLUSTER=true needs a shared Redis or Postgres DATABASE_URL (redis://, rediss://, postgres:// or postgresql://) that every node uses; a SQLite file cannot be shared');
  }

  // A cookie value: no spaces, semicolons or commas, which would split the Cookie header.
  const cookieValue = (key: string, what: string): string | undefined => {
    const value = read(key);
    if (value !== undefined && /[\s;,]/.test(value)) {
      problems.push(`${key} must be ${what} exactly as the browser has it (no spaces, ';' or ',')`);
      return undefined;
    }
    return value;
  };
  const tiktokSessionId = cookieValue('TIKTOK_SESSION_ID', "the value of tiktok.com's sessionid cookie");
  const tiktokTtTargetIdc = cookieValue('TIKTOK_TT_TARGET_IDC', "the value of tiktok.com's tt-target-idc cookie (such as useast2a)");
  if ((read('TIKTOK_SESSION_ID') === undefined) !== (read('TIKTOK_TT_TARGET_IDC') === undefined)) {
    problems.push('TIKTOK_SESSION_ID and TIKTOK_TT_TARGET_IDC go together: TikTok only accepts a session in the data centre it belongs to');
  }
  const authenticateWsText = read('TIKTOK_AUTHENTICATE_WS')?.toLowerCase();
  if (authenticateWsText !== undefined && authenticateWsText !== 'true' && authenticateWsText !== 'false') {
    problems.push('TIKTOK_AUTHENTICATE_WS must be true or false');
  }
  const tiktokAuthenticateWs = authenticateWsText === 'true';
  if (tiktokAuthenticateWs && read('TIKTOK_SESSION_ID') === undefined) {
    problems.push('TIKTOK_AUTHENTICATE_WS=true needs TIKTOK_SESSION_ID and TIKTOK_TT_TARGET_IDC (it sends that session to the signing service)');
  }

  const logFileText = read('LOG_FILE');
  const logFile = logFileText === undefined ? undefined : path.resolve(logFileText);

  const clipsDir = path.resolve(read('CLIPS_DIR') ?? defaultClipsDir());
  // One buffer folder per clips folder: two bots (each with its own CLIPS_DIR and instance lock) never
  // share one, so neither can end the other's ffmpegs as leftovers.
  const streamBufferDir = path.resolve(read('STREAM_BUFFER_DIR') ?? path.join(os.tmpdir(), `tiktok-clip-bot-buffers-${shortHash(clipsDir)}`));
  const maxStreamBuffers =
    wholeNumber('MAX_STREAM_BUFFERS', 1, 1000, 'a whole number from 1 to 1000 (unset: chosen from the machine)') ?? defaultMaxStreamBuffers();

  if (problems.length > 0) {
    throw new AppError(
      'CONFIG_INVALID',
      `Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }

  return Object.freeze({
    discordToken: discordToken!,
    discordGuildId,
    obsUrl,
    obsPassword: read('OBS_PASSWORD'),
    clipsDir,
    databaseUrl,
    tiktokSignApiKey: read('TIKTOK_SIGN_API_KEY'),
    tiktokConnectsPerMinute,
    tiktokConnectsPerHour,
    tiktokSessionId,
    tiktokTtTargetIdc,
    tiktokAuthenticateWs,
    tiktokProxyUrl,
    tiktokProxySigning,
    ffmpegPath: read('FFMPEG_PATH') ?? CONFIG_DEFAULTS.ffmpegPath,
    streamBufferDir,
    maxStreamBuffers,
    logLevel: logLevel as LogLevel,
    logFormat: logFormat as LogFormat | undefined,
    logFile,
    httpPort,
    cluster,
  });
}

function isWebSocketUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'ws:' || url.protocol === 'wss:') && url.hostname !== '';
  } catch {
    return false;
  }
}

function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

/** The values that must never appear in a log line or in the store. */
export function secretsOf(config: Config): string[] {
  return [config.discordToken, config.obsPassword, config.tiktokSignApiKey, config.tiktokSessionId, config.tiktokTtTargetIdc, databasePassword(config.databaseUrl), proxyPassword(config.tiktokProxyUrl)].filter(
    (s): s is string => s !== undefined && s.length >= 4,
  );
}

/** The password inside a URL such as redis://:pw@host or postgres://user:pw@host/db, decoded. */
function databasePassword(databaseUrl: string): string | undefined {
  try {
    const { password } = new URL(databaseUrl);
    return password === '' ? undefined : decodeURIComponent(password);
  } catch {
    return undefined;
  }
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
}
