/**
 * CLUSTER=true on Postgres: three real bot processes on one real PostgreSQL server (BullMQ's Postgres
 * backend for the cluster, the same database for the store) run as one bot against the local TikTok, FLV
 * and Discord servers, with the cluster's default timings. Every live is joined by exactly one node; the
 * node killed with SIGKILL has its lives joined again by the others and a keyword afterwards in one of
 * them is clipped and alerted once; /status lists the nodes; the gateway node killed, another answers the
 * commands. Before the nodes: the one connect budget on BullMQ's global rate limiter, shared by two
 * engines as by two nodes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BotOverrides } from '../../src/app.js';
import { openEngine } from '../../src/cluster/engine.js';
import { SharedConnectBudget } from '../../src/cluster/shared-connect-budget.js';
import { startFakeDiscord, type FakeDiscord } from '../fakes/discord-server.js';
import type { InteractionInput } from '../fakes/discord-interactions.js';
import { startFakeFlvServer, type FakeFlvServer } from '../fakes/flv-server.js';
import { startFakeTikTok, type FakeTikTok } from '../fakes/tiktok-server.js';
import { BOT_TOKEN, FAST_TUNING } from '../support/bot-harness.js';
import { ClusterNodes, type NodeProcess, clusterCommand, clusterNodeEnv, placementProblem, waitForAsync } from '../support/cluster-nodes.js';
import { POSTGRES_INSTALL, postgresMissing, startPostgres, type PostgresInstance } from '../support/postgres-process.js';
import { describeRequiring } from '../support/server-suite.js';

const LIVES = Array.from({ length: 30 }, (_, i) => `pg.live${String(i).padStart(2, '0')}`);
/** These cut clips from their own video (stream capture); the killed node is one holding one of them. */
const VIDEO_LIVES = LIVES.slice(0, 2);
/** How long the test waits for the cluster to settle; the figures themselves are `npm run bench`'s. */
const SETTLE_MS = 90_000;

describeRequiring('a cluster of bot nodes on Postgres', postgresMissing(), POSTGRES_INSTALL, () => {
  let postgres: PostgresInstance;
  let discord: FakeDiscord;
  let tiktok: FakeTikTok;
  let flv: FakeFlvServer;
  let dir: string;
  let cluster: ClusterNodes;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'cluster-pg-'));
    postgres = await startPostgres();
    discord = await startFakeDiscord({ token: BOT_TOKEN });
    tiktok = await startFakeTikTok();
    flv = await startFakeFlvServer();
    for (const live of LIVES) tiktok.addUser(live, { live: true });
    for (const live of VIDEO_LIVES) {
      flv.addLive(live, { colour: 'green', codec: 'h264', width: 64, height: 64 });
      tiktok.setVideo(live, { url: () => flv.url(live), codec: 'h264' });
    }
    cluster = new ClusterNodes(dir, {
      ...clusterNodeEnv({ token: BOT_TOKEN, guildId: discord.guildId, databaseUrl: postgres.url }),
      CLIP_BOT_TEST_OVERRIDES: JSON.stringify({
        adapters: {
          discordApiUrl: discord.apiUrl,
          tiktokTransport: { ...tiktok.transport, requestTimeoutMs: 10_000, operationTimeoutMs: 20_000, heartbeatIntervalMs: 1_000 },
        },
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
    await postgres?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const command = (input: InteractionInput) => clusterCommand(discord, input, SETTLE_MS);
  const eachLiveJoinedOnce = () => waitForAsync(async () => (await placementProblem(cluster, tiktok, LIVES)) === undefined, SETTLE_MS, async () => (await placementProblem(cluster, tiktok, LIVES)) ?? '');
  const livesOf = async (node: NodeProcess) => (await node.health())?.cluster?.lives ?? [];
  const alertsOf = (chatter: string) => discord.channelMessages.filter((m) => m.files.some((f) => f.name.startsWith(`${chatter}_`)));

  it('keeps two nodes together to one connect budget (BullMQ\'s global rate limiter on Postgres)', async () => {
    const window = { limit: 2, windowMs: 1_000 };
    const log = pino({ level: 'silent' });
    const engines = [openEngine(postgres.url, log), openEngine(postgres.url, log)];
    const budgets = engines.map((engine, i) => new SharedConnectBudget({ engine, nodeId: `budget-${i}`, windows: () => [window], log }));
    const grants: number[] = [];
    try {
      // Two connects on each node: four against two a window, so two windows.
      const signal = new AbortController().signal;
      await Promise.all(budgets.flatMap((budget) => Array.from({ length: 2 }, () => budget.pass(signal).then(() => grants.push(Date.now())))));
    } finally {
      for (const budget of budgets) await budget.close();
      for (const engine of engines) await engine.close();
    }
    grants.sort((a, b) => a - b);
    expect(grants).toHaveLength(4);
    // However slow the machine, no window ever granted more than two.
    for (let i = window.limit; i < grants.length; i++) expect(grants[i]! - grants[i - window.limit]!).toBeGreaterThanOrEqual(window.windowMs);
  }, 60_000);

  it('joins each of 30 lives on exactly one of three nodes, a change on the gateway reaches the node holding a live, /status lists the nodes', async () => {
    for (const name of ['node-a', 'node-b', 'node-c']) await cluster.start(name);
    await command({ command: 'settings', subcommand: 'window', options: { before: 2, after: 1 } });
    await command({ command: 'settings', subcommand: 'cooldown', options: { seconds: 0 } });
    await command({ command: 'keyword', subcommand: 'add', options: { word: 'clip it' } });
    for (const live of LIVES) {
      const options: Record<string, string> = VIDEO_LIVES.includes(live) ? { username: live, capture: 'stream' } : { username: live };
      expect((await command({ command: 'stream', subcommand: 'add', options })).content).toContain(live);
    }
    await eachLiveJoinedOnce();

    // Removed on the gateway node, a live held by another node is left there: the change travelled as a
    // BullMQ event (nothing else tells a node to leave a live). Added again, one node joins it.
    const gateway = await cluster.gatewayNode();
    const placement = await cluster.placement();
    const elsewhere = LIVES.slice(VIDEO_LIVES.length).find((live) => placement.get(live)?.[0] !== gateway?.name)!;
    await command({ command: 'stream', subcommand: 'remove', options: { username: elsewhere } });
    await waitForAsync(async () => tiktok.stats.openSockets(elsewhere) === 0 && !(await cluster.placement()).has(elsewhere), SETTLE_MS, async () => `${elsewhere} is still joined`);
    await command({ command: 'stream', subcommand: 'add', options: { username: elsewhere } });
    await eachLiveJoinedOnce();
    for (const node of cluster.running()) expect(await livesOf(node), node.name).toHaveLength(10);

    // /status lists the three nodes (their records are one row of the store, on this Postgres too).
    let status = '';
    await waitForAsync(
      async () => {
        status = (await command({ command: 'status' })).content;
        return status.includes('**Nodes (3):**') && (status.match(/ 10 lives, /g) ?? []).length === 3;
      },
      30_000,
      async () => status,
    );
    for (const node of cluster.running()) expect(status).toContain((await node.health())!.cluster!.node);
  }, 180_000);

  it('joins a SIGKILLed node\'s lives again on the others, and clips a keyword in one of them once', async () => {
    let victim: NodeProcess | undefined;
    for (const node of cluster.running()) if ((await livesOf(node)).includes(VIDEO_LIVES[0]!)) victim = node;
    expect(victim).toBeDefined();
    const orphaned = await livesOf(victim!);

    const killedAt = Date.now();
    await cluster.kill(victim!);
    await eachLiveJoinedOnce();
    console.log(`cluster on postgres: ${orphaned.length} lives of a SIGKILLed node rejoined ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`);
    const placement = await cluster.placement();
    for (const live of orphaned) expect(placement.get(live)?.[0]).not.toBe(victim!.name);

    // Its new node buffers the video afresh: give the buffer the 3 s window.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const chatter = 'after.kill.pg';
    tiktok.sendChat(VIDEO_LIVES[0]!, { handle: chatter, text: 'clip it now' });
    await discord.waitForChannelMessage((m) => m.files.some((f) => f.name.startsWith(`${chatter}_`)), 60_000);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(alertsOf(chatter)).toHaveLength(1);
  }, 180_000);

  it('answers commands again after the gateway node is SIGKILLed', async () => {
    const gateway = await cluster.gatewayNode();
    expect(gateway).toBeDefined();
    const killedAt = Date.now();
    await cluster.kill(gateway!);
    const answer = await command({ command: 'keyword', subcommand: 'list' });
    console.log(`cluster on postgres: commands answered again ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the gateway node was killed`);
    expect(answer.content).toContain('clip it');
    // The last node takes every live.
    await eachLiveJoinedOnce();
  }, 180_000);
});
