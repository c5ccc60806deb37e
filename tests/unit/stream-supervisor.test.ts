import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ChatMessage } from '../../src/monitor/chat-message.js';
import { TikTokError } from '../../src/monitor/live-connection.js';
import { TIKTOK_DEFAULTS } from '../../src/monitor/defaults.js';
import { RateBudget } from '../../src/monitor/rate-budget.js';
import { StreamMonitor } from '../../src/monitor/stream-monitor.js';
import { StreamSupervisor, type StreamState } from '../../src/monitor/stream-supervisor.js';
import { FakeLiveConnection } from '../fakes/fake-live-connection.js';
import type { MonitorBudgets, SupervisorTimings } from '../../src/monitor/types.js';

const log = pino({ level: 'silent' });
const timings: SupervisorTimings = {
  ...TIKTOK_DEFAULTS.supervisor,
  offlinePollMs: 60_000,
  pollJitterRatio: 0.2,
  reconnect: { initialMs: 5_000, maxMs: 300_000, factor: 2 },
  silenceTimeoutMs: 60_000,
  stableAfterMs: 120_000,
  errorRetryMs: 30 * 60_000,
  rateLimitFallbackMs: 60_000,
};

function setup(connection = new FakeLiveConnection('streamer')) {
  const chats: ChatMessage[] = [];
  const states: StreamState[] = [];
  const connectBudget = new RateBudget([{ limit: 4, windowMs: 60_000 }]);
  const checkBudget = new RateBudget([{ limit: 10, windowMs: 1_000 }]);
  const supervisor = new StreamSupervisor({
    connection,
    connectBudget,
    checkBudget,
    timings,
    log,
    random: () => 0.5,
    onChat: (m) => chats.push(m),
    onStateChange: (s) => states.push(s),
  });
  return { connection, supervisor, chats, states, connectBudget, checkBudget };
}

describe('StreamSupervisor', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('watches an offline user cheaply and connects within one interval of going live', async () => {
    const { connection, supervisor } = setup();
    supervisor.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(supervisor.state.name).toBe('offline');
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    expect(connection.calls.connect).toBe(0);
    expect(connection.calls.isLive).toBeGreaterThanOrEqual(5);
    expect(connection.calls.isLive).toBeLessThanOrEqual(7);

    connection.isLiveAnswer = true;
    await vi.advanceTimersByTimeAsync(timings.offlinePollMs * (1 + timings.pollJitterRatio));
    expect(supervisor.state.name).toBe('live');
    expect(connection.calls.connect).toBe(1);
    await supervisor.stop();
  });

  it('reconnects after a drop and chats flow again, without re-firing replayed chats', async () => {
    const { connection, supervisor, chats } = setup();
    connection.isLiveAnswer = true;
    supervisor.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(supervisor.state.name).toBe('live');
    connection.chat('m1', 'hello');

    connection.emit('disconnected', 'code 1006');
    await vi.advanceTimersByTimeAsync(0);
    expect(supervisor.state.name).toBe('reconnecting');
    expect(supervisor.state.reason).toContain('connection lost');
    await vi.advanceTimersByTimeAsync(timings.reconnect.initialMs);
    expect(supervisor.state.name).toBe('live');
    expect(connection.calls.connect).toBe(2);

    connection.chat('m1', 'hello'); // TikTok replays recent chats after a reconnect
    connection.chat('m2', 'new one');
    expect(chats.map((c) => c.id)).toEqual(['m1', 'm2']);
    await supervisor.stop();
  });

  it('treats a silent connection as dropped and reconnects', async () => {
    const { connection, supervisor, states } = setup();
    connection.isLiveAnswer = true;
    supervisor.start();
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(timings.silenceTimeoutMs - 1_000);
    connection.emit('activity');
    await vi.advanceTimersByTimeAsync(timings.silenceTimeoutMs - 1_000);
    expect(supervisor.state.name).toBe('live');
    await vi.advanceTimersByTimeAsync(2_000);
    expect(states.some((s) => s.name === 'reconnecting' && s.reason.includes('no data'))).toBe(true);
    await vi.advanceTimersByTimeAsync(timings.reconnect.initialMs);
    expect(supervisor.state.name).toBe('live');
    expect(connection.calls.connect).toBe(2);
    await supervisor.stop();
  });

  it('goes offline on stream end, then live again when the user returns', async () => {
    const { connection, supervisor } = setup();
    connection.isLiveAnswer = true;
    supervisor.start();
    await vi.advanceTimersByTimeAsync(0);
    connection.isLiveAnswer = false;
    connection.emit('streamEnd');
    await vi.advanceTimersByTimeAsync(0);
    expect(supervisor.state).toMatchObject({ name: 'offline', reason: 'the LIVE ended' });
    await vi.advanceTimersByTimeAsync(3 * 60_000);
    expect(supervisor.state.name).toBe('offline');
    connection.isLiveAnswer = true;
    await vi.advanceTimersByTimeAsync(timings.offlinePollMs * 1.2);
    expect(supervisor.state.name).toBe('live');
    await supervisor.stop();
  });

  it('shows an unknown user as an error with a reason and does not retry in a storm', async () => {
    const connection = new FakeLiveConnection('nobody');
    connection.isLiveAnswer = new TikTokError('TIKTOK_USER_NOT_FOUND', 'TikTok has no user @nobody');
    const { supervisor } = setup(connection);
    supervisor.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(supervisor.state.name).toBe('error');
    expect(supervisor.state.lastError).toContain('@nobody');
    await vi.advanceTimersByTimeAsync(60 * 60_000);
    expect(connection.calls.isLive).toBeLessThanOrEqual(3);
    await supervisor.stop();
  });

  it('waits at least the retry-after the signing service asked for', async () => {
    const { connection, supervisor } = setup();
    connection.isLiveAnswer = true;
    connection.connectAnswer = new TikTokError('TIKTOK_RATE_LIMITED', 'Too many requests', { retryAfterMs: 90_000 });
    supervisor.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(supervisor.state.name).toBe('rate-limited');
    expect(connection.calls.connect).toBe(1);
    connection.connectAnswer = undefined;
    await vi.advanceTimersByTimeAsync(89_000);
    expect(connection.calls.connect).toBe(1);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(connection.calls.connect).toBe(2);
    expect(supervisor.state.name).toBe('live');
    await supervisor.stop();
  });

  it('backs off exponentially with a cap while connects keep failing', async () => {
    const { connection, supervisor, states } = setup();
    connection.isLiveAnswer = true;
    connection.connectAnswer = new TikTokError('TIKTOK_CONNECT_FAILED', 'push server refused');
    supervisor.start();
    await vi.advanceTimersByTimeAsync(60 * 60_000);
    const waits = states
      .filter((s) => s.name === 'reconnecting')
      .map((s) => Number(/retrying in (\d+) s/.exec(s.reason)?.[1]));
    expect(waits.length).toBeGreaterThan(5);
    for (let i = 1; i < waits.length; i += 1) expect(waits[i]!).toBeGreaterThanOrEqual(waits[i - 1]!);
    expect(Math.max(...waits)).toBeLessThanOrEqual(timings.reconnect.maxMs / 1000);
    expect(supervisor.state.lastError).toContain('push server refused');
    await supervisor.stop();
  });

  it('stop() closes the connection, ends every timer and says stopped', async () => {
    const { connection, supervisor, connectBudget, checkBudget, states } = setup();
    connection.isLiveAnswer = true;
    supervisor.start();
    await vi.advanceTimersByTimeAsync(0);
    await supervisor.stop('removed');
    connectBudget.close();
    checkBudget.close();
    expect(supervisor.state).toMatchObject({ name: 'stopped', reason: 'removed' });
    // Stopping is not the LIVE ending: no "offline" on the way out (it would post an "ended" notice).
    expect(states.map((s) => s.name)).toEqual(['checking', 'connecting', 'live', 'stopped']);
    expect(connection.calls.disconnect).toBeGreaterThanOrEqual(1);
    expect(connection.listenerCount).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('StreamMonitor', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('keeps 50 streams going live at once within the shared connect budget', async () => {
    const { connections, monitor } = liveMonitor({
      connects: [{ limit: 4, windowMs: 60_000 }, { limit: 25, windowMs: 3_600_000 }],
      checks: [{ limit: 1, windowMs: 1_000 }],
    });
    for (let i = 0; i < 50; i += 1) monitor.watch('guild', `user${i}`);
    const totalConnects = () => [...connections.values()].reduce((n, c) => n + c.calls.connect, 0);
    for (let minute = 1; minute <= 10; minute += 1) {
      await vi.advanceTimersByTimeAsync(60_000);
      // Never more than 4 in any minute: the total after m minutes is at most 4 m.
      expect(totalConnects()).toBeLessThanOrEqual(4 * minute);
    }
    expect(totalConnects()).toBeGreaterThanOrEqual(20);
    await vi.advanceTimersByTimeAsync(60 * 60_000);
    // The hourly window holds too: 25 in the first hour, and the second hour has only just begun.
    expect(totalConnects()).toBeLessThanOrEqual(25 + 4 * 10);
    await monitor.close();
  });

  it('shares one connection between guilds and stops it when the last guild leaves', async () => {
    const made: FakeLiveConnection[] = [];
    const monitor = new StreamMonitor({
      connect: (username) => {
        const c = new FakeLiveConnection(username);
        made.push(c);
        return c;
      },
      listener: { chat: () => undefined, stateChange: () => undefined },
      log,
      timings,
    });
    monitor.watch('a', 'shared');
    monitor.watch('b', 'shared');
    expect(made).toHaveLength(1);
    await monitor.unwatch('a', 'shared');
    expect(monitor.state('shared')).toBeDefined();
    await monitor.unwatch('b', 'shared');
    expect(monitor.state('shared')).toBeUndefined();
    await monitor.close();
  });

  it('shows a stream waiting for the connect budget as queued, with when it joins, and lets a new join go before a reconnect', async () => {
    const { connections, monitor } = liveMonitor(1);
    monitor.watch('guild', 'first');
    await vi.advanceTimersByTimeAsync(100);
    expect(monitor.state('first')?.name).toBe('live');
    // first drops: its reconnect waits for the budget in the background...
    connections.get('first')!.emit('disconnected', 'network');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(monitor.state('first')?.name).toBe('queued');
    // ...and a stream added now goes before it.
    monitor.watch('guild', 'added');
    await vi.advanceTimersByTimeAsync(100);
    expect(monitor.state('added')?.name).toBe('queued');
    expect(monitor.state('added')?.reason).toMatch(/^queued for the connect budget, joins in ~\d+ s$/);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(monitor.state('added')?.name).toBe('live');
    expect(monitor.state('first')?.name).toBe('queued');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(monitor.state('first')?.name).toBe('live');
    await monitor.close();
  });

  it('holds every stream after a 429 until the service resets', async () => {
    const { connections, monitor } = liveMonitor(100);
    monitor.watch('guild', 'refused');
    const refused = () => connections.get('refused')!;
    refused().connectAnswer = new TikTokError('TIKTOK_RATE_LIMITED', 'Too many requests', { retryAfterMs: 30_000 });
    await vi.advanceTimersByTimeAsync(100);
    expect(monitor.state('refused')?.name).toBe('rate-limited');
    refused().connectAnswer = undefined;
    monitor.watch('guild', 'other');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(monitor.state('other')?.name).toBe('queued');
    expect(connections.get('other')!.calls.connect).toBe(0);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(monitor.state('other')?.name).toBe('live');
    await monitor.close();
  });
});

/**
 * A monitor whose every user is live, with `connectsPerMinute` shared connects (or the budgets given);
 * its connections by user.
 */
function liveMonitor(connectsPerMinute: number | MonitorBudgets) {
  const budgets =
    typeof connectsPerMinute === 'number'
      ? { connects: [{ limit: connectsPerMinute, windowMs: 60_000 }], checks: [{ limit: 10, windowMs: 1_000 }] }
      : connectsPerMinute;
  const connections = new Map<string, FakeLiveConnection>();
  const monitor = new StreamMonitor({
    connect: (username) => {
      const connection = new FakeLiveConnection(username);
      connection.isLiveAnswer = true;
      connections.set(username, connection);
      return connection;
    },
    listener: { chat: () => undefined, stateChange: () => undefined },
    log,
    budgets,
    timings,
    random: () => 0.5,
  });
  return { connections, monitor };
}
