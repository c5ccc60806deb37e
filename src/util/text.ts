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
