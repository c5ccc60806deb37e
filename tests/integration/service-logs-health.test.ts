import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretsOf } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { BOT_TOKEN, startWithStandInObs, waitFor, type Harness } from '../support/bot-harness.js';
import { FakeReplayBuffer } from '../fakes/fake-replay-buffer.js';

type LogLine = Record<string, unknown> & { msg: string; level: number };

/**
 * Running as a service, seen from outside: the JSON log of a whole trigger-to-post path, and the
 * /healthz and /metrics pages of the same running bot (HTTP_PORT=0: any free port on 127.0.0.1).
 */
describe('logs, /healthz and /metrics of a running bot', () => {
  let h: Harness;
  let obs: FakeReplayBuffer;
  const raw: string[] = [];
  const lines = (): LogLine[] => raw.map((l) => JSON.parse(l) as LogLine);

  beforeAll(async () => {
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        raw.push(...chunk.toString().split('\n').filter((l) => l !== ''));
        callback();
      },
    });
    const standIn = await startWithStandInObs({
      env: { HTTP_PORT: '0', LOG_LEVEL: 'info' },
      log: (config) => createLogger({ level: config.logLevel, secrets: secretsOf(config), destination }),
      liveStreams: ['svc.user'],
      keywords: ['clip it'],
      cooldownSeconds: 0,
    });
    h = standIn;
    obs = standIn.obs;
  }, 60_000);

  afterAll(async () => {
    if (process.env.DUMP_LOG) console.log(raw.join('\n'));
    await h?.close();
  });

  const get = async (page: string) => {
    const url = h.bot.httpUrl();
    if (url === undefined) throw new Error('the bot serves no /healthz: HTTP_PORT was not applied');
    return fetch(`${url}${page}`);
  };

  it('logs a whole trigger-to-post path as JSON lines, with the stream and the server as fields', async () => {
    h.tiktok.sendChat('svc.user', { handle: 'log.caller', text: 'please clip it now' });
    await h.discord.waitForChannelMessage((m) => m.files.some((f) => f.name.startsWith('log.caller_')), 15_000);
    const guild = h.discord.guildId;
    await waitFor(() => lines().some((l) => l.kind === 'save'), 5_000, () => 'the "clip filed" line');

    const events = lines().filter((l) => l.component === 'events');
    expect(events).toEqual(expect.arrayContaining([
      expect.objectContaining({ level: 30, msg: 'settings changed', guild, stream: 'svc.user', detail: 'now watching @svc.user' }),
      expect.objectContaining({ level: 30, msg: 'stream state changed', guild, stream: 'svc.user', detail: expect.stringContaining('-> live') as unknown }),
      expect.objectContaining({ level: 30, msg: 'clip triggered', guild, stream: 'svc.user', detail: expect.stringContaining('log.caller') as unknown }),
      expect.objectContaining({ level: 30, msg: 'clip filed', guild, stream: 'svc.user', detail: expect.stringContaining('log.caller_') as unknown }),
    ]));
    // In the order they happened: live, then the trigger, then the file.
    const order = ['stream state changed', 'clip triggered', 'clip filed'].map((msg) => events.findIndex((l) => l.msg === msg && l.stream === 'svc.user'));
    expect([...order].sort((a, b) => a - b)).toEqual(order);

    // Every line is one JSON object with each key once, and the token appears nowhere.
    for (const line of raw) {
      for (const key of ['component', 'stream', 'guild']) expect(line.split(`"${key}":`).length).toBeLessThanOrEqual(2);
      expect(line).not.toContain(BOT_TOKEN);
    }
  });

  /** The outbox empties once Discord has accepted every post (a credit edit may still be on its way). */
  async function outboxDrained(): Promise<void> {
    for (let i = 0; i < 50; i += 1) {
      const { outbox } = (await (await get('/healthz')).json()) as { outbox: number };
      if (outbox === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('the outbox never emptied');
  }

  it('answers /healthz with 200 and what it is made of while Discord and OBS are up', async () => {
    await outboxDrained();
    const response = await get('/healthz');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toMatchObject({
      status: 'ok',
      discord: { ready: true },
      obs: { connection: 'connected', bufferActive: true },
      streams: { live: 1 },
      outbox: 0,
    });
  });

  it('serves the counters, the gauges and the default process metrics on /metrics', async () => {
    await outboxDrained();
    const response = await get('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value('clipbot_chats_total')).toBeGreaterThanOrEqual(1);
    expect(value('clipbot_triggers_total{outcome="clipped"}')).toBe(1);
    expect(value('clipbot_clips_total')).toBe(1);
    expect(value('clipbot_streams{state="live"}')).toBe(1);
    expect(value('clipbot_joins_queued')).toBe(0);
    expect(value('clipbot_outbox_depth')).toBe(0);
    expect(value('clipbot_obs_connected')).toBe(1);
    expect(value('clipbot_discord_ready')).toBe(1);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
  });

  it('answers 503 while OBS is down, and counts the clip that could not be made as a failure', async () => {
    obs.isDown = true;
    try {
      const response = await get('/healthz');
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ status: 'unhealthy', discord: { ready: true }, obs: { connection: 'disconnected' } });

      h.tiktok.sendChat('svc.user', { handle: 'obs.down', text: 'clip it' });
      await waitFor(() => lines().some((l) => l.kind === 'failure' && String(l.detail).includes('clip failed')), 15_000, () => 'the failure line');
      const text = await (await get('/metrics')).text();
      expect(text).toMatch(/^clipbot_failures_total [1-9]/m);
      expect(text).toMatch(/^clipbot_obs_connected 0$/m);
    } finally {
      obs.isDown = false;
    }
    expect((await get('/healthz')).status).toBe(200);
  });

  it('answers 404 elsewhere and changes nothing on a POST', async () => {
    expect((await get('/')).status).toBe(404);
    expect((await fetch(`${h.bot.httpUrl()}/healthz`, { method: 'POST' })).status).toBe(405);
  });
});
