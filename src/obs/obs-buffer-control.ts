/**
 * Starting the replay buffer and reading its length: the requests, and how to read OBS's answers.
 * Request status 500 = output already running, 501 = output not running.
 */
import { OBSWebSocketError } from 'obs-websocket-js';
import type { Logger } from 'pino';
import { AppError, withTimeout } from '../util/errors.js';
import type { Connection } from './obs-connection.js';
import { OUTPUT_RUNNING } from './obs-errors.js';
import { requestWithTimeout } from './obs-socket.js';
import { CAPTURE_DEFAULTS } from '../capture/defaults.js';


/**
 * StartReplayBuffer answers as soon as OBS begins starting the output; the output reports STARTED some
 * 50 ms later (GetReplayBufferStatus says false until then). Only claim "running" once it is.
 *
 * OBS 29 sometimes accepts a start and then does nothing: measured here, a StartReplayBuffer sent right
 * after the buffer STOPPED, when a replay had been saved shortly before, was dropped 2 times in 3 with no
 * error and no event; asking again started it every time. So a start that is not confirmed within
 * a second is asked again, up to three times, before it counts as failed.
 * The adapter resolves `connection.startedWaiters` when the STARTED event arrives.
 */
export async function startBufferAndConfirm(connection: Connection, requestTimeoutMs: number, log: Logger): Promise<void> {
  const attempts = CAPTURE_DEFAULTS.obs.startAttempts;
  const confirmMs = Math.min(CAPTURE_DEFAULTS.obs.startConfirmMs, requestTimeoutMs);
  for (let attempt = 1; ; attempt += 1) {
    if (await askToStart(connection, requestTimeoutMs, confirmMs)) return;
    log.warn({ attempt, attempts }, 'OBS accepted StartReplayBuffer but the buffer did not start');
    if (attempt >= attempts) {
      throw new AppError(
        'OBS_BUFFER_NOT_RUNNING',
        `OBS accepted StartReplayBuffer ${attempts} times but the buffer did not start (see the OBS log)`,
      );
    }
  }
}

/** One StartReplayBuffer; true once the buffer runs, false when OBS accepted it but it did not start. */
async function askToStart(connection: Connection, requestTimeoutMs: number, confirmMs: number): Promise<boolean> {
  let markStarted!: () => void;
  const started = new Promise<void>((resolve) => {
    markStarted = resolve;
  });
  // Listen before asking, so the event cannot slip past.
  connection.startedWaiters.add(markStarted);
  try {
    try {
      await requestWithTimeout(connection, requestTimeoutMs, 'StartReplayBuffer');
    } catch (err) {
      if (err instanceof OBSWebSocketError && err.code === OUTPUT_RUNNING) return true;
      throw err;
    }
    try {
      await withTimeout(
        Promise.race([started, connection.lost]),
        confirmMs,
        () => new AppError('OBS_TIMEOUT', 'no STARTED event'),
      );
      return true;
    } catch (err) {
      if (!(err instanceof AppError && err.code === 'OBS_TIMEOUT')) throw err;
      // No event in time: ask OBS rather than guess.
      const { outputActive } = await requestWithTimeout(connection, requestTimeoutMs, 'GetReplayBufferStatus');
      return outputActive;
    }
  } finally {
    connection.startedWaiters.delete(markStarted);
  }
}

/**
 * Reads the replay buffer length from the current profile (Simple and Advanced output modes keep it
 * under different sections). Best effort: `undefined` when OBS will not say (the caller keeps the last
 * known value).
 */
/** The folder OBS writes recordings and replays to (GetRecordDirectory), or undefined if it will not say. */
export async function readRecordDirectory(connection: Connection, requestTimeoutMs: number, log: Logger): Promise<string | undefined> {
  try {
    const { recordDirectory } = await requestWithTimeout(connection, requestTimeoutMs, 'GetRecordDirectory');
    return typeof recordDirectory === 'string' && recordDirectory !== '' ? recordDirectory : undefined;
  } catch (err) {
    log.debug({ err }, 'could not read the recording folder');
    return undefined;
  }
}

export async function readBufferSeconds(
  connection: Connection,
  requestTimeoutMs: number,
  log: Logger,
): Promise<number | undefined> {
  try {
    const mode = await requestWithTimeout(connection, requestTimeoutMs, 'GetProfileParameter', {
      parameterCategory: 'Output',
      parameterName: 'Mode',
    });
    const category = mode.parameterValue === 'Advanced' ? 'AdvOut' : 'SimpleOutput';
    const { parameterValue, defaultParameterValue } = await requestWithTimeout(
      connection,
      requestTimeoutMs,
      'GetProfileParameter',
      { parameterCategory: category, parameterName: 'RecRBTime' },
    );
    const seconds = Number(parameterValue ?? defaultParameterValue);
    if (Number.isFinite(seconds) && seconds > 0) return seconds;
  } catch (err) {
    log.debug({ err }, 'could not read the replay buffer length');
  }
  return undefined;
}
