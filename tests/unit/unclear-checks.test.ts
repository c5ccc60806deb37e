import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TikTokError } from '../../src/monitor/live-connection.js';
import { RateBudget } from '../../src/monitor/rate-budget.js';
import { StreamSupervisor, type StreamState } from '../../src/monitor/stream-supervisor.js';
import { FakeLiveConnection } from '../fakes/fake-live-connection.js';

const log = pino({ level: 'silent' });
const unclear = () => new TikTokError('TIKTOK_UNCLEAR', 'TikTok did not answer clearly whether @streamer is live: the LIVE page gave HTTP 403 (blocked?); the web API gave HTTP 429 (too many requests).');

/** A supervisor with the defaults a user gets; `random` picks where in the ±40 % each wait falls. */
function setup(random: () => number) {
  const connection = new FakeLiveConnection('streamer');
  const states: StreamState[] = [];
  const checkTimes: number[] = [];
  const isLive = connection.isLive.bind(connection);
  connection.isLive = async () => {
    checkTimes.push(Date.now());
    return isLive();
  };
  const supervisor = new StreamSupervisor({
    connection,
    connectBudget: new RateBudget([{ limit: 100, windowMs: 60_000 }]),
    checkBudget: new RateBudget([{ limit: 10, windowMs: 1_000 }]),
    log,
    random,
    onChat: () => undefined,
    onStateChange: (s) => states.push(s),
  });
  const gaps = () => checkTimes.slice(1).map((t, i) => t - checkTimes[i]!);
  return { connection, supervisor, states, gaps };
}

describe('live checks TikTok does not answer clearly, with the defaults', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('retries after 10 s doubling to 5 min, each wait moved by up to ±40 %', async () => {
    for (const [random, factor] of [[() => 0, 0.6], [() => 1, 1.4], [() => 0.5, 1]] as const) {
      const { connection, supervisor, gaps } = setup(random);
      connection.isLiveAnswer = unclear();
      supervisor.start();
      await vi.advanceTimersByTimeAsync(30 * 60_000);
      const nominal = [10, 20, 40, 80, 160, 300, 300].map((s) => s * 1_000 * factor);
      expect(gaps().slice(0, nominal.length)).toEqual(nominal.map(Math.round));
      expect(connection.calls.connect).toBe(0);
      await supervisor.stop();
    }
  });

  it('says "TikTok did not answer clearly" from the third unclear check on, never offline, and joins once TikTok answers', async () => {
    const { connection, supervisor, states } = setup(() => 0.5);
    connection.isLiveAnswer = unclear();
    supervisor.start();
    await vi.advanceTimersByTimeAsync(29_000); // checks at 0, 10 s, 30 s
    expect(supervisor.state.name).toBe('checking');
    expect(supervisor.state.reason).not.toBe('TikTok did not answer clearly');
    await vi.advanceTimersByTimeAsync(2_000);
    expect(supervisor.state).toMatchObject({ name: 'checking', reason: 'TikTok did not answer clearly' });
    expect(supervisor.state.lastError).toContain('HTTP 403 (blocked?)');

    connection.isLiveAnswer = true;
    await vi.advanceTimersByTimeAsync(40_000);
    expect(supervisor.state.name).toBe('live');
    expect(states.some((s) => s.name === 'offline' || s.name === 'reconnecting')).toBe(false);
    await supervisor.stop();
  });

  it('never ends a live whose checks go unclear after a drop: reconnecting, then checking, then live again', async () => {
    const { connection, supervisor, states } = setup(() => 0.5);
    connection.isLiveAnswer = true;
    supervisor.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(supervisor.state.name).toBe('live');
    connection.isLiveAnswer = unclear();
    connection.emit('disconnected', 'code 1006');
    await vi.advanceTimersByTimeAsync(3 * 60_000);
    expect(supervisor.state).toMatchObject({ name: 'checking', reason: 'TikTok did not answer clearly' });
    connection.isLiveAnswer = true;
    await vi.advanceTimersByTimeAsync(3 * 60_000);
    expect(supervisor.state.name).toBe('live');
    expect(states.map((s) => s.name)).not.toContain('offline');
    await supervisor.stop();
  });

  it('shows a restricted live as restricted (needs TIKTOK_SESSION_ID) and spends no connect on it', async () => {
    const { connection, supervisor } = setup(() => 0.5);
    connection.isLiveAnswer = new TikTokError('TIKTOK_RESTRICTED', "@streamer's LIVE is restricted (18+ or region).");
    supervisor.start();
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(supervisor.state).toMatchObject({ name: 'restricted', reason: 'needs TIKTOK_SESSION_ID' });
    expect(connection.calls.connect).toBe(0);
    expect(connection.calls.isLive).toBeGreaterThanOrEqual(8);
    expect(connection.calls.isLive).toBeLessThanOrEqual(13);
    await supervisor.stop();
  });
});
