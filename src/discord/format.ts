import type { StreamState, StreamStateName } from '../tiktok/stream-supervisor.js';
import { relativeTime } from '../util/markdown.js';

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

/** A stream's state as /stream list and /status show it. */
export function describeState(state: StreamState | undefined): string {
  if (!state) return '⚪ not started';
  const error = state.lastError ? ` — last error: ${state.lastError}` : '';
  return `${stateLabel(state.name)} since ${relativeTime(state.since)} (${state.reason})${error}`;
}
