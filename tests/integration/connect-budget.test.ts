import { afterEach, describe, expect, it } from 'vitest';
import type { FakeSignLimits } from '../fakes/tiktok-server.js';
import { startWithStandInObs, waitFor, type Harness } from '../support/bot-harness.js';

/**
 * The shared connect budget as a user gets it (no fixed test budgets): sized from what the local signing
 * service advertises at `/accounts/me/rate_limits`, which also enforces it with 429s. Real discord.js,
 * real tiktok-live-connector, local servers.
 */
describe('the connect budget follows the signing service', () => {
  let h: Harness | undefined;

  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  /** A bot with the user's budgets whose signing service advertises `limits` (or cannot be reached). */
  async function start(limits: FakeSignLimits | 'unreachable', otherGuilds = 0): Promise<Harness> {
    const harness = await startWithStandInObs({ userBudgets: true, otherGuilds });
    if (limits === 'unreachable') harness.tiktok.limitsUnreachable('error');
    else harness.tiktok.advertiseLimits(limits);
    // The bot reads the limits as it is built: a restart makes it read what the service says now.
    await harness.restartBot();
    return harness;
  }

  const liveCount = (harness: Harness, names: readonly string[]) =>
    names.filter((name) => harness.bot.monitor.state(name)?.name === 'live').length;
  const inState = (harness: Harness, names: readonly string[], state: string) =>
    names.filter((name) => harness.bot.monitor.state(name)?.name === state);

  it('lets 60 lives added at once in three servers all join when the key allows 120 a minute, with no 429', async () => {
    h = await start({ minute: 120, hour: 1_000, day: 5_000 }, 2);
    const guilds = [{ guildId: h.discord.guildId, channelId: undefined }, ...h.discord.otherGuilds.map((g) => ({ guildId: g.id, channelId: g.channels.general }))];
    const names = Array.from({ length: 60 }, (_, i) => `wide.live${i}`);
    for (const name of names) h.tiktok.addUser(name, { live: true });
    // One after another as fast as the bot answers (a moderator pasting a list): the budget sees them at once.
    for (const [i, name] of names.entries()) {
      const guild = guilds[i % guilds.length]!;
      const reply = await h.command({ command: 'stream', subcommand: 'add', options: { username: name }, guildId: guild.guildId, ...(guild.channelId ? { channelId: guild.channelId } : {}) });
      expect(reply.content).not.toContain('queued');
    }
    await waitFor(() => liveCount(h!, names) === names.length, 60_000, () => `all 60 live (${liveCount(h!, names)} are)`);
    expect(h.tiktok.stats.signRateLimited).toBe(0);
    const status = await h.command({ command: 'status' });
    expect(status.content).toContain('120/min, 1000/h, 5000/day (signing service)');
  });

  it('joins 3 of 5 lives at once on a 3-a-minute key and shows the other 2 queued with when they join', async () => {
    h = await start({ minute: 3 });
    const names = ['tight.a', 'tight.b', 'tight.c', 'tight.d', 'tight.e'];
    for (const name of names) {
      h.tiktok.addUser(name, { live: true });
      await h.command({ command: 'stream', subcommand: 'add', options: { username: name } });
    }
    await waitFor(() => liveCount(h!, names) === 3 && inState(h!, names, 'queued').length === 2, 20_000, () => `3 live and 2 queued (${names.map((n) => h!.bot.monitor.state(n)?.name).join(', ')})`);

    const list = await h.command({ command: 'stream', subcommand: 'list' });
    const queuedLines = list.content.split('\n').filter((line) => line.includes('queued for the connect budget, joins in ~'));
    expect(queuedLines).toHaveLength(2);
    expect(list.content.split('\n').filter((line) => line.includes('🔴 live ('))).toHaveLength(3);

    // A sixth live user added now cannot join at once either, and the moderator is told so.
    h.tiktok.addUser('tight.f', { live: true });
    const reply = await h.command({ command: 'stream', subcommand: 'add', options: { username: 'tight.f' } });
    expect(reply.content).toMatch(/queued for the connect budget and joins the chat in ~\d+ (s|min)/);

    const logs = await h.command({ command: 'logs' });
    // /logs escapes Markdown: `checking \-\> queued: …`.
    expect(logs.content).toMatch(/checking \\-\\> queued: queued for the connect budget, joins in \\~\d+ s/);
    const status = await h.command({ command: 'status' });
    expect(status.content).toContain('3/min (signing service); 3 queued');
    // Waiting is done by the bot, not by asking the service and being refused.
    expect(h.tiktok.stats.signRateLimited).toBe(0);
    expect(h.tiktok.stats.signConnectRequests).toBe(3);
  });

  it('falls back to the keyless budget (4 a minute, 25 an hour) when the service cannot be reached', async () => {
    h = await start('unreachable');
    const names = Array.from({ length: 6 }, (_, i) => `fallback.live${i}`);
    for (const name of names) {
      h.tiktok.addUser(name, { live: true });
      await h.command({ command: 'stream', subcommand: 'add', options: { username: name } });
    }
    await waitFor(() => liveCount(h!, names) === 4 && inState(h!, names, 'queued').length === 2, 20_000, () => `4 live and 2 queued (${names.map((n) => h!.bot.monitor.state(n)?.name).join(', ')})`);
    const status = await h.command({ command: 'status' });
    expect(status.content).toContain('4/min, 25/h (fallback (signing service unreachable))');
    expect(h.tiktok.stats.rateLimitRequests).toBeGreaterThanOrEqual(1);
  });

  it('corrects the budget after a 429: holds every connect until the reset and reads the limits again', async () => {
    h = await start({ minute: 120 });
    const first = ['shift.a', 'shift.b'];
    for (const name of first) {
      h.tiktok.addUser(name, { live: true });
      await h.command({ command: 'stream', subcommand: 'add', options: { username: name } });
    }
    await waitFor(() => liveCount(h!, first) === 2, 20_000, () => 'the first two live');
    const reads = h.tiktok.stats.rateLimitRequests;

    // The key's plan shrinks behind the bot's back: the bot still believes 120 a minute.
    h.tiktok.advertiseLimits({ minute: 2 });
    const add = async (name: string) => {
      h!.tiktok.addUser(name, { live: true });
      await h!.command({ command: 'stream', subcommand: 'add', options: { username: name } });
    };
    for (const name of ['shift.c', 'shift.d']) {
      await add(name);
      await h.waitForState(name, 'live');
    }
    await add('shift.e');
    await h.waitForState('shift.e', 'rate-limited');
    await waitFor(() => h!.tiktok.stats.rateLimitRequests > reads, 20_000, () => 'a new read of the limits after the 429');
    await add('shift.f');
    await h.waitForState('shift.f', 'queued');
    const connects = h.tiktok.stats.signConnectRequests;
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    // One refusal taught the bot: nobody else tried before the window's reset.
    expect(h.tiktok.stats.signRateLimited).toBe(1);
    expect(h.tiktok.stats.signConnectRequests).toBe(connects);
    const status = await h.command({ command: 'status' });
    expect(status.content).toContain('2/min (signing service)');
  });
});
