import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { SignConfig } from 'tiktok-live-connector';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ChatMessage } from '../../src/monitor/chat-message.js';
import type { LiveConnection } from '../../src/monitor/live-connection.js';
import { createTikTokConnectionFactory } from '../../src/monitor/tiktok-live-connection.js';
import { startFakeTikTok, type FakeTikTok } from '../fakes/tiktok-server.js';
import type { TikTokTransport } from '../../src/monitor/types.js';

let fake: FakeTikTok;
const signConfigBefore = { ...SignConfig };
const opened: LiveConnection[] = [];
let userCount = 0;

beforeAll(async () => {
  fake = await startFakeTikTok();
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.disconnect()));
});

afterAll(async () => {
  await fake.close();
});

/** A fresh streamer per test, so tests never see each other's sockets; `'unknown'` is never added. */
function newStreamer(live: boolean | 'unknown' = true): string {
  const name = `streamer_${++userCount}`;
  if (live !== 'unknown') fake.addUser(name, { live });
  return name;
}

function connectionFor(username: string, overrides: Partial<TikTokTransport> = {}): LiveConnection {
  const connection = createTikTokConnectionFactory({ ...fake.transport, ...overrides })(username);
  opened.push(connection);
  return connection;
}

function record(connection: LiveConnection) {
  const seen = { chats: [] as ChatMessage[], activity: 0, disconnected: [] as string[], streamEnds: 0 };
  connection.on('chat', (m) => seen.chats.push(m));
  connection.on('activity', () => seen.activity++);
  connection.on('disconnected', (reason) => seen.disconnected.push(reason));
  connection.on('streamEnd', () => seen.streamEnds++);
  return seen;
}

async function rejection(promise: Promise<unknown>): Promise<{ code: string; message: string; retryAfterMs?: number }> {
  try {
    await promise;
  } catch (err) {
    return err as { code: string; message: string; retryAfterMs?: number };
  }
  throw new Error('expected a rejection');
}

describe('TikTokLiveConnectionAdapter against the fake TikTok', () => {
  it('connects and turns a chat frame into a ChatMessage', async () => {
    const name = newStreamer();
    const connection = connectionFor(`@${name.toUpperCase()}`);
    const seen = record(connection);

    await connection.connect();
    expect(connection.username).toBe(name);
    expect(fake.stats.openSockets(name)).toBe(1);

    fake.sendChat(name, { msgId: '7400000000000000123', handle: 'viewer.one', nickname: 'Viewer One', text: 'CLIP that!' });
    await vi.waitFor(() => expect(seen.chats).toHaveLength(1));
    const [chat] = seen.chats;
    expect(chat).toEqual({
      id: '7400000000000000123',
      streamer: name,
      chatter: 'viewer.one',
      chatterName: 'Viewer One',
      text: 'CLIP that!',
      receivedAt: expect.any(Date),
    });
    // The library acks frames that ask for it.
    await vi.waitFor(() => expect(fake.stats.acks).toBeGreaterThan(0));
  });

  it('sends the signing key as a header, never in the URL', async () => {
    const name = newStreamer();
    await connectionFor(name).connect();
    const last = fake.signRequests.at(-1);
    expect(last?.path).toMatch(/^\/webcast\/rooms\/\d+\/connect$/);
    expect(last?.apiKeyHeader).toBe('fake-sign-key');
    expect(last?.hasApiKeyInQuery).toBe(false);
  });

  it('never emits chats from the initial data, and gives each chat its message id (replays keep theirs)', async () => {
    const name = newStreamer();
    const oldId = fake.queueInitialChat(name, { handle: 'early', text: 'clip from before we joined' });
    fake.queueInitialChat(name, { handle: 'early2', text: 'another old one' });
    const connection = connectionFor(name);
    const seen = record(connection);

    await connection.connect();
    const liveId = fake.sendChat(name, { handle: 'now', text: 'live chat' });
    fake.sendChat(name, { msgId: liveId, handle: 'now', text: 'live chat' }); // a replay
    fake.sendChat(name, { handle: 'later', text: 'second live chat' });
    await vi.waitFor(() => expect(seen.chats).toHaveLength(3));
    await sleep(100);
    // Sorted: the library unzips each frame asynchronously, so chats from separate frames may swap.
    expect(seen.chats.map((c) => c.text).sort()).toEqual(['live chat', 'live chat', 'second live chat']);
    // The replay carries the first one's id, so the supervisor (one place for it) drops it.
    expect(seen.chats.filter((c) => c.id === liveId)).toHaveLength(2);
    expect(seen.chats.map((c) => c.id)).not.toContain(oldId);
  });

  it('checks liveness with the web page only, without a signed connect', async () => {
    const live = newStreamer(true);
    const offline = newStreamer(false);
    const unknown = newStreamer('unknown');
    const signBefore = fake.stats.signConnectRequests;

    await expect(connectionFor(live).isLive()).resolves.toBe(true);
    await expect(connectionFor(offline).isLive()).resolves.toBe(false);
    const err = await rejection(connectionFor(unknown).isLive());
    expect(err.code).toBe('TIKTOK_USER_NOT_FOUND');
    expect(err.message).toContain(`@${unknown}`);
    expect(fake.stats.signConnectRequests).toBe(signBefore);
  });

  it('refuses to connect to an offline or unknown user without spending a signed connect', async () => {
    const ended = newStreamer(true);
    fake.setLive(ended, false); // has a room id, room status 4 -> the library's UserOfflineError
    const neverLive = newStreamer(false); // no room id at all
    const unknown = newStreamer('unknown');
    const signBefore = fake.stats.signConnectRequests;

    const offlineErr = await rejection(connectionFor(ended).connect());
    expect(offlineErr.code).toBe('TIKTOK_OFFLINE');
    expect(offlineErr.message).toBe(`@${ended} is not live on TikTok right now.`);
    expect((await rejection(connectionFor(neverLive).connect())).code).toBe('TIKTOK_OFFLINE');
    expect((await rejection(connectionFor(unknown).connect())).code).toBe('TIKTOK_USER_NOT_FOUND');
    expect(fake.stats.signConnectRequests).toBe(signBefore);
  });

  it('reports a dropped socket as disconnected, and connect() works again', async () => {
    const name = newStreamer();
    const connection = connectionFor(name);
    const seen = record(connection);
    await connection.connect();

    fake.dropConnections(name);
    await vi.waitFor(() => expect(seen.disconnected).toHaveLength(1));
    expect(seen.disconnected[0]).toContain('1006');
    expect(seen.streamEnds).toBe(0);

    await connection.connect();
    expect(fake.stats.openSockets(name)).toBe(1);
    fake.sendChat(name, { handle: 'back', text: 'we are back' });
    await vi.waitFor(() => expect(seen.chats.map((c) => c.text)).toEqual(['we are back']));
    expect(seen.disconnected).toHaveLength(1);
  });

  it('reports the stream end once, not as a disconnect', async () => {
    const name = newStreamer();
    const connection = connectionFor(name);
    const seen = record(connection);
    await connection.connect();

    fake.endStream(name);
    await vi.waitFor(() => expect(seen.streamEnds).toBe(1));
    await vi.waitFor(() => expect(fake.stats.openSockets(name)).toBe(0)); // the library closes it
    await sleep(100);
    expect(seen.disconnected).toEqual([]);
    await expect(connection.isLive()).resolves.toBe(false);
  });

  it('maps a signing-service 429 to TIKTOK_RATE_LIMITED with retryAfterMs', async () => {
    const name = newStreamer();
    const connection = connectionFor(name);
    fake.rateLimitSign(1, 42);

    const err = await rejection(connection.connect());
    expect(err.code).toBe('TIKTOK_RATE_LIMITED');
    expect(err.retryAfterMs).toBe(42_000);
    expect(err.message).toContain('42 s');

    await connection.connect(); // the limit was for one request
    expect(fake.stats.openSockets(name)).toBe(1);
  });

  it('times out a hung signing service within the request timeout', async () => {
    const name = newStreamer();
    const connection = connectionFor(name, { requestTimeoutMs: 300 });
    fake.hangSign(true);
    try {
      const started = performance.now();
      const err = await rejection(connection.connect());
      const elapsed = performance.now() - started;
      expect(err.code).toBe('TIMEOUT');
      expect(err.message).toBe('The TikTok signing service did not answer within 300 ms.');
      expect(elapsed).toBeGreaterThanOrEqual(290);
      expect(elapsed).toBeLessThan(1_500);
    } finally {
      fake.hangSign(false);
    }
    await connection.connect();
  });

  it('times out hung TikTok web requests per request, not after the library default of 10 s', async () => {
    const name = newStreamer();
    const connection = connectionFor(name, { requestTimeoutMs: 300 });
    fake.hangWeb(true);
    try {
      // Room id: page (300 ms), web API (300 ms), then the signing service's lookup answers;
      // room info on the webcast host then hangs too (300 ms).
      const started = performance.now();
      const err = await rejection(connection.connect());
      const elapsed = performance.now() - started;
      expect(err.code).toBe('TIMEOUT');
      expect(err.message).toBe(`TikTok did not answer within 300 ms while connecting to @${name}'s LIVE.`);
      expect(elapsed).toBeGreaterThanOrEqual(850);
      expect(elapsed).toBeLessThan(2_500);

      // With TikTok's web page and API down the live check cannot tell: it says so rather than guess,
      // and does not turn every poll into a signing-service room-id lookup (the library's last resort).
      const lookups = fake.stats.signRoomIdRequests;
      const unclear = await rejection(connection.isLive());
      expect(unclear.code).toBe('TIKTOK_UNCLEAR');
      expect(unclear.message).toBe(`TikTok did not answer clearly whether @${name} is live: the LIVE page gave no answer within 300 ms; the web API gave no answer within 300 ms.`);
      expect(fake.stats.signRoomIdRequests).toBe(lookups);
    } finally {
      fake.hangWeb(false);
    }
  });

  it('maps a refused push socket to TIKTOK_CONNECT_FAILED and a hung one to TIMEOUT', async () => {
    const name = newStreamer();
    const connection = connectionFor(name, { requestTimeoutMs: 300 });
    fake.refusePush(true);
    try {
      const err = await rejection(connection.connect());
      expect(err.code).toBe('TIKTOK_CONNECT_FAILED');
      expect(err.message).toBe(`TikTok refused the chat connection for @${name}.`);
    } finally {
      fake.refusePush(false);
    }
    fake.hangPush(true);
    try {
      const started = performance.now();
      const err = await rejection(connection.connect());
      expect(err.code).toBe('TIMEOUT');
      expect(performance.now() - started).toBeLessThan(1_500);
    } finally {
      fake.hangPush(false);
    }
    await connection.connect();
    expect(fake.stats.openSockets(name)).toBe(1);
  });

  it('bounds the whole operation by operationTimeoutMs', async () => {
    const name = newStreamer();
    const connection = connectionFor(name, { requestTimeoutMs: 5_000, operationTimeoutMs: 250 });
    fake.hangSign(true);
    try {
      const started = performance.now();
      const err = await rejection(connection.connect());
      expect(err.code).toBe('TIMEOUT');
      expect(performance.now() - started).toBeLessThan(1_000);
    } finally {
      fake.hangSign(false);
    }
  });

  it('honours an abort signal while connecting', async () => {
    const name = newStreamer();
    const connection = connectionFor(name);
    fake.hangSign(true);
    try {
      const controller = new AbortController();
      const pending = rejection(connection.connect(controller.signal));
      await vi.waitFor(() => expect(fake.signRequests.at(-1)?.path).toContain('/connect'));
      controller.abort();
      expect((await pending).code).toBe('ABORTED');
      expect((await rejection(connection.isLive(AbortSignal.abort()))).code).toBe('ABORTED');
    } finally {
      fake.hangSign(false);
    }
  });

  it('emits activity for every frame, heartbeat answers included, and roomTraffic only for room messages', async () => {
    const name = newStreamer();
    const connection = connectionFor(name, { heartbeatIntervalMs: 100 });
    const seen = record(connection);
    await connection.connect();

    const traffic: Array<number | undefined> = [];
    connection.on('roomTraffic', (viewers) => traffic.push(viewers));
    const before = seen.activity;
    fake.sendViewerCount(name, 1234);
    await vi.waitFor(() => expect(seen.activity).toBeGreaterThan(before));
    expect(seen.chats).toEqual([]);
    await vi.waitFor(() => expect(traffic).toEqual([1234]));

    // A quiet stream still shows life: the fake answers each heartbeat. That is socket life, not room traffic.
    const quiet = seen.activity;
    await vi.waitFor(() => expect(seen.activity).toBeGreaterThanOrEqual(quiet + 2));
    expect(fake.stats.heartbeats).toBeGreaterThanOrEqual(2);
    expect(traffic).toEqual([1234]);
    fake.sendChat(name, { handle: 'a', text: 'hi' });
    await vi.waitFor(() => expect(traffic).toEqual([1234, undefined]));

    // Silenced: socket open, heartbeats unanswered, no activity. Only a watchdog can notice this.
    fake.silence(name, true);
    await sleep(150);
    const silenced = seen.activity;
    await sleep(400);
    expect(seen.activity).toBe(silenced);
    expect(fake.stats.openSockets(name)).toBe(1);
    expect(seen.disconnected).toEqual([]);
    fake.silence(name, false);
    await vi.waitFor(() => expect(seen.activity).toBeGreaterThan(silenced));
  });

  it('emits nothing after disconnect()', async () => {
    const name = newStreamer();
    const connection = connectionFor(name);
    const seen = record(connection);
    await connection.connect();

    await connection.disconnect();
    await connection.disconnect(); // idempotent
    expect(fake.stats.openSockets(name)).toBe(0);
    fake.sendChat(name, { handle: 'late', text: 'too late' });
    await sleep(100);
    expect(seen).toEqual({ chats: [], activity: expect.any(Number), disconnected: [], streamEnds: 0 });
  });

  it('keeps delivering when a listener throws', async () => {
    const name = newStreamer();
    const warnings: string[] = [];
    const connection = createTikTokConnectionFactory(fake.transport, { warn: (_o, msg) => warnings.push(msg) })(name);
    opened.push(connection);
    const texts: string[] = [];
    connection.on('chat', () => {
      throw new Error('listener bug');
    });
    connection.on('chat', (m) => texts.push(m.text));
    await connection.connect();

    fake.sendChat(name, { handle: 'a', text: 'one' });
    fake.sendChat(name, { handle: 'b', text: 'two' });
    await vi.waitFor(() => expect([...texts].sort()).toEqual(['one', 'two']));
    expect(warnings).toContain('tiktok connection listener threw');
  });

  it('rejects an invalid transport at once, listing every problem', () => {
    expect(() => createTikTokConnectionFactory({ requestTimeoutMs: 0, webHost: 'https://x/y' })).toThrow(
      /requestTimeoutMs must be a positive number; webHost must be host\[:port\]/,
    );
  });

  it('delivers 300 chats sent one by one, each intact, and reports frame-to-event latency', async () => {
    const name = newStreamer();
    const connection = connectionFor(name);
    await connection.connect();

    const samples: number[] = [];
    const received: string[] = [];
    for (let i = 0; i < 300; i++) {
      const arrived = new Promise<void>((resolve) => {
        const off = connection.on('chat', (chat) => {
          off();
          received.push(`${chat.chatter}: ${chat.text}`);
          resolve();
        });
      });
      const started = performance.now();
      fake.sendChat(name, { handle: `viewer${i}`, text: `message ${i}` });
      await arrived;
      samples.push(performance.now() - started);
    }
    // Each chat waited for before the next was sent, so the order is the sending order.
    expect(received).toEqual(Array.from({ length: 300 }, (_, i) => `viewer${i}: message ${i}`));
    // Speed is the benchmark's business (npm run bench); here it is only printed.
    samples.sort((a, b) => a - b);
    const p50 = samples[Math.floor(samples.length * 0.5)] ?? Infinity;
    const p95 = samples[Math.floor(samples.length * 0.95)] ?? Infinity;
    const max = samples.at(-1) ?? Infinity;
    console.info(`tiktok chat frame -> chat event over ${samples.length} chats: p50 ${p50.toFixed(2)} ms, p95 ${p95.toFixed(2)} ms, max ${max.toFixed(2)} ms`);
  });

  it('never touches the library-wide SignConfig (no default signing client, no leaked key)', () => {
    expect(SignConfig.cachedInstance).toBeUndefined();
    expect({ ...SignConfig }).toEqual(signConfigBefore);
  });
});
