/** Discord's Markdown: timestamps, escaping and message bodies, for every message the bot writes. */

/** Discord renders `<t:…:R>` as "3 minutes ago" in the reader's own language and time zone. */
export function relativeTime(date: Date): string {
  return `<t:${Math.floor(date.getTime() / 1000)}:R>`;
}

export function absoluteTime(date: Date): string {
  return `<t:${Math.floor(date.getTime() / 1000)}:f>`;
}

/** Makes user-provided text inert in Markdown (chat messages and names go into embeds). */
export function escapeMarkdown(text: string): string {
  return text.replace(/([\\`*_~|>#[\]()-])/g, '\\$1').replace(/@(everyone|here)/g, '@\u200b$1');
}

/** Joins lines into one message body under Discord's 2,000-character limit. */
export function joinLines(lines: readonly string[], max = 1_900): string {
  let body = '';
  for (const [index, line] of lines.entries()) {
    const next = body === '' ? line : `${body}\n${line}`;
    if (next.length > max) {
      return `${body}\n… and ${lines.length - index} more`;
    }
    body = next;
  }
  return body;
}
