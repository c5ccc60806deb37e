import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor, FAST_TUNING, startWithStandInObs, type StandInObsHarness } from '../support/bot-harness.js';

/**
 * The bot's stream supervision against the local TikTok protocol server (real tiktok-live-connector,
 * real protobuf frames); OBS is a stand-in here, the real one is covered end to end elsewhere.
 */
describe('stream supervision against a local TikTok', () => {
  let h: StandInObsHarness;
  const pollMs = FAST_TUNING.supervisorTimings.offlinePollMs;

  beforeAll(async () => {
    h = await startWithStandInObs({ keywords: ['clip it'], cooldownSeconds: 0 });
  });

  afterAll(async () => {
    await h?.close();
  });

  /**
   * Waits for the saves and for their clips to be filed: a chat sent while a moment is still being filed
   * joins it as a late caller (by design), so the next step must not start before.
   */
  async function savesAfter(action: () => void, expected: number): Promise<void> {
    const before = h.obs.saves;
    const filedBefore = filedClips();
    action();
    await waitFor(() => h.obs.saves >= before + expected, 10_000, () => `${expected} save(s), got ${h.obs.saves - before}`);
    await waitFor(() => filedClips() >= filedBefore + expected, 10_000, () => `${expected} clip(s) filed`);
  }

  function filedClips(): number {
    return h.bot.events.recent(h.discord.guildId, { limit: 1_000 }).filter((e) => e.kind === 'save').length;
  }

  it('reconnects after a drop mid-stream and chats flow again, without re-firing an old chat', async () => {
    h.tiktok.addUser('drop.user', { live: true });
    await h.command({ command: 'stream', subcommand: 'add', options: { username: '@drop.user' } });
    await h.waitForState('drop.user', 'live');
    await savesAfter(() => h.tiktok.sendChat('drop.user', { msgId: '7001', handle: 'a', text: 'clip it' }), 1);
    // A replay on the same connection is dropped too (cooldown is 0 here, so a second save would show).
    // A new chat sent after it gives the bot time to read both: only the new one may save.
    const savesBeforeReplay = h.obs.saves;
    h.tiktok.sendChat('drop.user', { msgId: '7001', handle: 'a', text: 'clip it' });
    await savesAfter(() => h.tiktok.sendChat('drop.user', { msgId: '7003', handle: 'c', text: 'clip it' }), 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(h.obs.saves).toBe(savesBeforeReplay + 1);

    const connections = h.tiktok.stats.pushConnections;
    h.tiktok.dropConnections('drop.user');
    await h.waitForState('drop.user', 'reconnecting');
    await h.waitForState('drop.user', 'live');
    expect(h.tiktok.stats.pushConnections).toBe(connections + 1);

    const before = h.obs.saves;
    h.tiktok.sendChat('drop.user', { msgId: '7001', handle: 'a', text: 'clip it' }); // replayed after the reconnect
    await savesAfter(() => h.tiktok.sendChat('drop.user', { msgId: '7002', handle: 'b', text: 'clip it again' }), 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(h.obs.saves).toBe(before + 1);
    const logs = await h.command({ command: 'logs', options: { stream: 'drop.user' } });
    expect(logs.content).toContain('connection lost');
  });

  it('goes offline at stream end, and connects again within the poll interval once live', async () => {
    h.tiktok.addUser('end.user', { live: true });
    await h.command({ command: 'stream', subcommand: 'add', options: { username: 'end.user' } });
    await h.waitForState('end.user', 'live');
    h.tiktok.endStream('end.user');
    await h.waitForState('end.user', 'offline');
    expect(h.bot.monitor.state('end.user')?.reason).toBe('the LIVE ended');
    expect(h.tiktok.stats.openSockets('end.user')).toBe(0);

    h.tiktok.setLive('end.user', true);
    const wentLiveAt = Date.now();
    await h.waitForState('end.user', 'live');
    // One poll interval (plus jitter and the wait after an end), never a tight loop or a long sleep.
    expect(Date.now() - wentLiveAt).toBeLessThan(pollMs * 4 + 5_000);
  });

  it('shows an unknown user as an error with a reason and does not retry in a storm', async () => {
    const pagesBefore = h.tiktok.stats.pageRequests + h.tiktok.stats.apiLiveRequests;
    const signBefore = h.tiktok.stats.signConnectRequests;
    await h.command({ command: 'stream', subcommand: 'add', options: { username: 'nobody.here' } });
    await h.waitForState('nobody.here', 'error');
    await new Promise((resolve) => setTimeout(resolve, pollMs * 5));
    expect(h.bot.monitor.state('nobody.here')?.name).toBe('error');
    expect(h.tiktok.stats.signConnectRequests).toBe(signBefore);
    expect(h.tiktok.stats.pageRequests + h.tiktok.stats.apiLiveRequests - pagesBefore).toBeLessThanOrEqual(4);
    const list = await h.command({ command: 'stream', subcommand: 'list' });
    expect(list.content).toMatch(/nobody\\?\.here\*\* — ❗ error/);
    expect(list.content).toContain('last error');
    await h.command({ command: 'stream', subcommand: 'remove', options: { username: 'nobody.here' } });
  });

  it('waits at least the retry-after of a signing 429 before connecting again', async () => {
    h.tiktok.addUser('limited.user', { live: true });
    const signBefore = h.tiktok.signRequests.length;
    h.tiktok.rateLimitSign(1, 2);
    const addedAt = Date.now();
    await h.command({ command: 'stream', subcommand: 'add', options: { username: 'limited.user' } });
    await h.waitForState('limited.user', 'rate-limited');
    expect(h.bot.monitor.state('limited.user')?.reason).toMatch(/wait 2 s/);
    await h.waitForState('limited.user', 'live', 10_000);
    expect(Date.now() - addedAt).toBeGreaterThanOrEqual(2_000);
    expect(h.tiktok.signRequests.length - signBefore).toBeLessThanOrEqual(3);
  });

  it('treats a silent connection as dropped and reconnects', async () => {
    h.tiktok.addUser('quiet.user', { live: true });
    await h.command({ command: 'stream', subcommand: 'add', options: { username: 'quiet.user' } });
    await h.waitForState('quiet.user', 'live');
    h.tiktok.silence('quiet.user', true);
    await h.waitForState('quiet.user', 'reconnecting', 10_000);
    expect(h.bot.monitor.state('quiet.user')?.reason).toContain('no data from TikTok');
    h.tiktok.silence('quiet.user', false);
    await h.waitForState('quiet.user', 'live', 10_000);
    await savesAfter(() => h.tiktok.sendChat('quiet.user', { handle: 'c', text: 'CLIP IT' }), 1);
  });

  it('posts a notice when a watched user goes live and ends, when the guild asked for it', async () => {
    await h.command({ command: 'settings', subcommand: 'notify', options: { enabled: true } });
    h.tiktok.addUser('notify.user', { live: true });
    await h.command({ command: 'stream', subcommand: 'add', options: { username: 'notify.user' } });
    await h.discord.waitForChannelMessage((m) => m.content.includes('@notify.user is live'), 10_000);
    h.tiktok.endStream('notify.user');
    await h.discord.waitForChannelMessage((m) => m.content.includes("@notify.user's LIVE ended"), 10_000);
    await h.command({ command: 'settings', subcommand: 'notify', options: { enabled: false } });
    await h.command({ command: 'stream', subcommand: 'remove', options: { username: 'notify.user' } });
  });

  it('shows every stream with its state in /status', async () => {
    const status = await h.command({ command: 'status' });
    expect(status.content).toContain('**OBS:** connected');
    expect(status.content).toContain('**Replay buffer:** running');
    for (const user of ['drop.user', 'end.user', 'limited.user', 'quiet.user']) expect(status.content).toContain(user);
    expect(status.content).toMatch(/Last clip:\*\* `/);
  });

  it('closes the connection when a stream is removed, and every connection at shutdown', async () => {
    await h.command({ command: 'stream', subcommand: 'remove', options: { username: 'quiet.user' } });
    expect(h.bot.monitor.state('quiet.user')).toBeUndefined();
    await waitFor(() => h.tiktok.stats.openSockets('quiet.user') === 0, 5_000, () => 'the socket to close');
    await h.bot.stop();
    for (const user of ['drop.user', 'end.user', 'limited.user']) expect(h.tiktok.stats.openSockets(user)).toBe(0);
  });
});
