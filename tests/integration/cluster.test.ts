/**
 * CLUSTER=true: several real bot processes on one real redis-server run as one bot against the local
 * TikTok and Discord. Every live is joined by exactly one node; a node killed with SIGKILL has its lives
 * joined again by the others (BullMQ's stalled-job recovery), and the gateway moves on the same way.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BotOverrides } from '../../src/app.js';
import { startFakeDiscord, type FakeDiscord } from '../fakes/discord-server.js';
import { startFakeTikTok, type FakeTikTok } from '../fakes/tiktok-server.js';
import { BOT_TOKEN, FAST_TUNING, waitFor } from '../support/bot-harness.js';
import { ClusterNodes } from '../support/cluster-nodes.js';
import { REDIS_INSTALL, redisMissing, startRedis, type RedisInstance } from '../support/redis-process.js';
import { describeRequiring } from '../support/server-suite.js';

const LIVES = Array.from({ length: 6 }, (_, i) => `cluster.live${String(i).padStart(2, '0')}`);

describeRequiring('a cluster of bot nodes', redisMissing(), REDIS_INSTALL, () => {
  let redis: RedisInstance;
  let discord: FakeDiscord;
  let tiktok: FakeTikTok;
  let dir: string;
  let cluster: ClusterNodes;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'cluster-'));
    redis = await startRedis();
    discord = await startFakeDiscord({ token: BOT_TOKEN });
    tiktok = await startFakeTikTok();
    for (const live of LIVES) tiktok.addUser(live, { live: true });
    cluster = new ClusterNodes(dir, {
      PATH: process.env.PATH ?? '',
      CLUSTER: 'true',
      DATABASE_URL: redis.url,
      DISCORD_TOKEN: BOT_TOKEN,
      DISCORD_GUILD_ID: discord.guildId,
      OBS_URL: 'ws://127.0.0.1:1',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      CLIP_BOT_TEST_OVERRIDES: JSON.stringify({
        adapters: {
          discordApiUrl: discord.apiUrl,
          tiktokTransport: { ...tiktok.transport, requestTimeoutMs: 2_000, operationTimeoutMs: 5_000, heartbeatIntervalMs: 1_000 },
        },
        // Connects: plenty for the test's lives (the connect budget is the subject of other tests).
        tuning: { ...FAST_TUNING, budgets: { connects: [{ limit: 600, windowMs: 60_000 }], checks: [{ limit: 100, windowMs: 1_000 }] } },
      } satisfies BotOverrides),
    });
  }, 60_000);

  afterAll(async () => {
    await cluster?.killAll();
    await tiktok?.close();
    await discord?.close();
    await redis?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Every live held by exactly one running node, and joined on TikTok exactly once. */
  async function isEachLiveJoinedOnce(): Promise<boolean> {
    const placement = await cluster.placement();
    return LIVES.every((live) => placement.get(live)?.length === 1 && tiktok.stats.openSockets(live) === 1);
  }

  async function describePlacement(): Promise<string> {
    const placement = await cluster.placement();
    return LIVES.map((l) => `${l}: ${placement.get(l)?.join('+') ?? 'nobody'} (${tiktok.stats.openSockets(l)} sockets)`).join(', ');
  }

  it('joins each live on exactly one node, and after a SIGKILL on the others', async () => {
    const [first] = [await cluster.start('node-a'), await cluster.start('node-b')];
    await waitFor(() => discord.connectedClients === 1, 30_000, () => 'one node to hold the gateway');
    for (const live of LIVES) {
      const reply = await discord.interact({ command: 'stream', subcommand: 'add', options: { username: live } }).final(15_000);
      expect(reply.content).toContain(live);
    }
    await waitForAsync(isEachLiveJoinedOnce, 60_000, describePlacement);
    const placement = await cluster.placement();
    const held = (name: string) => LIVES.filter((l) => placement.get(l)?.[0] === name);
    expect(held('node-a').length).toBeGreaterThan(0);
    expect(held('node-b').length).toBeGreaterThan(0);

    const victim = held('node-a').length >= held('node-b').length ? first : cluster.nodes[1]!;
    const killedAt = Date.now();
    await cluster.kill(victim);
    await waitForAsync(isEachLiveJoinedOnce, 60_000, describePlacement);
    console.log(`cluster test: ${held(victim.name).length} lives rejoined ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the SIGKILL`);
  }, 180_000);
});

/** Polls an async condition every 250 ms until true; fails with `describe()` after `timeoutMs`. */
async function waitForAsync(condition: () => Promise<boolean>, timeoutMs: number, describe: () => Promise<string>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${await describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
