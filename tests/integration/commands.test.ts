import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWithStandInObs, type StandInObsHarness } from '../support/bot-harness.js';

/** The slash commands through the real discord.js client, with OBS stood in for. */
describe('slash commands', () => {
  let h: StandInObsHarness;

  beforeAll(async () => {
    h = await startWithStandInObs();
  });

  afterAll(async () => {
    await h?.close();
  });

  it('keeps every one of 20 keyword additions sent at the same moment', async () => {
    const words = Array.from({ length: 20 }, (_, i) => `word${i}`);
    const replies = await Promise.all(words.map((word) => h.command({ command: 'keyword', subcommand: 'add', options: { word } })));
    for (const reply of replies) expect(reply.ephemeral).toBe(false);
    const list = await h.command({ command: 'keyword', subcommand: 'list' });
    for (const word of words) expect(list.content).toContain(`\`${word}\``);
    await h.restartBot();
    expect(h.bot.settings.get(h.discord.guildId).keywords).toHaveLength(20);
  });

  it('tests a message against the keywords, saying which fire and in which mode, saving nothing', async () => {
    await h.command({ command: 'keyword', subcommand: 'add', options: { word: 'cat', match: 'word' } });
    await h.command({ command: 'keyword', subcommand: 'add', options: { word: '🔥' } });
    const before = h.bot.settings.get(h.discord.guildId);
    const hit = await h.command({ command: 'keyword', subcommand: 'test', options: { message: 'my CAT is 🔥 and word3!' } });
    expect(hit.ephemeral).toBe(true);
    expect(hit.content).toContain('`cat` (word)');
    expect(hit.content).toContain('`🔥` (contains)');
    expect(hit.content).toContain('`word3` (contains)');
    const miss = await h.command({ command: 'keyword', subcommand: 'test', options: { message: 'concatenate' } });
    expect(miss.content).toBe('No keyword would fire on that message.');
    expect(h.bot.settings.get(h.discord.guildId)).toEqual(before);
    expect(h.obs.saves).toBe(0);
  });

  it('echoes a hostile option without control or bidi characters, and changes nothing', async () => {
    const before = h.bot.settings.get(h.discord.guildId).keywords.length;
    const reply = await h.command({ command: 'keyword', subcommand: 'remove', options: { word: 'a\u0000b\u202ec\u2067d' } });
    expect(reply.ephemeral).toBe(true);
    expect(reply.content).toContain('abcd');
    expect(reply.content).not.toMatch(/[\u0000\u202e\u2067]/);
    expect(h.bot.settings.get(h.discord.guildId).keywords).toHaveLength(before);
  });

  it('refuses an invisible keyword (zero-width, format or blank characters only) with a short answer, storing nothing', async () => {
    const before = h.bot.settings.get(h.discord.guildId).keywords;
    for (const word of ['\u200B\u200D', ' \u2060\uFEFF ', '\u2800\u2800', '\u3164', '\u200E\u00AD']) {
      const reply = await h.command({ command: 'keyword', subcommand: 'add', options: { word } });
      expect(reply.ephemeral).toBe(true);
      expect(reply.content).toContain('A keyword needs at least one visible character.');
      expect(reply.content.length).toBeLessThan(120);
    }
    expect(h.bot.settings.get(h.discord.guildId).keywords).toEqual(before);
    const list = await h.command({ command: 'keyword', subcommand: 'list' });
    for (const invisible of ['\u200B', '\u200D', '\u2060', '\uFEFF', '\u2800', '\u3164', '\u200E', '\u00AD']) expect(list.content).not.toContain(invisible);
    const test = await h.command({ command: 'keyword', subcommand: 'test', options: { message: '\u200B\u200D' } });
    expect(test.content).toBe('No keyword would fire on that message.');
  });

  it('matches full-width and differently cased chat text', async () => {
    const hit = await h.command({ command: 'keyword', subcommand: 'test', options: { message: 'ＷＯＲＤ７ lol' } });
    expect(hit.content).toContain('`word7`');
  });

  it('suggests the guild’s streams and keywords in autocomplete', async () => {
    h.tiktok.addUser('alpha.one', { live: false });
    h.tiktok.addUser('beta.two', { live: false });
    await h.command({ command: 'stream', subcommand: 'add', options: { username: 'alpha.one' } });
    await h.command({ command: 'stream', subcommand: 'add', options: { username: 'beta.two' } });
    const streams = await h.discord.autocomplete({ command: 'stream', subcommand: 'remove', focused: 'username', options: { username: 'alp' } });
    expect(streams.map((c) => c.value)).toEqual(['alpha.one']);
    const words = await h.discord.autocomplete({ command: 'keyword', subcommand: 'remove', focused: 'word', options: { word: 'word1' } });
    expect(words.map((c) => c.value).sort()).toEqual(['word1', 'word10', 'word11', 'word12', 'word13', 'word14', 'word15', 'word16', 'word17', 'word18', 'word19']);
  });

  it('shows offline streams as offline in /stream list', async () => {
    await h.waitForState('alpha.one', 'offline');
    const list = await h.command({ command: 'stream', subcommand: 'list' });
    expect(list.content).toMatch(/alpha\\?\.one\*\* — ⚫ offline \(not live\) since <t:\d+:R>/);
  });

  it('stores the delay and cooldown, refusing out-of-range values', async () => {
    await h.command({ command: 'settings', subcommand: 'delay', options: { seconds: 3 } });
    await h.command({ command: 'settings', subcommand: 'cooldown', options: { seconds: 45 } });
    expect(h.bot.settings.get(h.discord.guildId)).toMatchObject({ delaySeconds: 3, cooldownSeconds: 45 });
    const refused = await h.command({ command: 'settings', subcommand: 'cooldown', options: { seconds: -5 } });
    expect(refused.ephemeral).toBe(true);
    expect(h.bot.settings.get(h.discord.guildId).cooldownSeconds).toBe(45);
  });

  it('refuses an alert channel the bot cannot post in, and accepts one it can', async () => {
    const refused = await h.command({ command: 'settings', subcommand: 'channel', options: { channel: h.discord.channels.readOnly } });
    expect(refused.ephemeral).toBe(true);
    expect(refused.content).toContain('I cannot post clips in');
    expect(h.bot.settings.get(h.discord.guildId).alertChannelId).toBeUndefined();
    const accepted = await h.command({ command: 'settings', subcommand: 'channel', options: { channel: h.discord.channels.alerts } });
    expect(accepted.ephemeral).toBe(false);
    expect(h.bot.settings.get(h.discord.guildId).alertChannelId).toBe(h.discord.channels.alerts);
  });

  it('answers /clip with a clear reason when OBS is down, and names an unknown stream', async () => {
    h.obs.isDown = true;
    const down = await h.command({ command: 'clip' });
    expect(down.content).toContain('OBS is not connected');
    expect(down.files).toHaveLength(0);
    h.obs.isDown = false;
    const unknown = await h.command({ command: 'clip', options: { stream: 'not.watched' } });
    expect(unknown.content).toContain('@not.watched is not watched here');
  });

  it('removes a keyword case-insensitively and a stream by link', async () => {
    const removed = await h.command({ command: 'keyword', subcommand: 'remove', options: { word: 'CAT' } });
    expect(removed.content).toContain('`cat`');
    const gone = await h.command({ command: 'stream', subcommand: 'remove', options: { username: 'https://www.tiktok.com/@beta.two/live' } });
    expect(gone.content).toContain('@beta.two');
    expect(h.bot.settings.get(h.discord.guildId).streams.map((s) => s.username)).toEqual(['alpha.one']);
    expect(h.discord.unhandledRequests).toEqual([]);
  });
});
