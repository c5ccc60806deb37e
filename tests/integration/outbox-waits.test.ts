import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWithStandInObs, waitFor, type StandInObsHarness } from '../support/bot-harness.js';

/**
 * An alert with nowhere to go is kept, not dropped: a server without `/settings channel` whose stream was
 * removed while its alert was still queued (Discord down). `/status` says it waits; `/settings channel`
 * sends it there, once.
 */
describe('an alert with no channel to go to', () => {
  let h: StandInObsHarness;

  beforeAll(async () => {
    h = await startWithStandInObs({ liveStreams: ['gone.stream'], keywords: ['clip it'] });
  }, 60_000);

  afterAll(async () => {
    await h?.close();
  });

  it('waits, is counted in /status, and is posted once the server sets an alert channel', async () => {
    const isAlert = (m: { files: { name: string }[] }) => m.files.some((f) => f.name.startsWith('waiting.fan_'));
    const endOutage = h.discord.failRequestsUntilCleared({ method: 'POST', pathIncludes: `/channels/${h.discord.channels.general}/messages` }, { status: 503 });
    h.tiktok.sendChat('gone.stream', { handle: 'waiting.fan', text: 'clip it' });
    await waitFor(() => h.discord.requests.some((r) => r.path.includes(`/channels/${h.discord.channels.general}/messages`) && r.status === 503), 10_000, () => 'a failed post');
    // Its stream goes, and with it the only channel the alert could take; then Discord is back.
    await h.command({ command: 'stream', subcommand: 'remove', options: { username: 'gone.stream' } });
    endOutage();

    await waitFor(() => h.bot.delivery.waitingForAlertChannel(h.discord.guildId) === 1, 10_000, () => 'the alert to wait for a channel');
    const status = await h.command({ command: 'status' });
    expect(status.content).toContain('1 alert waiting for an alert channel');
    expect(h.bot.delivery.pendingCount).toBe(1);
    expect(h.discord.channelMessages.filter(isAlert)).toEqual([]);
    const logs = await h.command({ command: 'logs' });
    expect(logs.content).toContain('no alert channel yet');

    const reply = await h.command({ command: 'settings', subcommand: 'channel', options: { channel: h.discord.channels.alerts } });
    expect(reply.content).toContain('1 waiting post will be delivered there now');
    await waitFor(() => h.bot.delivery.pendingCount === 0, 10_000, () => 'the alert to be delivered');
    expect(h.discord.channelMessages.filter(isAlert).map((m) => m.channelId)).toEqual([h.discord.channels.alerts]);
    expect((await h.command({ command: 'status' })).content).not.toContain('waiting for an alert channel');
  });
});
