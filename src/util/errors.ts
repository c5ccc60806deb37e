/**
 * Every failure the bot raises carries a stable code, so logs, tests and replies can tell them apart
 * without parsing messages.
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'INVALID_USERNAME'
  | 'INVALID_KEYWORD'
  | 'INVALID_SETTING'
  | 'DUPLICATE'
  | 'NOT_FOUND'
  | 'FORBIDDEN'
  | 'OBS_UNAVAILABLE'
  | 'OBS_BUFFER_NOT_RUNNING'
  | 'OBS_TIMEOUT'
  | 'OBS_REQUEST_FAILED'
  | 'CLIP_FILE_FAILED'
  | 'STREAM_NO_VIDEO'
  | 'STREAM_NOT_BUFFERED'
  | 'FFMPEG_MISSING'
  | 'CLIP_TOO_LARGE'
  | 'FFMPEG_FAILED'
  | 'TIKTOK_OFFLINE'
  | 'TIKTOK_USER_NOT_FOUND'
  | 'TIKTOK_RATE_LIMITED'
  | 'TIKTOK_CONNECT_FAILED'
  /** No route of TikTok's live check gave a clear answer (captcha, block page, 403, 429, 5xx, timeout). */
  | 'TIKTOK_UNCLEAR'
  /** An 18+ or region-locked LIVE, and no session to watch it with. */
  | 'TIKTOK_RESTRICTED'
  /** An 18+ or region-locked LIVE whose room TikTok would not open with the configured session. */
  | 'TIKTOK_SESSION_REFUSED'
  | 'TIMEOUT'
  | 'ABORTED'
  | 'ALREADY_RUNNING'
  | 'STORAGE_UNAVAILABLE'
  | 'STORAGE_CONFLICT'
  | 'INTERNAL';

export class AppError extends Error {
  override readonly name: string = 'AppError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** A failure whose message is written for the Discord member and is safe to show them as is. */
export class UserError extends AppError {
  override readonly name: string = 'UserError';
}

export function isAppError(err: unknown, code?: ErrorCode): err is AppError {
  return err instanceof AppError && (code === undefined || err.code === code);
}

/** Runs `work` but rejects with an AppError('TIMEOUT'-like code) when it takes longer than `ms`. */
export async function withTimeout<T>(
  work: Promise<T>,
  ms: number,
  onTimeout: () => AppError,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
