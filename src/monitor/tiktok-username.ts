import { UserError } from '../util/errors.js';

// TikTok handles: 2-24 letters, digits, underscores and dots.
const HANDLE = /^[a-z0-9_.]{2,24}$/;
const PROFILE_URL = /^(?:https?:\/\/)?(?:(?:www|m|vm)\.)?tiktok\.com\/@([^/?#\s]+)(?:\/live)?\/?(?:[?#].*)?$/i;

/**
 * Accepts `name`, `@name` or a `tiktok.com/@name[/live]` link and returns the lower-case handle.
 * Anything else is a UserError with a short explanation.
 */
export function parseTikTokUsername(raw: string): string {
  const input = raw.trim();
  const fromUrl = PROFILE_URL.exec(input)?.[1];
  const candidate = (fromUrl ?? input.replace(/^@/, '')).toLowerCase();
  if (!HANDLE.test(candidate)) {
    throw new UserError(
      'INVALID_USERNAME',
      'That is not a TikTok username: use 2-24 letters, digits, `_` or `.`, like `@name` or a tiktok.com/@name/live link.',
    );
  }
  return candidate;
}
