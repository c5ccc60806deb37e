import type { CaptureMode } from '../capture/clip-capture.js';
import { describeBufferState, type BufferState } from '../capture/stream/stream-buffer.js';
import type { StreamState, StreamStateName } from '../monitor/stream-supervisor.js';
import type { CommandContext } from './command.js';
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
  restricted: '🔞 restricted',
  error: '❗ error',
  stopped: '⚪ stopped',
};

export function isStateName(name: string): name is StreamStateName {
  return Object.hasOwn(STATE_LABEL, name);
}

export function stateLabel(name: StreamStateName): string {
  return STATE_LABEL[name];
}

/** A stream's state as /stream list and /status show it. */
export function describeState(state: StreamState | undefined): string {
  if (!state) return '⚪ not started';
  const error = state.lastError ? ` — last error: ${state.lastError}` : '';
  // The reason right after the state, so it reads as one: "🔞 restricted (needs TIKTOK_SESSION_ID) since …".
  return `${stateLabel(state.name)} (${state.reason}) since ${relativeTime(state.since)}${error}`;
}

/**
 * One stream as /stream list and /status show it: its state, then `extra` (e.g. its chat rate), then its
 * capture.
 */
export function describeStream(
  { settings, monitor, streamBuffers }: Pick<CommandContext, 'settings' | 'monitor' | 'streamBuffers'>,
  guildId: string,
  username: string,
  extra = '',
): string {
  return `${describeState(monitor.state(username))}${extra}${describeCapture(settings.captureOf(guildId, username), streamBuffers?.state(username))}`;
}

/** ` · capture stream, buffer ready (58 s)`: which capture a stream uses and, for stream capture, its buffer. */
export function describeCapture(mode: CaptureMode, buffer: BufferState | undefined): string {
  if (mode === 'obs') return ' · capture obs';
  return ` · capture stream, ${buffer ? describeBufferState(buffer) : 'no buffer (not live)'}`;
}
