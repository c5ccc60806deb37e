/** Cuts text to `max` characters with an ellipsis (Discord rejects over-long fields; logs stay short). */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** The message of anything thrown, for logs and plain-words reasons. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * C0 controls (and DEL) and the bidi embeddings, overrides and isolates (U+202A-202E, U+2066-2069): a
 * chat or note holding them could reorder or hide the text around it in an alert. Right-to-left letters
 * are not in this set and stay as they are.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE_CHARACTERS = /[\u0000-\u0008\u000b-\u001f\u007f\u202a-\u202e\u2066-\u2069]/g;
const LINE_BREAKS = /[\t\n\r]/g;

/** User text (chats, notes, names, echoed options) made safe to show in Discord: see UNSAFE_CHARACTERS. */
export function cleanText(text: string, { keepLineBreaks = false }: { keepLineBreaks?: boolean } = {}): string {
  const cleaned = text.replace(UNSAFE_CHARACTERS, '');
  return keepLineBreaks ? cleaned : cleaned.replace(LINE_BREAKS, ' ');
}

/** What cleanMessage accepts: discord.js reply/send options, or a bare string. */
type Embedish = { toJSON(): unknown } | Record<string, unknown>;

/**
 * The last step before anything reaches Discord (replies, alerts, notices, edits): every text of the
 * message through cleanText, line breaks kept. Commands and alerts clean user text where they build it
 * too; this makes sure nothing echoed (an option in an error, a stored name, a /logs line) slips past.
 * Files are left as they are.
 */
export function cleanMessage<T>(message: T): T {
  if (typeof message === 'string') return cleanText(message, { keepLineBreaks: true }) as T;
  if (message === null || typeof message !== 'object') return message;
  const options = message as Record<string, unknown>;
  const cleaned: Record<string, unknown> = { ...options };
  if (typeof options.content === 'string') cleaned.content = cleanText(options.content, { keepLineBreaks: true });
  if (Array.isArray(options.embeds)) cleaned.embeds = (options.embeds as Embedish[]).map(cleanEmbed);
  return cleaned as T;
}

function cleanEmbed(embed: Embedish): Record<string, unknown> {
  const data = (typeof embed.toJSON === 'function' ? (embed as { toJSON(): unknown }).toJSON() : embed) as Record<string, unknown>;
  return cleanDeep(data) as Record<string, unknown>;
}

/** Every string in an embed's JSON (title, description, fields, footer, author); URLs have no controls to lose. */
function cleanDeep(value: unknown): unknown {
  if (typeof value === 'string') return cleanText(value, { keepLineBreaks: true });
  if (Array.isArray(value)) return value.map(cleanDeep);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, cleanDeep(inner)]));
  }
  return value;
}

/**
 * Characters that show nothing on their own: whitespace, controls, format characters (zero-width space
 * U+200B, joiners U+200C/U+200D, word joiner, BOM, bidi marks, soft hyphen), what Unicode says renderers
 * ignore (variation selectors, Hangul fillers, tags), lone surrogates, combining marks with no base,
 * and the blank braille pattern U+2800 that "invisible names" use.
 */
const INVISIBLE = /[\p{White_Space}\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}\p{Cs}\p{M}\u2800]/u;

/** True when `text` has at least one character a member would see (not only whitespace, zero-width or control characters). */
export function hasVisibleCharacter(text: string): boolean {
  for (const ch of text) if (!INVISIBLE.test(ch)) return true;
  return false;
}
