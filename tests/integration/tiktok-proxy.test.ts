/**
 * TIKTOK_PROXY_URL through the whole bot, against a real proxy (Debian's tinyproxy, started on a free port
 * with its own config and counting every tunnel it opens): TikTok's page, web API and room info, the push
 * socket and the stream-capture video pull all pass through it; Discord (REST and gateway) never does; the
 * signing service does only with TIKTOK_PROXY_SIGNING=true. The fake TikTok's web host and its signing
 * service sit behind relays of their own so the proxy's log can tell them apart, and each relay counts its
 * connections: "every" means as many tunnels as connections, none direct. The proxy URL carries a password
 * that no log line may show.
 */
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretsOf } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startFakeFlvServer, type FakeFlvServer } from '../fakes/flv-server.js';
import { startHarness, type Harness } from '../support/bot-harness.js';
import { startTcpRelay, type TcpRelay } from '../support/tcp-relay.js';
import { hasTinyproxy, startTinyproxy, TINYPROXY_REQUIRED, type TinyproxyProcess } from '../support/tinyproxy-process.js';

const PROXY_PASSWORD = 'pr0xy-s3cret-pw';
const isAvailable = hasTinyproxy();
if (!isAvailable) {
  if (TINYPROXY_REQUIRED) throw new Error('tinyproxy is required (REQUIRE_SERVERS=1) but not installed: apt-get install tinyproxy');
  console.warn('\n!!! tinyproxy not installed: the TikTok proxy tests are SKIPPED (apt-get install tinyproxy) !!!\n');
}

const portOf = (url: string) => Number(new URL(url).port);
const count = (tunnels: readonly string[], port: number) => tunnels.filter((t) => t === `127.0.0.1:${port}`).length;

/** A bot on the fake TikTok with its web host and signing service behind relays, logging into `lines`. */
async function startProxiedBot(proxy: TinyproxyProcess, env: Record<string, string>, lines: string[]) {
  const relays: { web?: TcpRelay; sign?: TcpRelay } = {};
  const proxyUrl = proxy.url.replace('http://', `http://clipbot:${PROXY_PASSWORD}@`);
  const h = await startHarness({
    env: { TIKTOK_PROXY_URL: proxyUrl, LOG_LEVEL: 'info', ...env },
    tiktokTransport: async (tiktok) => {
      const fakePort = portOf(tiktok.url);
      relays.web = await startTcpRelay(fakePort);
      relays.sign = await startTcpRelay(fakePort);
      const web = `127.0.0.1:${relays.web.port}`;
      return { webHost: web, webcastHost: web, signApiUrl: `https://127.0.0.1:${relays.sign.port}` };
    },
    log: (config) => createLogger({
      level: 'info',
      secrets: secretsOf(config),
      destination: new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) }),
    }),
  });
  return { h, web: relays.web!, sign: relays.sign! };
}

describe.skipIf(!isAvailable)('TIKTOK_PROXY_URL: every TikTok request through the proxy, nothing of Discord', () => {
  let proxy: TinyproxyProcess;
  let flv: FakeFlvServer;
  let h: Harness;
  let web: TcpRelay;
  let sign: TcpRelay;
  const lines: string[] = [];
  const bufferDir = path.join(os.tmpdir(), `tiktok-proxy-${process.pid}-${Date.now()}`);

  beforeAll(async () => {
    proxy = await startTinyproxy();
    flv = await startFakeFlvServer();
    ({ h, web, sign } = await startProxiedBot(proxy, { STREAM_BUFFER_DIR: bufferDir }, lines));
    for (const name of ['pia', 'quin']) {
      flv.addLive(name, { colour: 'green', codec: 'h264' });
      h.tiktok.addUser(name, { live: true });
      h.tiktok.setVideo(name, { url: () => flv.url(name), codec: 'h264' });
    }
    h.tiktok.addUser('rosa', { live: false });
    await h.command({ command: 'settings', subcommand: 'capture', options: { mode: 'stream' } });
    await h.command({ command: 'settings', subcommand: 'window', options: { before: 3, after: 1 } });
    await h.command({ command: 'keyword', subcommand: 'add', options: { word: 'clip it' } });
    for (const name of ['pia', 'quin', 'rosa']) await h.command({ command: 'stream', subcommand: 'add', options: { username: name } });
    for (const name of ['pia', 'quin']) await h.waitForState(name, 'live');
    await h.waitForState('rosa', 'offline');
  }, 90_000);

  afterAll(async () => {
    await h?.close();
    await web?.close();
    await sign?.close();
    await flv?.close();
    await proxy?.stop();
    await rm(bufferDir, { recursive: true, force: true });
  });

  it('clips through the proxy: web, room info, push sockets and video pulls all tunnelled, Discord and signing direct', async () => {
    // Enough buffered for a 4 s window, then a keyword: the clip comes back through Discord as usual.
    const deadline = Date.now() + 40_000;
    for (;;) {
      const list = (await h.command({ command: 'stream', subcommand: 'list' })).content;
      if (Number(/@pia.*buffer ready \((\d+) s\)/.exec(list)?.[1] ?? 0) >= 5) break;
      if (Date.now() > deadline) throw new Error(`@pia never buffered 5 s: ${list}`);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    h.tiktok.sendChat('pia', { handle: 'fan.pia', text: 'clip it!' });
    const alert = await h.discord.waitForChannelMessage((m) => m.files.some((f) => f.name.startsWith('fan.pia_')), 40_000);
    expect(alert.files.length).toBeGreaterThan(0);

    const tunnels = await proxy.tunnels();
    const flvRequests = [...flv.stats.requests.values()].reduce((n, v) => n + v, 0);
    // TikTok's page, web API and room info: every connection the bot made to that host came through the proxy.
    expect(web.connections).toBeGreaterThan(0);
    expect(count(tunnels, web.port)).toBe(web.connections);
    // The push sockets (the signing service hands out the fake's own address for them).
    expect(h.tiktok.stats.pushConnections).toBeGreaterThanOrEqual(2);
    expect(count(tunnels, portOf(h.tiktok.url))).toBe(h.tiktok.stats.pushConnections);
    // Every video pull.
    expect(flvRequests).toBeGreaterThanOrEqual(2);
    expect(count(tunnels, flv.port)).toBe(flvRequests);
    // Discord: REST and gateway direct, never through the proxy.
    expect(count(tunnels, portOf(h.discord.apiUrl))).toBe(0);
    // The signing service was used (connects, limits) but directly: TIKTOK_PROXY_SIGNING is off by default.
    expect(sign.connections).toBeGreaterThan(0);
    expect(count(tunnels, sign.port)).toBe(0);
    // Every tunnel is one of the above: nothing else went through it.
    expect(tunnels.length).toBe(web.connections + h.tiktok.stats.pushConnections + flvRequests);
  }, 120_000);

  it('never logs the proxy password, and says the proxy is in use', () => {
    const all = lines.join('');
    expect(all).not.toContain(PROXY_PASSWORD);
    expect(all).not.toContain(encodeURIComponent(PROXY_PASSWORD));
    expect(lines.some((l) => l.includes('TikTok traffic goes through the proxy') && l.includes('clipbot:[redacted]@127.0.0.1'))).toBe(true);
  });
});

describe.skipIf(!isAvailable)('TIKTOK_PROXY_SIGNING=true', () => {
  let proxy: TinyproxyProcess;
  let h: Harness;
  let web: TcpRelay;
  let sign: TcpRelay;
  const lines: string[] = [];

  beforeAll(async () => {
    proxy = await startTinyproxy();
    ({ h, web, sign } = await startProxiedBot(proxy, { TIKTOK_PROXY_SIGNING: 'true' }, lines));
    h.tiktok.addUser('sol', { live: true });
    await h.command({ command: 'stream', subcommand: 'add', options: { username: 'sol' } });
    await h.waitForState('sol', 'live');
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    await web?.close();
    await sign?.close();
    await proxy?.stop();
  });

  it('sends the signing service through the proxy too, and still nothing of Discord', async () => {
    const tunnels = await proxy.tunnels();
    expect(sign.connections).toBeGreaterThan(0);
    expect(count(tunnels, sign.port)).toBe(sign.connections);
    expect(count(tunnels, web.port)).toBe(web.connections);
    expect(count(tunnels, portOf(h.discord.apiUrl))).toBe(0);
  });
});
