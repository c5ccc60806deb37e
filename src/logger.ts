import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import pino, { type DestinationStream, type Logger, type StreamEntry } from 'pino';
import type pinoRoll from 'pino-roll';
import { secretsOf, type Config, type LogFormat, type LogLevel } from './config.js';

/**
 * Paths pino removes wherever they appear. Secrets are never meant to be logged at all; this is the
 * second line of defence, and `scrubSecrets` the third (for secrets embedded in error messages, URLs…).
 */
const REDACTED_PATHS = [
  'token',
  'password',
  'apiKey',
  'authorization',
  '*.token',
  '*.password',
  '*.apiKey',
  '*.authorization',
  '*.headers.authorization',
  'discordToken',
  'obsPassword',
  'tiktokSignApiKey',
  'databaseUrl',
  'cookie',
  'sessionId',
  'tiktokSessionId',
  'tiktokTtTargetIdc',
  '*.cookie',
  '*.sessionId',
  '*.tiktokSessionId',
  '*.tiktokTtTargetIdc',
  '*.headers.cookie',
  'tiktokProxyUrl',
  '*.discordToken',
  '*.obsPassword',
  '*.tiktokSignApiKey',
  '*.databaseUrl',
  '*.tiktokProxyUrl',
];

/** How LOG_FILE rotates: a new file every 10 MB, the 5 newest kept. */
export const LOG_FILE_DEFAULTS = {
  size: '10m',
  keep: 5,
} as const satisfies { size: string; keep: number };

export function createLogger(options: {
  level: LogLevel;
  secrets: readonly string[];
  /** Where lines go; stdout when omitted. */
  destination?: DestinationStream;
}): Logger {
  const forms = secretForms(options.secrets);
  const pinoOptions: pino.LoggerOptions = {
    level: options.level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    hooks: {
      // Library errors sometimes quote a URL or header that carries a secret; strip every occurrence
      // of a known secret from the rendered line itself. This runs on the JSON line before any output
      // (pretty, file) sees it, so every output is scrubbed alike.
      streamWrite: (line) => replaceAll(line, forms),
    },
  };
  return options.destination ? pino(pinoOptions, options.destination) : pino(pinoOptions);
}

export interface LogOutputs {
  readonly destination: DestinationStream;
  /** Writes out what is buffered (the log file) and closes it; call before the process exits. */
  close(): Promise<void>;
}

/**
 * The console (pretty and coloured in a terminal, JSON otherwise, or as LOG_FORMAT says) and, with
 * LOG_FILE, a rotated JSON file beside it. Built in the main thread (pino.multistream) rather than as
 * worker transports, so the last lines before an exit are never lost with the worker. pino-pretty and
 * pino-roll are imported only when used (each costs 10-16 MB of memory).
 */
export async function openLogOutputs(options: {
  format: LogFormat | undefined;
  file: string | undefined;
  /** Whether stdout is a terminal; decides the format when LOG_FORMAT is unset, and the colours. */
  isTerminal: boolean;
  stdout?: DestinationStream;
}): Promise<LogOutputs> {
  const format = options.format ?? (options.isTerminal ? 'pretty' : 'json');
  const stdout = options.stdout ?? pino.destination({ dest: 1, sync: true });
  const console: DestinationStream =
    format === 'pretty' ? (await import('pino-pretty')).default({ colorize: options.isTerminal, destination: stdout, sync: true }) : stdout;
  // The logger's own level filters; each stream takes whatever it is given.
  const streams: StreamEntry[] = [{ level: 'trace', stream: console }];
  let file: Awaited<ReturnType<typeof pinoRoll>> | undefined;
  if (options.file) {
    await mkdir(path.dirname(options.file), { recursive: true });
    const { default: roll } = await import('pino-roll');
    file = await roll({ file: options.file, size: LOG_FILE_DEFAULTS.size, limit: { count: LOG_FILE_DEFAULTS.keep }, mkdir: true });
    streams.push({ level: 'trace', stream: file });
  }
  return {
    destination: pino.multistream(streams),
    async close() {
      if (!file) return;
      const stream = file;
      await new Promise<void>((resolve) => {
        stream.once('close', () => resolve());
        stream.end();
      });
    },
  };
}

/**
 * The bot's logger as `npm start` builds it from the configuration: level, format, file, secrets.
 * `close()` writes out the log file; call it before the process exits.
 */
export async function openServiceLogger(
  config: Config,
  isTerminal: boolean = process.stdout.isTTY === true,
): Promise<{ log: Logger; close: () => Promise<void> }> {
  const outputs = await openLogOutputs({ format: config.logFormat, file: config.logFile, isTerminal });
  const log = createLogger({ level: config.logLevel, secrets: secretsOf(config), destination: outputs.destination });
  return { log, close: () => outputs.close() };
}

/**
 * Every form a secret can take in a line: as is, JSON-escaped, URL-encoded (a password in a query
 * string or in DATABASE_URL), and URL-encoded inside JSON. Longest first, so no form is left half-replaced.
 */
function secretForms(secrets: readonly string[]): string[] {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret.length === 0) continue;
    for (const form of [secret, encodeURIComponent(secret), encodeURI(secret), encodeURIComponent(secret).replace(/%20/g, '+')]) {
      forms.add(form);
      forms.add(JSON.stringify(form).slice(1, -1));
    }
  }
  return [...forms].sort((a, b) => b.length - a.length);
}

function replaceAll(text: string, forms: readonly string[]): string {
  let result = text;
  for (const form of forms) result = result.split(form).join('[redacted]');
  return result;
}

export function scrubSecrets(text: string, secrets: readonly string[]): string {
  return replaceAll(text, secretForms(secrets));
}
