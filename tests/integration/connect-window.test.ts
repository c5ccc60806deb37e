/**
 * The connect budget against the signing service's SLIDING window, as a user meets it: the real bot in a
 * process of its own (tests/support/bot-process.ts, the way src/main.ts runs it), with the budgets a user
 * gets (sized from what the local signing service advertises: 3 connects a minute, as without a key),
 * killed with SIGKILL in the middle and started again. The restarted bot knows nothing of the connects of
 * the last run but what the service reports: the window spent, and when its oldest use leaves.
 *
 * Slow by nature (about two minutes of windows sliding); the only such test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BotOverrides } from '../../src/app.js';
import { startFakeDiscord, type FakeDiscord } from '../fakes/discord-server.js';
import { startFakeTikTok, type FakeTikTok } from '../fakes/tiktok-server.js';
import { BOT_TOKEN, FAST_TUNING, waitFor } from '../support/bot-harness.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const LIVES = ['slide.a', 'slide.b', 'slide.c', 'slide.d', 'slide.e'];

/** Every bot process this test started, ended by its own pid at the end whatever happened. */
const started: ChildProcess[] = [];

describe('the connect budget against a sliding window, across a SIGKILL', () => {
  let discord: FakeDiscord;
  let tiktok: FakeTikTok;
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'connect-window-'));
    discord = await startFakeDiscord({ token: BOT_TOKEN });
    tiktok = await startFakeTikTok();
    // What the service allows without a key: 3 connects in any minute, 30 in any hour.
    tiktok.advertiseLimits({ minute: 3, hour: 30 });
    for (const name of LIVES) tiktok.addUser(name, { live: true });
    // FAST_TUNING's timings, but no fixed test budget: the connect budget is the user's.
    const { budgets: _fixedBudgets, ...tuning } = FAST_TUNING;
    env = {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      DISCORD_TOKEN: BOT_TOKEN,
      DISCORD_GUILD_ID: discord.guildId,
      OBS_URL: 'ws://127.0.0.1:1',
      CLIPS_DIR: path.join(dir, 'clips'),
      DATABASE_URL: `sqlite://${path.join(dir, 'bot.sqlite')}`,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      CLIP_BOT_TEST_OVERRIDES: JSON.stringify({
        adapters: {
          discordApiUrl: discord.apiUrl,
          tiktokTransport: { ...tiktok.transport, requestTimeoutMs: 5_000, operationTimeoutMs: 15_000, heartbeatIntervalMs: 1_000 },
        },
        tuning,
      } satisfies BotOverrides),
    };
  }, 30_000);

  afterAll(async () => {
    for (const child of started) {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await tiktok?.close();
    await discord?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Starts the bot process and resolves once it says it is ready (commands registered, streams resumed). */
  function startBot(): Promise<ChildProcess> {
    const child = spawn(process.execPath, ['--import', pathToFileURL(path.join(root, 'node_modules/tsx/dist/esm/index.mjs')).href, path.join(root, 'tests/support/bot-process.ts')], {
      cwd: dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    started.push(child);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4_000)));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the bot did not start within 60 s: ${stderr}`)), 60_000);
      child.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('ready')) {
          clearTimeout(timer);
          resolve(child);
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the bot exited (${code ?? signal}) before it was ready: ${stderr}`));
      });
    });
  }

  const add = (username: string) => discord.interact({ command: 'stream', subcommand: 'add', options: { username } }).final(30_000);
  const joined = () => LIVES.filter((name) => tiktok.stats.openSockets(name) > 0);

  it('sends no connect into a 429, and all 5 lives added one by one join within about two minutes', async () => {
    const first = await startBot();
    for (const name of LIVES.slice(0, 3)) {
      await add(name);
      await waitFor(() => tiktok.stats.openSockets(name) > 0, 30_000, () => `@${name} to join`);
    }
    // The minute is spent: the 4th waits for the window to slide.
    const fourth = await add('slide.d');
    expect(fourth.content).toContain('queued for the connect budget');

    const exited = new Promise<NodeJS.Signals | null>((resolve) => first.once('exit', (_code, signal) => resolve(signal)));
    process.kill(first.pid!, 'SIGKILL');
    expect(await exited).toBe('SIGKILL');
    await waitFor(() => joined().length === 0, 10_000, () => 'the killed bot\'s sockets to close');

    // The service now reports the window spent by a run the new process knows nothing about.
    await startBot();
    await add('slide.e');
    await waitFor(() => joined().length === LIVES.length, 200_000, () => `all 5 to join again (${joined().join(', ')} have)`);

    expect(tiktok.stats.signRateLimited).toBe(0);
    const list = await discord.interact({ command: 'stream', subcommand: 'list' }).final(30_000);
    expect(list.content.split('\n').filter((line) => line.includes('live since'))).toHaveLength(LIVES.length);
  }, 300_000);
});
