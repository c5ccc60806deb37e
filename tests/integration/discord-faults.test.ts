import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBot } from '../../src/app.js';
import { DELIVERY_DEFAULTS } from '../../src/delivery/defaults.js';
import { FAST_TUNING, startWithStandInObs, waitFor, type Harness } from '../support/bot-harness.js';
import { probeDuration } from '../support/media.js';
import { FakeReplayBuffer } from '../fakes/fake-replay-buffer.js';
import type { PostedMessage } from '../fakes/discord-server.js';

const run = promisify(execFile);

/**
 * Discord failing in every way a clip bot meets (429, an outage, a post stored whose answer is lost, a
 * channel the bot lost its permission in) and clips over the upload limit: every alert arrives exactly
 * once, in order, and what cannot be posted is said out loud.
 */
describe('Discord faults and upload limits', () => {
  let h: Harness;
  let obs: FakeReplayBuffer;
  let bigClip: string;
  /** The bot's own log lines (JSON), to hold its failure lines to a size. */
  const botLines: string[] = [];
  const botLog = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        botLines.push(chunk.toString());
        done();
      },
    }),
  );

  const alertsOf = (handle: string): PostedMessage[] =>
    h.discord.channelMessages.filter(
      (m) =>
        m.files.some((f) => f.name.startsWith(`${handle}_`)) ||
        // The alert's credits (not its "Chat around it", which may quote the previous moment's chatter).
        m.embeds.some((e) => e.fields?.some((f) => (f.name === 'Chatter' || f.name.startsWith('Called by')) && f.value.includes(handle))),
    );
  const postsTo = (channelId: string) => h.discord.requests.filter((r) => r.method === 'POST' && r.path.endsWith(`/channels/${channelId}/messages`));
  const delivered = () => waitFor(() => h.bot.delivery.pendingCount === 0, 15_000, () => `the outbox to empty (${h.bot.delivery.pendingCount} left)`);

  beforeAll(async () => {
    const standIn = await startWithStandInObs({
      log: () => botLog,
      // Backoff shortened so an "outage of minutes" is a few seconds of many attempts.
      tuning: { deliveryTimings: { initialBackoffMs: 50, maxBackoffMs: 300 } },
      liveStreams: ['fault.user'],
      keywords: ['clip it'],
      cooldownSeconds: 0,
    });
    h = standIn;
    obs = standIn.obs;
    // Noise does not compress: about 12 MiB for 4 s, over the default 10 MiB upload limit. In the
    // harness's own folder, so it goes with it.
    bigClip = path.join(path.dirname(h.clipsDir), 'big.mp4');
    await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'nullsrc=s=640x360:d=4,geq=random(1)*255:128:128', '-f', 'lavfi', '-i', 'sine=d=4',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '24M', '-minrate', '24M', '-maxrate', '24M', '-bufsize', '24M', '-c:a', 'aac', '-shortest', bigClip]);
  }, 60_000);

  afterAll(async () => {
    await h?.close();
  });

  it('gets the alert through a 429 with retry-after', async () => {
    h.discord.failNextRequests({ method: 'POST', pathIncludes: '/messages' }, [
      { status: 429, body: { message: 'You are being rate limited.', retry_after: 0.3, global: false } },
    ]);
    h.tiktok.sendChat('fault.user', { handle: 'after.429', text: 'clip it' });
    const alert = await h.discord.waitForChannelMessage((m) => m.files.some((f) => f.name.startsWith('after.429_')), 15_000);
    expect(alert.files.filter((f) => f.name.endsWith('.mp4'))).toHaveLength(1);
  });

  it("says in /logs that the alert was posted", async () => {
    await delivered();
    const logs = await h.command({ command: 'logs', options: { stream: 'fault.user' } });
    expect(logs.content).toMatch(/`posted` @fault\\?\.user alert for after\\?\.429\\?_[^\n]* posted in channel \d+/);
  });

  it('delivers every alert once, in order, after an outage far longer than any retry budget', async () => {
    const before = postsTo(h.discord.channels.general).length;
    const endOutage = h.discord.failRequestsUntilCleared({ method: 'POST', pathIncludes: '/messages' }, { status: 500 });
    try {
      h.tiktok.sendChat('fault.user', { handle: 'during.outage', text: 'clip it' });
      // Many more attempts than discord.js's own retries and the old 45 s budget's four.
      await waitFor(() => postsTo(h.discord.channels.general).length - before >= 20, 30_000, () => 'twenty failed attempts');
      h.tiktok.sendChat('fault.user', { handle: 'next.one', text: 'clip it' });
      await waitFor(() => h.bot.delivery.pendingCount === 2, 10_000, () => 'the second alert to be queued');
      const stillQueued = await h.command({ command: 'clips', options: { stream: 'fault.user' } });
      expect(stillQueued.content).toMatch(/during\\?\.outage.*\(alert not posted\)/);
    } finally {
      endOutage();
    }
    await delivered();
    expect(alertsOf('during.outage')).toHaveLength(1);
    expect(alertsOf('next.one')).toHaveLength(1);
    const order = h.discord.channelMessages.map((m) => m.files[0]?.name ?? '');
    expect(order.findIndex((n) => n.startsWith('during.outage_'))).toBeLessThan(order.findIndex((n) => n.startsWith('next.one_')));
    const archived = await h.command({ command: 'clips', options: { stream: 'fault.user' } });
    expect(archived.content).not.toMatch(/during\\?\.outage[^\n]*\(alert not posted\)/);
  }, 60_000);

  it('posts once when Discord stored the post but the connection was cut before its answer', async () => {
    h.discord.failNextRequests({ method: 'POST', pathIncludes: '/messages' }, [{ status: 'cut' }]);
    h.tiktok.sendChat('fault.user', { handle: 'cut.answer', text: 'clip it' });
    await h.discord.waitForChannelMessage((m) => m.files.some((f) => f.name.startsWith('cut.answer_')), 15_000);
    await delivered();
    // The retry carried the same nonce: Discord answered with the message it had, and created none.
    expect(h.discord.requests.some((r) => r.status === 0)).toBe(true);
    expect(alertsOf('cut.answer')).toHaveLength(1);
  });

  // Where alerts go now: the channel the stream was added in until /settings channel moves them.
  let alertChannel = (): string => h.discord.channels.general;

  it.each([
    { code: 50013, status: 403, message: 'Missing Permissions', handle: 'no.permission' },
    { code: 50001, status: 403, message: 'Missing Access', handle: 'no.access' },
    { code: 10003, status: 404, message: 'Unknown Channel', handle: 'gone.channel' },
  ])('holds alerts for a channel it cannot post in ($code $message), says so in /status and /logs, and delivers once after /settings channel', async ({ code, status, message, handle }) => {
    const held = alertChannel();
    const working = held === h.discord.channels.general ? h.discord.channels.alerts : h.discord.channels.general;
    const before = postsTo(held).length;
    const restore = h.discord.failRequestsUntilCleared(
      { method: 'POST', pathIncludes: `/channels/${held}/messages` },
      { status, body: { message, code } },
    );
    try {
      h.tiktok.sendChat('fault.user', { handle, text: 'clip it' });
      await waitFor(() => h.bot.delivery.problems(h.discord.guildId).length > 0, 15_000, () => 'the channel to be held');
      const statusReply = await h.command({ command: 'status' });
      expect(statusReply.content).toContain(`Cannot post in <#${held}>`);
      expect(statusReply.content).toContain(`${message} (${code})`);
      const logs = await h.command({ command: 'logs', options: { stream: 'fault.user' } });
      expect(logs.content).toMatch(new RegExp(`cannot post in channel ${held}: ${message} \\\\?\\(${code}\\\\?\\)`));
      // Held, not hammered: no more than a few attempts while the channel refuses.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(postsTo(held).length - before).toBeLessThanOrEqual(3);
      expect(alertsOf(handle)).toHaveLength(0);

      const answer = await h.command({ command: 'settings', subcommand: 'channel', options: { channel: working } });
      expect(answer.content).toContain('will be delivered there now');
      alertChannel = () => working;
      const alert = await h.discord.waitForChannelMessage((m) => m.files.some((f) => f.name.startsWith(`${handle}_`)), 15_000);
      expect(alert.channelId).toBe(working);
      await delivered();
      expect(alertsOf(handle)).toHaveLength(1);
      expect(h.bot.delivery.problems(h.discord.guildId)).toEqual([]);
    } finally {
      restore();
    }
  }, 60_000);

  it('keeps a failed upload out of the log: method, route, status, code and message only', async () => {
    const from = botLines.length;
    const save = obs.save.bind(obs);
    // A 310 KB clip: under the upload limit, so it goes up as is; logged whole it would be megabytes.
    obs.save = async (onSaved) => save(async (replay) => {
      await writeFile(replay.path, randomBytes(310 * 1024));
      return onSaved(replay);
    });
    h.discord.failNextRequests({ method: 'POST', pathIncludes: '/messages' }, [{ status: 400, body: { message: 'Invalid Form Body', code: 50035 } }]);
    try {
      h.tiktok.sendChat('fault.user', { handle: 'refused.upload', text: 'clip it' });
      await waitFor(() => botLines.slice(from).some((l) => l.includes('outbox entry dropped')), 15_000, () => 'the refused alert to be dropped');
    } finally {
      obs.save = save;
    }
    const failures = botLines.slice(from).filter((l) => l.includes('posting to Discord failed'));
    expect(failures).toHaveLength(1);
    expect(Buffer.byteLength(failures[0]!)).toBeLessThan(2 * 1024);
    expect(JSON.parse(failures[0]!)).toMatchObject({ method: 'POST', status: 400, code: 50035, message: 'Invalid Form Body', msg: 'posting to Discord failed' });
  });

  it('keeps a failed /clip reply upload out of the log too: the command failure and the failed answer', async () => {
    const from = botLines.length;
    const save = obs.save.bind(obs);
    // A 310 KB clip: under the upload limit, so it goes up as is; logged whole it would be megabytes.
    obs.save = async (onSaved) => save(async (replay) => {
      await writeFile(replay.path, randomBytes(310 * 1024));
      return onSaved(replay);
    });
    const stop = h.discord.failRequestsUntilCleared({ method: 'PATCH', pathIncludes: '/messages/%40original' }, { status: 500 });
    try {
      await h.discord.interact({ command: 'clip', options: { stream: 'fault.user' } }).initial();
      await waitFor(() => botLines.slice(from).some((l) => l.includes('could not answer the interaction')), 30_000, () => 'the failed answer to be logged');
    } finally {
      stop();
      obs.save = save;
    }
    const failures = botLines.slice(from).filter((l) => /command failed|could not answer the interaction/.test(l));
    expect(failures.length).toBeGreaterThanOrEqual(2);
    for (const line of failures) expect(Buffer.byteLength(line)).toBeLessThan(4 * 1024);
    expect(JSON.parse(failures[0]!)).toMatchObject({ msg: 'command failed', err: { method: 'PATCH', status: 500 } });
  }, 60_000);

  it('removes control and bidi characters from the chat in an alert, keeping right-to-left letters', async () => {
    h.tiktok.sendChat('fault.user', { handle: 'hostile.text', text: 'clip it a\u0000b\u202ec\u2067d مرحبا' });
    const alert = await h.discord.waitForChannelMessage((m) => m.files.some((f) => f.name.startsWith('hostile.text_')), 15_000);
    const description = alert.embeds[0]?.description ?? '';
    expect(description).toContain('abcd مرحبا');
    expect(JSON.stringify(alert.embeds)).not.toMatch(/\\u0000|\u202e|\u2067/);
  });

  it('re-encodes a clip over the upload limit once to fit, keeping the original and no temporary file', async () => {
    const original = (await stat(bigClip)).size;
    expect(original).toBeGreaterThan(10 * 1024 * 1024);
    const save = obs.save.bind(obs);
    obs.save = async (onSaved) => save(async (replay) => {
      await copyFile(bigClip, replay.path);
      return onSaved(replay);
    });
    try {
      h.tiktok.sendChat('fault.user', { handle: 'big.clip', text: 'clip it' });
      const alert = await h.discord.waitForChannelMessage((m) => m.files.some((f) => f.name.startsWith('big.clip_')), 90_000);
      const uploaded = alert.files[0]!;
      expect(uploaded.data.length).toBeLessThanOrEqual(10 * 1024 * 1024);
      expect(JSON.stringify(alert.embeds)).toContain('Re-encoded');
      const kept = path.join(h.clipsDir, 'fault.user', uploaded.name);
      expect((await stat(kept)).size).toBe(original);
      expect(await probeDuration(kept)).toBeGreaterThan(3);
      await delivered();
      // The re-encode was for the upload only: gone once posted, nothing left beside the clip.
      const { readdir } = await import('node:fs/promises');
      expect((await readdir(path.join(h.clipsDir, '.fitted')).catch(() => [])).length).toBe(0);
      expect((await readdir(path.join(h.clipsDir, 'fault.user'))).filter((n) => n.includes('.discord'))).toEqual([]);
    } finally {
      obs.save = save;
    }
  }, 120_000);

  it('starts and serves even when Discord refuses the command registration', async () => {
    h.discord.failNextRequests({ method: 'PUT', pathIncludes: '/commands' }, Array.from({ length: 4 }, () => ({ status: 503 })));
    await h.restartBot();
    const list = await h.command({ command: 'stream', subcommand: 'list' });
    expect(list.content).toContain('fault.user');
    h.discord.clearFailures();
  });

  // Last: the bot from here on runs with the delivery timings a user gets (every test above shortens them).
  it('gets the alert through a 500 once with the default delivery timings', async () => {
    await h.bot.stop();
    h.bot = await createBot(h.config, botLog, {
      adapters: {
        discordApiUrl: h.discord.apiUrl,
        tiktokTransport: { ...h.tiktok.transport, requestTimeoutMs: 2_000, operationTimeoutMs: 5_000, heartbeatIntervalMs: 1_000 },
        replayBuffer: obs,
      },
      // FAST_TUNING's other knobs keep the stream quick to join; delivery gets exactly the defaults.
      tuning: { ...FAST_TUNING, deliveryTimings: DELIVERY_DEFAULTS.worker },
    });
    await h.bot.start();
    await h.waitForState('fault.user', 'live');
    const from = botLines.length;
    const before = postsTo(alertChannel()).length;
    // discord.js answers a 500 by asking again three times at once: four 500s are one failed attempt
    // of the bot's, which then waits its own first backoff.
    h.discord.failNextRequests({ method: 'POST', pathIncludes: '/messages' }, Array.from({ length: 4 }, () => ({ status: 500 })));
    h.tiktok.sendChat('fault.user', { handle: 'default.timings', text: 'clip it' });
    // The first retry waits 1-2 s by default, well inside this.
    await h.discord.waitForChannelMessage((m) => m.files.some((f) => f.name.startsWith('default.timings_')), 20_000);
    await delivered();
    expect(alertsOf('default.timings')).toHaveLength(1);
    expect(botLines.slice(from).filter((l) => l.includes('posting to Discord failed'))).toHaveLength(1);
    expect(postsTo(alertChannel()).length - before).toBe(5);
  }, 60_000);
});
