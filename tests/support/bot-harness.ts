import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import { createBot, type Bot, type BotTuning } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { StreamStateName } from '../../src/monitor/stream-supervisor.js';
import type { ReplayBuffer } from '../../src/obs/replay-buffer.js';
import { startFakeDiscord, type FakeDiscord, type InteractionInput, type PostedMessage } from '../fakes/discord-server.js';
import { startFakeTikTok, type FakeTikTok } from '../fakes/tiktok-server.js';
import { FakeReplayBuffer } from '../fakes/fake-replay-buffer.js';
import type { TikTokTransport } from '../../src/monitor/types.js';

export const BOT_TOKEN = 'test-bot-token.very-secret.value';

/** Short timings so reconnects and polls happen within a test; budgets generous but still shared. */
export const FAST_TUNING = {
  supervisorTimings: {
    offlinePollMs: 400,
    pollJitterRatio: 0.1,
    reconnect: { initialMs: 200, maxMs: 2_000, factor: 2 },
    silenceTimeoutMs: 3_000,
    stableAfterMs: 5_000,
    errorRetryMs: 60_000,
    rateLimitFallbackMs: 1_000,
  },
  budgets: { connects: [{ limit: 30, windowMs: 60_000 }], checks: [{ limit: 50, windowMs: 1_000 }] },
  coalesceWindowMs: 0,
  deliveryTimings: { initialBackoffMs: 100 },
} as const satisfies BotTuning;

export interface Harness {
  readonly discord: FakeDiscord;
  readonly tiktok: FakeTikTok;
  readonly clipsDir: string;
  readonly databaseUrl: string;
  readonly config: Config;
  bot: Bot;
  /** Sends a slash command and resolves with the visible answer (waiting through a deferral). */
  command(input: InteractionInput, timeoutMs?: number): Promise<PostedMessage>;
  waitForState(username: string, state: StreamStateName, timeoutMs?: number): Promise<void>;
  /** Stops the bot and builds a new one on the same store, fakes and OBS: a process restart. */
  restartBot(): Promise<void>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  obs?: { url: string; password: string };
  replayBuffer?: ReplayBuffer;
  /** Knobs on top of FAST_TUNING (each replaces FAST_TUNING's value for that knob). */
  tuning?: BotTuning;
  /** More Discord servers the bot is in besides the main one (see FakeDiscord.otherGuilds). */
  otherGuilds?: number;
  /**
   * Run with the budgets a user gets: no fixed test budgets, so the connect budget is sized from what the
   * local signing service advertises (FAST_TUNING's other timings still apply).
   */
  userBudgets?: boolean;
  /** More environment for loadConfig (e.g. HTTP_PORT). */
  env?: Record<string, string>;
  /** The bot's logger, built from the config (e.g. to capture its lines); else a silent pino. */
  log?: (config: Config) => Logger;
  /** Changes to how the bot reaches the fake TikTok (e.g. its signing service on a relay), once the fake runs. */
  tiktokTransport?: (tiktok: FakeTikTok) => Promise<Partial<TikTokTransport>>;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'clip-bot-e2e-'));
  const clipsDir = path.join(root, 'clips');
  const databaseUrl = `sqlite://${path.join(root, 'data', 'bot.sqlite')}`;
  const discord = await startFakeDiscord({ token: BOT_TOKEN, otherGuilds: options.otherGuilds ?? 0 });
  const tiktok = await startFakeTikTok();
  const transportChanges = options.tiktokTransport ? await options.tiktokTransport(tiktok) : {};
  const config = loadConfig({
    DISCORD_TOKEN: BOT_TOKEN,
    DISCORD_GUILD_ID: discord.guildId,
    OBS_URL: options.obs?.url ?? 'ws://127.0.0.1:1',
    OBS_PASSWORD: options.obs?.password,
    CLIPS_DIR: clipsDir,
    DATABASE_URL: databaseUrl,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...options.env,
  });
  const log = options.log?.(config) ?? pino({ level: config.logLevel });
  const { budgets: _fixedBudgets, ...fastWithoutBudgets } = FAST_TUNING;
  const fast: BotTuning = options.userBudgets ? fastWithoutBudgets : FAST_TUNING;
  const build = () =>
    createBot(config, log, {
      adapters: {
        discordApiUrl: discord.apiUrl,
        // Heartbeats every second keep `activity` flowing well inside the 3 s silence timeout.
        tiktokTransport: { ...tiktok.transport, requestTimeoutMs: 2_000, operationTimeoutMs: 5_000, heartbeatIntervalMs: 1_000, ...transportChanges },
        ...(options.replayBuffer ? { replayBuffer: options.replayBuffer } : {}),
      },
      tuning: { ...fast, ...options.tuning },
    });

  const harness: Harness = {
    discord,
    tiktok,
    clipsDir,
    databaseUrl,
    config,
    bot: await build(),
    async command(input, timeoutMs = 20_000) {
      return discord.interact(input).final(timeoutMs);
    },
    async waitForState(username, state, timeoutMs = 15_000) {
      await waitFor(() => harness.bot.monitor.state(username)?.name === state, timeoutMs, () => `@${username} to be ${state} (is ${harness.bot.monitor.state(username)?.name})`);
    },
    async restartBot() {
      await harness.bot.stop();
      harness.bot = await build();
      await harness.bot.start();
    },
    async close() {
      await harness.bot.stop();
      await tiktok.close();
      await discord.close();
      await rm(root, { recursive: true, force: true });
    },
  };
  await harness.bot.start();
  return harness;
}

export interface StandInObsHarness extends Harness {
  /** The stand-in OBS: counts saves and writes a small file per save in its own temp folder. */
  readonly obs: FakeReplayBuffer;
}

/**
 * The set-up most bot tests share: the harness with the stand-in OBS, the streams the test watches
 * (live on the local TikTok, added with /stream add, joined), its keywords and its cooldown, all set
 * through the slash commands as a moderator would.
 */
export async function startWithStandInObs(
  options: Omit<HarnessOptions, 'obs' | 'replayBuffer'> & {
    liveStreams?: readonly string[];
    keywords?: ReadonlyArray<string | { word: string; match: 'contains' | 'word' }>;
    cooldownSeconds?: number;
    /** A real video the stand-in OBS saves each time (for tests that probe the clip). */
    obsSampleVideo?: string;
  } = {},
): Promise<StandInObsHarness> {
  const { liveStreams = [], keywords = [], cooldownSeconds, obsSampleVideo, ...harnessOptions } = options;
  const replays = await mkdtemp(path.join(os.tmpdir(), 'stand-in-obs-'));
  const obs = new FakeReplayBuffer(replays, obsSampleVideo);
  const h = await startHarness({ ...harnessOptions, replayBuffer: obs });
  for (const keyword of keywords) {
    const { word, match } = typeof keyword === 'string' ? { word: keyword, match: undefined } : keyword;
    await h.command({ command: 'keyword', subcommand: 'add', options: { word, ...(match ? { match } : {}) } });
  }
  if (cooldownSeconds !== undefined) await h.command({ command: 'settings', subcommand: 'cooldown', options: { seconds: cooldownSeconds } });
  for (const user of liveStreams) {
    h.tiktok.addUser(user, { live: true });
    await h.command({ command: 'stream', subcommand: 'add', options: { username: user } });
  }
  for (const user of liveStreams) await h.waitForState(user, 'live');
  const close = h.close.bind(h);
  return Object.assign(h, {
    obs,
    async close() {
      await close();
      await rm(replays, { recursive: true, force: true });
    },
  });
}

export async function waitFor(condition: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
