/**
 * Starting the replay buffer and reading its length: the requests, and how to read OBS's answers.
 * Request status 500 = output already running, 501 = output not running.
 */
import { OBSWebSocketError } from 'obs-websocket-js';
import type { Logger } from 'pino';
import { AppError, withTimeout } from '../errors.js';
import type { Connection } from './obs-connection.js';
import { OUTPUT_RUNNING } from './obs-errors.js';
import { requestWithTimeout } from './obs-socket.js';

/** StartReplayBuffer; "already running" (500) counts as success. The output may still be starting. */
export async function startBuffer(connection: Connection, requestTimeoutMs: number): Promise<void> {
  try {
    await requestWithTimeout(connection, requestTimeoutMs, 'StartReplayBuffer');
  } catch (err) {
    if (err instanceof OBSWebSocketError && err.code === OUTPUT_RUNNING) return;
    throw err;
  }
}

/**
 * StartReplayBuffer answers as soon as OBS begins starting the output; the output reports STARTED some
 * 50 ms later (GetReplayBufferStatus says false until then). Only claim "running" once it is.
 * The adapter resolves `connection.startedWaiters` when the STARTED event arrives.
 */
export async function startBufferAndConfirm(connection: Connection, requestTimeoutMs: number): Promise<void> {
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
      if (err instanceof OBSWebSocketError && err.code === OUTPUT_RUNNING) return;
      throw err;
    }
    try {
      await withTimeout(
        Promise.race([started, connection.lost]),
        requestTimeoutMs,
        () => new AppError('OBS_TIMEOUT', 'no STARTED event'),
      );
    } catch (err) {
      if (!(err instanceof AppError && err.code === 'OBS_TIMEOUT')) throw err;
      // No event in time: ask OBS rather than guess.
      const { outputActive } = await requestWithTimeout(connection, requestTimeoutMs, 'GetReplayBufferStatus');
      if (!outputActive) {
        throw new AppError(
          'OBS_BUFFER_NOT_RUNNING',
          `OBS accepted StartReplayBuffer but the buffer had not started after ${requestTimeoutMs} ms (see the OBS log)`,
        );
      }
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
