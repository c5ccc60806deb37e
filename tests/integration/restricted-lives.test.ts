/**
 * Restricted (18+, region) lives through the real tiktok-live-connector against the local TikTok, with the
 * supervisor timings and connect budget a user gets, several lives at once: without a session such a live
 * is `restricted (needs TIKTOK_SESSION_ID)` and spends no connect; with TIKTOK_SESSION_ID and
 * TIKTOK_TT_TARGET_IDC the live check, room info and the video pull carry the cookie while the signing
 * service and the chat socket get it only with TIKTOK_AUTHENTICATE_WS=true; a refused session is shown as
 * such, logged once, and the other streams go on; the cookie never reaches a log line.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { secretsOf } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { TIKTOK_DEFAULTS } from '../../src/monitor/defaults.js';
import { sessionCookieHeader } from '../../src/monitor/tiktok-session.js';
import { startWithStandInObs, waitFor, type StandInObsHarness } from '../support/bot-harness.js';

const SESSION = { sessionId: 'f3a9c0de5b7e41d2a6c8e0f1b2d3c4e5', ttTargetIdc: 'useast2a' };
const SESSION_ENV = { TIKTOK_SESSION_ID: SESSION.sessionId, TIKTOK_TT_TARGET_IDC: SESSION.ttTargetIdc };

let h: StandInObsHarness | undefined;
let lines: string[] = [];
let botLog: Logger | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** The bot as a user runs it (default timings and budgets), its log captured at trace through the real logger. */
async function start(env: Record<string, string> = {}): Promise<StandInObsHarness> {
  lines = [];
  h = await startWithStandInObs({
    keywords: ['clip it'],
    cooldownSeconds: 0,
    userBudgets: true,
    tuning: { supervisorTimings: TIKTOK_DEFAULTS.supervisor },
    env: { LOG_LEVEL: 'trace', ...env },
    log: (config) => (botLog = createLogger({ level: 'trace', secrets: secretsOf(config), destination: { write: (line: string) => void lines.push(line) } })),
  });
  return h;
}

function line(content: string, room: string): string {
  return content.split('\n').find((l) => l.replace(/\\/g, '').includes(`@${room}`)) ?? '';
}

async function add(harness: StandInObsHarness, room: string, capture?: 'stream'): Promise<void> {
  await harness.command({ command: 'stream', subcommand: 'add', options: { username: room, ...(capture ? { capture } : {}) } });
}

function expectNoSessionInLogs(): void {
  const all = lines.join('');
  expect(all.length).toBeGreaterThan(0);
  for (const form of [SESSION.sessionId, encodeURIComponent(sessionCookieHeader(SESSION)), SESSION.ttTargetIdc]) expect(all).not.toContain(form);
}

describe('restricted lives', () => {
  it('without a session: shows restricted (needs TIKTOK_SESSION_ID), not offline, spends no connect, and the other lives go on', async () => {
    const bot = await start();
    bot.tiktok.addUser('adult.live', { live: true });
    bot.tiktok.restrict('adult.live', {});
    bot.tiktok.addUser('open.live', { live: true });
    bot.tiktok.addUser('gone.user', { live: false });
    for (const room of ['adult.live', 'open.live', 'gone.user']) await add(bot, room);
    await bot.waitForState('adult.live', 'restricted');
    await bot.waitForState('open.live', 'live');
    await bot.waitForState('gone.user', 'offline');

    const list = await bot.command({ command: 'stream', subcommand: 'list' });
    expect(line(list.content, 'adult.live')).toContain('🔞 restricted (needs TIKTOK_SESSION_ID) since');
    expect(line(list.content, 'open.live')).toContain('🔴 live');
    expect(line(list.content, 'gone.user')).toContain('⚫ offline');
    const status = await bot.command({ command: 'status' });
    expect(line(status.content, 'adult.live')).toContain('restricted (needs TIKTOK_SESSION_ID)');
    // Only open.live reached the signing service; nothing carried a session.
    expect(bot.tiktok.stats.signConnectRequests).toBe(1);
    expect(Object.values(bot.tiktok.stats.withSession).every((n) => n === 0)).toBe(true);
    const saves = bot.obs.saves;
    bot.tiktok.sendChat('open.live', { handle: 'fan', text: 'clip it' });
    await waitFor(() => bot.obs.saves === saves + 1, 10_000, () => 'a clip from the open live');
  });

  it('with TIKTOK_SESSION_ID: the check, room info and video pull carry the cookie, the signing service and socket do not, the live clips, and no log line holds the cookie', async () => {
    const pulls: Array<string | undefined> = [];
    const video: Server = createServer((req, res) => {
      pulls.push(req.headers.cookie);
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => video.listen(0, '127.0.0.1', resolve));
    try {
      const bot = await start(SESSION_ENV);
      bot.tiktok.acceptLogin(SESSION);
      for (const room of ['adult.live', 'adult.video', 'socket.locked']) {
        bot.tiktok.addUser(room, { live: true });
        bot.tiktok.restrict(room, { socketNeedsLogin: room === 'socket.locked' });
      }
      bot.tiktok.setVideo('adult.video', { url: () => `http://127.0.0.1:${(video.address() as AddressInfo).port}/adult.flv`, codec: 'h264' });
      bot.tiktok.addUser('open.live', { live: true });
      await add(bot, 'adult.live');
      await add(bot, 'adult.video', 'stream');
      await add(bot, 'socket.locked');
      await add(bot, 'open.live');
      for (const room of ['adult.live', 'adult.video', 'open.live']) await bot.waitForState(room, 'live');

      const saves = bot.obs.saves;
      bot.tiktok.sendChat('adult.live', { handle: 'fan', text: 'clip it' });
      await waitFor(() => bot.obs.saves === saves + 1, 10_000, () => 'a clip from the restricted live');
      await waitFor(() => pulls.length > 0, 20_000, () => 'the video pull of the restricted live');
      expect(pulls[0]).toContain(`sessionid=${SESSION.sessionId}`);
      expect(pulls[0]).toContain(`tt-target-idc=${SESSION.ttTargetIdc}`);

      // A room whose chat socket wants the session too refuses it here; the reason says what to set.
      await bot.waitForState('socket.locked', 'reconnecting');
      expect(bot.bot.monitor.state('socket.locked')?.lastError).toContain('TIKTOK_AUTHENTICATE_WS=true');

      const seen = bot.tiktok.stats.withSession;
      expect(seen.page).toBeGreaterThan(0);
      expect(seen.roomInfo).toBeGreaterThan(0);
      expect(seen.signConnect).toBe(0);
      expect(seen.push).toBe(0);

      // Even a line that quotes the cookie (as a library error can) is scrubbed.
      botLog?.warn({ request: { headers: { cookie: sessionCookieHeader(SESSION) } } }, `pull failed: ${sessionCookieHeader(SESSION)}`);
      expect(lines.some((l) => l.includes('pull failed: sessionid=[redacted]'))).toBe(true);
      expectNoSessionInLogs();
    } finally {
      await new Promise<void>((resolve) => video.close(() => resolve()));
    }
  });

  it('shows a refused session (expired, or the wrong tt-target-idc) as such, says so once, and the other streams go on', async () => {
    const bot = await start({ ...SESSION_ENV, TIKTOK_TT_TARGET_IDC: 'useast5' });
    bot.tiktok.acceptLogin(SESSION);
    for (const room of ['adult.one', 'adult.two']) {
      bot.tiktok.addUser(room, { live: true });
      bot.tiktok.restrict(room, {});
    }
    bot.tiktok.addUser('open.live', { live: true });
    for (const room of ['adult.one', 'adult.two', 'open.live']) await add(bot, room);
    for (const room of ['adult.one', 'adult.two']) await bot.waitForState(room, 'restricted');
    await bot.waitForState('open.live', 'live');

    const list = await bot.command({ command: 'stream', subcommand: 'list' });
    for (const room of ['adult.one', 'adult.two']) {
      expect(line(list.content, room)).toContain('🔞 restricted (TikTok refused TIKTOK_SESSION_ID: expired, signed out, or a wrong TIKTOK_TT_TARGET_IDC)');
    }
    expect(line(list.content, 'open.live')).toContain('🔴 live');
    expect(lines.filter((l) => l.includes('TikTok refused the session in TIKTOK_SESSION_ID'))).toHaveLength(1);

    // The session expires for good (TikTok forgets it): still refused, still said once.
    bot.tiktok.acceptLogin(undefined);
    bot.tiktok.addUser('adult.three', { live: true });
    bot.tiktok.restrict('adult.three', {});
    await add(bot, 'adult.three');
    await bot.waitForState('adult.three', 'restricted');
    expect(lines.filter((l) => l.includes('TikTok refused the session in TIKTOK_SESSION_ID'))).toHaveLength(1);
    expectNoSessionInLogs();
  });

  it('with TIKTOK_AUTHENTICATE_WS=true hands the session to the signing service and the chat socket, so a room that wants it there is joined', async () => {
    const bot = await start({ ...SESSION_ENV, TIKTOK_AUTHENTICATE_WS: 'true' });
    bot.tiktok.acceptLogin(SESSION);
    bot.tiktok.addUser('socket.locked', { live: true });
    bot.tiktok.restrict('socket.locked', { socketNeedsLogin: true });
    bot.tiktok.addUser('open.live', { live: true });
    await add(bot, 'socket.locked');
    await add(bot, 'open.live');
    await bot.waitForState('socket.locked', 'live');
    await bot.waitForState('open.live', 'live');
    expect(bot.tiktok.stats.withSession.signConnect).toBe(2);
    expect(bot.tiktok.stats.withSession.push).toBe(2);
    const saves = bot.obs.saves;
    bot.tiktok.sendChat('socket.locked', { handle: 'fan', text: 'clip it' });
    await waitFor(() => bot.obs.saves === saves + 1, 10_000, () => 'a clip from the socket-locked live');
    expectNoSessionInLogs();
  });
});
