/**
 * Silent ("zombie") rooms through the real tiktok-live-connector against the local TikTok: a room whose
 * socket answers every heartbeat but sends nothing else is reconnected, and /stream list, /status and
 * /logs say why; a busy room and a quiet room of 3 viewers beside it are left alone. The thresholds are
 * scaled down here (the defaults, minutes long, are exercised with fake timers in
 * tests/unit/silent-room.test.ts); the dead-socket watchdog keeps its 3 s test value and never fires,
 * since heartbeats are answered.
 */
import { describe, expect, it } from 'vitest';
import { waitFor } from '../support/bot-harness.js';
import { clipItBotPerSuite, streamLine as line } from '../support/clip-it-bot.js';

const ROOMS = ['busy.room', 'zombie.room', 'quiet.room'] as const;
const SILENT_ROOM_TIMINGS = {
  floors: [
    { minViewers: 100, ms: 1_500 },
    { minViewers: 0, ms: 5_000 },
  ],
  gapMultiplier: 3,
  ceilingMs: 10_000,
  maxLimitMs: 20_000,
  checkEveryMs: 200,
};

describe('silent rooms', () => {
  const bot = clipItBotPerSuite({
    // Long enough to read /stream list and /status while the zombie waits to reconnect.
    supervisorTimings: { reconnect: { initialMs: 12_000, maxMs: 12_000, factor: 2 }, silentRoom: SILENT_ROOM_TIMINGS },
    setUp: async (h) => {
      for (const room of ROOMS) h.tiktok.addUser(room, { live: true });
      h.tiktok.flow('busy.room', { everyMs: 200, viewers: 500 });
      h.tiktok.flow('zombie.room', { everyMs: 200, viewers: 500 });
      // A quiet live: 3 viewers, a viewer count now and then, far apart by the busy rooms' measure.
      h.tiktok.flow('quiet.room', { everyMs: 1_000, viewers: 3 });
      for (const room of ROOMS) await h.command({ command: 'stream', subcommand: 'add', options: { username: room } });
      for (const room of ROOMS) await h.waitForState(room, 'live');
      // Let each room's first viewer counts arrive, as on a live watched for a while.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
    },
  });

  it('reconnects the room that only answers heartbeats, says why, and leaves the busy and the quiet room alone', async () => {
    const h = bot();
    const pushesBefore = h.tiktok.stats.pushConnections;
    h.tiktok.zombie('zombie.room', true);
    await h.waitForState('zombie.room', 'reconnecting', 15_000);

    const list = await h.command({ command: 'stream', subcommand: 'list' });
    expect(line(list.content, 'zombie.room')).toContain('🟠 reconnecting (silent room: TikTok answered heartbeats but sent no chat');
    expect(line(list.content, 'zombie.room')).toContain('500 viewers');
    expect(line(list.content, 'busy.room')).toContain('🔴 live');
    expect(line(list.content, 'quiet.room')).toContain('🔴 live');
    const status = await h.command({ command: 'status' });
    expect(line(status.content, 'zombie.room')).toContain('silent room');
    const logs = await h.command({ command: 'logs', options: { stream: 'zombie.room' } });
    // /logs escapes markdown: `live \-\> reconnecting`, `\(500 viewers…\)`.
    expect(logs.content).toMatch(/live \\-\\> reconnecting: silent room: TikTok answered heartbeats .* for \d+ s \\\(500 viewers; quiet is normal here up to 2 s\\\)/);

    // Keywords in the other rooms went on meanwhile.
    const saves = h.obs.saves;
    h.tiktok.sendChat('busy.room', { handle: 'fan', text: 'clip it' });
    await waitFor(() => h.obs.saves === saves + 1, 10_000, () => 'the busy room to clip');

    // TikTok fixes the room; the reconnect picks it up and its chats clip again.
    h.tiktok.zombie('zombie.room', false);
    await h.waitForState('zombie.room', 'live', 20_000);
    expect(h.tiktok.stats.pushConnections).toBe(pushesBefore + 1);
    h.tiktok.sendChat('zombie.room', { handle: 'back', text: 'clip it' });
    await waitFor(() => h.obs.saves === saves + 2, 10_000, () => 'the revived room to clip');

    for (const room of ['busy.room', 'quiet.room']) {
      const own = await h.command({ command: 'logs', options: { stream: room } });
      expect(own.content).not.toContain('reconnecting');
    }
  });
});

describe('a silent restricted room watched with a session', () => {
  const session = { sessionId: '9d8c7b6a5f4e3d2c1b0a99887766aabb', ttTargetIdc: 'useast2a' };
  const bot = clipItBotPerSuite({
    env: { TIKTOK_SESSION_ID: session.sessionId, TIKTOK_TT_TARGET_IDC: session.ttTargetIdc },
    // A 2 s reconnect backoff leaves time to see the reconnecting state.
    supervisorTimings: { reconnect: { initialMs: 2_000, maxMs: 4_000, factor: 2 }, silentRoom: SILENT_ROOM_TIMINGS },
    setUp: async (h) => h.tiktok.acceptLogin(session),
  });

  it('is reconnected with the session when it goes silent, and clips again once it speaks', async () => {
    const h = bot();
    h.tiktok.addUser('adult.zombie', { live: true });
    h.tiktok.restrict('adult.zombie', {});
    h.tiktok.flow('adult.zombie', { everyMs: 200, viewers: 800 });
    await h.command({ command: 'stream', subcommand: 'add', options: { username: 'adult.zombie' } });
    await h.waitForState('adult.zombie', 'live');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const roomInfoWithSession = h.tiktok.stats.withSession.roomInfo;
    h.tiktok.zombie('adult.zombie', true);
    await h.waitForState('adult.zombie', 'reconnecting', 15_000);
    expect(h.bot.monitor.state('adult.zombie')?.reason).toContain('silent room');
    h.tiktok.zombie('adult.zombie', false);
    await h.waitForState('adult.zombie', 'live', 15_000);
    // The way back in went through the restricted room's info, with the session.
    expect(h.tiktok.stats.withSession.roomInfo).toBeGreaterThan(roomInfoWithSession);
    const saves = h.obs.saves;
    h.tiktok.sendChat('adult.zombie', { handle: 'fan', text: 'clip it' });
    await waitFor(() => h.obs.saves === saves + 1, 10_000, () => 'a clip from the revived restricted room');
  });
});
