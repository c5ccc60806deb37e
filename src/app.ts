import { Client, Events, GatewayIntentBits, type ClientOptions } from 'discord.js';
import path from 'node:path';
import type { Logger } from 'pino';
import { ChatRouter } from './clips/chat-router.js';
import { TriggerRouter } from './triggers/trigger-router.js';
import { ClipJournal } from './clips/clip-journal.js';
import { ClipService } from './clips/clip-service.js';
import { fitVideo } from './clips/video-fitter.js';
import { DeliveryWorker, type DeliveryTimings } from './delivery/delivery-worker.js';
import { leanError } from './delivery/discord-errors.js';
import { FitCache } from './delivery/fit-cache.js';
import { OutboxStore } from './delivery/outbox.js';
import { commands } from './commands/index.js';
import type { CommandContext } from './commands/command.js';
import type { Config } from './config.js';
import { ClipReplyBuilder } from './discord/clip-message.js';
import { ClipPublisher } from './discord/clip-publisher.js';
import { InteractionRouter } from './discord/router.js';
import { EventLog } from './events/event-log.js';
import { HealthServer } from './http/health-server.js';
import type { HealthSource } from './http/health-source.js';
import { BotMetrics } from './http/metrics.js';
import { GuildSettingsService } from './guilds/settings-service.js';
import { acquireInstanceLock } from './instance-lock.js';
import type { LiveConnectionFactory } from './monitor/live-connection.js';
import { StreamMonitor, type MonitorBudgets } from './monitor/stream-monitor.js';
import type { StreamState, SupervisorTimings } from './monitor/stream-supervisor.js';
import { createTikTokConnectionFactory, fetchSignLimits, type TikTokTransport } from './monitor/tiktok-live-connection.js';
import { ObsCapture } from './capture/obs-capture.js';
import { StreamBuffers } from './capture/stream/stream-buffers.js';
import type { StreamBufferOptions } from './capture/stream/stream-buffer.js';
import { FFMPEG_MISSING_MESSAGE, isFfmpegAvailable, StreamCapture } from './capture/stream/stream-capture.js';
import { pickStreamSource } from './capture/stream/stream-url.js';
import { deriveFfprobePath } from './clips/video-fitter.js';
import { fileClip } from './obs/clip-filer.js';
import { ObsReplayBuffer } from './obs/obs-replay-buffer.js';
import type { ReplayBuffer, ReplayBufferStatus } from './obs/replay-buffer.js';
import { SettingsStore } from './store/guild-settings.js';
import type { GuildSettings } from './store/settings-schema.js';

/** Seams for tests and special set-ups; production uses none of them. */
export interface BotOverrides {
  /** discord.js REST base, e.g. a local fake's `http://127.0.0.1:PORT/api`. */
  readonly discordApiUrl?: string;
  /** Where and how to reach TikTok (a local fake in tests). The sign key always comes from config. */
  readonly tiktokTransport?: Omit<TikTokTransport, 'signApiKey'>;
  readonly connectLive?: LiveConnectionFactory;
  readonly replayBuffer?: ReplayBuffer;
  readonly supervisorTimings?: Partial<SupervisorTimings>;
  readonly budgets?: MonitorBudgets;
  readonly coalesceWindowMs?: number;
  /** Stream capture buffer timings (tests: a short buffer and 1 s segments). */
  readonly streamBuffer?: StreamBufferOptions;
  /** The first wait after a failed post (tests: short); see deliveryTimings for the rest. */
  readonly postRetryDelaysMs?: readonly number[];
  readonly deliveryTimings?: Partial<DeliveryTimings>;
  /** Folders besides CLIPS_DIR where journalled clips may lie (OBS's recording folder, a test's replays). */
  readonly journalRoots?: readonly string[];
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
export async function createBot(config: Config, log: Logger, overrides: BotOverrides = {}): Promise<Bot> {
  // First, before anything connects: a second copy must change nothing.
  const lock = await acquireInstanceLock(config.clipsDir, log.child({ component: 'instance-lock' }));
  const store = await SettingsStore.open(config.databaseUrl, log).catch(async (err: unknown) => {
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
    isObsNeeded: () => isObsNeeded(),
  };
  const metrics = new BotMetrics(health);
  // Every event behind /logs is also a log line (with guild and stream) and feeds the counters.
  const events = new EventLog({ log: log.child({ component: 'events' }), onEvent: (kind) => metrics.countEvent(kind) });

  const clientOptions: ClientOptions = {
    intents: [GatewayIntentBits.Guilds],
    ...(overrides.discordApiUrl ? { rest: { api: overrides.discordApiUrl } } : {}),
  };
  const client = new Client(clientOptions);

  const replayBuffer =
    overrides.replayBuffer ??
    new ObsReplayBuffer({ url: config.obsUrl, password: config.obsPassword, log });

  const connectLive =
    overrides.connectLive ??
    createTikTokConnectionFactory(
      { ...overrides.tiktokTransport, signApiKey: config.tiktokSignApiKey },
      log.child({ component: 'tiktok' }),
    );

  // The monitor and the settings service need each other (chats go to guilds' matchers; settings
  // changes start and stop streams): the monitor's listener refers to services declared below, and
  // is only called once start() runs, when all of them exist.
  const monitor = new StreamMonitor({
    connect: connectLive,
    log: log.child({ component: 'monitor' }),
    ...(overrides.budgets ? { budgets: overrides.budgets } : {}),
    // The connect budget follows what the signing service allows this key (fixed budgets above win).
    ...(overrides.connectLive
      ? {}
      : { signLimits: () => fetchSignLimits({ ...overrides.tiktokTransport, signApiKey: config.tiktokSignApiKey }) }),
    connectOverrides: { perMinute: config.tiktokConnectsPerMinute, perHour: config.tiktokConnectsPerHour },
    ...(overrides.supervisorTimings ? { timings: overrides.supervisorTimings } : {}),
    listener: {
      chat: (message, guildIds) => {
        metrics.countChat();
        chatRouter.handle(message, guildIds);
        triggerRouter.chat(message, guildIds);
      },
      gift: (gift, guildIds) => triggerRouter.gift(gift, guildIds),
      chatRate: (username): number | undefined => triggerRouter.chatRate(username),
      stateChange: (username, state, previous, guildIds) => {
        syncStreamBuffer(username, state.name, guildIds);
        if (state.name === 'stopped') streamStates.delete(username);
        else streamStates.set(username, state.name);
        // A stopped stream (removed) starts a fresh chat baseline if it is watched again.
        if (state.name === 'stopped') triggerRouter.forgetStream(username);
        reportState(username, state, previous, guildIds);
      },
    },
  });

  const settings = new GuildSettingsService({
    store,
    watcher: monitor,
    events,
    log: log.child({ component: 'settings' }),
    streamCaptureRefusal: () => (hasFfmpeg ? undefined : FFMPEG_MISSING_MESSAGE),
    onCaptureChanged: (guildId) => {
      for (const stream of settings.get(guildId).streams) {
        const known = bufferWatchers.get(stream.username);
        syncStreamBuffer(stream.username, monitor.state(stream.username)?.name ?? 'stopped', known?.guildIds ?? [guildId]);
      }
    },
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
    ...(overrides.streamBuffer ? { buffer: overrides.streamBuffer } : {}),
  });
  const streamCapture = new StreamCapture({
    buffers: streamBuffers,
    dir: config.streamBufferDir,
    ffmpegPath: config.ffmpegPath,
    ffprobePath,
    hasFfmpeg,
  });
  /** For /healthz: OBS matters when some stream uses `obs` capture, or no stream uses `stream` capture. */
  function isObsNeeded(): boolean {
    let usesStream = false;
    for (const guildId of settings.knownGuildIds()) {
      for (const { username } of settings.get(guildId).streams) {
        if (settings.captureOf(guildId, username) === 'obs') return true;
        usesStream = true;
      }
    }
    return !usesStream;
  }
  /** The guilds watching each stream, as the monitor last said (capture changes re-check them). */
  const bufferWatchers = new Map<string, { guildIds: readonly string[] }>();
  function syncStreamBuffer(username: string, stateName: string, guildIds: readonly string[]): void {
    if (stateName === 'stopped') bufferWatchers.delete(username);
    else bufferWatchers.set(username, { guildIds });
    // A reconnecting chat socket does not stop the video: the buffer keeps its own connection.
    const isOn = stateName === 'live' || stateName === 'reconnecting';
    const wantsBuffer = hasFfmpeg && isOn && guildIds.some((g) => settings.captureOf(g, username) === 'stream');
    if (wantsBuffer) streamBuffers.start(username);
    else void streamBuffers.stop(username).catch((err: unknown) => log.error({ err, stream: username }, 'stream buffer stop failed'));
  }

  // Re-encodes for Discord's upload limit live in a folder of their own and go once posted.
  const fits = new FitCache({ dir: path.join(config.clipsDir, '.fitted'), fitVideo, ffmpegPath: config.ffmpegPath, log: log.child({ component: 'ffmpeg' }) });
  const replies = new ClipReplyBuilder({ fits, log: log.child({ component: 'ffmpeg' }) });
  const outbox = new OutboxStore(store.rows());
  const firstRetryMs = overrides.postRetryDelaysMs?.[0];
  const delivery = new DeliveryWorker({
    client,
    outbox,
    settings,
    store,
    replies,
    fits,
    events,
    log: log.child({ component: 'delivery' }),
    timings: { ...(firstRetryMs !== undefined ? { initialBackoffMs: firstRetryMs } : {}), ...overrides.deliveryTimings },
  });
  const publisher = new ClipPublisher({ store, outbox, worker: delivery, events, log: log.child({ component: 'alerts' }) });

  const clips = new ClipService({
    captures: { obs: new ObsCapture({ replayBuffer }), stream: hasFfmpeg ? streamCapture : undefined },
    fileClip,
    clipsDir: config.clipsDir,
    reporter: publisher,
    journal: new ClipJournal(config.clipsDir, log.child({ component: 'clip-journal' }), {
      allowedRoots: () => [
        config.clipsDir,
        config.streamBufferDir,
        ...(replayBuffer.recordDirectory?.() ? [replayBuffer.recordDirectory()!] : []),
        ...(overrides.journalRoots ?? []),
      ],
    }),
    events,
    log: log.child({ component: 'clips' }),
    policyFor: (guildId, streamer) => ({ ...settings.get(guildId), capture: settings.captureOf(guildId, streamer) }),
    ...(overrides.coalesceWindowMs !== undefined ? { coalesceWindowMs: overrides.coalesceWindowMs } : {}),
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

  function reportState(username: string, state: StreamState, previous: StreamState, guildIds: readonly string[]): void {
    for (const guildId of guildIds) {
      const error = state.lastError && state.lastError !== previous.lastError ? ` (${state.lastError})` : '';
      events.add(guildId, { kind: 'state', stream: username, text: `${previous.name} -> ${state.name}: ${state.reason}${error}` });
      const wentLive = state.name === 'live' && previous.name !== 'live';
      const ended = previous.name === 'live' && state.name === 'offline';
      if ((wentLive || ended) && settings.get(guildId).notifyLive) {
        const text = wentLive ? `🔴 @${username} is live: watching the chat.` : `⚫ @${username}'s LIVE ended.`;
        void publisher.notice(guildId, username, text);
      }
    }
  }

  let previousObs: ReplayBufferStatus = replayBuffer.status();
  // "Connected again" only after a loss we announced, not at the first connect.
  let hasAnnouncedLoss = false;
  const stopObsListener = replayBuffer.onStatusChange((status, reason) => {
    const lostConnection = previousObs.connection === 'connected' && status.connection !== 'connected';
    const regained = hasAnnouncedLoss && status.connection === 'connected';
    if (lostConnection) hasAnnouncedLoss = true;
    if (regained) hasAnnouncedLoss = false;
    previousObs = status;
    for (const guildId of settings.knownGuildIds()) {
      events.add(guildId, { kind: 'obs', stream: undefined, text: `OBS ${status.connection}: ${reason}` });
      if (lostConnection) void publisher.notice(guildId, undefined, `⚠️ Lost the connection to OBS (${reason}). Reconnecting; keywords cannot be clipped until then.`);
      if (regained) void publisher.notice(guildId, undefined, `✅ Connected to OBS again: ${reason}.`);
    }
  });

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
  client.on(Events.InteractionCreate, (interaction) => {
    void router.handle(interaction).catch((err: unknown) => log.error({ err: leanError(err) }, 'interaction handling failed'));
  });
  // discord.js errors carry their request body (a clip's bytes): logged lean, never whole.
  client.on(Events.Error, (err) => log.error({ err: leanError(err) }, 'discord client error'));
  client.on(Events.ShardDisconnect, (event) => log.warn({ code: event.code }, 'discord gateway disconnected'));

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
      const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
      await client.login(config.discordToken);
      await ready;
      const body = commands.map((c) => c.data.toJSON());
      try {
        if (config.discordGuildId) {
          await client.application!.commands.set(body, config.discordGuildId);
        } else {
          await client.application!.commands.set(body);
        }
        log.info({ commands: body.length, scope: config.discordGuildId ?? 'global' }, 'commands registered');
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
      await httpServer?.close();
      stopObsListener();
      await monitor.close();
      await streamBuffers.stopAll();
      await clips.close();
      await delivery.stop();
      await replayBuffer.close();
      await client.destroy();
      await store.close();
      await lock.release();
    },
  };
}
