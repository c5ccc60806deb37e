import type { Logger } from 'pino';
import { createStreamCapture } from './capture/stream/create-stream-capture.js';
import { createClipService } from './clips/create-clip-service.js';
import { createNode } from './cluster/create-node.js';
import { commands } from './commands/index.js';
import type { Config } from './config.js';
import { createDelivery } from './delivery/create-delivery.js';
import { createDiscordClient } from './discord/discord-client.js';
import { InteractionRouter } from './discord/router.js';
import { EventLog } from './events/event-log.js';
import { GuildSettingsService } from './guilds/settings-service.js';
import { HttpStage } from './http/http-stage.js';
import type { Bot, BotOverrides } from './bot.js';
import { createMonitor } from './monitor/create-monitor.js';
import { ObsCapture } from './obs/obs-capture.js';
import { ObsReplayBuffer } from './obs/obs-replay-buffer.js';
import { BotStore } from './store/bot-store.js';
import { createTriggers } from './triggers/create-triggers.js';
import { runShutdown } from './util/shutdown.js';

export type { Bot, BotAdapters, BotOverrides, BotTuning } from './bot.js';

/**
 * The composition root: each stage builds itself from the config; this lists them in the order a chat
 * travels and ties them. Ties that point forward (the monitor's listener, the client's interactions) are
 * only called once start() runs, when every stage exists.
 */
export async function createBot(config: Config, log: Logger, { adapters = {}, tuning = {} }: BotOverrides = {}): Promise<Bot> {
  // First, before anything connects: the instance lock; alone, or one node of a cluster (CLUSTER=true).
  const node = await createNode(config, { commands, timings: tuning.cluster, log, parts: () => ({ client, monitor, settings, store, streamBuffers: stream.buffers, interactions: router }) });
  const store = await BotStore.open(config.databaseUrl, log).catch(async (err: unknown) => {
    await node.release();
    throw err;
  });
  const http = new HttpStage(
    config.httpPort,
    { isDiscordReady: () => node.isDiscordReady(), obsStatus: () => replayBuffer.status(), outboxSize: () => delivery.worker.pendingCount, isObsNeeded: () => settings.isObsCaptureNeeded(), cluster: () => node.health() },
    log,
  );
  // Every event behind /logs is also a log line (with guild and stream) and feeds the counters.
  const events = new EventLog({ log: log.child({ component: 'events' }), onEvent: (kind) => http.countEvent(kind) });
  const client = createDiscordClient({ ...(adapters.discordApiUrl ? { apiUrl: adapters.discordApiUrl } : {}), log, onInteraction: (i) => router.handle(i) });
  const replayBuffer = adapters.replayBuffer ?? new ObsReplayBuffer({ url: config.obsUrl, password: config.obsPassword, log });

  // 1. source -> 2. triggers (and the capture, health and notices that follow each stream's state).
  const monitor = createMonitor(config, {
    adapters,
    tuning,
    connectGate: node.connectGate,
    log,
    listener: {
      chat: (message, guildIds) => {
        http.countChat();
        delivery.review.chat(message); // first: a clip's chat file and card include the chat that fired it
        triggers.chat(message, guildIds);
      },
      gift: (gift, guildIds) => { delivery.review.gift(gift); triggers.gift(gift, guildIds); },
      chatRate: (username) => triggers.chatRate(username),
      stateChange: (username, state, previous, guildIds) => {
        stream.sync.stateChanged(username, state.name, guildIds);
        http.streamChanged(username, state.name);
        if (state.name === 'stopped') triggers.forgetStream(username);
        delivery.notices.streamChanged(username, state, previous, guildIds);
      },
    },
  });
  // Every stored guild is read here, before any stage that reads settings exists (delivery, clips, commands).
  const settings = await GuildSettingsService.open({
    store,
    watcher: node.watcher,
    onChanged: (guildId) => node.guildChanged(guildId),
    events,
    log: log.child({ component: 'settings' }),
    streamCaptureRefusal: () => stream.refusal(),
    onCaptureChanged: (guildId) =>
      stream.sync.captureChanged(guildId, settings.get(guildId).streams.map((s) => s.username), (s) => monitor.state(s)?.name ?? 'stopped'),
  });
  // 4. capture, 6. delivery, 3. + 5. the moment and the clip, 2. the triggers that call it.
  const stream = await createStreamCapture(config, {
    fetchRoomInfo: (streamer, signal) => monitor.fetchRoomInfo(streamer, signal),
    captureOf: (guildId, streamer) => settings.captureOf(guildId, streamer),
    ...(tuning.streamBuffer ? { buffer: tuning.streamBuffer } : {}),
    log,
  });
  const delivery = createDelivery(config, { client, settings, store, events, replayBuffer, stream, cluster: node.cluster, ...(tuning.deliveryTimings ? { timings: tuning.deliveryTimings } : {}), log });
  const clips = createClipService(config, {
    captures: { obs: new ObsCapture({ replayBuffer }), stream: stream.capture },
    reporter: delivery.publisher,
    events,
    policyFor: (guildId, streamer) => ({ ...settings.get(guildId), capture: settings.captureOf(guildId, streamer) }),
    recordDirectory: () => replayBuffer.recordDirectory(),
    coalesceWindowMs: tuning.coalesceWindowMs,
    filedOn: node.filedOn,
    log,
  });
  const triggers = createTriggers({ matcherFor: (g) => settings.matcherFor(g), policyFor: (g) => settings.get(g), trigger: (t) => clips.trigger(t) });

  // 7. Discord's side: the commands run against the stages.
  const context = { settings, store, monitor, clips, replayBuffer, events, clipReplies: delivery.replies, delivery: delivery.worker, streamBuffers: stream.buffers, review: delivery.review.service, ...(node.cluster ? { cluster: node.cluster, routing: node.routing } : {}), log: log.child({ component: 'commands' }) };
  const router = new InteractionRouter(commands, context, log.child({ component: 'router' }));

  let isStopped = false;
  return {
    client,
    settings,
    monitor,
    clips,
    events,
    replayBuffer,
    delivery: delivery.worker,
    httpUrl: () => http.url(),

    async start() {
      // First, so a supervisor sees 503 (not a refused connection) while the bot is still starting.
      await http.listen();
      await replayBuffer.start();
      await node.connectDiscord();
      // Posts a previous run left queued go out first, in their order.
      await delivery.worker.start();
      // Clips a crash or kill left unposted; in the background, so a slow Discord cannot hold up the streams.
      void clips.recoverInterrupted();
      // Ffmpegs a killed run left behind end before any new buffer starts (by recorded pid, checked in /proc).
      await stream.buffers.endLeftovers();
      log.info({ streams: settings.resumeAll() }, 'streams resumed');
      await node.join();
    },

    async stop() {
      if (isStopped) return;
      isStopped = true;
      await runShutdown(
        [
          ['cluster', () => node.leave()],
          ['http', () => http.close()],
          ['obs listener', () => delivery.stopObsNotices()],
          ['monitor', () => monitor.close()],
          ['stream buffers', () => stream.buffers.stopAll()],
          ['clips', () => clips.close()],
          ['delivery', () => delivery.worker.stop()],
          ['obs', () => replayBuffer.close()],
          ['discord', () => client.destroy()],
          ['store', () => store.close()],
          ['instance lock', () => node.release()],
        ],
        log,
      );
    },
  };
}
