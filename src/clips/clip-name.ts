/**
 * Clip names: `{chatter}_{keyword}_{YYYY-MM-DD_hh-mm-ss_AM|PM}.mp4` (the old app's format, local time).
 * Every part comes from strangers (chat handles, keywords, member names), so each is cleaned until it
 * cannot leave the clips folder or be invalid on Windows, while staying readable: emoji and non-Latin
 * letters stay.
 */

/** Characters Windows forbids in names (and `/`, `\` which separate paths everywhere). */
const FORBIDDEN = /[<>:"/\\|?*]/g;
/**
 * Control characters, bidirectional overrides (which can make a name display as something else), lone
 * surrogates (not text; the file system would get U+FFFD) and zero-width characters that would let a
 * name look empty. The zero-width joiner stays: emoji sequences need it.
 */
const INVISIBLE = /[\p{Cc}\p{Cs}\u202A-\u202E\u2066-\u2069\u200E\u200F\u200B\u2060\uFEFF]/gu;
/** CON, PRN, AUX, NUL, COM1-9, LPT1-9 (and the superscript digits Windows also reserves), with or without an extension. */
const RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;
/** Bytes per part: three parts plus the time stamp stay far below the 255-byte limit of most file systems. */
export const MAX_PART_BYTES = 64;

export function sanitizeNamePart(raw: string, fallback: string): string {
  let part = raw
    .normalize('NFC')
    .replace(INVISIBLE, '')
    .replace(FORBIDDEN, '-')
    .replace(/\s+/g, ' ')
    .replace(/\.{2,}/g, '.');
  part = truncateUtf8(part, MAX_PART_BYTES);
  // Windows drops trailing dots and spaces (so `a.` and `a` collide); leading dots hide files elsewhere.
  part = part.replace(/^[\s.]+|[\s.]+$/g, '');
  if (part === '') return fallback;
  if (RESERVED.test(part)) part = `_${part}`;
  return part;
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * Cuts to at most `maxBytes` of UTF-8 between grapheme clusters: surrogate pairs, emoji sequences
 * (👍🏽, 👨‍👩‍👧, flags) and letters with combining marks stay whole.
 */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  let bytes = 0;
  let result = '';
  for (const { segment } of graphemes.segment(text)) {
    const size = Buffer.byteLength(segment, 'utf8');
    if (bytes + size > maxBytes) break;
    bytes += size;
    result += segment;
  }
  return result;
}

/** `2026-11-25_01-05-09_PM`, in the machine's local time, 12-hour clock (12 AM is midnight). */
export function formatClipTime(at: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const hours = at.getHours();
  const hour12 = hours % 12 === 0 ? 12 : hours % 12;
  const suffix = hours < 12 ? 'AM' : 'PM';
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}_${pad(hour12)}-${pad(at.getMinutes())}-${pad(at.getSeconds())}_${suffix}`;
}

export function clipFileName(input: { chatter: string; keyword: string; at: Date }): string {
  return `${clipBaseName(input)}.mp4`;
}

/** The name without `.mp4`, to which the filer adds ` (2)`, ` (3)`… on a collision. */
export function clipBaseName({ chatter, keyword, at }: { chatter: string; keyword: string; at: Date }): string {
  return `${sanitizeNamePart(chatter, 'unknown')}_${sanitizeNamePart(keyword, 'keyword')}_${formatClipTime(at)}`;
}

export function streamerFolderName(streamer: string): string {
  return sanitizeNamePart(streamer, 'unknown-streamer');
}
