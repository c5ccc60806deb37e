/**
 * The cards survive a kill, with the defaults a user gets and several lives at once: the real bot in a
 * process of its own (tests/support/bot-process.ts, as `npm start` runs it, no test tuning) with the
 * stand-in OBS. Three lives each give a card; one is kept; the process gets SIGKILL; started again, the
 * buttons of the cards posted before still work and remember what was decided. A clip kept while Discord
 * answers 503 goes to the highlights channel once, though the bot was killed before it could post it.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeDiscord, type FakeDiscord, type InteractionInput, type PostedMessage } from '../fakes/discord-server.js';
import { startFakeTikTok, type FakeTikTok } from '../fakes/tiktok-server.js';
import { BOT_TOKEN, waitFor } from '../support/bot-harness.js';
import { killLeftovers, startBotChild, type BotChild, botChildEnv } from '../support/bot-child.js';
import type { BotProcessOverrides } from '../support/bot-process.js';

const LIVES = ['kill.ana', 'kill.ben', 'kill.cat'] as const;
const WAIT_MS = 30_000;

const idOf = (m: PostedMessage, label: string) => m.components.flatMap((r) => r.components).find((b) => b.label === label)!.custom_id!;

describe('review cards across a SIGKILL, with the defaults and several lives', () => {
  let dir: string;
  let discord: FakeDiscord;
  let tiktok: FakeTikTok;
  let env: Record<string, string>;
  let bot: BotChild | undefined;
  let lastList = '';

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'review-sigkill-'));
    await mkdir(path.join(dir, 'data'), { recursive: true });
    discord = await startFakeDiscord({ token: BOT_TOKEN });
    tiktok = await startFakeTikTok();
    env = {
      ...botChildEnv({ dir, token: BOT_TOKEN, guildId: discord.guildId, databaseUrl: `sqlite://${path.join(dir, 'data', 'bot.sqlite')}` }),
      CLIP_BOT_TEST_OVERRIDES: JSON.stringify({
        standInObsDir: path.join(dir, 'replays'),
        adapters: {
          discordApiUrl: discord.apiUrl,
          tiktokTransport: { ...tiktok.transport, requestTimeoutMs: 2_000, operationTimeoutMs: 5_000, heartbeatIntervalMs: 1_000 },
        },
      } satisfies BotProcessOverrides),
    };
    bot = await startBotChild({ cwd: dir, env });
    await command({ command: 'keyword', subcommand: 'add', options: { word: 'wow' } });
    for (const user of LIVES) {
      tiktok.addUser(user, { live: true });
      await command({ command: 'stream', subcommand: 'add', options: { username: user } });
    }
    const deadline = Date.now() + WAIT_MS;
    while (LIVES.some((user) => !lastList.includes(`@${user}** — 🔴 live`))) {
      if (Date.now() > deadline) throw new Error(`not every live joined: ${lastList}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      lastList = (await command({ command: 'stream', subcommand: 'list' })).content;
    }
  }, 120_000);

  afterAll(async () => {
    await bot?.stop();
    await killLeftovers();
    await tiktok?.close();
    await discord?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  function command(input: InteractionInput): Promise<PostedMessage> {
    return discord.interact(input).final(WAIT_MS);
  }

  it('keeps every card working and remembers what was decided', async () => {
    const cards: PostedMessage[] = [];
    for (const user of LIVES) {
      tiktok.sendChat(user, { handle: `fan.of.${user.slice(5)}`, text: 'wow' });
      cards.push(await discord.waitForChannelMessage((m) => m.files.some((f) => f.name.startsWith(`fan.of.${user.slice(5)}_`)), WAIT_MS));
    }
    for (const card of cards) {
      expect(card.files.map((f) => f.name.split('.').slice(-2).join('.'))).toEqual(expect.arrayContaining(['chat.srt']));
      expect(card.components[0]!.components.map((b) => b.label)).toEqual(['Keep', 'Discard', 'False positive', 'Extend (not for OBS clips)']);
    }
    const [ana, ben] = cards as [PostedMessage, PostedMessage, PostedMessage];
    await discord.press({ messageId: ana.id, customId: idOf(ana, 'Keep') }).final(WAIT_MS);

    await bot!.kill();
    bot = await startBotChild({ cwd: dir, env });

    const benClip = ben.files.find((f) => f.name.endsWith('.mp4'))!.name;
    const discarded = await discord.press({ messageId: ben.id, customId: idOf(ben, 'Discard') }).final(WAIT_MS);
    expect(discarded.files.some((f) => f.name.endsWith('.mp4'))).toBe(false);
    expect(existsSync(path.join(dir, 'clips', 'kill.ben', 'discarded', benClip))).toBe(true);
    expect(existsSync(path.join(dir, 'clips', 'kill.ana', 'discarded'))).toBe(false);

    // Ana's Keep survived the kill: marking her clip a false positive now takes it off the kept count.
    const again = discord.press({ messageId: ana.id, customId: idOf(discord.message(ana.id)!, 'False positive') });
    await again.final(WAIT_MS);
    const list = await command({ command: 'keyword', subcommand: 'list' });
    expect(list.content).toContain('`wow` (contains) — fired 3, kept 0, false positive 1');
  }, 120_000);

  it('posts a highlight kept during a Discord outage exactly once, though the bot was killed before it went', async () => {
    const highlights = discord.channels.general;
    await command({ command: 'settings', subcommand: 'highlights', options: { channel: highlights } });
    const cat = discord.channelMessages.find((m) => m.files.some((f) => f.name.startsWith('fan.of.cat_')))!;
    const clipName = cat.files.find((f) => f.name.endsWith('.mp4'))!.name;
    const posts = `/channels/${highlights}/messages`;
    const failed = (from: number) => discord.requests.slice(from).filter((r) => r.method === 'POST' && r.path.includes(posts) && r.status === 503).length;
    const endOutage = discord.failRequestsUntilCleared({ method: 'POST', pathIncludes: posts }, { status: 503 });
    try {
      const mark = discord.requests.length;
      const kept = await discord.press({ messageId: cat.id, customId: idOf(cat, 'Keep') }).final(WAIT_MS);
      expect(kept.content).toContain(`posting to <#${highlights}>`);
      await waitFor(() => failed(mark) > 0, WAIT_MS, () => 'the highlight tried during the outage');
      await bot!.kill();
      const restart = discord.requests.length;
      bot = await startBotChild({ cwd: dir, env });
      // Still down after the restart: the stored highlight is tried again, then goes once Discord is back.
      await waitFor(() => failed(restart) > 0, WAIT_MS, () => 'the highlight tried again after the restart');
    } finally {
      endOutage();
    }
    await waitFor(() => discord.message(cat.id)!.content.includes(`posted in <#${highlights}>`), WAIT_MS, () => 'the card to say the highlight is posted');
    // (The alerts went to that channel too: no alert channel is set, so to where the streams were added.)
    const posted = discord.channelMessages.filter((m) => m.content.includes('Highlight from @kill.cat'));
    expect(posted).toHaveLength(1);
    expect(posted[0]!.channelId).toBe(highlights);
    expect(posted[0]!.files.map((f) => f.name)).toEqual([clipName]);
  }, 120_000);
});
