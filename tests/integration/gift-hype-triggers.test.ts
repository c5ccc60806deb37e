import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor, startWithStandInObs, type StandInObsHarness } from '../support/bot-harness.js';
import type { InteractionInput } from '../fakes/discord-server.js';
import { buttonId } from '../support/review-cards.js';

// {chatter}_{trigger}_{YYYY-MM-DD_hh-mm-ss_AM|PM}.mp4
const GIFT_CLIP = /^(.+)_gift_\d{4}-\d{2}-\d{2}_(0[1-9]|1[0-2])-[0-5]\d-[0-5]\d_(AM|PM)( \(\d+\))?\.mp4$/;
const STREAMER = 'gift.streamer';

/** The alert's text as a member reads it: Discord markdown escapes (`\\(`) removed. */
function embedText(embeds: unknown): string {
  return JSON.stringify(embeds).replaceAll('\\\\', '');
}

describe('gift triggers through the real bot: TikTok gift frames to alerts in Discord', () => {
  let h: StandInObsHarness;

  beforeAll(async () => {
    h = await startWithStandInObs({ liveStreams: [STREAMER], cooldownSeconds: 0, otherGuilds: 1 });
  });

  afterAll(async () => {
    await h?.close();
  });

  const giftAlerts = () => h.discord.channelMessages.filter((m) => m.files.some((f) => GIFT_CLIP.test(f.name)));

  it('lists the triggers beyond keywords, off until set', async () => {
    const list = await h.command({ command: 'trigger', subcommand: 'list' });
    expect(list.content).toContain('Gift: off');
    expect(list.content).toContain('Hype: off');
    // Gifts clip nothing while the trigger is off.
    h.tiktok.sendGift(STREAMER, { handle: 'early.whale', giftName: 'Lion', diamondCount: 29_999 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(h.obs.saves).toBe(0);
  });

  it('refuses a threshold out of range and changes nothing', async () => {
    const refused = await h.command({ command: 'trigger', subcommand: 'gift', options: { min_diamonds: -5 } });
    expect(refused.ephemeral).toBe(true);
    expect(h.bot.settings.get(h.discord.guildId).giftMinDiamonds).toBe(0);
  });

  it('clips a streak once, at its end, named after the gifter, with who sent what in the alert', async () => {
    const set = await h.command({ command: 'trigger', subcommand: 'gift', options: { min_diamonds: 100 } });
    expect(set.content).toContain('100');
    const groupId = '424242';
    for (let count = 1; count <= 4; count += 1) {
      h.tiktok.sendGift(STREAMER, { handle: 'streaker', giftName: 'Doughnut', diamondCount: 30, repeatCount: count, isStreakable: true, isStreakEnd: false, groupId });
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    // 4 x 30 = 120 already, but a running streak is not final: nothing yet.
    expect(h.obs.saves).toBe(0);
    h.tiktok.sendGift(STREAMER, { handle: 'streaker', giftName: 'Doughnut', diamondCount: 30, repeatCount: 5, isStreakable: true, isStreakEnd: true, groupId });
    await waitFor(() => giftAlerts().length === 1, 10_000, () => 'the streak alert');
    const alert = giftAlerts()[0]!;
    expect(GIFT_CLIP.exec(alert.files[0]!.name)![1]).toBe('streaker');
    expect(embedText(alert.embeds)).toContain('@streaker sent Doughnut x5 (150 💎)');
    expect(h.obs.saves).toBe(1);
  });

  it('clips a single big gift, and small gifts that add up within 10 s', async () => {
    h.tiktok.sendGift(STREAMER, { handle: 'big.spender', giftName: 'Lion', diamondCount: 29_999 });
    await waitFor(() => giftAlerts().length === 2, 10_000, () => 'the big gift alert');
    expect(embedText(giftAlerts()[1]!.embeds)).toContain('@big.spender sent Lion (29999 💎)');

    h.tiktok.sendGift(STREAMER, { handle: 'rosy', giftName: 'Rose', diamondCount: 1, repeatCount: 20 });
    h.tiktok.sendGift(STREAMER, { handle: 'hearty', giftName: 'Hand Heart', diamondCount: 60 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(giftAlerts()).toHaveLength(2);
    h.tiktok.sendGift(STREAMER, { handle: 'rosy', giftName: 'Perfume', diamondCount: 20 });
    await waitFor(() => giftAlerts().length === 3, 10_000, () => 'the summed gifts alert');
    const summed = giftAlerts()[2]!;
    expect(GIFT_CLIP.exec(summed.files[0]!.name)![1]).toBe('hearty');
    const text = embedText(summed.embeds);
    for (const part of ['@rosy sent Rose x20 (20 💎)', '@hearty sent Hand Heart (60 💎)', '@rosy sent Perfume (20 💎)', '100 💎 in all']) {
      expect(text).toContain(part);
    }
    const clips = await h.command({ command: 'clips' });
    expect(clips.content).toContain('hearty');
  });

  it('holds each server to its own threshold when two servers watch the same live', async () => {
    const other = h.discord.otherGuilds[0]!;
    const inputs: InteractionInput[] = [
      { command: 'stream', subcommand: 'add', options: { username: STREAMER } },
      { command: 'settings', subcommand: 'channel', options: { channel: other.channels.alerts } },
      { command: 'settings', subcommand: 'cooldown', options: { seconds: 0 } },
      { command: 'trigger', subcommand: 'gift', options: { min_diamonds: 1_000 } },
    ];
    for (const input of inputs) await h.command({ ...input, guildId: other.id });
    const inOther = () => giftAlerts().filter((m) => m.channelId === other.channels.alerts);
    const inMain = () => giftAlerts().filter((m) => m.channelId !== other.channels.alerts);
    const mainBefore = inMain().length;

    // 500 💎: over this server's 100, under the other's 1,000.
    h.tiktok.sendGift(STREAMER, { handle: 'mid.gifter', giftName: 'Crown', diamondCount: 500 });
    await waitFor(() => inMain().length === mainBefore + 1, 10_000, () => 'the alert in the first server');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(inOther()).toHaveLength(0);

    // 5,000 💎: over both; each server gets its own alert of the one clip.
    h.tiktok.sendGift(STREAMER, { handle: 'whale', giftName: 'Universe', diamondCount: 5_000 });
    await waitFor(() => inOther().length === 1 && inMain().length === mainBefore + 2, 10_000, () => 'an alert in each server');
    expect(GIFT_CLIP.exec(inOther()[0]!.files[0]!.name)![1]).toBe('whale');
    expect(GIFT_CLIP.exec(inMain().at(-1)!.files[0]!.name)![1]).toBe('whale');
  });

  it("shows in /trigger list how this server's gift clips were reviewed: fired, kept, false positive", async () => {
    const other = h.discord.otherGuilds[0]!;
    const mine = giftAlerts().filter((m) => m.channelId !== other.channels.alerts);
    expect(mine).toHaveLength(5);
    await h.discord.press({ messageId: mine[0]!.id, customId: buttonId(mine[0]!, 'Keep') }).final(10_000);
    const marked = await h.discord.press({ messageId: mine[1]!.id, customId: buttonId(mine[1]!, 'False positive') }).final(10_000);
    expect(marked.content).toContain('counted against the gift trigger in `/trigger list`');
    const list = await h.command({ command: 'trigger', subcommand: 'list' });
    const gift = list.content.split('\n').find((l) => l.includes('Gift:'));
    expect(gift).toContain('at least 100 💎');
    expect(gift).toContain(' — fired 5, kept 1, false positive 1');
    // Hype never fired here: nothing to tally.
    expect(list.content.split('\n').find((l) => l.includes('Hype:'))).toBe('• Hype: off — `/trigger hype`');
    // The other server's alert of the whale's clip was not reviewed there.
    const theirs = await h.command({ command: 'trigger', subcommand: 'list', guildId: other.id });
    expect(theirs.content).toContain(' — fired 1, kept 0, false positive 0');
  });
});
