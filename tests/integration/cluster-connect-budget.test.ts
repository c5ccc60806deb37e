/**
 * A cluster shares one connect budget: three real nodes on a real redis-server, the budgets a user gets
 * (each node reads from the signing service that it may connect 5 times a minute, and the local signing
 * service answers 429 beyond that). Eight lives need two minutes' worth of connects between them; the
 * nodes together keep to 5 a minute, so none is ever refused, and every live is joined once in the end.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BotOverrides } from '../../src/app.js';
import { startFakeDiscord, type FakeDiscord } from '../fakes/discord-server.js';
import { startFakeTikTok, type FakeTikTok } from '../fakes/tiktok-server.js';
import { BOT_TOKEN, FAST_TUNING, waitFor } from '../support/bot-harness.js';
import { ClusterNodes, clusterNodeEnv } from '../support/cluster-nodes.js';
import { REDIS_INSTALL, redisMissing, startRedis, type RedisInstance } from '../support/redis-process.js';
import { describeRequiring } from '../support/server-suite.js';

const PER_MINUTE = 5;
const LIVES = Array.from({ length: 8 }, (_, i) => `budget.live${i}`);

describeRequiring('a cluster\'s connect budget', redisMissing(), REDIS_INSTALL, () => {
  let redis: RedisInstance;
  let discord: FakeDiscord;
  let tiktok: FakeTikTok;
  let dir: string;
  let cluster: ClusterNodes;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'cluster-budget-'));
    redis = await startRedis();
    discord = await startFakeDiscord({ token: BOT_TOKEN });
    tiktok = await startFakeTikTok();
    tiktok.advertiseLimits({ minute: PER_MINUTE, hour: 1_000, day: 10_000 });
    for (const live of LIVES) tiktok.addUser(live, { live: true });
    const { budgets: _fixed, ...userBudgets } = FAST_TUNING;
    cluster = new ClusterNodes(dir, {
      ...clusterNodeEnv({ token: BOT_TOKEN, guildId: discord.guildId, databaseUrl: redis.url }),
      CLIP_BOT_TEST_OVERRIDES: JSON.stringify({
        adapters: { discordApiUrl: discord.apiUrl, tiktokTransport: { ...tiktok.transport, requestTimeoutMs: 5_000, heartbeatIntervalMs: 1_000 } },
        tuning: userBudgets,
      } satisfies BotOverrides),
    });
    for (const name of ['node-a', 'node-b', 'node-c']) await cluster.start(name);
  }, 120_000);

  afterAll(async () => {
    await cluster?.killAll();
    await tiktok?.close();
    await discord?.close();
    await redis?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('keeps all nodes together to what the signing service allows, and joins every live once', async () => {
    await waitFor(() => discord.connectedClients === 1, 60_000, () => 'a node to hold the gateway');
    for (const live of LIVES) await discord.interact({ command: 'stream', subcommand: 'add', options: { username: live } }).final(15_000);
    const deadline = Date.now() + 240_000;
    for (;;) {
      const placement = await cluster.placement();
      if (LIVES.every((l) => placement.get(l)?.length === 1 && tiktok.stats.openSockets(l) === 1)) break;
      if (Date.now() > deadline) throw new Error(`not every live joined once: ${LIVES.map((l) => `${l}: ${tiktok.stats.openSockets(l)}`).join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(tiktok.stats.signRateLimited).toBe(0);
    expect(tiktok.stats.signConnectRequests).toBeGreaterThanOrEqual(LIVES.length);
  }, 300_000);
});
