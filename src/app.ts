import { Client, Events, GatewayIntentBits, type ClientOptions } from 'discord.js';
import type { Logger } from 'pino';
import { ChatRouter } from './clips/chat-router.js';
import { TriggerRouter } from './triggers/trigger-router.js';
import { ClipJournal } from './clips/clip-journal.js';
import { ClipService } from './clips/clip-service.js';
import { fitVideo } from './clips/video-fitter.js';
import { commands } from './commands/index.js';
import type { CommandContext } from './commands/command.js';
import type { Config } from './config.js';
import { ClipReplyBuilder } from './discord/clip-message.js';
import { ClipPublisher } from './discord/clip-publisher.js';
import { InteractionRouter } from './discord/router.js';
import { EventLog } from './events/event-log.js';
import { GuildSettingsService } from './guilds/settings-service.js';
import { acquireInstanceLock } from './instance-lock.js';
import type { LiveConnectionFactory } from './monitor/live-connection.js';
import { StreamMonitor, type MonitorBudgets } from './monitor/stream-monitor.js';
import type { StreamState, SupervisorTimings } from './monitor/stream-supervisor.js';
import { createTikTokConnectionFactory, fetchSignLimits, type TikTokTransport } from './monitor/tiktok-live-connection.js';
import { ObsCapture } from './capture/obs-capture.js';
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
  readonly postRetryDelaysMs?: readonly number[];
}

export interface Bot {
  readonly client: Client;
  readonly settings: GuildSettingsService;
  readonly monitor: StreamMonitor;
  readonly clips: ClipService;
  readonly events: EventLog;
  readonly replayBuffer: ReplayBuffer;
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
  const store = await SettingsStore.open(config.databaseUrl, log.child({ component: 'store' })).catch(async (err: unknown) => {
    await lock.release();
    throw err;
  });
  const events = new EventLog();

  const clientOptions: ClientOptions = {
    intents: [GatewayIntentBits.Guilds],
    ...(overrides.discordApiUrl ? { rest: { api: overrides.discordApiUrl } } : {}),
  };
  const client = new Client(clientOptions);

  const replayBuffer =
    overrides.replayBuffer ??
    new ObsReplayBuffer({ url: config.obsUrl, password: config.obsPassword, log: log.child({ component: 'obs' }) });

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
    ...(overrides.supervisorTimings ? { timings: overrides.supervisorTimings } : {}),
    listener: {
      chat: (message, guildIds) => {
        chatRouter.handle(message, guildIds);
        triggerRouter.chat(message, guildIds);
      },
      gift: (gift, guildIds) => triggerRouter.gift(gift, guildIds),
      chatRate: (username): number | undefined => triggerRouter.chatRate(username),
      stateChange: (username, state, previous, guildIds) => {
        // A stopped stream (removed) starts a fresh chat baseline if it is watched again.
        if (state.name === 'stopped') triggerRouter.forgetStream(username);
        reportState(username, state, previous, guildIds);
      },
    },
  });

  const settings = new GuildSettingsService({ store, watcher: monitor, events, log: log.child({ component: 'settings' }) });

  const replies = new ClipReplyBuilder({ fitVideo, ffmpegPath: config.ffmpegPath, log: log.child({ component: 'ffmpeg' }) });
  const publisher = new ClipPublisher({
    client,
    settings,
    store,
    replies,
    events,
    log: log.child({ component: 'alerts' }),
    // The connect budget follows what the signing service allows this key (fixed budgets above win).
    ...(overrides.connectLive
      ? {}
      : { signLimits: () => fetchSignLimits({ ...overrides.tiktokTransport, signApiKey: config.tiktokSignApiKey }) }),
    connectOverrides: { perMinute: config.tiktokConnectsPerMinute, perHour: config.tiktokConnectsPerHour },
    ...(overrides.postRetryDelaysMs ? { retryDelaysMs: overrides.postRetryDelaysMs } : {}),
  });

  const clips = new ClipService({
    captures: { obs: new ObsCapture({ replayBuffer }) },
    fileClip,
    clipsDir: config.clipsDir,
    reporter: publisher,
    journal: new ClipJournal(config.clipsDir, log.child({ component: 'clip-journal' })),
    events,
    log: log.child({ component: 'clips' }),
    policyFor: (guildId) => settings.get(guildId),
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
    log.info({ obs: status.connection, buffer: status.isBufferActive, reason }, 'OBS status changed');
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
    log: log.child({ component: 'commands' }),
  };
  const router = new InteractionRouter(commands, context, log.child({ component: 'router' }));
  client.on(Events.InteractionCreate, (interaction) => {
    void router.handle(interaction).catch((err: unknown) => log.error({ err }, 'interaction handling failed'));
  });
  client.on(Events.Error, (err) => log.error({ err }, 'discord client error'));
  client.on(Events.ShardDisconnect, (event) => log.warn({ code: event.code }, 'discord gateway disconnected'));

  let isStopped = false;

  return {
    client,
    settings,
    monitor,
    clips,
    events,
    replayBuffer,

    async start() {
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
        log.error({ err, scope: config.discordGuildId ?? 'global' }, 'could not register the slash commands; will try at the next start');
      }
      // Clips a crash or kill left unposted; in the background, so a slow Discord cannot hold up the streams.
      void clips.recoverInterrupted();
      const resumed = await settings.resumeAll();
      log.info({ streams: resumed }, 'streams resumed');
    },

    async stop() {
      if (isStopped) return;
      isStopped = true;
      stopObsListener();
      await monitor.close();
      await clips.close();
      await replayBuffer.close();
      await client.destroy();
      await store.close();
      await lock.release();
    },
  };
}
