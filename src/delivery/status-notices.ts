import type { ReplayBufferStatus } from '../obs/replay-buffer.js';
import type { EventLog } from '../events/event-log.js';
import type { StreamState } from '../monitor/stream-supervisor.js';

export interface StatusNoticesDeps {
  readonly events: Pick<EventLog, 'add'>;
  /** Posts a notice in the guild's alert channel, through the outbox (never throws). */
  readonly notice: (guildId: string, stream: string | undefined, text: string) => Promise<void>;
  /** Whether the guild asked to hear when a watched LIVE starts and ends (`/settings notify`). */
  readonly notifiesLive: (guildId: string) => boolean;
  readonly knownGuildIds: () => readonly string[];
  /**
   * Whether the guild has somewhere to post (an alert channel or a stream's channel). OBS news is not
   * queued for one that has not: it would wait in the outbox, and come out stale once a channel is set.
   */
  readonly hasAlertDestination?: (guildId: string) => boolean;
}

/**
 * What servers are told about the bot's own state: every stream and OBS change goes to /logs; a LIVE
 * starting or ending is posted where the guild asked for it; losing OBS, and regaining it, always is.
 */
export class StatusNotices {
  #previousObs: ReplayBufferStatus;
  /** "Connected again" only after a loss we announced, not at the first connect. */
  #hasAnnouncedObsLoss = false;

  constructor(
    private readonly deps: StatusNoticesDeps,
    initialObs: ReplayBufferStatus,
  ) {
    this.#previousObs = initialObs;
  }

  streamChanged(username: string, state: StreamState, previous: StreamState, guildIds: readonly string[]): void {
    const error = state.lastError && state.lastError !== previous.lastError ? ` (${state.lastError})` : '';
    const wentLive = state.name === 'live' && previous.name !== 'live';
    const ended = previous.name === 'live' && state.name === 'offline';
    for (const guildId of guildIds) {
      this.deps.events.add(guildId, { kind: 'state', stream: username, text: `${previous.name} -> ${state.name}: ${state.reason}${error}` });
      if ((wentLive || ended) && this.deps.notifiesLive(guildId)) {
        const text = wentLive ? `🔴 @${username} is live: watching the chat.` : `⚫ @${username}'s LIVE ended.`;
        void this.deps.notice(guildId, username, text);
      }
    }
  }

  obsChanged(status: ReplayBufferStatus, reason: string): void {
    const lostConnection = this.#previousObs.connection === 'connected' && status.connection !== 'connected';
    const regained = this.#hasAnnouncedObsLoss && status.connection === 'connected';
    if (lostConnection) this.#hasAnnouncedObsLoss = true;
    if (regained) this.#hasAnnouncedObsLoss = false;
    this.#previousObs = status;
    for (const guildId of this.deps.knownGuildIds()) {
      this.deps.events.add(guildId, { kind: 'obs', stream: undefined, text: `OBS ${status.connection}: ${reason}` });
      if (this.deps.hasAlertDestination?.(guildId) === false) continue;
      if (lostConnection) void this.deps.notice(guildId, undefined, `⚠️ Lost the connection to OBS (${reason}). Reconnecting; keywords cannot be clipped until then.`);
      if (regained) void this.deps.notice(guildId, undefined, `✅ Connected to OBS again: ${reason}.`);
    }
  }
}
