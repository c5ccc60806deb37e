/**
 * CLUSTER=true: `/clip` and the review buttons reach the node that holds the live's buffer or filed the
 * clip, though only the gateway node receives interactions. Two real bot processes on one real
 * redis-server, each cutting clips from the local FLV server's video (stream capture) into its own clips
 * folder: `/clip` for the live the other node watches answers with the clip, filed only in that node's
 * folder; Discard and Restore on that clip's card move its file in that node's folder; `/clips` names the
 * node; once that node is SIGKILLed a press gets a short answer and changes nothing.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BotOverrides } from '../../src/app.js';
import { startFakeDiscord, type FakeDiscord, type PostedMessage } from '../fakes/discord-server.js';
import type { InteractionInput } from '../fakes/discord-interactions.js';
import { startFakeFlvServer, type FakeFlvServer } from '../fakes/flv-server.js';
import { startFakeTikTok, type FakeTikTok } from '../fakes/tiktok-server.js';
import { BOT_TOKEN, FAST_TUNING, waitFor } from '../support/bot-harness.js';
import { ClusterNodes, type NodeProcess, clusterNodeEnv } from '../support/cluster-nodes.js';
import { REDIS_INSTALL, redisMissing, startRedis, type RedisInstance } from '../support/redis-process.js';
import { describeRequiring } from '../support/server-suite.js';

const LIVES = ['route.ana', 'route.ben'] as const;
const WAIT_MS = 30_000;

const idOf = (m: PostedMessage, label: string) => m.components.flatMap((r) => r.components).find((b) => b.label === label)!.custom_id!;
const videoOf = (m: PostedMessage) => m.files.find((f) => f.name.endsWith('.mp4'))?.name;

/** Every file under `dir`, as paths relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

describeRequiring('interactions routed to the node that must answer them', redisMissing(), REDIS_INSTALL, () => {
  let redis: RedisInstance;
  let discord: FakeDiscord;
  let tiktok: FakeTikTok;
  let flv: FakeFlvServer;
  let dir: string;
  let cluster: ClusterNodes;
  /** The node holding the gateway, and the other one with its live. */
  let gateway: NodeProcess;
  let other: NodeProcess;
  let otherLive: string;
  let otherId: string;
  let card: PostedMessage;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'cluster-routing-'));
    redis = await startRedis();
    discord = await startFakeDiscord({ token: BOT_TOKEN });
    tiktok = await startFakeTikTok();
    flv = await startFakeFlvServer();
    for (const live of LIVES) {
      tiktok.addUser(live, { live: true });
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
        tuning: { ...FAST_TUNING, streamBuffer: { bufferSeconds: 10, segmentSeconds: 1 } },
      } satisfies BotOverrides),
    });
    // Started one after the other: the first takes the gateway.
    await cluster.start('node-a');
    await cluster.start('node-b');
    await command({ command: 'settings', subcommand: 'window', options: { before: 2, after: 1 } });
    // The /clip before the keyword must not hold it back.
    await command({ command: 'settings', subcommand: 'cooldown', options: { seconds: 0 } });
    await command({ command: 'keyword', subcommand: 'add', options: { word: 'clip it' } });
    for (const live of LIVES) await command({ command: 'stream', subcommand: 'add', options: { username: live, capture: 'stream' } });
    // One live on each node, both live there.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const placement = await cluster.placement();
      const states = await cluster.states();
      if (LIVES.every((l) => placement.get(l)?.length === 1 && states.get(l) === 'live') && new Set(LIVES.map((l) => placement.get(l)![0])).size === 2) break;
      if (Date.now() > deadline) throw new Error(`the lives did not settle one per node: ${JSON.stringify([...placement])}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    gateway = (await cluster.gatewayNode())!;
    other = cluster.running().find((n) => n !== gateway)!;
    const health = (await other.health())!.cluster!;
    otherLive = health.lives[0]!;
    otherId = health.node;
    // Its buffer holds the 2 s before a clip's moment.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
  }, 120_000);

  afterAll(async () => {
    await cluster?.killAll();
    await flv?.close();
    await tiktok?.close();
    await discord?.close();
    await redis?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /**
   * The card of a keyword in the live's chat. A chat sent while the live's chat socket is being replaced
   * (this busy machine, FAST_TUNING's 3 s silence check) never reaches the bot: a viewer says it again.
   */
  async function cardFor(live: string, chatter: string): Promise<PostedMessage> {
    for (let attempt = 1; ; attempt += 1) {
      tiktok.sendChat(live, { handle: chatter, text: 'clip it now' });
      try {
        return await discord.waitForChannelMessage((m) => m.files.some((f) => f.name.startsWith(`${chatter}_`)), 10_000);
      } catch (err) {
        if (attempt === 3) throw err;
      }
    }
  }

  /** A command, answered by the gateway node (or, routed, by the node it was sent to). */
  function command(input: InteractionInput): Promise<PostedMessage> {
    return discord.interact(input).final(WAIT_MS);
  }

  it('answers /clip for a live the other node watches with its clip, filed only in that node\'s folder', async () => {
    const reply = await command({ command: 'clip', options: { stream: otherLive, note: 'from the gateway' } });
    const video = videoOf(reply);
    expect(video, reply.content).toBeDefined();
    expect((await filesUnder(other.clipsDir)).some((f) => path.basename(f) === video)).toBe(true);
    expect((await filesUnder(gateway.clipsDir)).some((f) => f.endsWith('.mp4'))).toBe(false);
  }, 60_000);

  it('moves the clip in its node\'s folder on Discard and back on Restore, and /clips names the node', async () => {
    card = await cardFor(otherLive, 'routed.fan');
    const video = videoOf(card)!;
    const filed = (await filesUnder(other.clipsDir)).find((f) => path.basename(f) === video);
    expect(filed).toBeDefined();

    const discarded = await discord.press({ messageId: card.id, customId: idOf(card, 'Discard') }).final(WAIT_MS);
    expect(discarded.content).toContain('Discarded by');
    expect(videoOf(discarded)).toBeUndefined();
    expect(discarded.files.map((f) => f.name)).toEqual([video.replace(/\.mp4$/, '.chat.srt')]);
    const inDiscarded = path.join(other.clipsDir, path.dirname(filed!), 'discarded', video);
    expect(existsSync(inDiscarded)).toBe(true);
    expect(existsSync(path.join(other.clipsDir, filed!))).toBe(false);

    const restored = await discord.press({ messageId: card.id, customId: idOf(discarded, 'Restore') }).final(WAIT_MS);
    expect(videoOf(restored)).toBe(video);
    expect(existsSync(path.join(other.clipsDir, filed!))).toBe(true);
    expect(existsSync(inDiscarded)).toBe(false);
    expect(await filesUnder(gateway.clipsDir)).not.toContainEqual(expect.stringMatching(/\.mp4$/));

    const clips = await command({ command: 'clips', options: { stream: otherLive } });
    expect(clips.content).toContain(`\`${video}\` · on node \`${otherId}\``);
  }, 60_000);

  it('answers a press for a clip whose node was SIGKILLed that the node is not answering, and changes nothing', async () => {
    const before = discord.message(card.id)!;
    const files = await filesUnder(other.clipsDir);
    await cluster.kill(other);

    const press = discord.press({ messageId: card.id, customId: idOf(before, 'Discard') });
    await waitFor(() => press.followUps.length > 0, WAIT_MS, () => 'the answer to a press for a SIGKILLed node\'s clip');
    expect(press.followUps[0]!.content).toContain(`clip is on node \`${otherId}\``);
    expect(press.followUps[0]!.content).toContain('which is not answering; try again when it is back. Nothing was changed.');
    expect(press.followUps[0]!.ephemeral).toBe(true);
    // The card, and the clip's files, as they were.
    const after = discord.message(card.id)!;
    expect(after.content).toBe(before.content);
    expect(after.files.map((f) => f.name)).toEqual(before.files.map((f) => f.name));
    expect(await filesUnder(other.clipsDir)).toEqual(files);
  }, 60_000);
});
