/** Cuts text to `max` characters with an ellipsis (Discord rejects over-long fields; logs stay short). */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** The message of anything thrown, for logs and plain-words reasons. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
