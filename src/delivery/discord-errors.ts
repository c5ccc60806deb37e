/**
 * What a failed Discord request means for delivery, and how it is logged. discord.js's errors carry the
 * request body (`requestBody.files`: a clip's bytes, serialized by pino as an array of numbers, megabytes
 * per line), so they are never logged whole: only method, route, status, code and message.
 */
import { DiscordAPIError, HTTPError, RESTJSONErrorCodes } from 'discord.js';
import { errorMessage, truncate } from '../util/text.js';

export type FailureKind =
  /** Try again later (5xx, timeouts, cut connections, 429 past discord.js's own handling). */
  | 'transient'
  /** The channel cannot be posted in (gone, no access, no permission): hold its posts until it can. */
  | 'channel'
  /** The file is over the upload limit: post without it. */
  | 'too-large'
  /** This one request can never succeed (bad form body, message deleted): drop the entry, say so. */
  | 'rejected';

/** Unknown Channel, Missing Access, Missing Permissions (discord-api-docs: topics/opcodes-and-status-codes, JSON error codes). */
const CHANNEL_CODES: ReadonlySet<number> = new Set([
  RESTJSONErrorCodes.UnknownChannel,
  RESTJSONErrorCodes.MissingAccess,
  RESTJSONErrorCodes.MissingPermissions,
]);

/** The channel exists but is not one messages can be sent to (a category, a voice channel). */
export class NotSendableError extends Error {
  override readonly name = 'NotSendableError';
  constructor() {
    super('not a channel the bot can post in');
  }
}

export function classifyFailure(err: unknown): FailureKind {
  if (err instanceof NotSendableError) return 'channel';
  if (err instanceof DiscordAPIError) {
    if (typeof err.code === 'number' && CHANNEL_CODES.has(err.code)) return 'channel';
    if (err.code === RESTJSONErrorCodes.RequestEntityTooLarge || err.status === 413) return 'too-large';
    if (err.status === 429 || err.status >= 500) return 'transient';
    return 'rejected';
  }
  if (err instanceof HTTPError) return err.status === 413 ? 'too-large' : 'transient';
  // AbortError (timeout), ECONNRESET, "other side closed": the request may or may not have landed. The
  // nonce makes the retry safe either way.
  return 'transient';
}

/** A failed request as a log binding: small whatever was uploaded. */
export function leanError(err: unknown): Record<string, unknown> {
  if (err instanceof DiscordAPIError || err instanceof HTTPError) {
    return {
      method: err.method,
      route: routeOf(err.url),
      status: err.status,
      ...(err instanceof DiscordAPIError ? { code: err.code } : {}),
      message: truncate(err.message, 300),
    };
  }
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return { name: err.name, ...(code ? { code } : {}), message: truncate(err.message, 300) };
  }
  return { message: truncate(errorMessage(err), 300) };
}

/** In plain words for /status and /logs: "Missing Permissions (50013)". */
export function describeFailure(err: unknown): string {
  if (err instanceof DiscordAPIError) return `${truncate(err.message, 150)} (${err.code})`;
  if (err instanceof HTTPError) return `HTTP ${err.status}`;
  if (err instanceof Error && err.name === 'AbortError') return 'the request timed out';
  return truncate(errorMessage(err), 150);
}

function routeOf(url: string): string {
  try {
    return new URL(url).pathname.replace(/^\/api/, '');
  } catch {
    return truncate(url, 200);
  }
}
