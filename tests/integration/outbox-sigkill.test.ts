/**
 * Nothing queued is lost to a kill, on every storage backend: the real bot runs in a process of its own
 * (tests/support/bot-process.ts, as `npm start` runs it) against the local Discord and TikTok, with the
 * stand-in OBS. A keyword fires, the alert is queued, and the process gets SIGKILL while the post is
 * still on its way: mid-upload, during a Discord outage, with a credit edit queued, for a server with no
 * alert channel. Started again, the bot posts each exactly once, in order per channel, in the channel a
 * user expects. (Issue 16: a restart once judged the queue against default settings and dropped it.)
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BotStore } from '../../src/store/bot-store.js';
import { startFakeDiscord, type FakeDiscord, type InteractionInput, type PostedMessage } from '../fakes/discord-server.js';
import { startFakeTikTok, type FakeTikTok } from '../fakes/tiktok-server.js';
import { BOT_TOKEN, FAST_TUNING, waitFor } from '../support/bot-harness.js';
import { killLeftovers, startBotChild, type BotChild, botChildEnv } from '../support/bot-child.js';
import type { BotProcessOverrides } from '../support/bot-process.js';
import { POSTGRES_INSTALL, postgresMissing, startPostgres } from '../support/postgres-process.js';
import { REDIS_INSTALL, redisMissing, startRedis } from '../support/redis-process.js';
import { describeRequiring } from '../support/server-suite.js';

interface StorageServer {
  readonly url: string;
  close(): Promise<void>;
}

interface Backend {
  readonly name: string;
  /** Why its server cannot run here (undefined: it can). */
  readonly missing: string | undefined;
  readonly install: string;
  readonly start: (dir: string) => Promise<StorageServer>;
}

const BACKENDS: readonly Backend[] = [
  {
    name: 'SQLite',
    missing: undefined,
    install: '',
    start: async (dir) => ({ url: `sqlite://${path.join(dir, 'data', 'bot.sqlite')}`, close: async () => undefined }),
  },
  {
    name: 'Redis',
    missing: redisMissing(),
    install: REDIS_INSTALL,
    start: async () => {
      const redis = await startRedis();
      return { url: redis.url, close: redis.stop };
    },
  },
  {
    name: 'PostgreSQL',
    missing: postgresMissing(),
    install: POSTGRES_INSTALL,
    start: async () => {
      const postgres = await startPostgres();
      return { url: postgres.url, close: postgres.stop };
    },
  },
];

const KEYWORD = 'clip it';
const WAIT_MS = 30_000;

for (const backend of BACKENDS) {
  describeRequiring(`queued posts across a SIGKILL, on ${backend.name}`, backend.missing, backend.install, () => {
    let dir: string;
    let storage: StorageServer;
    let probe: BotStore;
    let discord: FakeDiscord;
    let tiktok: FakeTikTok;
    let env: Record<string, string>;
    let bot: BotChild | undefined;
    /** Servers: `main` and `second` have an alert channel; `bare` never gets one. */
    let guilds: { main: string; second: string; bare: string };
    let channels: { main: string; second: string; bareGeneral: string };

    beforeAll(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'outbox-sigkill-'));
      storage = await backend.start(dir);
      await mkdir(path.join(dir, 'data'), { recursive: true });
      probe = await BotStore.open(storage.url, pino({ level: 'silent' }));
      discord = await startFakeDiscord({ token: BOT_TOKEN, otherGuilds: 2 });
      tiktok = await startFakeTikTok();
      const [second, bare] = discord.otherGuilds;
      guilds = { main: discord.guildId, second: second!.id, bare: bare!.id };
      channels = { main: discord.channels.alerts, second: second!.channels.alerts, bareGeneral: bare!.channels.general };
      env = {
        ...botChildEnv({ dir, token: BOT_TOKEN, guildId: discord.guildId, databaseUrl: storage.url }),
        CLIP_BOT_TEST_OVERRIDES: JSON.stringify({
          standInObsDir: path.join(dir, 'replays'),
          adapters: {
            discordApiUrl: discord.apiUrl,
            tiktokTransport: { ...tiktok.transport, requestTimeoutMs: 2_000, operationTimeoutMs: 5_000, heartbeatIntervalMs: 1_000 },
          },
          // Late callers within 30 s credit the moment (an edit of its alert) instead of clipping again.
          tuning: { ...FAST_TUNING, coalesceWindowMs: 30_000 },
        } satisfies BotProcessOverrides),
      };
      bot = await startBotChild({ cwd: dir, env });
      for (const guildId of [guilds.main, guilds.second, guilds.bare]) await command({ command: 'keyword', subcommand: 'add', options: { word: KEYWORD }, guildId });
      await command({ command: 'settings', subcommand: 'channel', options: { channel: channels.main } });
      await command({ command: 'settings', subcommand: 'channel', options: { channel: channels.second }, guildId: guilds.second });
    }, 120_000);

    afterAll(async () => {
      await bot?.stop();
      await killLeftovers();
      await probe?.close();
      await tiktok?.close();
      await discord?.close();
      await storage?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    }, 60_000);

    async function command(input: InteractionInput): Promise<PostedMessage> {
      return discord.interact(input).final(WAIT_MS);
    }

    /** A live user watched by these servers (added from each one's general channel), joined by the bot. */
    async function watchLive(username: string, guildIds: readonly string[]): Promise<void> {
      tiktok.addUser(username, { live: true });
      for (const guildId of guildIds) await command({ command: 'stream', subcommand: 'add', options: { username }, guildId });
      const guildId = guildIds[0]!;
      const deadline = Date.now() + WAIT_MS;
      while (!(await command({ command: 'stream', subcommand: 'list', guildId })).content.includes(`@${username}** — 🔴 live`)) {
        if (Date.now() > deadline) throw new Error(`@${username} never went live in the bot`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }

    /** Ids of the entries in the stored outbox (what the next start delivers). */
    async function queued(): Promise<string[]> {
      const index = (await probe.rows().get('outbox:index')) as { ids?: string[] } | undefined;
      return index?.ids ?? [];
    }

    async function waitUntilQueued(count: number, prefix: string): Promise<void> {
      const deadline = Date.now() + WAIT_MS;
      while ((await queued()).filter((id) => id.startsWith(prefix)).length < count) {
        if (Date.now() > deadline) throw new Error(`never ${count} ${prefix} entries in the outbox (has ${JSON.stringify(await queued())})`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }

    async function waitUntilOutboxEmpty(): Promise<void> {
      const deadline = Date.now() + WAIT_MS;
      while ((await queued()).length > 0) {
        if (Date.now() > deadline) throw new Error(`the outbox still holds ${JSON.stringify(await queued())}; bot log: ${bot?.stderr()}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }

    /** SIGKILL, then `npm start` again on the same folder and database. */
    async function killAndStartAgain(between: () => Promise<void> | void = () => undefined): Promise<void> {
      await bot!.kill();
      await between();
      bot = await startBotChild({ cwd: dir, env });
    }

    /** Alerts in this channel credited to this chatter (as the clip's name starts). */
    function alertsOf(chatter: string, channelId?: string): PostedMessage[] {
      return discord.channelMessages.filter((m) => (channelId === undefined || m.channelId === channelId) && m.files.some((f) => f.name.startsWith(`${chatter}_`)));
    }

    /** The requests so far to this path that Discord failed (a 5xx): the bot is trying. */
    function failedSince(from: number, pathIncludes: string): number {
      return discord.requests.slice(from).filter((r) => r.path.includes(pathIncludes) && r.status >= 500).length;
    }

    /** /clips lists the stream's clip as posted (an alert dropped or still queued says "alert not posted"). */
    async function expectClipPosted(guildId: string, streamer: string): Promise<void> {
      const clips = await command({ command: 'clips', options: { stream: streamer }, guildId });
      expect(clips.content).toContain(`${streamer}`);
      expect(clips.content).not.toContain('alert not posted');
    }

    it.each([
      { storedFirst: false, what: 'Discord never got the whole upload' },
      { storedFirst: true, what: 'Discord stored the post but its answer never arrived' },
    ])('(a) killed mid-upload ($what): posted once after the restart', async ({ storedFirst }) => {
      const streamer = storedFirst ? 'upload.answered' : 'upload.cut';
      const chatter = `${streamer}.fan`;
      await watchLive(streamer, [guilds.main]);
      const hold = discord.holdRequests({ method: 'POST', pathIncludes: `/channels/${channels.main}/messages` }, { storedFirst });
      tiktok.sendChat(streamer, { handle: chatter, text: `${KEYWORD} now` });
      await hold.waitUntilHeld(1, WAIT_MS);
      expect(alertsOf(chatter)).toHaveLength(storedFirst ? 1 : 0);

      await killAndStartAgain(async () => {
        await hold.waitUntilAbandoned(1, WAIT_MS);
        hold.release();
      });

      await waitFor(() => alertsOf(chatter).length > 0, WAIT_MS, () => `the alert of ${chatter} after the restart`);
      await waitUntilOutboxEmpty();
      // Once: a repeat of the post carries the same nonce, and Discord answers it with the first.
      expect(alertsOf(chatter, channels.main)).toHaveLength(1);
      expect(alertsOf(chatter)).toHaveLength(1);
      await expectClipPosted(guilds.main, streamer);
    }, 180_000);

    it('(b) killed during a Discord outage with three alerts for two channels of two servers: each once, in order', async () => {
      await watchLive('storm.both', [guilds.main, guilds.second]);
      await watchLive('storm.main', [guilds.main]);
      const mark = discord.requests.length;
      const endOutage = discord.failRequestsUntilCleared({ method: 'POST', pathIncludes: '/messages' }, { status: 503 });
      try {
        tiktok.sendChat('storm.both', { handle: 'storm.first', text: KEYWORD });
        await waitUntilQueued(1, `alert:${guilds.second}:`);
        await waitUntilQueued(1, `alert:${guilds.main}:`);
        tiktok.sendChat('storm.main', { handle: 'storm.second', text: KEYWORD });
        await waitUntilQueued(2, `alert:${guilds.main}:`);
        await waitFor(() => failedSince(mark, channels.main) > 0 && failedSince(mark, channels.second) > 0, WAIT_MS, () => 'both channels tried during the outage');

        const restartMark = { at: 0 };
        await killAndStartAgain(() => void (restartMark.at = discord.requests.length));
        // Still down after the restart: the queue waits through it, then goes out once Discord is back.
        await waitFor(() => failedSince(restartMark.at, channels.main) > 0 && failedSince(restartMark.at, channels.second) > 0, WAIT_MS, () => 'both channels tried again after the restart');
      } finally {
        endOutage();
      }

      await waitFor(() => alertsOf('storm.second').length > 0 && alertsOf('storm.first').length === 2, WAIT_MS, () => 'the three alerts');
      await waitUntilOutboxEmpty();
      const inMain = discord.channelMessages.filter((m) => m.channelId === channels.main && m.files.some((f) => f.name.startsWith('storm.')));
      expect(inMain.map((m) => m.files[0]!.name.split('_')[0])).toEqual(['storm.first', 'storm.second']);
      expect(alertsOf('storm.first', channels.second)).toHaveLength(1);
      expect(alertsOf('storm.first')).toHaveLength(2);
      await expectClipPosted(guilds.second, 'storm.both');
      await expectClipPosted(guilds.main, 'storm.main');
    }, 180_000);

    it('(c) killed with a credit edit queued: the alert is edited once, nothing posted again', async () => {
      const streamer = 'credit.late';
      await watchLive(streamer, [guilds.main]);
      tiktok.sendChat(streamer, { handle: 'credit.first', text: KEYWORD });
      await waitFor(() => alertsOf('credit.first').length === 1, WAIT_MS, () => 'the alert');
      await waitUntilOutboxEmpty();
      const editsBefore = discord.channelMessageEdits.length;
      const mark = discord.requests.length;
      const endOutage = discord.failRequestsUntilCleared({ method: 'PATCH', pathIncludes: `/channels/${channels.main}/messages/` }, { status: 503 });
      try {
        tiktok.sendChat(streamer, { handle: 'credit.second', text: `${KEYWORD} again` });
        await waitUntilQueued(1, `credits:${guilds.main}:`);
        await waitFor(() => failedSince(mark, `/channels/${channels.main}/messages/`) > 0, WAIT_MS, () => 'the edit tried during the outage');
        const restartMark = { at: 0 };
        await killAndStartAgain(() => void (restartMark.at = discord.requests.length));
        await waitFor(() => failedSince(restartMark.at, `/channels/${channels.main}/messages/`) > 0, WAIT_MS, () => 'the edit tried again after the restart');
      } finally {
        endOutage();
      }

      const credited = () => discord.channelMessageEdits.slice(editsBefore).filter((m) => JSON.stringify(m.embeds).includes('credit.second'));
      await waitFor(() => credited().length > 0, WAIT_MS, () => 'the alert edited with the late caller');
      await waitUntilOutboxEmpty();
      expect(credited()).toHaveLength(1);
      expect(credited()[0]!.channelId).toBe(channels.main);
      expect(JSON.stringify(credited()[0]!.embeds)).toContain('credit.first');
      // The late caller is a credit on the one alert, never an alert of its own.
      expect(alertsOf('credit.first')).toHaveLength(1);
      expect(alertsOf('credit.second')).toHaveLength(0);
    }, 180_000);

    it('(d) killed with an alert of a server that has no alert channel: it goes to where the stream was added', async () => {
      const streamer = 'bare.stream';
      await watchLive(streamer, [guilds.bare]);
      const mark = discord.requests.length;
      const endOutage = discord.failRequestsUntilCleared({ method: 'POST', pathIncludes: `/channels/${channels.bareGeneral}/messages` }, { status: 503 });
      try {
        tiktok.sendChat(streamer, { handle: 'bare.fan', text: KEYWORD });
        await waitUntilQueued(1, `alert:${guilds.bare}:`);
        await waitFor(() => failedSince(mark, channels.bareGeneral) > 0, WAIT_MS, () => 'the post tried during the outage');
        await killAndStartAgain();
      } finally {
        endOutage();
      }

      await waitFor(() => alertsOf('bare.fan').length > 0, WAIT_MS, () => 'the alert in the channel the stream was added from');
      await waitUntilOutboxEmpty();
      expect(alertsOf('bare.fan', channels.bareGeneral)).toHaveLength(1);
      expect(alertsOf('bare.fan')).toHaveLength(1);
      await expectClipPosted(guilds.bare, streamer);
    }, 180_000);

    it('posts nothing again at a clean restart after all that', async () => {
      const posted = discord.channelMessages.length;
      const edits = discord.channelMessageEdits.length;
      expect(await bot!.stop()).toBe(0);
      bot = await startBotChild({ cwd: dir, env });
      expect(await queued()).toEqual([]);
      // A command round trip: the restarted bot is up and has had its chance to post anything left.
      await command({ command: 'status' });
      expect(discord.channelMessages.length).toBe(posted);
      expect(discord.channelMessageEdits.length).toBe(edits);
    }, 120_000);
  });
}

