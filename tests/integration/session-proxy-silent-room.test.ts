/**
 * A user's set-up for restricted lives behind a proxy, all at once: TIKTOK_SESSION_ID (+ tt-target-idc) and
 * TIKTOK_PROXY_URL on a real tinyproxy, and a restricted live that turns into a silent ("zombie") room.
 * The bot joins with the session through the proxy, sees the room go silent, rejoins the same way, clips
 * a keyword said after, and the session id appears in no log line. The fake TikTok's web host sits behind
 * a relay of its own so the proxy's log can tell it from the push sockets.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretsOf } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { waitFor } from '../support/bot-harness.js';
import { clipItBotPerSuite } from '../support/clip-it-bot.js';
import { startTcpRelay, type TcpRelay } from '../support/tcp-relay.js';
import { hasTinyproxy, startTinyproxy, TINYPROXY_REQUIRED, type TinyproxyProcess } from '../support/tinyproxy-process.js';

const isAvailable = hasTinyproxy();
if (!isAvailable) {
  if (TINYPROXY_REQUIRED) throw new Error('tinyproxy is required (REQUIRE_SERVERS=1) but not installed: apt-get install tinyproxy');
  console.warn('\n!!! tinyproxy not installed: the session + proxy + silent room test is SKIPPED (apt-get install tinyproxy) !!!\n');
}

const SESSION = { sessionId: '5e55104f00dcafe0123456789abcdef0', ttTargetIdc: 'useast2a' };
const ROOM = 'adult.zombie';
const portOf = (url: string) => Number(new URL(url).port);
const tunnelsTo = (tunnels: readonly string[], port: number) => tunnels.filter((t) => t === `127.0.0.1:${port}`).length;

describe.skipIf(!isAvailable)('a restricted live watched with a session through a proxy goes silent', () => {
  let proxy: TinyproxyProcess;
  let web: TcpRelay | undefined;
  const lines: string[] = [];

  beforeAll(async () => {
    proxy = await startTinyproxy();
  });
  afterAll(async () => {
    await web?.close();
    await proxy?.stop();
  });

  const bot = clipItBotPerSuite({
    env: () => ({ TIKTOK_SESSION_ID: SESSION.sessionId, TIKTOK_TT_TARGET_IDC: SESSION.ttTargetIdc, TIKTOK_PROXY_URL: proxy.url, LOG_LEVEL: 'info' }),
    tiktokTransport: async (tiktok) => {
      web = await startTcpRelay(portOf(tiktok.url));
      return { webHost: `127.0.0.1:${web.port}`, webcastHost: `127.0.0.1:${web.port}` };
    },
    log: (config) => createLogger({
      level: 'info',
      secrets: secretsOf(config),
      destination: new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) }),
    }),
    // A 2 s reconnect backoff leaves time to see the reconnecting state; a busy room is silent after 1.5 s.
    supervisorTimings: {
      reconnect: { initialMs: 2_000, maxMs: 4_000, factor: 2 },
      silentRoom: { floors: [{ minViewers: 100, ms: 1_500 }, { minViewers: 0, ms: 5_000 }], gapMultiplier: 3, ceilingMs: 10_000, maxLimitMs: 20_000, checkEveryMs: 200 },
    },
    setUp: async (h) => {
      h.tiktok.acceptLogin(SESSION);
      h.tiktok.addUser(ROOM, { live: true });
      h.tiktok.restrict(ROOM, {});
      h.tiktok.flow(ROOM, { everyMs: 200, viewers: 800 });
    },
  });

  /** Every connection to TikTok's web host and every push socket went through the proxy. */
  async function expectAllTunnelled(): Promise<void> {
    const h = bot();
    const tunnels = await proxy.tunnels();
    expect(web!.connections).toBeGreaterThan(0);
    expect(tunnelsTo(tunnels, web!.port)).toBe(web!.connections);
    expect(tunnelsTo(tunnels, portOf(h.tiktok.url))).toBe(h.tiktok.stats.pushConnections);
  }

  it('joins with the session through the proxy, rejoins the silent room the same way, clips after, and logs no session id', async () => {
    const h = bot();
    await h.command({ command: 'stream', subcommand: 'add', options: { username: ROOM } });
    await h.waitForState(ROOM, 'live');
    expect(h.tiktok.stats.withSession.roomInfo).toBeGreaterThan(0);
    expect(h.tiktok.stats.pushConnections).toBe(1);
    await expectAllTunnelled();
    // Let the room's viewer counts set its pace, as on a live watched for a while.
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    const roomInfoWithSession = h.tiktok.stats.withSession.roomInfo;
    h.tiktok.zombie(ROOM, true);
    await h.waitForState(ROOM, 'reconnecting', 15_000);
    expect(h.bot.monitor.state(ROOM)?.reason).toContain('silent room');
    h.tiktok.zombie(ROOM, false);
    await h.waitForState(ROOM, 'live', 15_000);
    // Back in through the restricted room's info, with the session, through the proxy.
    expect(h.tiktok.stats.withSession.roomInfo).toBeGreaterThan(roomInfoWithSession);
    expect(h.tiktok.stats.pushConnections).toBe(2);
    await expectAllTunnelled();

    const saves = h.obs.saves;
    h.tiktok.sendChat(ROOM, { handle: 'fan', text: 'clip it' });
    await waitFor(() => h.obs.saves === saves + 1, 10_000, () => 'a clip from the revived restricted room');
    await h.discord.waitForChannelMessage((m) => m.files.some((f) => f.name.startsWith('fan_')), 10_000);

    const all = lines.join('');
    expect(all).toContain('silent room');
    expect(all).not.toContain(SESSION.sessionId);
  }, 30_000);
});
