import type { Client } from 'discord.js';
import path from 'node:path';
import type { Logger } from 'pino';
import { ChatRouter } from './triggers/chat-router.js';
import { TriggerRouter } from './triggers/trigger-router.js';
import { ClipJournal } from './clips/clip-journal.js';
import { ClipService } from './clips/clip-service.js';
import { deriveFfprobePath, fitVideo } from './delivery/video-fitter.js';
import { DeliveryWorker, type DeliveryTimings } from './delivery/delivery-worker.js';
import { leanError } from './delivery/discord-errors.js';
import { FitCache } from './delivery/fit-cache.js';
import { OutboxStore } from './delivery/outbox.js';
import { StatusNotices } from './delivery/status-notices.js';
import { commands } from './commands/index.js';
import type { CommandContext } from './discord/command.js';
import type { Config } from './config.js';
import { ClipReplyBuilder } from './delivery/clip-message.js';
import { ClipPublisher } from './delivery/clip-publisher.js';
import { createDiscordClient, logIn } from './discord/discord-client.js';
import { registerCommands } from './discord/register-commands.js';
import { InteractionRouter } from './discord/router.js';
import { EventLog } from './events/event-log.js';
import { HealthServer } from './http/health-server.js';
import type { HealthSource } from './http/health-source.js';
import { BotMetrics } from './http/metrics.js';
import { GuildSettingsService } from './guilds/settings-service.js';
import { acquireInstanceLock } from './instance-lock.js';
import type { LiveConnectionFactory } from './monitor/live-connection.js';
import { StreamMonitor, type MonitorBudgets } from './monitor/stream-monitor.js';
import type { SupervisorTimings } from './monitor/stream-supervisor.js';
import { createTikTokConnectionFactory, fetchSignLimits, type TikTokTransport } from './monitor/tiktok-live-connection.js';
import { ObsCapture } from './obs/obs-capture.js';
import { StreamBuffers } from './capture/stream/stream-buffers.js';
import { StreamBufferSync } from './capture/stream/stream-buffer-sync.js';
import type { StreamBufferOptions } from './capture/stream/stream-buffer.js';
import { FFMPEG_MISSING_MESSAGE, isFfmpegAvailable, StreamCapture } from './capture/stream/stream-capture.js';
import { pickStreamSource } from './capture/stream/stream-url.js';
import { fileClip } from './clips/clip-filer.js';
import { ObsReplayBuffer } from './obs/obs-replay-buffer.js';
import type { ReplayBuffer } from './obs/replay-buffer.js';
import { BotStore } from './store/bot-store.js';
import type { GuildSettings } from './store/settings-schema.js';

/** Real parts swapped for local ones (tests, special set-ups); production uses none of them. */
export interface BotAdapters {
  /** discord.js REST base, e.g. a local server's `http://127.0.0.1:PORT/api`. */
  readonly discordApiUrl?: string;
  /** Where and how to reach TikTok (a local server in tests). The sign key always comes from config. */
  readonly tiktokTransport?: Omit<TikTokTransport, 'signApiKey'>;
  readonly connectLive?: LiveConnectionFactory;
  /** Instead of OBS; its `recordDirectory()` is where the clip journal accepts its files. */
  readonly replayBuffer?: ReplayBuffer;
}

/** Knobs that make waits short in tests; each falls back to the default a user gets. */
export interface BotTuning {
  readonly supervisorTimings?: Partial<SupervisorTimings>;
  /** Fixed connect and live-check budgets instead of the ones sized from the signing service. */
  readonly budgets?: MonitorBudgets;
  readonly coalesceWindowMs?: number;
  /** Stream capture buffer timings (tests: a short buffer and 1 s segments). */
  readonly streamBuffer?: StreamBufferOptions;
  readonly deliveryTimings?: Partial<DeliveryTimings>;
}

export interface BotOverrides {
  readonly adapters?: BotAdapters;
  readonly tuning?: BotTuning;
}

export interface Bot {
  readonly client: Client;
  readonly settings: GuildSettingsService;
  readonly monitor: StreamMonitor;
  readonly clips: ClipService;
  readonly events: EventLog;
  readonly replayBuffer: ReplayBuffer;
  /** `http://127.0.0.1:PORT` while /healthz and /metrics are served (HTTP_PORT set), else undefined. */
  httpUrl(): string | undefined;
  /** The durable outbox's delivery: held channels, pending posts. */
  readonly delivery: DeliveryWorker;
  /** Logs in, registers the commands, resumes every stored stream. */
  start(): Promise<void>;
  /** Closes every connection (TikTok, OBS, Discord, the store) and waits for saves in flight. */
  stop(): Promise<void>;
}

/**
 * The composition root: config -> store -> adapters -> services -> Discord. Built apart from start() so
 * tests drive the whole bot in-process against local fakes.
 */
export async function createBot(config: Config, log: Logger, { adapters = {}, tuning = {} }: BotOverrides = {}): Promise<Bot> {
  // First, before anything connects: a second copy must change nothing.
  const lock = await acquireInstanceLock(config.clipsDir, log.child({ component: 'instance-lock' }));
  const store = await BotStore.open(config.databaseUrl, log).catch(async (err: unknown) => {
    await lock.release();
    throw err;
  });
  // What /healthz and /metrics read. Stream states are tracked here from the monitor's listener.
  const streamStates = new Map<string, string>();
  const health: HealthSource = {
    isDiscordReady: () => client.isReady(),
    obsStatus: () => replayBuffer.status(),
    streamStates: () => streamStates,
    // Posts waiting for Discord; read only once the bot runs, when the delivery worker below exists.
    outboxSize: () => delivery.pendingCount,
    isObsNeeded: () => settings.isObsCaptureNeeded(),
  };
  const metrics = new BotMetrics(health);
  // Every event behind /logs is also a log line (with guild and stream) and feeds the counters.
  const events = new EventLog({ log: log.child({ component: 'events' }), onEvent: (kind) => metrics.countEvent(kind) });

  // Interactions reach the router built below, once start() has logged in.
  const client = createDiscordClient({
    ...(adapters.discordApiUrl ? { apiUrl: adapters.discordApiUrl } : {}),
    log,
    onInteraction: (interaction) => router.handle(interaction),
  });

  const replayBuffer =
    adapters.replayBuffer ??
    new ObsReplayBuffer({ url: config.obsUrl, password: config.obsPassword, log });

  const connectLive =
    adapters.connectLive ??
    createTikTokConnectionFactory(
      { ...adapters.tiktokTransport, signApiKey: config.tiktokSignApiKey },
      log.child({ component: 'tiktok' }),
    );

  // The monitor and the settings service need each other (chats go to guilds' matchers; settings
  // changes start and stop streams): the monitor's listener refers to services declared below, and
  // is only called once start() runs, when all of them exist.
  const monitor = new StreamMonitor({
    connect: connectLive,
    log: log.child({ component: 'monitor' }),
    ...(tuning.budgets ? { budgets: tuning.budgets } : {}),
    // The connect budget follows what the signing service allows this key (fixed budgets above win).
    ...(adapters.connectLive
      ? {}
      : { signLimits: () => fetchSignLimits({ ...adapters.tiktokTransport, signApiKey: config.tiktokSignApiKey }) }),
    connectOverrides: { perMinute: config.tiktokConnectsPerMinute, perHour: config.tiktokConnectsPerHour },
    ...(tuning.supervisorTimings ? { timings: tuning.supervisorTimings } : {}),
    listener: {
      chat: (message, guildIds) => {
        metrics.countChat();
        chatRouter.handle(message, guildIds);
        triggerRouter.chat(message, guildIds);
      },
      gift: (gift, guildIds) => triggerRouter.gift(gift, guildIds),
      chatRate: (username): number | undefined => triggerRouter.chatRate(username),
      stateChange: (username, state, previous, guildIds) => {
        bufferSync.stateChanged(username, state.name, guildIds);
        if (state.name === 'stopped') {
          streamStates.delete(username);
          // A stopped stream (removed) starts a fresh chat baseline if it is watched again.
          triggerRouter.forgetStream(username);
        } else {
          streamStates.set(username, state.name);
        }
        notices.streamChanged(username, state, previous, guildIds);
      },
    },
  });

  const settings = new GuildSettingsService({
    store,
    watcher: monitor,
    events,
    log: log.child({ component: 'settings' }),
    streamCaptureRefusal: () => (hasFfmpeg ? undefined : FFMPEG_MISSING_MESSAGE),
    onCaptureChanged: (guildId) =>
      bufferSync.captureChanged(
        guildId,
        settings.get(guildId).streams.map((s) => s.username),
        (streamer) => monitor.state(streamer)?.name ?? 'stopped',
      ),
  });

  // Stream capture: a rolling buffer of each live's own video while it is live and some server watching
  // it uses `stream` capture (src/capture/stream/). Without ffmpeg it is refused and OBS capture goes on.
  const ffprobePath = deriveFfprobePath(config.ffmpegPath);
  const hasFfmpeg = await isFfmpegAvailable(config.ffmpegPath, ffprobePath);
  const streamBuffers = new StreamBuffers({
    dir: config.streamBufferDir,
    ffmpegPath: config.ffmpegPath,
    maxBuffers: config.maxStreamBuffers,
    log: log.child({ component: 'stream-buffer' }),
    resolveSource: async (streamer, signal) => pickStreamSource(await monitor.fetchRoomInfo(streamer, signal), streamer),
    ...(tuning.streamBuffer ? { buffer: tuning.streamBuffer } : {}),
  });
  const streamCapture = new StreamCapture({
    buffers: streamBuffers,
    dir: config.streamBufferDir,
    ffmpegPath: config.ffmpegPath,
    ffprobePath,
    hasFfmpeg,
  });
  const bufferSync = new StreamBufferSync({
    buffers: streamBuffers,
    hasFfmpeg,
    captureOf: (guildId, streamer) => settings.captureOf(guildId, streamer),
    log: log.child({ component: 'stream-buffer' }),
  });

  // Re-encodes for Discord's upload limit live in a folder of their own and go once posted.
  const fits = new FitCache({ dir: path.join(config.clipsDir, '.fitted'), fitVideo, ffmpegPath: config.ffmpegPath, log: log.child({ component: 'ffmpeg' }) });
  const replies = new ClipReplyBuilder({ fits, log: log.child({ component: 'ffmpeg' }) });
  const outbox = new OutboxStore(store.rows());
  const delivery = new DeliveryWorker({
    client,
    outbox,
    settings,
    store,
    replies,
    fits,
    events,
    log: log.child({ component: 'delivery' }),
    ...(tuning.deliveryTimings ? { timings: tuning.deliveryTimings } : {}),
  });
  const publisher = new ClipPublisher({ store, outbox, worker: delivery, events, log: log.child({ component: 'alerts' }) });

  const clips = new ClipService({
    // Stream capture refuses by itself, with one clear message, where ffmpeg is missing.
    captures: { obs: new ObsCapture({ replayBuffer }), stream: streamCapture },
    fileClip,
    clipsDir: config.clipsDir,
    reporter: publisher,
    journal: new ClipJournal(config.clipsDir, log.child({ component: 'clip-journal' }), {
      allowedRoots: () => [config.clipsDir, config.streamBufferDir, replayBuffer.recordDirectory()].filter((dir) => dir !== undefined),
    }),
    events,
    log: log.child({ component: 'clips' }),
    policyFor: (guildId, streamer) => ({ ...settings.get(guildId), capture: settings.captureOf(guildId, streamer) }),
    ...(tuning.coalesceWindowMs !== undefined ? { coalesceWindowMs: tuning.coalesceWindowMs } : {}),
  });

  // Gifts and hype take the same moment path as keywords: per-stream moments, cooldown, naming, alerts.
  const triggerRouter: TriggerRouter = new TriggerRouter({
    policyFor: (guildId): GuildSettings => settings.get(guildId),
    trigger: (trigger) => clips.trigger(trigger),
  });

  const chatRouter = new ChatRouter({
    matcherFor: (guildId) => settings.matcherFor(guildId),
    trigger: (trigger) => clips.trigger(trigger),
  });

  const notices = new StatusNotices(
    {
      events,
      notice: (guildId, stream, text) => publisher.notice(guildId, stream, text),
      notifiesLive: (guildId) => settings.get(guildId).notifyLive,
      knownGuildIds: () => settings.knownGuildIds(),
    },
    replayBuffer.status(),
  );
  const stopObsListener = replayBuffer.onStatusChange((status, reason) => notices.obsChanged(status, reason));

  const context: CommandContext = {
    settings,
    store,
    monitor,
    clips,
    replayBuffer,
    events,
    clipReplies: replies,
    delivery,
    streamBuffers,
    log: log.child({ component: 'commands' }),
  };
  const router = new InteractionRouter(commands, context, log.child({ component: 'router' }));

  const httpServer = config.httpPort === undefined ? undefined : new HealthServer({ source: health, metrics, log: log.child({ component: 'http' }) });
  let httpUrl: string | undefined;

  let isStopped = false;

  return {
    client,
    settings,
    monitor,
    clips,
    events,
    replayBuffer,
    delivery,

    httpUrl: () => httpUrl,

    async start() {
      // First, so a supervisor sees 503 (not a refused connection) while the bot is still starting.
      if (httpServer) httpUrl = `http://127.0.0.1:${(await httpServer.listen(config.httpPort!)).port}`;
      await replayBuffer.start();
      await logIn(client, config.discordToken);
      try {
        const { count, scope } = await registerCommands(client.rest, client.application!.id, commands, config.discordGuildId);
        log.info({ commands: count, scope }, 'commands registered');
      } catch (err) {
        // Commands registered by an earlier start keep working; clips must not wait on this.
        log.error({ err: leanError(err), scope: config.discordGuildId ?? 'global' }, 'could not register the slash commands; will try at the next start');
      }
      // Posts a previous run left queued go out first, in their order.
      await delivery.start();
      // Clips a crash or kill left unposted; in the background, so a slow Discord cannot hold up the streams.
      void clips.recoverInterrupted();
      // Ffmpegs a killed run left behind end before any new buffer starts (by recorded pid, checked in /proc).
      await streamBuffers.endLeftovers();
      const resumed = await settings.resumeAll();
      log.info({ streams: resumed }, 'streams resumed');
    },

    async stop() {
      if (isStopped) return;
      isStopped = true;
      // Every step runs even when one before it fails: no ffmpeg, store connection or lock is left behind.
      const steps: Array<[string, () => unknown]> = [
        ['http', () => httpServer?.close()],
        ['obs listener', stopObsListener],
        ['monitor', () => monitor.close()],
        ['stream buffers', () => streamBuffers.stopAll()],
        ['clips', () => clips.close()],
        ['delivery', () => delivery.stop()],
        ['obs', () => replayBuffer.close()],
        ['discord', () => client.destroy()],
        ['store', () => store.close()],
        ['instance lock', () => lock.release()],
      ];
      const failures: unknown[] = [];
      for (const [what, step] of steps) {
        try {
          await step();
        } catch (err) {
          log.error({ err, step: what }, 'a shutdown step failed; going on with the others');
          failures.push(err);
        }
      }
      if (failures.length > 0) throw new AggregateError(failures, `${failures.length} shutdown step(s) failed`);
    },
  };
}
