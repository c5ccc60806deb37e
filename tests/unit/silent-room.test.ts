import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TIKTOK_DEFAULTS } from '../../src/monitor/defaults.js';
import { RateBudget } from '../../src/monitor/rate-budget.js';
import { SilentRoomWatch } from '../../src/monitor/silent-room.js';
import { StreamSupervisor, type StreamState } from '../../src/monitor/stream-supervisor.js';
import { FakeLiveConnection } from '../fakes/fake-live-connection.js';

const MINUTE = 60_000;
const log = pino({ level: 'silent' });

/** A supervisor with the defaults a user gets, on a scripted connection that answers heartbeats every 10 s. */
function liveRoom(name = 'streamer', { answersHeartbeats = true } = {}) {
  const connection = new FakeLiveConnection(name);
  connection.isLiveAnswer = true;
  const states: StreamState[] = [];
  const supervisor = new StreamSupervisor({
    connection,
    connectBudget: new RateBudget([{ limit: 100, windowMs: MINUTE }]),
    checkBudget: new RateBudget([{ limit: 10, windowMs: 1_000 }]),
    log,
    random: () => 0.5,
    onChat: () => undefined,
    onStateChange: (s) => states.push(s),
  });
  const heartbeats = answersHeartbeats ? setInterval(() => connection.heartbeatAnswer(), 10_000) : undefined;
  const silentReconnects = () => states.filter((s) => s.name === 'reconnecting' && s.reason.startsWith('silent room')).length;
  return {
    connection,
    supervisor,
    states,
    silentReconnects,
    /** Room messages every `everyMs` for `forMs` (fake time). */
    async traffic(everyMs: number, forMs: number, viewers?: number) {
      for (let t = 0; t < forMs; t += everyMs) {
        connection.roomMessage(viewers);
        await vi.advanceTimersByTimeAsync(everyMs);
      }
    },
    async stop() {
      clearInterval(heartbeats);
      await supervisor.stop();
    },
  };
}

describe('silent rooms, with the default thresholds', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('leaves a quiet live of 3 viewers alone for 10 minutes, heartbeats only, then reconnects it and says why', async () => {
    const room = liveRoom();
    room.supervisor.start();
    await vi.advanceTimersByTimeAsync(0);
    room.connection.roomMessage(3);
    await vi.advanceTimersByTimeAsync(9 * MINUTE);
    expect(room.supervisor.state.name).toBe('live');
    expect(room.connection.calls.connect).toBe(1);

    await vi.advanceTimersByTimeAsync(1.5 * MINUTE);
    const silent = room.states.find((s) => s.name === 'reconnecting');
    expect(silent?.reason).toMatch(/^silent room: TikTok answered heartbeats but sent no chat, join, like, gift or viewer update for 10 min \(3 viewers; quiet is normal here up to 10 min\); retrying in \d+ s$/);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(room.supervisor.state.name).toBe('live');
    expect(room.connection.calls.connect).toBe(2);
    await room.stop();
  });

  it('reconnects a busy room (2,000 viewers) within about a minute of its traffic stopping', async () => {
    const room = liveRoom();
    room.supervisor.start();
    await vi.advanceTimersByTimeAsync(0);
    await room.traffic(500, 5 * MINUTE, 2_000);
    expect(room.silentReconnects()).toBe(0);
    // Now only heartbeat answers arrive.
    await vi.advanceTimersByTimeAsync(55_000);
    expect(room.silentReconnects()).toBe(0);
    await vi.advanceTimersByTimeAsync(15_000);
    expect(room.silentReconnects()).toBe(1);
    expect(room.states.find((s) => s.name === 'reconnecting')?.reason).toContain('2000 viewers');
    await room.stop();
  });

  it("learns a room's own quiet stretches: 4 min gaps in a room of 20 are not silence at 6 min", async () => {
    const room = liveRoom();
    room.supervisor.start();
    await vi.advanceTimersByTimeAsync(0);
    for (let i = 0; i < 4; i++) {
      room.connection.roomMessage(20);
      await vi.advanceTimersByTimeAsync(4 * MINUTE);
    }
    room.connection.roomMessage(20);
    // The floor for 20 viewers is 5 min; this room's own 4 min gaps make its limit 12 min.
    await vi.advanceTimersByTimeAsync(11 * MINUTE);
    expect(room.silentReconnects()).toBe(0);
    await vi.advanceTimersByTimeAsync(2 * MINUTE);
    expect(room.silentReconnects()).toBe(1);
    await room.stop();
  });

  it('waits twice as long after each silent reconnect that brought nothing back, so a quiet room costs few connects', async () => {
    const room = liveRoom();
    room.supervisor.start();
    await vi.advanceTimersByTimeAsync(0);
    // A zombie for two hours: reconnects after 10, 20, 40 min of silence (plus the reconnect backoff), then 80.
    await vi.advanceTimersByTimeAsync(2 * 60 * MINUTE);
    expect(room.silentReconnects()).toBe(3);
    expect(room.connection.calls.connect).toBe(4);
    // Traffic back: the next silence is judged from the floor again.
    room.connection.roomMessage(3);
    await vi.advanceTimersByTimeAsync(11 * MINUTE);
    expect(room.silentReconnects()).toBe(4);
    await room.stop();
  });

  it('still calls a socket without even heartbeat answers dead within 30 s', async () => {
    const { supervisor, states } = liveRoom('dead', { answersHeartbeats: false });
    supervisor.start();
    await vi.advanceTimersByTimeAsync(31_000);
    expect(states.find((s) => s.name === 'reconnecting')?.reason).toMatch(/^no data from TikTok for 30 s/);
    await supervisor.stop();
  });
});

describe('SilentRoomWatch', () => {
  it('takes the floor for the viewer count, 3x the longest recent gap, the ceiling, and doubles after strikes', () => {
    let now = 0;
    const watch = new SilentRoomWatch(TIKTOK_DEFAULTS.supervisor.silentRoom, () => now);
    watch.connected();
    expect(watch.limitMs()).toBe(10 * MINUTE);
    watch.traffic(5_000);
    expect(watch.limitMs()).toBe(MINUTE);
    now += 50_000; // a lull within the 1 min floor: 3x is 2.5 min
    watch.traffic();
    expect(watch.limitMs()).toBe(150_000);
    now += 10 * MINUTE; // a silence beyond the limit teaches nothing
    watch.traffic(5);
    expect(watch.limitMs()).toBe(10 * MINUTE);
    now += 9 * MINUTE; // within the 10 min floor for 5 viewers: 27 min
    watch.traffic();
    expect(watch.limitMs()).toBe(27 * MINUTE);
    now += 20 * MINUTE; // 3x would be 60 min: capped at 30
    watch.traffic();
    expect(watch.limitMs()).toBe(30 * MINUTE);
    watch.reconnectingForSilence();
    watch.reconnectingForSilence();
    expect(watch.limitMs()).toBe(2 * 60 * MINUTE);
    watch.traffic();
    expect(watch.limitMs()).toBe(30 * MINUTE);
  });
});
