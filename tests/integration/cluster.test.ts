/**
 * CLUSTER=true: three real bot processes on one real redis-server run as one bot against the local TikTok,
 * FLV and Discord servers, with the cluster's default timings. Every live is joined by exactly one node;
 * the node killed with SIGKILL has its lives joined again by the others (BullMQ's stalled-job recovery)
 * and a keyword afterwards in three of them is clipped and alerted once; a node added later takes its
 * share; the gateway node killed, another answers the commands and the alerts queued meanwhile go out
 * once each.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BotOverrides } from '../../src/app.js';
import { startFakeDiscord, type FakeDiscord } from '../fakes/discord-server.js';
import type { InteractionInput } from '../fakes/discord-interactions.js';
import { startFakeFlvServer, type FakeFlvServer } from '../fakes/flv-server.js';
import { startFakeTikTok, type FakeTikTok } from '../fakes/tiktok-server.js';
import { BOT_TOKEN, FAST_TUNING } from '../support/bot-harness.js';
import { ClusterNodes, type NodeProcess, clusterCommand, clusterNodeEnv, placementProblem, waitForAsync } from '../support/cluster-nodes.js';
import { REDIS_INSTALL, redisMissing, startRedis, type RedisInstance } from '../support/redis-process.js';
import { describeRequiring } from '../support/server-suite.js';

const LIVES = Array.from({ length: 60 }, (_, i) => `cluster.live${String(i).padStart(2, '0')}`);
/** These cut clips from their own video (stream capture); seven, so some node holds at least three. */
const VIDEO_LIVES = LIVES.slice(0, 7);
/** How long the test waits for the cluster to settle; the figures themselves are `npm run bench`'s. */
const SETTLE_MS = 90_000;

describeRequiring('a cluster of bot nodes', redisMissing(), REDIS_INSTALL, () => {
  let redis: RedisInstance;
  let discord: FakeDiscord;
  let tiktok: FakeTikTok;
  let flv: FakeFlvServer;
  let dir: string;
  let cluster: ClusterNodes;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'cluster-'));
    redis = await startRedis();
    discord = await startFakeDiscord({ token: BOT_TOKEN });
    tiktok = await startFakeTikTok();
    flv = await startFakeFlvServer();
    for (const live of LIVES) tiktok.addUser(live, { live: true });
    for (const live of VIDEO_LIVES) {
      flv.addLive(live, { colour: 'green', codec: 'h264', width: 64, height: 64 });
      tiktok.setVideo(live, { url: () => flv.url(live), codec: 'h264' });
    }
    cluster = new ClusterNodes(dir, {
      ...clusterNodeEnv({ token: BOT_TOKEN, guildId: discord.guildId, databaseUrl: redis.url }),
      CLIP_BOT_TEST_OVERRIDES: JSON.stringify({
        adapters: {
          discordApiUrl: discord.apiUrl,
          tiktokTransport: { ...tiktok.transport, requestTimeoutMs: 10_000, operationTimeoutMs: 20_000, heartbeatIntervalMs: 1_000 },
        },
        // Connects: plenty for the test's lives (the connect budget is the subject of other tests). A
        // check that failed on this busy machine is tried again in seconds, not FAST_TUNING's minute.
        tuning: {
          ...FAST_TUNING,
          supervisorTimings: { ...FAST_TUNING.supervisorTimings, errorRetryMs: 3_000 },
          budgets: { connects: [{ limit: 600, windowMs: 60_000 }], checks: [{ limit: 100, windowMs: 1_000 }] },
          streamBuffer: { bufferSeconds: 10, segmentSeconds: 1 },
          deliveryTimings: { initialBackoffMs: 100, maxBackoffMs: 1_000 },
        },
      } satisfies BotOverrides),
    });
  }, 60_000);

  afterAll(async () => {
    await cluster?.killAll();
    await flv?.close();
    await tiktok?.close();
    await discord?.close();
    await redis?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const isEachLiveJoinedOnce = async () => (await placementProblem(cluster, tiktok, LIVES)) === undefined;
  const describePlacement = async () => (await placementProblem(cluster, tiktok, LIVES)) ?? '';
  const command = (input: InteractionInput) => clusterCommand(discord, input, SETTLE_MS);

  async function livesOf(node: NodeProcess): Promise<readonly string[]> {
    return (await node.health())?.cluster?.lives ?? [];
  }

  const alertsOf = (chatter: string) => discord.channelMessages.filter((m) => m.files.some((f) => f.name.startsWith(`${chatter}_`)));

  /** A keyword in each live's chat, by a chatter of its own; resolves once each alert is posted. */
  async function clipEach(lives: readonly string[], tag: string): Promise<string[]> {
    const chatters = lives.map((live) => `${tag}.${live.replace(/\W/g, '')}`);
    lives.forEach((live, i) => tiktok.sendChat(live, { handle: chatters[i]!, text: 'clip it now' }));
    await Promise.all(chatters.map((c) => discord.waitForChannelMessage((m) => m.files.some((f) => f.name.startsWith(`${c}_`)), 60_000)));
    return chatters;
  }

  it('joins each of 60 lives on exactly one of three nodes, spread evenly', async () => {
    for (const name of ['node-a', 'node-b', 'node-c']) await cluster.start(name);
    await command({ command: 'settings', subcommand: 'window', options: { before: 2, after: 1 } });
    await command({ command: 'settings', subcommand: 'cooldown', options: { seconds: 0 } });
    await command({ command: 'keyword', subcommand: 'add', options: { word: 'clip it' } });
    for (const live of LIVES) {
      const options: Record<string, string> = VIDEO_LIVES.includes(live) ? { username: live, capture: 'stream' } : { username: live };
      expect((await command({ command: 'stream', subcommand: 'add', options })).content).toContain(live);
    }
    await waitForAsync(isEachLiveJoinedOnce, SETTLE_MS, describePlacement);
    for (const node of cluster.running()) expect(await livesOf(node), node.name).toHaveLength(20);

    // /status lists the nodes with their lives, and says which node holds a live.
    const nodeIds = await Promise.all(cluster.running().map(async (n) => (await n.health())!.cluster!.node));
    let status = '';
    await waitForAsync(
      async () => {
        status = (await command({ command: 'status' })).content;
        return status.includes('**Nodes (3):**') && (status.match(/ 20 lives, /g) ?? []).length === 3;
      },
      30_000,
      async () => status,
    );
    for (const id of nodeIds) expect(status).toContain(id);
    expect(status).toMatch(/\(gateway, this node\)/);
    expect(status).toMatch(/@cluster\.live\d\d — .* · on (this node|node \S+)/);
  }, 300_000);

  it('joins a SIGKILLed node\'s lives again on the others, and clips a keyword in three of them once', async () => {
    // The node with the most video lives (at least three of the seven).
    let victim = cluster.running()[0]!;
    for (const node of cluster.running()) {
      const videos = (await livesOf(node)).filter((l) => VIDEO_LIVES.includes(l)).length;
      if (videos > (await livesOf(victim)).filter((l) => VIDEO_LIVES.includes(l)).length) victim = node;
    }
    const orphaned = await livesOf(victim);
    const orphanedVideos = orphaned.filter((l) => VIDEO_LIVES.includes(l)).slice(0, 3);
    expect(orphanedVideos).toHaveLength(3);

    const killedAt = Date.now();
    await cluster.kill(victim);
    await waitForAsync(isEachLiveJoinedOnce, SETTLE_MS, describePlacement);
    console.log(`cluster: ${orphaned.length} lives of a SIGKILLed node rejoined ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`);
    const placement = await cluster.placement();
    for (const live of orphaned) expect(placement.get(live)?.[0]).not.toBe(victim.name);

    // Their new nodes buffer their video afresh: give the buffers the 3 s window.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const chatters = await clipEach(orphanedVideos, 'after.kill');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    for (const chatter of chatters) expect(alertsOf(chatter), chatter).toHaveLength(1);
  }, 240_000);

  it('gives a node started later its share of the lives', async () => {
    const late = await cluster.start('node-d');
    await waitForAsync(async () => (await livesOf(late)).length === 20 && (await isEachLiveJoinedOnce()), SETTLE_MS, describePlacement);
    for (const node of cluster.running()) expect(await livesOf(node), node.name).toHaveLength(20);
  }, 180_000);

  it('answers commands again after the gateway node is SIGKILLed, and posts what was queued once each', async () => {
    const gateway = await cluster.gatewayNode();
    expect(gateway).toBeDefined();
    // Alerts queued on the other nodes while Discord refuses posts: they wait in the shared outbox.
    const survivors = cluster.running().filter((n) => n !== gateway);
    const queuedLives: string[] = [];
    for (const node of survivors) queuedLives.push(...(await livesOf(node)).filter((l) => VIDEO_LIVES.includes(l)));
    expect(queuedLives.length).toBeGreaterThan(0);
    const postsBefore = discord.channelMessages.length;
    const refusing = discord.failRequestsUntilCleared({ method: 'POST', pathIncludes: '/messages' }, { status: 503, body: { message: 'down for a moment' } });
    const chatters = queuedLives.map((live) => `queued.${live.replace(/\W/g, '')}`);
    queuedLives.forEach((live, i) => tiktok.sendChat(live, { handle: chatters[i]!, text: 'clip it please' }));
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    expect(discord.channelMessages.length).toBe(postsBefore);

    const killedAt = Date.now();
    await cluster.kill(gateway!);
    refusing();
    const status = await command({ command: 'keyword', subcommand: 'list' });
    console.log(`cluster: commands answered again ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the gateway node was killed`);
    expect(status.content).toContain('clip it');
    await Promise.all(chatters.map((c) => discord.waitForChannelMessage((m) => m.files.some((f) => f.name.startsWith(`${c}_`)), 60_000)));
    await waitForAsync(isEachLiveJoinedOnce, SETTLE_MS, describePlacement);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    for (const chatter of chatters) expect(alertsOf(chatter), chatter).toHaveLength(1);
  }, 240_000);
});
