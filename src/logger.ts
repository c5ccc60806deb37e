import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config.js';

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
  '*.discordToken',
  '*.obsPassword',
  '*.tiktokSignApiKey',
];

export function createLogger(options: {
  level: LogLevel;
  secrets: readonly string[];
  destination?: DestinationStream;
}): Logger {
  const { secrets } = options;
  const pinoOptions: pino.LoggerOptions = {
    level: options.level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    hooks: {
      // Library errors sometimes quote a URL or header that carries a secret; strip every occurrence
      // of a known secret from the rendered line itself.
      streamWrite: (line) => scrubSecrets(line, secrets),
    },
  };
  return options.destination ? pino(pinoOptions, options.destination) : pino(pinoOptions);
}

export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) {
    if (secret.length === 0) continue;
    result = result.split(secret).join('[redacted]');
    // JSON-escaped form, in case the secret holds characters JSON escapes.
    const escaped = JSON.stringify(secret).slice(1, -1);
    if (escaped !== secret) result = result.split(escaped).join('[redacted]');
  }
  return result;
}
