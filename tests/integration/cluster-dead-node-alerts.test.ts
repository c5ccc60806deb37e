/**
 * CLUSTER=true: an alert queued on a node that dies is not left waiting for it. Two real bot processes on
 * a real redis-server (and again on a real PostgreSQL); the node watching a live cuts a clip while the local Discord answers 503, and is
 * SIGKILLed with the alert still queued. Discord healthy again, the other node posts the alert (without
 * the video, which is on the dead node's disk, saying so) once; the dead node started again adds the
 * video to that same message instead of posting a second one, and Keep on that card posts its highlight
 * once, from the node that has the file. The takeover's bound is shortened here
 * (2 s instead of 60 s, the node registry's record lapsing in 3 s instead of 10 s) to keep the test short.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BotOverrides } from '../../src/app.js';
import { startFakeDiscord, type FakeDiscord, type PostedMessage } from '../fakes/discord-server.js';
import type { InteractionInput } from '../fakes/discord-interactions.js';
import { startFakeFlvServer, type FakeFlvServer } from '../fakes/flv-server.js';
import { startFakeTikTok, type FakeTikTok } from '../fakes/tiktok-server.js';
import { BOT_TOKEN, FAST_TUNING, waitFor } from '../support/bot-harness.js';
import { ClusterNodes, clusterNodeEnv } from '../support/cluster-nodes.js';
import { POSTGRES_INSTALL, postgresMissing, startPostgres } from '../support/postgres-process.js';
import { REDIS_INSTALL, redisMissing, startRedis } from '../support/redis-process.js';
import { describeRequiring } from '../support/server-suite.js';

const LIVE = 'orphan.live';
const CHATTER = 'orphan.fan';
const WAIT_MS = 30_000;

/** The cluster's database: the same test on each engine the cluster runs on. */
const ENGINES = [
  { name: 'Redis', missing: redisMissing(), install: REDIS_INSTALL, start: startRedis },
  { name: 'Postgres', missing: postgresMissing(), install: POSTGRES_INSTALL, start: startPostgres },
] as const;

for (const engine of ENGINES) {
  describeRequiring(`alerts of a cluster node that died, on ${engine.name}`, engine.missing, engine.install, () => {
    let database: { readonly url: string; stop(): Promise<void> };
    let discord: FakeDiscord;
    let tiktok: FakeTikTok;
    let flv: FakeFlvServer;
    let dir: string;
    let cluster: ClusterNodes;

    beforeAll(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'cluster-dead-node-'));
      database = await engine.start();
      discord = await startFakeDiscord({ token: BOT_TOKEN });
      tiktok = await startFakeTikTok();
      flv = await startFakeFlvServer();
      tiktok.addUser(LIVE, { live: true });
      flv.addLive(LIVE, { colour: 'green', codec: 'h264', width: 64, height: 64 });
      tiktok.setVideo(LIVE, { url: () => flv.url(LIVE), codec: 'h264' });
      cluster = new ClusterNodes(dir, {
        ...clusterNodeEnv({ token: BOT_TOKEN, guildId: discord.guildId, databaseUrl: database.url }),
        CLIP_BOT_TEST_OVERRIDES: JSON.stringify({
          adapters: {
            discordApiUrl: discord.apiUrl,
            tiktokTransport: { ...tiktok.transport, requestTimeoutMs: 10_000, operationTimeoutMs: 20_000, heartbeatIntervalMs: 1_000 },
          },
          tuning: {
            ...FAST_TUNING,
            streamBuffer: { bufferSeconds: 10, segmentSeconds: 1 },
            cluster: { heartbeatMs: 1_000, nodeTtlMs: 3_000 },
            deliveryTimings: { initialBackoffMs: 100, maxBackoffMs: 1_000, takeoverAfterMs: 2_000, takeoverCheckMs: 500 },
          },
        } satisfies BotOverrides),
      });
    }, 60_000);

    afterAll(async () => {
      await cluster?.killAll();
      await flv?.close();
      await tiktok?.close();
      await discord?.close();
      await database?.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    /** A command answered by whichever node holds the gateway. */
    async function command(input: InteractionInput): Promise<PostedMessage> {
      await waitFor(() => discord.connectedClients === 1, WAIT_MS, () => 'a node to hold the gateway');
      return discord.interact(input).final(15_000);
    }

    /** The alerts in the alert channel for the chatter's moment (with or without the video). */
    const alerts = () => discord.channelMessages.filter((m) => m.channelId === discord.channels.alerts && JSON.stringify(m.embeds).includes(CHATTER));

    it('posts the alert once from another node without the video, and the node started again adds the video to it', async () => {
      await cluster.start('node-a');
      await cluster.start('node-b');
      await command({ command: 'settings', subcommand: 'channel', options: { channel: discord.channels.alerts } });
      await command({ command: 'settings', subcommand: 'window', options: { before: 2, after: 1 } });
      await command({ command: 'keyword', subcommand: 'add', options: { word: 'clip it' } });
      await command({ command: 'stream', subcommand: 'add', options: { username: LIVE, capture: 'stream' } });
      const deadline = Date.now() + WAIT_MS;
      while ((await cluster.states()).get(LIVE) !== 'live') {
        if (Date.now() > deadline) throw new Error(`${LIVE} never live on a node`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      const holderName = (await cluster.placement()).get(LIVE)![0]!;
      const holder = cluster.running().find((n) => n.name === holderName)!;
      // Its buffer holds the 2 s before the trigger.
      await new Promise((resolve) => setTimeout(resolve, 4_000));

      const posts = `/channels/${discord.channels.alerts}/messages`;
      const mark = discord.requests.length;
      const endOutage = discord.failRequestsUntilCleared({ method: 'POST', pathIncludes: posts }, { status: 503 });
      try {
        tiktok.sendChat(LIVE, { handle: CHATTER, text: 'clip it now' });
        await waitFor(() => discord.requests.slice(mark).some((r) => r.path.includes(posts) && r.status === 503), WAIT_MS, () => `the alert tried on ${holderName} during the outage`);
        await cluster.kill(holder);
      } finally {
        endOutage();
      }

      await waitFor(() => alerts().length > 0, WAIT_MS, () => 'the alert posted by the node still running');
      const [posted] = alerts();
      expect(posted!.files.map((f) => f.name)).toEqual([]);
      expect(JSON.stringify(posted!.embeds)).toContain('The video is on');
      expect(posted!.components[0]!.components.map((b) => b.label)).toContain('Keep');

      await cluster.start(holderName);
      const hasVideo = () => discord.message(posted!.id)!.files.some((f) => f.name.startsWith(`${CHATTER}_`) && f.name.endsWith('.mp4'));
      await waitFor(hasVideo, WAIT_MS, () => `the video added to the alert by ${holderName} started again`);
      const edited = discord.message(posted!.id)!;
      expect(edited.files.map((f) => f.name)).toEqual([expect.stringMatching(/\.mp4$/), expect.stringMatching(/\.chat\.srt$/)]);
      expect(JSON.stringify(edited.embeds)).not.toContain('The video is on');
      // Once: one message for the moment, no second post by the node that filed it.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(alerts()).toHaveLength(1);

      // Keep on that card (pressed on the gateway node, carried out on the clip's): its highlight goes out once, with the video.
      const highlights = discord.channels.general;
      await command({ command: 'settings', subcommand: 'highlights', options: { channel: highlights } });
      const keep = edited.components[0]!.components.find((b) => b.label === 'Keep')!.custom_id!;
      await discord.press({ messageId: posted!.id, customId: keep }).final(WAIT_MS);
      const highlighted = () => discord.channelMessages.filter((m) => m.channelId === highlights && m.content.includes(`Highlight from @${LIVE}`));
      await waitFor(() => highlighted().length > 0, WAIT_MS, () => 'the highlight');
      await waitFor(() => discord.message(posted!.id)!.content.includes(`posted in <#${highlights}>`), WAIT_MS, () => 'the card to say the highlight is posted');
      expect(highlighted()).toHaveLength(1);
      expect(highlighted()[0]!.files.map((f) => f.name)).toEqual([edited.files[0]!.name]);
    }, 120_000);
  });
}
