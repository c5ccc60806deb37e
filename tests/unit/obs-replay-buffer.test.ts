/**
 * ObsReplayBuffer against an in-process fake of obs-websocket-js's client, with fake timers: timeouts,
 * queueing, backoff and the status story, without a real OBS. tests/integration covers the real one.
 */
import { OBSWebSocketError } from 'obs-websocket-js';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isAppError } from '../../src/util/errors.js';
import {
  ObsReplayBuffer,
  reconnectDelay,
  type ObsReplayBufferOptions,
} from '../../src/obs/obs-replay-buffer.js';
import type { ReplayBufferStatus, SavedReplay } from '../../src/obs/replay-buffer.js';
import { FAKE_OBS_PASSWORD, FakeObs } from '../fakes/fake-obs.js';

const PASSWORD = FAKE_OBS_PASSWORD;
const REQUEST_TIMEOUT = 1_000;
const SAVED_EVENT_TIMEOUT = 3_000;

const never = (): Promise<never> => new Promise(() => undefined);

function setup(overrides: Partial<ObsReplayBufferOptions> = {}) {
  const obs = new FakeObs();
  const logLines: string[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });
  const changes: { status: ReplayBufferStatus; reason: string }[] = [];
  const adapter = new ObsReplayBuffer({
    url: 'ws://127.0.0.1:4455',
    password: PASSWORD,
    log,
    requestTimeoutMs: REQUEST_TIMEOUT,
    connectTimeoutMs: REQUEST_TIMEOUT,
    savedEventTimeoutMs: SAVED_EVENT_TIMEOUT,
    reconnect: { initialDelayMs: 100, maxDelayMs: 800 },
    createSocket: obs.createSocket,
    random: () => 1,
    ...overrides,
  });
  adapter.onStatusChange((status, reason) => changes.push({ status, reason }));
  return { obs, adapter, changes, logLines, reasons: () => changes.map((change) => change.reason) };
}

/** Settles `promise` into a value we can inspect without awaiting it (and without unhandled rejections). */
function track<T>(promise: Promise<T>) {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error: unknown) => Object.assign(state, { settled: true, error }),
  );
  return state;
}

const keepPath = async (replay: SavedReplay) => replay.path;

describe('ObsReplayBuffer', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  describe('connecting', () => {
    it('connects, finds the buffer running and reports it', async () => {
      const { adapter, reasons } = setup();
      await adapter.start();
      expect(adapter.status()).toMatchObject({ connection: 'connected', isBufferActive: true, lastError: undefined });
      expect(reasons()).toEqual(['connecting to OBS at ws://127.0.0.1:4455', 'connected to OBS; replay buffer is running']);
      await adapter.close();
    });

    it('starts a stopped buffer on connect, and reports it only once OBS says STARTED', async () => {
      const { obs, adapter, reasons } = setup();
      obs.isBufferActive = false;
      const started = track(adapter.start());
      await vi.advanceTimersByTimeAsync(10);
      expect(started.settled).toBe(false);
      expect(adapter.status().connection).toBe('connecting');
      await vi.advanceTimersByTimeAsync(50);
      expect(started.settled).toBe(true);
      expect(adapter.status()).toMatchObject({ connection: 'connected', isBufferActive: true });
      expect(reasons()).toContain('connected to OBS; replay buffer was stopped; restarted it');
      expect(obs.timeline).toEqual([
        'request GetProfileParameter',
        'request GetProfileParameter',
        'request GetRecordDirectory',
        'request GetReplayBufferStatus',
        'request StartReplayBuffer',
      ]);
      await adapter.close();
    });

    it('reads the replay buffer length from the profile, in Simple and Advanced output modes', async () => {
      const simple = setup();
      await simple.adapter.start();
      expect(simple.adapter.bufferSeconds()).toBe(20);
      await simple.adapter.close();

      const advanced = setup();
      advanced.obs.profile = { Output: { Mode: 'Advanced' }, AdvOut: { RecRBTime: '45' } };
      await advanced.adapter.start();
      expect(advanced.adapter.bufferSeconds()).toBe(45);
      await advanced.adapter.close();
    });

    it('does not throw when OBS is down: start() resolves and the status says why', async () => {
      const { obs, adapter } = setup();
      obs.kill();
      await expect(adapter.start()).resolves.toBeUndefined();
      expect(adapter.status()).toMatchObject({ connection: 'disconnected', isBufferActive: undefined });
      expect(adapter.status().lastError).toMatch(/nothing is listening at ws:\/\/127\.0\.0\.1:4455: is OBS running/);
      await adapter.close();
    });

    it('reports a wrong password in plain words, keeps retrying, and never logs the password', async () => {
      const { adapter, obs, logLines } = setup({ password: 'wrong-password-xyz' });
      await adapter.start();
      expect(adapter.status().lastError).toMatch(/OBS rejected the password \(authentication failed\)/);
      await vi.advanceTimersByTimeAsync(2_000);
      expect(obs.connectAttempts.length).toBeGreaterThan(3);
      // One warning for the kind of failure, not one per retry.
      expect(logLines.filter((line) => line.includes('"could not connect to OBS"'))).toHaveLength(1);
      expect(logLines.join('')).not.toContain('wrong-password-xyz');
      await adapter.close();
    });

    it('gives up on a handshake that never finishes after the connect timeout, then retries', async () => {
      const { obs, adapter } = setup();
      obs.connectBehaviour = never;
      const started = track(adapter.start());
      await vi.advanceTimersByTimeAsync(REQUEST_TIMEOUT - 1);
      expect(started.settled).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(started.settled).toBe(true);
      expect(adapter.status().lastError).toMatch(/did not finish the handshake within 1000 ms/);
      obs.comeBack();
      await vi.advanceTimersByTimeAsync(100);
      expect(adapter.status().connection).toBe('connected');
      await adapter.close();
    });
  });

  describe('reconnect backoff', () => {
    function gaps(times: readonly number[]): number[] {
      return times.slice(1).map((time, i) => time - (times[i] ?? 0));
    }

    it('doubles the delay from initialDelayMs up to maxDelayMs and stays there', async () => {
      const { obs, adapter } = setup({ random: () => 1 });
      obs.kill();
      await adapter.start();
      await vi.advanceTimersByTimeAsync(100 + 200 + 400 + 800 * 3);
      expect(gaps(obs.connectAttempts)).toEqual([100, 200, 400, 800, 800, 800]);
      await adapter.close();
    });

    it('jitters by at most half: with the lowest draw each delay is half the nominal one', async () => {
      const { obs, adapter } = setup({ random: () => 0 });
      obs.kill();
      await adapter.start();
      await vi.advanceTimersByTimeAsync(50 + 100 + 200 + 400 * 2);
      expect(gaps(obs.connectAttempts)).toEqual([50, 100, 200, 400, 400]);
      await adapter.close();
    });

    it('computes equal-jitter delays', () => {
      expect(reconnectDelay(0, 1_000, 30_000, () => 0.5)).toBe(750);
      expect(reconnectDelay(10, 1_000, 30_000, () => 1)).toBe(30_000);
      expect(reconnectDelay(10, 1_000, 30_000, () => 0)).toBe(15_000);
    });

    it('reconnects after OBS dies, starting again from the initial delay', async () => {
      const { obs, adapter, reasons } = setup();
      await adapter.start();
      obs.kill();
      expect(adapter.status()).toMatchObject({ connection: 'disconnected', isBufferActive: undefined });
      expect(reasons().at(-1)).toBe('the connection to OBS dropped (OBS closed or crashed); reconnecting in 0.1 s');
      await vi.advanceTimersByTimeAsync(100 + 200 + 400);
      obs.comeBack();
      await vi.advanceTimersByTimeAsync(800);
      expect(adapter.status()).toMatchObject({ connection: 'connected', isBufferActive: true, lastError: undefined });

      obs.kill();
      const attemptsBefore = obs.connectAttempts.length;
      await vi.advanceTimersByTimeAsync(100);
      expect(obs.connectAttempts.length).toBe(attemptsBefore + 1);
      await adapter.close();
    });
  });

  describe('save', () => {
    it('saves and hands the file from the ReplayBufferSaved event to onSaved', async () => {
      const { adapter } = setup();
      await adapter.start();
      const saved = track(adapter.save(async (replay) => replay));
      await vi.advanceTimersByTimeAsync(200);
      expect(saved.value).toMatchObject({ path: '/rec/Replay 1.mp4' });
      expect((saved.value as SavedReplay).savedAt).toBeInstanceOf(Date);
      await adapter.close();
    });

    it('fails with OBS_UNAVAILABLE at once when not connected, without waiting for a reconnect', async () => {
      const { obs, adapter } = setup();
      const beforeStart = track(adapter.save(keepPath));
      await Promise.resolve();
      expect(isAppError(beforeStart.error, 'OBS_UNAVAILABLE')).toBe(true);

      obs.kill();
      await adapter.start();
      const whileDown = track(adapter.save(keepPath));
      await Promise.resolve();
      expect(isAppError(whileDown.error, 'OBS_UNAVAILABLE')).toBe(true);
      expect((whileDown.error as Error).message).toMatch(/nothing is listening/);
      await adapter.close();
    });

    it('times out a SaveReplayBuffer that is never answered, and the next save still runs', async () => {
      const { obs, adapter } = setup();
      await adapter.start();
      obs.handlers.set('SaveReplayBuffer', never);
      const first = track(adapter.save(keepPath));
      await vi.advanceTimersByTimeAsync(REQUEST_TIMEOUT - 1);
      expect(first.settled).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(isAppError(first.error, 'OBS_TIMEOUT')).toBe(true);
      expect((first.error as Error).message).toBe('OBS did not answer SaveReplayBuffer within 1000 ms');

      obs.handlers.delete('SaveReplayBuffer');
      const second = track(adapter.save(keepPath));
      await vi.advanceTimersByTimeAsync(200);
      expect(second.value).toBe('/rec/Replay 1.mp4');
      await adapter.close();
    });

    it('times out when OBS accepts the save but never reports the file; a late event is not taken for the next save', async () => {
      const { obs, adapter, logLines } = setup();
      await adapter.start();
      obs.savedEventDelayMs = SAVED_EVENT_TIMEOUT + 500;
      const first = track(adapter.save(keepPath));
      await vi.advanceTimersByTimeAsync(SAVED_EVENT_TIMEOUT - 1);
      expect(first.settled).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(isAppError(first.error, 'OBS_TIMEOUT')).toBe(true);
      expect((first.error as Error).message).toMatch(/did not report a saved file within 3000 ms/);

      await vi.advanceTimersByTimeAsync(500); // the late event for save 1 arrives while nobody waits
      expect(logLines.some((line) => line.includes('no save of ours was waiting for'))).toBe(true);
      obs.savedEventDelayMs = 200;
      const second = track(adapter.save(keepPath));
      await vi.advanceTimersByTimeAsync(200);
      expect(second.value).toBe('/rec/Replay 2.mp4');
      await adapter.close();
    });

    it('runs one save at a time: the next SaveReplayBuffer is sent only after the previous onSaved settled', async () => {
      const { obs, adapter } = setup();
      await adapter.start();
      obs.timeline.length = 0;
      const handler = (name: string, shouldFail = false) => async (replay: SavedReplay) => {
        obs.timeline.push(`${name} start ${replay.path}`);
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        obs.timeline.push(`${name} end`);
        if (shouldFail) throw new Error(`${name} could not move the file`);
        return name;
      };
      const a = track(adapter.save(handler('a')));
      const b = track(adapter.save(handler('b', true)));
      const c = track(adapter.save(handler('c')));
      await vi.advanceTimersByTimeAsync(3 * (200 + 1_000));
      expect(obs.timeline).toEqual([
        'request SaveReplayBuffer',
        'event saved /rec/Replay 1.mp4',
        'a start /rec/Replay 1.mp4',
        'a end',
        'request SaveReplayBuffer',
        'event saved /rec/Replay 2.mp4',
        'b start /rec/Replay 2.mp4',
        'b end',
        'request SaveReplayBuffer',
        'event saved /rec/Replay 3.mp4',
        'c start /rec/Replay 3.mp4',
        'c end',
      ]);
      expect(a.value).toBe('a');
      expect((b.error as Error).message).toBe('b could not move the file'); // what onSaved threw, as is
      expect(c.value).toBe('c');
      await adapter.close();
    });

    it('cancels a queued save on abort without disturbing the order of the others', async () => {
      const { adapter } = setup();
      await adapter.start();
      const controller = new AbortController();
      const first = track(adapter.save(keepPath));
      const second = track(adapter.save(keepPath, controller.signal));
      const third = track(adapter.save(keepPath));
      controller.abort();
      await vi.advanceTimersByTimeAsync(0);
      expect(isAppError(second.error, 'ABORTED')).toBe(true);
      expect(first.settled).toBe(false);
      await vi.advanceTimersByTimeAsync(400);
      expect(first.value).toBe('/rec/Replay 1.mp4');
      expect(third.value).toBe('/rec/Replay 2.mp4');
      await adapter.close();
    });

    it('on 501 starts the buffer once and fails with OBS_BUFFER_NOT_RUNNING instead of saving a too-short clip', async () => {
      const { obs, adapter } = setup();
      await adapter.start();
      obs.isBufferActive = false; // stopped without an event reaching us
      obs.timeline.length = 0;
      const saved = track(adapter.save(keepPath));
      await vi.advanceTimersByTimeAsync(100);
      expect(isAppError(saved.error, 'OBS_BUFFER_NOT_RUNNING')).toBe(true);
      expect((saved.error as Error).message).toMatch(/has been started, so clips work again in a few seconds/);
      expect(obs.timeline).toEqual(['request SaveReplayBuffer', 'request StartReplayBuffer']);
      expect(obs.isBufferActive).toBe(true);
      await adapter.close();
    });

    it('maps another failure status to OBS_REQUEST_FAILED with OBS’s code and comment', async () => {
      const { obs, adapter } = setup();
      await adapter.start();
      obs.handlers.set('SaveReplayBuffer', async () => {
        throw new OBSWebSocketError(702, 'Failed to save');
      });
      await expect(adapter.save(keepPath)).rejects.toMatchObject({
        code: 'OBS_REQUEST_FAILED',
        message: 'OBS refused to save the replay (code 702: Failed to save)',
      });
      await adapter.close();
    });

    it.each([
      ['a save waiting for its event', false],
      ['a request in flight (it would never settle)', true],
    ])('fails %s with OBS_UNAVAILABLE as soon as the connection drops', async (_what, isRequestUnanswered) => {
      const { obs, adapter } = setup();
      await adapter.start();
      if (isRequestUnanswered) obs.handlers.set('SaveReplayBuffer', never);
      const saved = track(adapter.save(keepPath));
      await vi.advanceTimersByTimeAsync(10);
      obs.kill();
      await vi.advanceTimersByTimeAsync(0);
      expect(isAppError(saved.error, 'OBS_UNAVAILABLE')).toBe(true);
      await adapter.close();
    });
  });

  describe('buffer state', () => {
    it('restarts the buffer when it is stopped in OBS and says so', async () => {
      const { obs, adapter, reasons } = setup();
      await adapter.start();
      obs.stopBuffer();
      expect(adapter.status().isBufferActive).toBe(false);
      await vi.advanceTimersByTimeAsync(50);
      expect(adapter.status().isBufferActive).toBe(true);
      expect(reasons().slice(-2)).toEqual([
        'replay buffer was stopped in OBS; restarting it',
        'replay buffer was stopped; restarted it',
      ]);
      await adapter.close();
    });

    it('asks again when OBS accepts a start but silently does not start the buffer (as OBS 29 does)', async () => {
      const { obs, adapter, reasons } = setup();
      await adapter.start();
      let dropped = 0;
      const startForReal = obs.defaultHandler('StartReplayBuffer');
      obs.handlers.set('StartReplayBuffer', async (socket, data) => {
        if (dropped < 2) {
          dropped += 1;
          return undefined; // accepted, then nothing: no event, the buffer stays off
        }
        return startForReal(socket, data);
      });
      obs.timeline.length = 0;
      obs.stopBuffer();
      await vi.advanceTimersByTimeAsync(3 * REQUEST_TIMEOUT);
      expect(obs.timeline.filter((entry) => entry === 'request StartReplayBuffer')).toHaveLength(3);
      expect(adapter.status()).toMatchObject({ isBufferActive: true, lastError: undefined });
      expect(reasons().at(-1)).toBe('replay buffer was stopped; restarted it');
      await adapter.close();
    });

    it('gives up after three unanswered starts and says the buffer is not running', async () => {
      const { obs, adapter } = setup();
      await adapter.start();
      obs.handlers.set('StartReplayBuffer', async () => undefined);
      obs.timeline.length = 0;
      obs.stopBuffer();
      await vi.advanceTimersByTimeAsync(10 * REQUEST_TIMEOUT);
      expect(obs.timeline.filter((entry) => entry === 'request StartReplayBuffer')).toHaveLength(3);
      expect(adapter.status().isBufferActive).toBe(false);
      expect(adapter.status().lastError).toMatch(/could not be restarted: OBS accepted StartReplayBuffer 3 times/);
      await adapter.close();
    });

    it('leaves the buffer stopped when it stops again right after a restart (no restart loop)', async () => {
      const { obs, adapter } = setup();
      await adapter.start();
      obs.stopBuffer();
      await vi.advanceTimersByTimeAsync(50);
      obs.timeline.length = 0;
      obs.stopBuffer();
      await vi.advanceTimersByTimeAsync(100);
      expect(obs.timeline).toEqual([]);
      expect(adapter.status()).toMatchObject({ isBufferActive: false });
      expect(adapter.status().lastError).toMatch(/stopped again right after a restart/);
      await adapter.close();
    });

    it('does not restart the buffer while OBS is quitting, and says OBS quit', async () => {
      const { obs, adapter } = setup();
      await adapter.start();
      const socket = obs.live;
      socket.emit('ExitStarted');
      obs.timeline.length = 0;
      obs.stopBuffer();
      socket.isConnected = false;
      socket.emit('ConnectionClosed', new OBSWebSocketError(1001, ''));
      obs.kill();
      await vi.advanceTimersByTimeAsync(50);
      expect(obs.timeline).toEqual([]);
      expect(adapter.status()).toMatchObject({ connection: 'disconnected', lastError: 'OBS quit' });
      await adapter.close();
    });

    it('keeps going when a status listener throws', async () => {
      const { adapter } = setup();
      adapter.onStatusChange(() => {
        throw new Error('listener bug');
      });
      await adapter.start();
      expect(adapter.status().connection).toBe('connected');
      await adapter.close();
    });
  });

  describe('close', () => {
    it('leaves no timers while connected', async () => {
      const { adapter } = setup();
      await adapter.start();
      await adapter.close();
      expect(vi.getTimerCount()).toBe(0);
      expect(adapter.status().connection).toBe('disconnected');
      await expect(adapter.save(keepPath)).rejects.toMatchObject({ code: 'OBS_UNAVAILABLE' });
    });

    it('leaves no timers while waiting to reconnect, and never reconnects afterwards', async () => {
      const { obs, adapter } = setup();
      obs.kill();
      await adapter.start();
      expect(vi.getTimerCount()).toBe(1);
      await adapter.close();
      expect(vi.getTimerCount()).toBe(0);
      obs.comeBack();
      await vi.advanceTimersByTimeAsync(10_000);
      expect(obs.connectAttempts).toHaveLength(1);
    });

    it('does not wait for a request timeout when closed during the buffer check after connecting', async () => {
      const { obs, adapter } = setup();
      obs.handlers.set('GetReplayBufferStatus', never);
      const started = track(adapter.start());
      await vi.advanceTimersByTimeAsync(10);
      const closed = track(adapter.close());
      await vi.advanceTimersByTimeAsync(0);
      expect(closed.settled).toBe(true);
      expect(started.settled).toBe(true);
      expect(vi.getTimerCount()).toBe(0);
    });

    it('aborts a handshake in progress', async () => {
      const { obs, adapter } = setup();
      obs.connectBehaviour = never;
      const started = track(adapter.start());
      await vi.advanceTimersByTimeAsync(10);
      const closed = track(adapter.close());
      await vi.advanceTimersByTimeAsync(0);
      expect(started.settled && closed.settled).toBe(true);
      expect(vi.getTimerCount()).toBe(0);
      expect(adapter.status().connection).toBe('disconnected');
    });

    it('fails a save waiting for its event with OBS_UNAVAILABLE', async () => {
      const { adapter } = setup();
      await adapter.start();
      const saved = track(adapter.save(keepPath));
      await vi.advanceTimersByTimeAsync(10);
      await adapter.close();
      await vi.advanceTimersByTimeAsync(0);
      expect(isAppError(saved.error, 'OBS_UNAVAILABLE')).toBe(true);
      expect(vi.getTimerCount()).toBe(1); // only the fake's pending ReplayBufferSaved event
    });
  });

  it('rejects invalid options all at once', () => {
    expect(
      () =>
        new ObsReplayBuffer({
          url: 'http://localhost',
          log: pino({ enabled: false }),
          requestTimeoutMs: 0,
          reconnect: { initialDelayMs: 500, maxDelayMs: 100 },
        }),
    ).toThrow(/requestTimeoutMs must be a positive number; reconnect.maxDelayMs must be >= initialDelayMs; url must start with ws:\/\//);
  });
});
