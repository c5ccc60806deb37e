import type { StreamState, StreamStateName } from '../monitor/stream-supervisor.js';

const STATE_LABEL: Record<StreamStateName, string> = {
  idle: '⚪ starting',
  checking: '🔎 checking',
  offline: '⚫ offline',
  queued: '⏸️ queued',
  connecting: '🟡 connecting',
  live: '🔴 live',
  reconnecting: '🟠 reconnecting',
  'rate-limited': '⏳ rate-limited',
  error: '❗ error',
  stopped: '⚪ stopped',
};

export function stateLabel(name: StreamStateName): string {
  return STATE_LABEL[name];
}

/** Discord renders `<t:…:R>` as "3 minutes ago" in the reader's own language and time zone. */
export function relativeTime(date: Date): string {
  return `<t:${Math.floor(date.getTime() / 1000)}:R>`;
}

export function absoluteTime(date: Date): string {
  return `<t:${Math.floor(date.getTime() / 1000)}:f>`;
}

export function describeState(state: StreamState | undefined): string {
  if (!state) return '⚪ not started';
  const error = state.lastError ? ` — last error: ${state.lastError}` : '';
  return `${stateLabel(state.name)} since ${relativeTime(state.since)} (${state.reason})${error}`;
}

export { truncate } from '../util/text.js';

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
