/**
 * The connect budget against the signing service's SLIDING window, as a user meets it: the real bot in a
 * process of its own (tests/support/bot-child.ts, the way src/main.ts runs it), with the budgets a user
 * gets (sized from what the local signing service advertises: 3 connects a minute, as without a key),
 * killed with SIGKILL in the middle and started again. The restarted bot knows nothing of the connects of
 * the last run but what the service reports: the window spent, and when its oldest use leaves. The three
 * connects of the first run are made seconds apart, so their slots free seconds apart too: a bot that took
 * the whole window for free at the reported reset would send the later two into a 429.
 *
 * Slow by nature (a minute of the window sliding); the waiting lane runs it (vitest.config.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BotOverrides } from '../../src/app.js';
import { startFakeDiscord, type FakeDiscord } from '../fakes/discord-server.js';
import { startFakeTikTok, type FakeTikTok } from '../fakes/tiktok-server.js';
import { startBotChild, killLeftovers, botChildEnv } from '../support/bot-child.js';
import { BOT_TOKEN, FAST_TUNING, waitFor } from '../support/bot-harness.js';

/** Joined in the first run, the minute's three connects; they must all join again after the SIGKILL. */
const LIVES = ['slide.a', 'slide.b', 'slide.c'];
/** Added once the minute is spent: queued, then removed again (one window's slide is enough to show). */
const QUEUED = 'slide.d';
/**
 * How far apart the first run's connects are, so their slots in the service's window free this far apart:
 * more than the 1 s the bot allows for clocks that differ.
 */
const CONNECT_GAP_MS = 2_500;

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
    for (const name of [...LIVES, QUEUED]) tiktok.addUser(name, { live: true });
    // FAST_TUNING's timings, but no fixed test budget: the connect budget is the user's.
    const { budgets: _fixedBudgets, ...tuning } = FAST_TUNING;
    env = {
      ...botChildEnv({ dir, token: BOT_TOKEN, guildId: discord.guildId, databaseUrl: `sqlite://${path.join(dir, 'bot.sqlite')}` }),
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
    await killLeftovers();
    await tiktok?.close();
    await discord?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const startBot = () => startBotChild({ cwd: dir, env });
  const add = (username: string) => discord.interact({ command: 'stream', subcommand: 'add', options: { username } }).final(30_000);
  const joined = () => LIVES.filter((name) => tiktok.stats.openSockets(name) > 0);

  it('sends no connect into a 429, and the lives of a SIGKILLed run join again one by one as the window slides', async () => {
    const first = await startBot();
    for (const [i, name] of LIVES.entries()) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, CONNECT_GAP_MS));
      await add(name);
      await waitFor(() => tiktok.stats.openSockets(name) > 0, 30_000, () => `@${name} to join`);
    }
    // The minute is spent: the 4th waits for the window to slide, and leaves the queue when removed.
    const fourth = await add(QUEUED);
    expect(fourth.content).toContain('queued for the connect budget');
    await discord.interact({ command: 'stream', subcommand: 'remove', options: { username: QUEUED } }).final(30_000);

    await first.kill();
    await waitFor(() => joined().length === 0, 10_000, () => 'the killed bot\'s sockets to close');

    // The service now reports the window spent by a run the new process knows nothing about.
    const second = await startBot();
    await waitFor(() => joined().length === LIVES.length, 120_000, () => `all 3 to join again (${joined().join(', ')} have)`);

    expect(tiktok.stats.signRateLimited).toBe(0);
    expect(tiktok.stats.openSockets(QUEUED)).toBe(0);
    const list = await discord.interact({ command: 'stream', subcommand: 'list' }).final(30_000);
    expect(list.content.split('\n').filter((line) => line.includes('🔴 live ('))).toHaveLength(LIVES.length);
    expect(list.content).not.toContain(QUEUED);
    expect(await second.stop()).toBe(0);
  }, 200_000);
});
