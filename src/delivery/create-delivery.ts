import type { Client } from 'discord.js';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import type { EventLog } from '../events/event-log.js';
import type { GuildSettingsService } from '../guilds/settings-service.js';
import type { ReplayBuffer } from '../obs/replay-buffer.js';
import type { BotStore } from '../store/bot-store.js';
import { ClipReplyBuilder } from './clip-message.js';
import { ClipPublisher } from './clip-publisher.js';
import { DeliveryWorker } from './delivery-worker.js';
import { FitCache } from './fit-cache.js';
import { OutboxStore, type OutboxEntry } from './outbox.js';
import { StatusNotices } from './status-notices.js';
import { fitVideo } from './video-fitter.js';
import type { ClipCapture } from '../capture/clip-capture.js';
import type { StreamBuffers } from '../capture/stream/stream-buffers.js';
import { createReview, type ReviewStage } from '../review/create-review.js';
import { deriveFfprobePath } from '../util/ffprobe-path.js';
import { alertId, delivererOf, highlightId, isSameHome, nonceFor, type FileHome } from './outbox.js';
import { AlertTakeover } from './alert-takeover.js';
import { DELIVERY_DEFAULTS } from './defaults.js';
import { HighlightPoster } from './highlight-post.js';
import type { DeliveryTimings } from './types.js';

export interface DeliveryStage {
  /** Re-encodes for Discord's upload limit, shared by alerts and /clip's reply. */
  readonly replies: ClipReplyBuilder;
  readonly worker: DeliveryWorker;
  readonly publisher: ClipPublisher;
  /** Live / offline / OBS notices to the servers that want them (and the recap when a live ends). */
  readonly notices: Pick<StatusNotices, 'streamChanged'>;
  /** Each alert as a card (src/review/): the moment's chat, the buttons, the recap. */
  readonly review: ReviewStage;
  /** Stops following OBS's status (the first shutdown step of this stage). */
  stopObsNotices(): void;
}

/**
 * The delivery stage: every alert and notice is written to the durable outbox first, then posted by the
 * worker (nonce, backoff, held channels). Re-encodes for the upload limit live in a folder of their own
 * (`CLIPS_DIR/.fitted`) and go once posted.
 */
export function createDelivery(
  config: { readonly clipsDir: string; readonly ffmpegPath: string; readonly cluster?: boolean },
  deps: {
    readonly client: Client;
    readonly settings: GuildSettingsService;
    readonly store: BotStore;
    readonly events: EventLog;
    readonly replayBuffer: ReplayBuffer;
    /** Stream capture, for a card's Extend (cut again from the live's buffer). */
    readonly stream?: { readonly capture: ClipCapture; readonly buffers: Pick<StreamBuffers, 'get'> };
    readonly timings?: Partial<DeliveryTimings>;
    /** CLUSTER=true: the nodes alive now (the node registry), so alerts of a node gone are taken over. */
    readonly cluster?: { nodes(): Promise<ReadonlyArray<FileHome>> } | undefined;
    readonly log: Logger;
  },
): DeliveryStage {
  const { client, settings, store, events, replayBuffer, log } = deps;
  const ffmpegLog = log.child({ component: 'ffmpeg' });
  const fits = new FitCache({ dir: path.join(config.clipsDir, '.fitted'), fitVideo, ffmpegPath: config.ffmpegPath, log: ffmpegLog });
  const replies = new ClipReplyBuilder({ fits, log: ffmpegLog });
  const outbox = new OutboxStore(store.rows());
  // A cluster node's clips are on this machine's disk: its alerts say so, and it delivers them.
  const home: FileHome | undefined = config.cluster ? { host: os.hostname(), clipsDir: config.clipsDir } : undefined;
  const timings = { ...DELIVERY_DEFAULTS.worker, ...deps.timings };
  const cluster = deps.cluster;
  const takeover =
    home && cluster
      ? new AlertTakeover({ home, liveHomes: () => cluster.nodes(), outbox, isOursToo: (entry) => isOurs(home, entry), events, log: log.child({ component: 'takeover' }), timings })
      : undefined;
  // Built before the worker, which posts its highlights; it hands them to the worker only once it exists.
  const review = createReview(
    { ffprobePath: deriveFfprobePath(config.ffmpegPath) },
    {
      rows: store.rows(),
      events,
      log: log.child({ component: 'review' }),
      obsBufferSeconds: () => replayBuffer.bufferSeconds(),
      streamCapture: deps.stream?.capture,
      bufferStartMs: async (streamer) => (await deps.stream?.buffers.get(streamer)?.segments())?.[0]?.start.getTime(),
      highlightsChannelOf: (guildId) => settings.get(guildId).highlightsChannelId,
      queueHighlight: async (guildId, streamer, highlight) => {
        const id = highlightId(guildId, highlight.clipId);
        const entry = await outbox.put({ id, kind: 'highlight', guildId, streamer, nonce: nonceFor(id), highlight });
        return () => worker.accept(entry);
      },
      recapEnabled: (guildId) => settings.get(guildId).recapEnabled,
      recentClips: (guildId, streamer) => store.recentClips(guildId, { streamer, limit: 200 }),
      alertLink: async (guildId, clipId) => {
        const sent = await outbox.sentAlert(guildId, alertId(guildId, clipId));
        return sent && `https://discord.com/channels/${guildId}/${sent.channelId}/${sent.messageId}`;
      },
      postRecap: (guildId, streamer, text) => publisher.notice(guildId, streamer, text),
    },
  );
  const worker = new DeliveryWorker({
    client,
    outbox,
    settings,
    store,
    replies,
    fits,
    highlights: new HighlightPoster({ fits, review: review.service, log: log.child({ component: 'highlights' }) }),
    events,
    log: log.child({ component: 'delivery' }),
    ...(deps.timings ? { timings: deps.timings } : {}),
    // A cluster's nodes share the outbox, but a clip's file is on the node that cut it: each delivers its own.
    ...(home ? { isOurs: (entry: OutboxEntry) => isOurs(home, entry) } : {}),
    ...(takeover ? { takeover } : {}),
  });
  const publisher = new ClipPublisher({ store, outbox, worker, events, review: review.service, ...(home ? { filedOn: home } : {}), log: log.child({ component: 'alerts' }) });
  const notices = new StatusNotices(
    {
      events,
      notice: (guildId, stream, text) => publisher.notice(guildId, stream, text),
      notifiesLive: (guildId) => settings.get(guildId).notifyLive,
      knownGuildIds: () => settings.knownGuildIds(),
      hasAlertDestination: (guildId) => {
        const { alertChannelId, streams } = settings.get(guildId);
        return alertChannelId !== undefined || streams.length > 0;
      },
    },
    replayBuffer.status(),
  );
  const stopObsNotices = replayBuffer.onStatusChange((status, reason) => notices.obsChanged(status, reason));
  const streamChanged: StatusNotices['streamChanged'] = (...change) => {
    notices.streamChanged(...change);
    review.streamChanged(...change);
  };
  return { replies, worker, publisher, notices: { streamChanged }, review, stopObsNotices };
}

/**
 * Notices and card edits (no file; a repeat is harmless) go from any node; the rest from the clip's, and
 * an alert taken over (its node gone) from the node that took it until it is posted.
 */
function isOurs(home: FileHome, entry: OutboxEntry): boolean {
  const deliverer = delivererOf(entry);
  if (deliverer) return isSameHome(deliverer, home);
  if (entry.kind === 'alert' || entry.kind === 'credits') return isInside(home.clipsDir, entry.alert.path);
  if (entry.kind === 'highlight') return isInside(home.clipsDir, entry.highlight.path);
  return true;
}

function isInside(dir: string, file: string): boolean {
  const relative = path.relative(dir, file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
}
