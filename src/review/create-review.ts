import type { Logger } from 'pino';
import type { ClipCapture } from '../capture/clip-capture.js';
import type { EventLog } from '../events/event-log.js';
import type { ChatMessage } from '../monitor/chat-message.js';
import type { GiftEvent } from '../monitor/live-connection.js';
import type { StreamState } from '../monitor/stream-supervisor.js';
import type { StoreRows } from '../store/bot-store.js';
import type { ClipRecord } from '../store/settings-schema.js';
import { errorMessage } from '../util/text.js';
import { ChatLog } from './chat-log.js';
import { probeSeconds } from './clip-files.js';
import { LiveSummaries, recapText } from './live-recap.js';
import { ReviewRecords } from './review-records.js';
import { ReviewService, type ReviewServiceDeps } from './review-service.js';

export interface ReviewStage {
  readonly service: ReviewService;
  /** Every chat and gift of every watched live (the monitor's listener). */
  chat(message: ChatMessage): void;
  gift(gift: GiftEvent): void;
  /** A live going live or ending: its recap, for the servers that asked. */
  streamChanged(username: string, state: StreamState, previous: StreamState, guildIds: readonly string[]): void;
}

/**
 * The review stage: the moment's chat kept per live and written beside each clip, each alert a card
 * moderators act on (src/review/review-service.ts), and the recap when a live ends. Discord posting is
 * the delivery stage's: it hands in `queueHighlight` and `postRecap`.
 */
export function createReview(
  config: { readonly ffprobePath: string },
  deps: Pick<ReviewServiceDeps, 'obsBufferSeconds' | 'highlightsChannelOf' | 'queueHighlight' | 'bufferStartMs'> & {
    readonly rows: StoreRows;
    readonly events: Pick<EventLog, 'add'>;
    readonly streamCapture?: ClipCapture | undefined;
    readonly recapEnabled: (guildId: string) => boolean;
    readonly recentClips: (guildId: string, streamer: string) => Promise<ClipRecord[]>;
    readonly alertLink: (guildId: string, clipId: string) => Promise<string | undefined>;
    readonly postRecap: (guildId: string, streamer: string, text: string) => Promise<void>;
    readonly log: Logger;
  },
): ReviewStage {
  const chatLog = new ChatLog();
  const lives = new LiveSummaries();
  const records = new ReviewRecords(deps.rows);
  const service = new ReviewService({
    records,
    chatLog,
    events: deps.events,
    log: deps.log,
    probeSeconds: (file) => probeSeconds(config.ffprobePath, file),
    obsBufferSeconds: deps.obsBufferSeconds,
    ...(deps.streamCapture ? { streamCapture: deps.streamCapture } : {}),
    ...(deps.bufferStartMs ? { bufferStartMs: deps.bufferStartMs } : {}),
    highlightsChannelOf: deps.highlightsChannelOf,
    queueHighlight: deps.queueHighlight,
  });

  async function postRecaps(streamer: string, guildIds: readonly string[], endedAtMs: number): Promise<void> {
    const summary = lives.ended(streamer);
    if (!summary) return;
    for (const guildId of guildIds) {
      if (!deps.recapEnabled(guildId)) continue;
      const clips = (await deps.recentClips(guildId, streamer)).filter((c) => Date.parse(c.at) >= summary.startedAtMs).reverse();
      const listed = await Promise.all(
        clips.map(async (clip) => {
          const link = await deps.alertLink(guildId, clip.id).catch(() => undefined);
          const status = (await records.get(clip.id).catch(() => undefined))?.guilds[guildId]?.status;
          return { clip, ...(link ? { link } : {}), ...(status ? { status } : {}) };
        }),
      );
      await deps.postRecap(guildId, streamer, recapText({ streamer, summary, endedAtMs, clips: listed }));
    }
  }

  return {
    service,
    chat(message) {
      chatLog.chat(message);
      lives.chat(message);
    },
    gift(gift) {
      chatLog.gift(gift);
      lives.gift(gift);
    },
    streamChanged(username, state, previous, guildIds) {
      if (state.name === 'live' && previous.name !== 'live') lives.started(username, state.since.getTime());
      if (state.name === 'stopped') {
        lives.ended(username);
        chatLog.forget(username);
      }
      if (state.name === 'offline' && previous.name !== 'offline') {
        void postRecaps(username, guildIds, state.since.getTime()).catch((err: unknown) => deps.log.error({ err: errorMessage(err), streamer: username }, 'recap failed'));
      }
    },
  };
}
