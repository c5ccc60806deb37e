/**
 * The load benchmark (issue 7): 50 lives sending 20,000 chats/s in total, as real gzipped frames from
 * the local TikTok server, while a slash command is answered every second through the local Discord.
 *
 * Three processes, so nothing the bench does shares the bot's event loop except the bot itself (and the
 * small local Discord, which answers one command a second):
 *   bench/run.ts  ->  this file as `bot` (the bot, the local Discord, the measurements)
 *                          ->  this file as `tiktok` (the local TikTok server and the chat flood)
 * Each child is started, tracked and ended by its own pid.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { createBot, type Bot } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { startFakeDiscord, type FakeDiscord } from '../tests/fakes/discord-server.js';
import { startFakeTikTok } from '../tests/fakes/tiktok-server.js';
import { FakeReplayBuffer } from '../tests/fakes/fake-replay-buffer.js';
import type { BenchResult } from './result.js';
import type { TikTokTransport } from '../src/monitor/types.js';

const SELF = fileURLToPath(import.meta.url);
const TOKEN = 'bench-bot-token.not-a-secret';

type TikTokRequest =
  | { type: 'addUsers'; names: string[] }
  | { type: 'flood'; names: string[]; perSecond: number; seconds: number };
type TikTokReply =
  | { type: 'ready'; transport: TikTokTransport }
  | { type: 'usersAdded' }
  | { type: 'flooded'; sent: number };

/** Starts a module of this folder in its own Node process (tsx loader), talking over IPC. */
export function forkBench(file: string, role: string): ChildProcess {
  // BENCH_CPU_PROF=<dir>: each child writes a V8 CPU profile there (NODE_OPTIONS may not carry --cpu-prof).
  const profile = process.env['BENCH_CPU_PROF'] ? ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_CPU_PROF']}`] : [];
  return fork(file, [role], { execArgv: ['--import', 'tsx', '--expose-gc', ...profile], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

function nextMessage<T extends { type: string }>(child: ChildProcess, type: T['type']): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: T) => {
      if (message.type !== type) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(message);
    };
    const onExit = (code: number | null) => reject(new Error(`bench child ${child.pid} exited (${code}) before ${type}`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** Ends a child by its own pid and waits for it to go. */
export async function endChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
  await exited;
}

/** The local TikTok server in a child process. */
export async function startTikTokChild() {
  const child = forkBench(SELF, 'tiktok');
  const { transport } = await nextMessage<Extract<TikTokReply, { type: 'ready' }>>(child, 'ready');
  return {
    transport,
    async addUsers(names: string[]): Promise<void> {
      child.send({ type: 'addUsers', names } satisfies TikTokRequest);
      await nextMessage(child, 'usersAdded');
    },
    async flood(names: string[], perSecond: number, seconds: number): Promise<number> {
      child.send({ type: 'flood', names, perSecond, seconds } satisfies TikTokRequest);
      return (await nextMessage<Extract<TikTokReply, { type: 'flooded' }>>(child, 'flooded')).sent;
    },
    close: () => endChild(child),
  };
}

/**
 * The real bot (createBot) against the local Discord and the TikTok child, with a stand-in OBS. In `root`
 * when given (the caller removes it), else in a temp folder of its own; `env` adds configuration.
 */
export async function startBenchBot(
  transport: TikTokTransport,
  options: { root?: string; env?: Record<string, string> } = {},
): Promise<{ bot: Bot; discord: FakeDiscord; close: () => Promise<void> }> {
  const root = options.root ?? (await mkdtemp(path.join(os.tmpdir(), 'bench-bot-')));
  const discord = await startFakeDiscord({ token: TOKEN });
  const config = loadConfig({
    DISCORD_TOKEN: TOKEN,
    DISCORD_GUILD_ID: discord.guildId,
    OBS_URL: 'ws://127.0.0.1:1',
    CLIPS_DIR: path.join(root, 'clips'),
    DATABASE_URL: `sqlite://${path.join(root, 'bot.sqlite')}`,
    LOG_LEVEL: 'silent',
    ...options.env,
  });
  const bot = await createBot(config, pino({ level: 'silent' }), {
    adapters: { discordApiUrl: discord.apiUrl, tiktokTransport: transport, replayBuffer: new FakeReplayBuffer(path.join(root, 'obs')) },
    // Joining is the join bench's figure; here every live should be joined before the flood starts.
    tuning: { budgets: { connects: [{ limit: 200, windowMs: 60_000 }], checks: [{ limit: 100, windowMs: 1_000 }] } },
  });
  await bot.start();
  return {
    bot,
    discord,
    close: async () => {
      await bot.stop();
      await discord.close();
      if (options.root === undefined) await rm(root, { recursive: true, force: true });
    },
  };
}

export async function watchAndWaitLive(bot: Bot, discord: FakeDiscord, names: readonly string[], timeoutMs = 60_000): Promise<void> {
  for (const name of names) await bot.settings.addStream(discord.guildId, name, discord.channels.general, 'bench');
  const deadline = Date.now() + timeoutMs;
  while (!names.every((n) => bot.monitor.state(n)?.name === 'live')) {
    if (Date.now() > deadline) throw new Error(`not all ${names.length} lives joined within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function p99(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)]!;
}

const round1 = (n: number) => Math.round(n * 10) / 10;

async function runFloodInThisProcess(options: { lives: number; perSecond: number; seconds: number }): Promise<BenchResult[]> {
  const tiktok = await startTikTokChild();
  const { bot, discord, close } = await startBenchBot(tiktok.transport);
  try {
    const names = Array.from({ length: options.lives }, (_, i) => `flood${i}`);
    await tiktok.addUsers(names);
    await bot.settings.addKeyword(discord.guildId, 'never typed in this flood', 'contains');
    await bot.settings.setHypeSensitivity(discord.guildId, 'medium');
    await watchAndWaitLive(bot, discord, names);

    // Count what reaches the matcher: every chat asks for its guild's matcher exactly once per guild.
    let reachedMatcher = 0;
    const matcherFor = bot.settings.matcherFor.bind(bot.settings);
    bot.settings.matcherFor = (guildId) => {
      reachedMatcher += 1;
      return matcherFor(guildId);
    };

    const lag = monitorEventLoopDelay({ resolution: 10 });
    const replies: number[] = [];
    let isFlooding = true;
    let unanswered = 0;
    const commands = (async () => {
      while (isFlooding) {
        const started = performance.now();
        try {
          await discord.interact({ command: 'status' }).final(10_000);
        } catch {
          // No answer within 10 s: Discord would have shown the member an error long before.
          unanswered += 1;
        }
        replies.push(performance.now() - started);
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, 1000 - (performance.now() - started))));
      }
    })();
    lag.enable();
    const sent = await tiktok.flood(names, options.perSecond, options.seconds);
    // Frames still in flight (socket buffers, gunzip) get a moment to arrive.
    const drainDeadline = Date.now() + 5_000;
    while (reachedMatcher < sent && Date.now() < drainDeadline) await new Promise((resolve) => setTimeout(resolve, 50));
    lag.disable();
    isFlooding = false;
    await commands;
    return [
      { name: 'flood_event_loop_lag_p99_ms', value: round1(lag.percentile(99) / 1e6), unit: 'ms' },
      { name: 'flood_command_reply_p99_ms', value: round1(p99(replies)), unit: 'ms' },
      { name: 'flood_chats_lost', value: Math.max(0, sent - reachedMatcher), unit: 'chats' },
      { name: 'flood_chats_sent', value: sent, unit: 'chats' },
      { name: 'flood_commands_unanswered', value: unanswered, unit: 'commands' },
    ];
  } finally {
    await close();
    await tiktok.close();
  }
}

/** Runs the flood in a fresh bot process; resolves with its figures. */
export async function benchFlood(options: { lives?: number; perSecond?: number; seconds?: number } = {}): Promise<BenchResult[]> {
  const child = forkBench(SELF, 'bot');
  child.send({ type: 'run', lives: options.lives ?? 50, perSecond: options.perSecond ?? 20_000, seconds: options.seconds ?? 30 });
  try {
    const { results } = await nextMessage<{ type: 'results'; results: BenchResult[] }>(child, 'results');
    return results;
  } finally {
    await endChild(child);
  }
}

// ---------------------------------------------------------------------------------------------------
// Child roles

async function tiktokChild(): Promise<void> {
  const fake = await startFakeTikTok();
  const stop = () => void fake.close().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  // The bot process is gone (crashed or killed): nobody to flood for.
  process.once('disconnect', stop);
  process.on('message', (request: TikTokRequest) => {
    if (request.type === 'addUsers') {
      for (const name of request.names) fake.addUser(name, { live: true });
      process.send!({ type: 'usersAdded' } satisfies TikTokReply);
      return;
    }
    // Every 50 ms each live gets one frame with its share of the chats due by then, as TikTok batches
    // busy chats; the schedule catches up on timer lateness so the total rate holds.
    const { names, perSecond, seconds } = request;
    const started = performance.now();
    let sent = 0;
    let id = 0;
    const tick = () => {
      const elapsed = Math.min(performance.now() - started, seconds * 1000);
      const due = Math.floor((elapsed / 1000) * perSecond) - sent;
      const each = Math.floor(due / names.length);
      if (each > 0) {
        for (const name of names) {
          const chats = Array.from({ length: each }, () => ({ handle: `fan${(id += 1) % 5000}`, text: `chat message number ${id} lol` }));
          fake.sendChats(name, chats);
        }
        sent += each * names.length;
      }
      if (elapsed < seconds * 1000) setTimeout(tick, 50);
      else if (process.connected) process.send!({ type: 'flooded', sent } satisfies TikTokReply);
    };
    tick();
  });
  process.send!({ type: 'ready', transport: fake.transport } satisfies TikTokReply);
}

function botChild(): void {
  process.on('message', (request: { type: 'run'; lives: number; perSecond: number; seconds: number }) => {
    void runFloodInThisProcess(request)
      .then((results) => process.send!({ type: 'results', results }))
      .catch((err: unknown) => {
        process.stderr.write(`flood bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
        process.exit(1);
      });
  });
}

if (process.argv[1] === SELF) {
  const role = process.argv[2];
  if (role === 'tiktok') void tiktokChild();
  else if (role === 'bot') botChild();
}
