/**
 * Each alert is a review card: the moment's chat beside the clip as `{clip name}.chat.srt` (attached, its
 * cues at the chats' times within the clip), the chats around the trigger and why it fired on the alert,
 * and the buttons. OBS capture through a stand-in OBS that saves a real 6 s video, so the clip's length is
 * probed as with OBS; two servers watching one live, each with its own card.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostedMessage } from '../fakes/discord-server.js';
import { startWithStandInObs, waitFor, type StandInObsHarness } from '../support/bot-harness.js';
import { makeSampleVideo } from '../support/media.js';

const STREAMER = 'card.user';
const CLIP_SECONDS = 6;
const DELAY_SECONDS = 2;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** SubRip cues: start in seconds and text. */
function cues(srt: string): Array<{ start: number; text: string }> {
  return srt
    .trim()
    .split(/\n\n+/)
    .filter(Boolean)
    .map((block) => {
      const [, timing = '', ...text] = block.split('\n');
      const [h, m, s, ms] = timing.split(' --> ')[0]!.split(/[:,]/).map(Number) as [number, number, number, number];
      return { start: h * 3600 + m * 60 + s + ms / 1000, text: text.join('\n') };
    });
}

const buttons = (m: PostedMessage) => m.components.flatMap((row) => row.components);

describe('the alert as a review card', () => {
  let h: StandInObsHarness;
  let sampleDir: string;
  let other: StandInObsHarness['discord']['otherGuilds'][number];

  beforeAll(async () => {
    sampleDir = await mkdtemp(path.join(os.tmpdir(), 'review-card-'));
    const sample = path.join(sampleDir, 'sample.mp4');
    await makeSampleVideo(sample, CLIP_SECONDS);
    h = await startWithStandInObs({ otherGuilds: 1, obsSampleVideo: sample, liveStreams: [STREAMER], keywords: ['wow'], cooldownSeconds: 0 });
    // The reaction after the trigger belongs in the clip: OBS saves 2 s later, so its last 2 s follow the chat.
    await h.command({ command: 'settings', subcommand: 'delay', options: { seconds: DELAY_SECONDS } });
    await h.command({ command: 'trigger', subcommand: 'gift', options: { min_diamonds: 1000 } });
    other = h.discord.otherGuilds[0]!;
    const inOther = { guildId: other.id, channelId: other.channels.general };
    await h.command({ command: 'keyword', subcommand: 'add', options: { word: 'wow' }, ...inOther });
    await h.command({ command: 'settings', subcommand: 'channel', options: { channel: other.channels.alerts }, ...inOther });
    await h.command({ command: 'stream', subcommand: 'add', options: { username: STREAMER }, ...inOther });
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    await rm(sampleDir, { recursive: true, force: true });
  });

  it('attaches the chat as subtitles timed within the clip, names the chats around the trigger and says why it fired', async () => {
    h.tiktok.sendChat(STREAMER, { handle: 'early.one', text: 'hello \u202ethere' });
    await sleep(1_500);
    h.tiktok.sendChat(STREAMER, { handle: 'caller', text: 'that was wow' });
    await sleep(1_000);
    h.tiktok.sendChat(STREAMER, { handle: 'after.one', text: 'lol' });
    const alert = await h.discord.waitForChannelMessage((m) => m.channelId !== other.channels.alerts && m.files.some((f) => f.name.startsWith('caller_wow_')), 20_000);

    const clip = alert.files.find((f) => f.name.endsWith('.mp4'))!;
    const srtFile = alert.files.find((f) => f.name.endsWith('.chat.srt'))!;
    expect(srtFile.name).toBe(clip.name.replace(/\.mp4$/, '.chat.srt'));
    const srt = srtFile.data.toString('utf8');
    // The same file lies beside the clip.
    expect(readFileSync(path.join(h.clipsDir, STREAMER, srtFile.name), 'utf8')).toBe(srt);
    const byText = Object.fromEntries(cues(srt).map((c) => [c.text, c.start]));
    expect(Object.keys(byText)).toEqual(['@early.one: hello there', '@caller: that was wow', '@after.one: lol']);
    // The clip ends at the save, DELAY_SECONDS after the trigger: the trigger sits that far before its end.
    expect(byText['@caller: that was wow']).toBeGreaterThan(CLIP_SECONDS - DELAY_SECONDS - 0.8);
    expect(byText['@caller: that was wow']).toBeLessThan(CLIP_SECONDS - DELAY_SECONDS + 0.8);
    expect(byText['@caller: that was wow']! - byText['@early.one: hello there']!).toBeCloseTo(1.5, 0);
    expect(byText['@after.one: lol']! - byText['@caller: that was wow']!).toBeCloseTo(1, 0);

    const embed = alert.embeds[0]!;
    const field = (name: string) => embed.fields?.find((f) => f.name === name)?.value ?? '';
    expect(field('Why it fired')).toBe('"wow" in @caller\'s message: "that was wow"');
    expect(field('Chat around it').split('\n')).toEqual(['@early.one: hello there', '@caller: that was wow', '@after.one: lol']);
    expect(buttons(alert).map((b) => [b.label, b.disabled ?? false])).toEqual([
      ['Keep', false],
      ['Discard', false],
      ['False positive', false],
      ['Extend (not for OBS clips)', true],
    ]);
  });

  it('gives every server that called the moment its own card, and one server discarding leaves the other its clip', async () => {
    h.tiktok.sendChat(STREAMER, { handle: 'shared.caller', text: 'wow wow' });
    const isShared = (m: PostedMessage) => m.files.some((f) => f.name.startsWith('shared.caller_wow_'));
    const mine = await h.discord.waitForChannelMessage((m) => m.channelId === h.discord.channels.general && isShared(m), 20_000);
    const theirs = await h.discord.waitForChannelMessage((m) => m.channelId === other.channels.alerts && isShared(m), 20_000);
    expect(theirs.id).not.toBe(mine.id);
    expect(buttons(theirs).map((b) => b.label)).toEqual(buttons(mine).map((b) => b.label));
    const clipName = mine.files.find((f) => f.name.endsWith('.mp4'))!.name;
    const filed = path.join(h.clipsDir, STREAMER, clipName);
    const discardId = buttons(mine).find((b) => b.label === 'Discard')!.custom_id!;

    const discarded = await h.discord.press({ messageId: mine.id, customId: discardId }).final(10_000);
    expect(discarded.files.map((f) => f.name)).toEqual([clipName.replace(/\.mp4$/, '.chat.srt')]);
    expect(h.discord.message(theirs.id)!.files.map((f) => f.name)).toContain(clipName);
    // The other server still has it: the file stays where it was.
    expect(existsSync(filed)).toBe(true);
    const logs = await h.command({ command: 'logs' });
    expect(logs.content).toContain('another server still has it');

    const theirDiscard = buttons(theirs).find((b) => b.label === 'Discard')!.custom_id!;
    await h.discord.press({ messageId: theirs.id, customId: theirDiscard }).final(10_000);
    await waitFor(() => existsSync(path.join(h.clipsDir, STREAMER, 'discarded', clipName)), 5_000, () => 'the clip to move to discarded/');
    expect(existsSync(filed)).toBe(false);
  });

  it('says who sent what for a gift clip', async () => {
    h.tiktok.sendGift(STREAMER, { handle: 'big.giver', giftName: 'Lion', diamondCount: 29_999 });
    const alert = await h.discord.waitForChannelMessage((m) => m.channelId === h.discord.channels.general && m.files.some((f) => f.name.startsWith('big.giver_gift_')), 20_000);
    const why = alert.embeds[0]!.fields?.find((f) => f.name === 'Why it fired')?.value;
    // Markdown-escaped in the embed, as every chat text there.
    expect(why).toContain('@big.giver sent Lion \\(29999 💎\\)');
    const srt = alert.files.find((f) => f.name.endsWith('.chat.srt'))!.data.toString('utf8');
    expect(srt).toContain('🎁 @big.giver sent Lion (29999 💎)');
  });
});
