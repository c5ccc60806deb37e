/**
 * The card's buttons through the real discord.js client against the local Discord: Keep (posted to the
 * highlights channel once, however often pressed; held for a channel it may not post in), Discard and Restore (the file moves to discarded/ and
 * back, never deleted), False positive (counted in /keyword list), presses by members who may not, a
 * press after a restart, and two moderators pressing at once.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { PermissionFlagsBits } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeMember, PostedMessage } from '../fakes/discord-server.js';
import { startWithStandInObs, waitFor, type StandInObsHarness } from '../support/bot-harness.js';

const STREAMER = 'button.user';
const STRANGER: FakeMember = { id: '9000000000000000001', username: 'stranger', permissions: PermissionFlagsBits.ViewChannel | PermissionFlagsBits.SendMessages };

/** Names and file names as Discord Markdown shows them (escaped, as every name the bot writes). */
const md = (text: string) => text.replace(/([\\`*_~|>#[\]()-])/g, '\\$1');
const ADMIN = md('guild-admin');

const buttons = (m: PostedMessage) => m.components.flatMap((row) => row.components);
const idOf = (m: PostedMessage, label: string) => {
  const button = buttons(m).find((b) => b.label === label);
  if (!button?.custom_id) throw new Error(`no ${label} button on the card (has ${buttons(m).map((b) => b.label).join(', ')})`);
  return button.custom_id;
};

describe('the review buttons', () => {
  let h: StandInObsHarness;

  beforeAll(async () => {
    h = await startWithStandInObs({ liveStreams: [STREAMER], keywords: ['wow', 'noise'], cooldownSeconds: 0 });
    await h.command({ command: 'settings', subcommand: 'channel', options: { channel: h.discord.channels.alerts } });
  }, 60_000);

  afterAll(async () => {
    await h?.close();
  });

  async function alertFrom(chatter: string, text: string): Promise<{ alert: PostedMessage; clipName: string; filed: string }> {
    h.tiktok.sendChat(STREAMER, { handle: chatter, text });
    const alert = await h.discord.waitForChannelMessage((m) => m.channelId === h.discord.channels.alerts && m.files.some((f) => f.name.startsWith(`${chatter}_`)), 20_000);
    const clipName = alert.files.find((f) => f.name.endsWith('.mp4'))!.name;
    return { alert, clipName, filed: path.join(h.clipsDir, STREAMER, clipName) };
  }

  it('Keep marks the clip kept and posts it to the highlights channel once, however often pressed', async () => {
    await h.command({ command: 'settings', subcommand: 'highlights', options: { channel: h.discord.channels.general } });
    const { alert, clipName } = await alertFrom('keeper', 'wow!');
    const keep = idOf(alert, 'Keep');
    // Two presses before the card changes (a second moderator, a double click): one highlight.
    const presses = [h.discord.press({ messageId: alert.id, customId: keep }), h.discord.press({ messageId: alert.id, customId: keep })];
    const answers = await Promise.all(presses.map((p) => p.final(10_000)));
    // The press is answered at once; the card says the highlight is there once it is (the outbox posts it).
    expect(answers.map((a) => a.content).join('\n')).toContain(`Kept by **${ADMIN}** · posting to <#${h.discord.channels.general}>…`);
    await waitFor(() => h.discord.message(alert.id)!.content.includes(`posted in <#${h.discord.channels.general}>`), 10_000, () => 'the card to say the highlight is posted');
    const kept = h.discord.message(alert.id)!;
    expect(kept.content).toContain(`Kept by **${ADMIN}**`);
    expect(buttons(kept).find((b) => b.label === 'Kept')?.disabled).toBe(true);
    await waitFor(() => presses.some((p) => p.followUps.some((f) => f.content.includes('Already kept'))), 5_000, () => 'the second press to be told');
    const highlights = h.discord.channelMessages.filter((m) => m.channelId === h.discord.channels.general && m.files.some((f) => f.name === clipName));
    expect(highlights).toHaveLength(1);
    expect(highlights[0]!.content).toContain('Highlight from @button.user');
    const clips = await h.command({ command: 'clips' });
    const clipLine = clips.content.split('\n').find((line) => line.includes(clipName));
    expect(clipLine).toContain(`✅ kept by ${ADMIN}`);
    await h.command({ command: 'settings', subcommand: 'highlights' });
  });

  it('holds a highlight for a channel it may not post in; highlights turned off, it is dropped and the card stops saying "posting"', async () => {
    const highlights = h.discord.channels.general;
    await h.command({ command: 'settings', subcommand: 'highlights', options: { channel: highlights } });
    const forbidden = h.discord.failRequestsUntilCleared({ method: 'POST', pathIncludes: `/channels/${highlights}/messages` }, { status: 403, body: { message: 'Missing Permissions', code: 50013 } });
    try {
      const { alert, clipName } = await alertFrom('held.keeper', 'wow');
      const kept = await h.discord.press({ messageId: alert.id, customId: idOf(alert, 'Keep') }).final(10_000);
      expect(kept.content).toContain(`posting to <#${highlights}>…`);
      await waitFor(() => h.bot.delivery.problems(h.discord.guildId).some((p) => p.channelId === highlights), 10_000, () => 'the highlights channel to be held');
      await h.command({ command: 'settings', subcommand: 'highlights' });
      await waitFor(() => h.discord.message(alert.id)!.content === `✅ Kept by **${ADMIN}**`, 10_000, () => `the card to stop saying "posting" (it says ${h.discord.message(alert.id)!.content})`);
      expect((await h.command({ command: 'logs' })).content).toContain(md(`highlight of ${clipName} not posted: the highlights channel was unset before it went out`));
      expect(h.discord.channelMessages.filter((m) => m.content.includes('Highlight from'))).toHaveLength(1);
    } finally {
      forbidden();
    }
  });

  it('Discard removes the clip from the alert and moves the file to discarded/; Restore brings both back', async () => {
    const { alert, clipName, filed } = await alertFrom('dropper', 'wow');
    const discarded = await h.discord.press({ messageId: alert.id, customId: idOf(alert, 'Discard') }).final(10_000);
    expect(discarded.content).toContain(`Discarded by **${ADMIN}**`);
    expect(discarded.files.map((f) => f.name)).toEqual([clipName.replace(/\.mp4$/, '.chat.srt')]);
    expect(buttons(discarded).map((b) => b.label)).toEqual(['Restore']);
    const inDiscarded = path.join(h.clipsDir, STREAMER, 'discarded', clipName);
    expect(existsSync(inDiscarded)).toBe(true);
    expect(existsSync(filed)).toBe(false);
    expect((await h.command({ command: 'logs' })).content).toContain(md(`discarded ${clipName} (by guild-admin)`));
    expect((await h.command({ command: 'clips' })).content).toContain(`🗑️ discarded by ${ADMIN}`);

    const restored = await h.discord.press({ messageId: discarded.id, customId: idOf(discarded, 'Restore') }).final(10_000);
    expect(restored.content).toContain(`Restored by **${ADMIN}**`);
    expect(restored.files.map((f) => f.name)).toEqual([clipName, clipName.replace(/\.mp4$/, '.chat.srt')]);
    expect(buttons(restored).map((b) => b.label)).toEqual(['Keep', 'Discard', 'False positive', 'Extend (not for OBS clips)']);
    expect(existsSync(filed)).toBe(true);
    expect(existsSync(inDiscarded)).toBe(false);
  });

  it('False positive discards the clip and counts it against its keyword in /keyword list', async () => {
    const { alert, clipName } = await alertFrom('noisy', 'just noise');
    const marked = await h.discord.press({ messageId: alert.id, customId: idOf(alert, 'False positive') }).final(10_000);
    expect(marked.content).toContain(`False positive, marked by **${ADMIN}**: counted against "noise"`);
    expect(existsSync(path.join(h.clipsDir, STREAMER, 'discarded', clipName))).toBe(true);
    const list = await h.command({ command: 'keyword', subcommand: 'list' });
    expect(list.content).toContain('`noise` (contains) — fired 1, kept 0, false positive 1');
    // Kept twice by the two Keep cases above.
    expect(list.content).toMatch(/`wow` \(contains\) — fired \d+, kept 2, false positive 0/);
  });

  it('refuses every button to a member without Manage Server or the role, and changes nothing', async () => {
    const { alert, filed } = await alertFrom('guarded', 'wow');
    for (const label of ['Keep', 'Discard', 'False positive']) {
      const exchange = h.discord.press({ messageId: alert.id, customId: idOf(alert, label), member: STRANGER });
      const reply = await exchange.final(10_000);
      expect(reply.ephemeral).toBe(true);
      expect(reply.content).toContain('Manage Server permission or the bot’s moderator role');
    }
    const card = h.discord.message(alert.id)!;
    expect(card.content).toBe('');
    expect(card.files.map((f) => f.name)).toEqual(alert.files.map((f) => f.name));
    expect(existsSync(filed)).toBe(true);

    // The configured role may.
    await h.command({ command: 'settings', subcommand: 'role', options: { role: h.discord.roles.moderator } });
    const moderator = { ...STRANGER, id: '9000000000000000002', username: 'moddy', roles: [h.discord.roles.moderator] };
    const kept = await h.discord.press({ messageId: alert.id, customId: idOf(alert, 'Keep'), member: moderator }).final(10_000);
    expect(kept.content).toContain('Kept by **moddy**');
  });

  it('gives one effect when two moderators press Discard at the same moment', async () => {
    const { alert, clipName } = await alertFrom('racer', 'wow');
    const discard = idOf(alert, 'Discard');
    const first = h.discord.press({ messageId: alert.id, customId: discard });
    const second = h.discord.press({ messageId: alert.id, customId: discard });
    await Promise.all([first.final(10_000), second.final(10_000)]);
    await waitFor(() => first.followUps.length + second.followUps.length === 1, 5_000, () => 'one of the two presses to be told it was done already');
    expect([...first.followUps, ...second.followUps][0]!.content).toContain('Already discarded by guild-admin');
    const logs = (await h.command({ command: 'logs' })).content;
    expect(logs.split('\n').filter((line) => line.includes(md(`discarded ${clipName}`)))).toHaveLength(1);
    expect(existsSync(path.join(h.clipsDir, STREAMER, 'discarded', clipName))).toBe(true);
    expect(existsSync(path.join(h.clipsDir, STREAMER, 'discarded', clipName.replace(/\.mp4$/, ' (2).mp4')))).toBe(false);
  });

  it('works on an alert posted before a restart', async () => {
    const { alert, clipName, filed } = await alertFrom('before.restart', 'wow');
    await h.restartBot();
    await h.waitForState(STREAMER, 'live');
    const discarded = await h.discord.press({ messageId: alert.id, customId: idOf(alert, 'Discard') }).final(10_000);
    expect(discarded.content).toContain('Discarded by');
    expect(existsSync(path.join(h.clipsDir, STREAMER, 'discarded', clipName))).toBe(true);
    expect(existsSync(filed)).toBe(false);
  });
});
