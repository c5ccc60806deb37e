/**
 * `/settings recap enabled`: when a watched live ends, one message per server that asked: how long it
 * ran, its clips (links to their alerts, with what moderators decided), who triggered most, the biggest
 * gifts, and the peak chat rate and when. Servers that did not ask get none (it is off by default).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostedMessage } from '../fakes/discord-server.js';
import { startWithStandInObs, type StandInObsHarness } from '../support/bot-harness.js';

const STREAMER = 'recap.user';

describe('the recap when a live ends', () => {
  let h: StandInObsHarness;

  beforeAll(async () => {
    h = await startWithStandInObs({ otherGuilds: 1, liveStreams: [STREAMER], keywords: ['wow'], cooldownSeconds: 0 });
    await h.command({ command: 'settings', subcommand: 'recap', options: { enabled: true } });
    // The other server watches the same live with the defaults: recap off.
    const other = h.discord.otherGuilds[0]!;
    await h.command({ command: 'stream', subcommand: 'add', options: { username: STREAMER }, guildId: other.id, channelId: other.channels.general });
  }, 60_000);

  afterAll(async () => {
    await h?.close();
  });

  it('posts one recap with the clips, who triggered most, the biggest gifts and the peak chat rate', async () => {
    const isAlert = (chatter: string) => (m: PostedMessage) => m.files.some((f) => f.name.startsWith(`${chatter}_`));
    h.tiktok.sendChat(STREAMER, { handle: 'loud', text: 'wow' });
    const first = await h.discord.waitForChannelMessage(isAlert('loud'), 20_000);
    h.tiktok.sendChats(STREAMER, Array.from({ length: 12 }, (_, i) => ({ handle: `fan${i}`, text: `hi ${i}` })));
    h.tiktok.sendGift(STREAMER, { handle: 'whale', giftName: 'Lion', diamondCount: 29_999 });
    h.tiktok.sendGift(STREAMER, { handle: 'minnow', giftName: 'Rose', diamondCount: 1, repeatCount: 5 });
    h.tiktok.sendChat(STREAMER, { handle: 'loud', text: 'wow again' });
    await h.discord.waitForChannelMessage((m) => m !== first && isAlert('loud')(m), 20_000);
    const keep = first.components[0]!.components.find((b) => b.label === 'Keep')!.custom_id!;
    await h.discord.press({ messageId: first.id, customId: keep }).final(10_000);
    const postsBefore = h.discord.channelMessages.length;

    h.tiktok.endStream(STREAMER);
    const recap = await h.discord.waitForChannelMessage((m) => m.content.includes('Recap: @recap.user'), 20_000);
    expect(recap.channelId).toBe(h.discord.channels.general);
    expect(recap.content).toMatch(/LIVE ended\*\* after \d+ s/);
    expect(recap.content).toContain('**Clips (2)**');
    expect(recap.content).toContain(`](https://discord.com/channels/${h.discord.guildId}/${first.channelId}/${first.id})`);
    expect(recap.content).toContain('✅ kept');
    expect(recap.content).toContain('**Triggered most:** @loud (2)');
    expect(recap.content).toContain('**Biggest gifts:** @whale Lion (29999 💎), @minnow Rose x5 (5 💎)');
    expect(recap.content).toMatch(/\*\*Peak chat:\*\* \d+(\.\d)? msgs\/s at <t:\d+:f> \(1[45] chats in all\)/);

    await h.waitForState(STREAMER, 'offline');
    // One recap, and none for the server that did not ask.
    const recaps = h.discord.channelMessages.slice(postsBefore).filter((m) => m.content.includes('Recap:'));
    expect(recaps).toHaveLength(1);
  });
});
