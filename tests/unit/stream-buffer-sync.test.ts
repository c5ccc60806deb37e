/**
 * Which lives keep a stream-capture buffer, driven by the real supervisor's state changes (fake timers,
 * a scripted connection) as app.ts wires them: the buffer follows the LIVE's video, not the chat socket.
 */
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StreamBufferSync } from '../../src/capture/stream/stream-buffer-sync.js';
import type { CaptureMode } from '../../src/capture/clip-capture.js';
import { TikTokError } from '../../src/monitor/live-connection.js';
import { RateBudget } from '../../src/monitor/rate-budget.js';
import { StreamSupervisor, type StreamStateName } from '../../src/monitor/stream-supervisor.js';
import { FakeLiveConnection } from '../fakes/fake-live-connection.js';

const log = pino({ level: 'silent' });
const GUILD = 'guild-1';
const unclear = () => new TikTokError('TIKTOK_UNCLEAR', 'TikTok did not answer clearly whether @streamer is live: the LIVE page gave HTTP 403 (blocked?).');
const refused = () => new TikTokError('TIKTOK_SESSION_REFUSED', "TikTok refused TIKTOK_SESSION_ID for @streamer's restricted LIVE.");

/** Buffers that only record what they were told: running or not, and every stop. */
class RecordingBuffers {
  readonly running = new Set<string>();
  stops = 0;
  start(streamer: string): void {
    this.running.add(streamer);
  }
  async stop(streamer: string): Promise<void> {
    if (this.running.delete(streamer)) this.stops += 1;
  }
}

function setup(capture: CaptureMode = 'stream') {
  const connection = new FakeLiveConnection('streamer');
  const buffers = new RecordingBuffers();
  let mode = capture;
  const sync = new StreamBufferSync({ buffers, hasFfmpeg: true, captureOf: () => mode, log });
  const states: StreamStateName[] = [];
  const supervisor = new StreamSupervisor({
    connection,
    connectBudget: new RateBudget([{ limit: 100, windowMs: 60_000 }]),
    checkBudget: new RateBudget([{ limit: 10, windowMs: 1_000 }]),
    log,
    random: () => 0.5,
    onChat: () => undefined,
    onStateChange: (s) => {
      states.push(s.name);
      sync.stateChanged('streamer', s.name, [GUILD]);
    },
  });
  const setCapture = (next: CaptureMode) => {
    mode = next;
    sync.captureChanged(GUILD, ['streamer'], () => supervisor.state.name);
  };
  return { connection, buffers, supervisor, states, setCapture };
}

describe('stream buffers across a LIVE whose chat drops', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('keeps the buffer through unclear checks after a drop, and stops it only once the LIVE is found ended', async () => {
    const { connection, buffers, supervisor, states } = setup();
    connection.isLiveAnswer = true;
    supervisor.start();
    await vi.advanceTimersByTimeAsync(100);
    expect(supervisor.state.name).toBe('live');
    expect(buffers.running.has('streamer')).toBe(true);

    connection.isLiveAnswer = unclear();
    connection.emit('disconnected', '1006');
    await vi.advanceTimersByTimeAsync(3 * 60_000);
    expect(supervisor.state).toMatchObject({ name: 'checking', reason: 'TikTok did not answer clearly' });
    expect(buffers.running.has('streamer')).toBe(true);

    // TikTok answers again: back in, the same buffer never stopped.
    connection.isLiveAnswer = true;
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    expect(supervisor.state.name).toBe('live');
    expect(states).toEqual(expect.arrayContaining(['reconnecting', 'checking', 'connecting', 'live']));
    expect(buffers.stops).toBe(0);

    connection.isLiveAnswer = false;
    connection.emit('streamEnd');
    await vi.advanceTimersByTimeAsync(100);
    expect(supervisor.state.name).toBe('offline');
    expect(buffers.running.has('streamer')).toBe(false);
    await supervisor.stop();
  });

  it('keeps the buffer while a dropped restricted LIVE refuses the session, and stops it when the LIVE goes offline', async () => {
    const { connection, buffers, supervisor } = setup();
    connection.isLiveAnswer = true;
    supervisor.start();
    await vi.advanceTimersByTimeAsync(100);
    connection.connectAnswer = refused();
    connection.emit('disconnected', '1006');
    await vi.advanceTimersByTimeAsync(5_000);
    expect(supervisor.state.name).toBe('restricted');
    expect(buffers.running.has('streamer')).toBe(true);
    expect(buffers.stops).toBe(0);

    connection.isLiveAnswer = false;
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    expect(supervisor.state.name).toBe('offline');
    expect(buffers.running.has('streamer')).toBe(false);
    await supervisor.stop();
  });

  it('starts no buffer for a stream just added whose checks are unclear or whose LIVE is restricted, until it is live', async () => {
    for (const answer of [unclear, refused]) {
      const { connection, buffers, supervisor } = setup();
      if (answer === unclear) connection.isLiveAnswer = unclear();
      else {
        connection.isLiveAnswer = true;
        connection.connectAnswer = refused();
      }
      supervisor.start();
      await vi.advanceTimersByTimeAsync(3 * 60_000);
      expect(supervisor.state.name).toBe(answer === unclear ? 'checking' : 'restricted');
      expect(buffers.running.size).toBe(0);
      await supervisor.stop();
    }
  });

  it('starts the buffer when a server switches to stream capture while a dropped LIVE is being checked, and ends it when the stream is removed', async () => {
    const { connection, buffers, supervisor, setCapture } = setup('obs');
    connection.isLiveAnswer = true;
    supervisor.start();
    await vi.advanceTimersByTimeAsync(100);
    expect(buffers.running.size).toBe(0);
    connection.isLiveAnswer = unclear();
    connection.emit('disconnected', '1006');
    await vi.advanceTimersByTimeAsync(3 * 60_000);
    expect(supervisor.state.name).toBe('checking');

    setCapture('stream');
    expect(buffers.running.has('streamer')).toBe(true);
    setCapture('obs');
    expect(buffers.running.size).toBe(0);
    setCapture('stream');
    await supervisor.stop();
    expect(buffers.running.size).toBe(0);
  });
});
