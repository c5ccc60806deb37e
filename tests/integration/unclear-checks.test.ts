/**
 * Live checks that lie or cannot tell, through the real tiktok-live-connector against the local TikTok,
 * several lives at once: a page that says "not live" while the web API (or room info) says live, a
 * captcha page, a WAF 403, 429s, 5xx and pages without the live state. The bot joins what a second route
 * says is live, shows `checking (TikTok did not answer clearly)` when nothing tells, and never reports a
 * LIVE as ended because TikTok would not answer. Retry waits are scaled down (the defaults are in
 * tests/unit/unclear-checks.test.ts with fake timers).
 */
import { describe, expect, it } from 'vitest';
import { waitFor } from '../support/bot-harness.js';
import { clipItBotPerSuite, streamLine as line } from '../support/clip-it-bot.js';

describe('live checks that lie or cannot tell', () => {
  const bot = clipItBotPerSuite({
    supervisorTimings: { unclearRetry: { initialMs: 300, maxMs: 1_200, factor: 2 }, unclearJitterRatio: 0.4, unclearShownAfter: 3 },
    setUp: async (h) => {
      await h.command({ command: 'settings', subcommand: 'notify', options: { enabled: true } });
    },
  });

  it('joins lives whose page says "not live" or shows a captcha when the web API or room info says live', async () => {
    const h = bot();
    const rooms = ['page.lies', 'captcha.page', 'both.lie', 'empty.page'];
    for (const room of rooms) h.tiktok.addUser(room, { live: true });
    h.tiktok.failChecks('page', 'lie', { users: ['page.lies', 'both.lie'] });
    h.tiktok.failChecks('page', 'captcha', { users: ['captcha.page'] });
    h.tiktok.failChecks('page', 'no-live-state', { users: ['empty.page'] });
    // both.lie: the page lies and the web API is blocked; room info for the room the page named says live.
    h.tiktok.failChecks('api', 403, { users: ['both.lie'] });
    try {
      for (const room of rooms) await h.command({ command: 'stream', subcommand: 'add', options: { username: room } });
      for (const room of rooms) await h.waitForState(room, 'live');
      const list = await h.command({ command: 'stream', subcommand: 'list' });
      for (const room of rooms) expect(line(list.content, room)).toContain('🔴 live');
      const saves = h.obs.saves;
      h.tiktok.sendChat('page.lies', { handle: 'fan', text: 'clip it' });
      await waitFor(() => h.obs.saves === saves + 1, 10_000, () => 'a clip from the live the page lied about');
    } finally {
      for (const route of ['page', 'api'] as const) h.tiktok.failChecks(route, false, { users: rooms });
    }
  });

  it('shows a live whose checks are all blocked as checking (TikTok did not answer clearly), never as ended, and rejoins once TikTok answers', async () => {
    const h = bot();
    h.tiktok.addUser('blocked.live', { live: true });
    h.tiktok.addUser('steady.live', { live: true });
    for (const room of ['blocked.live', 'steady.live']) await h.command({ command: 'stream', subcommand: 'add', options: { username: room } });
    for (const room of ['blocked.live', 'steady.live']) await h.waitForState(room, 'live');
    await h.discord.waitForChannelMessage((m) => m.content.includes('@blocked.live is live'), 10_000);

    // TikTok starts blocking this live's checks every way it does, and the chat socket drops.
    h.tiktok.failChecks('page', 'waf', { users: ['blocked.live'] });
    h.tiktok.failChecks('api', 429, { users: ['blocked.live'] });
    h.tiktok.failChecks('roomInfo', 503, { users: ['blocked.live'] });
    try {
      h.tiktok.dropConnections('blocked.live');
      await waitFor(() => h.bot.monitor.state('blocked.live')?.reason === 'TikTok did not answer clearly', 20_000, () => `blocked.live to show the unclear check (is ${h.bot.monitor.state('blocked.live')?.name}: ${h.bot.monitor.state('blocked.live')?.reason})`);

      const list = await h.command({ command: 'stream', subcommand: 'list' });
      expect(line(list.content, 'blocked.live')).toContain('🔎 checking (TikTok did not answer clearly) since');
      expect(line(list.content, 'blocked.live')).toContain('HTTP 403 (blocked?)');
      expect(line(list.content, 'blocked.live')).toContain('HTTP 429 (too many requests)');
      expect(line(list.content, 'steady.live')).toContain('🔴 live');
      const status = await h.command({ command: 'status' });
      expect(line(status.content, 'blocked.live')).toContain('checking (TikTok did not answer clearly)');

      // A captcha page, 5xx and pages without the live state are no clearer.
      h.tiktok.failChecks('page', 'captcha', { users: ['blocked.live'] });
      h.tiktok.failChecks('api', 'no-live-state', { users: ['blocked.live'] });
      const pages = h.tiktok.stats.pageRequests;
      await waitFor(() => h.tiktok.stats.pageRequests >= pages + 2, 10_000, () => 'two more checks');
      expect(h.bot.monitor.state('blocked.live')?.name).toBe('checking');
      expect(h.bot.monitor.state('blocked.live')?.lastError).toContain('a page without the live state');
    } finally {
      for (const route of ['page', 'api', 'roomInfo'] as const) h.tiktok.failChecks(route, false, { users: ['blocked.live'] });
    }
    await h.waitForState('blocked.live', 'live', 15_000);

    const logs = await h.command({ command: 'logs', options: { stream: 'blocked.live' } });
    expect(logs.content).toContain('checking: TikTok did not answer clearly');
    expect(logs.content).not.toContain('offline');
    expect(h.discord.channelMessages.some((m) => m.content.includes("@blocked.live's LIVE ended"))).toBe(false);
    const steady = await h.command({ command: 'logs', options: { stream: 'steady.live' } });
    expect(steady.content).not.toContain('reconnecting');
  });
});
